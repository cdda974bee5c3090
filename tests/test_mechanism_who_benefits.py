"""Which question each test answers: are within-trial interactions and between-trial regressions
computed as documented, kept apart, honest at k = 0, 1, 2, and is disagreement flagged?
All effects tables here are SIMULATED (seeded, generated in code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("inflamed.stats.pooling")

from inflamed.mechanism.simulated import simulated_effects
from inflamed.mechanism.who_benefits import (
    Estimate,
    between_trial_regression,
    compare_within_between,
    predict_at_crp,
    who_benefits,
    within_trial_interactions,
)
from inflamed.stats.pooling import rma


def test_within_trial_difference_and_variance_by_hand() -> None:
    eff = simulated_effects(seed=1, k_whole=0, k_stratified=3)
    res = within_trial_interactions(eff)
    one = eff[eff["study_id"] == "strat00"].set_index("subgroup")
    row = res.per_trial[res.per_trial["study_id"] == "strat00"].iloc[0]
    assert row["interaction"] == pytest.approx(one.loc["crp_high", "yi"] - one.loc["crp_low", "yi"])
    assert row["var"] == pytest.approx(one.loc["crp_high", "vi"] + one.loc["crp_low", "vi"])
    pooled = res.pooled[("depressive_symptoms", "SMD")]
    ref = rma(
        res.per_trial["interaction"].to_numpy(),
        res.per_trial["var"].to_numpy(),
        method="REML",
        test="knha",
    )
    assert pooled.status == "estimated" and pooled.k == 3
    assert pooled.estimate == pytest.approx(float(ref.beta[0]), rel=1e-12)
    assert pooled.ci_lb == pytest.approx(float(ref.ci_lb[0]), rel=1e-12)


@pytest.mark.parametrize("k", [0, 1])
def test_within_trial_not_estimable_for_k_below_two(k: int) -> None:
    eff = simulated_effects(seed=2, k_whole=2, k_stratified=k)
    pooled = within_trial_interactions(eff).pooled[("depressive_symptoms", "SMD")]
    assert pooled.status == "not estimable"
    assert pooled.reason == f"not estimable: k = {k}"
    assert pooled.estimate is None


def test_within_trial_k_two_is_estimated_and_says_it_is_wide() -> None:
    eff = simulated_effects(seed=3, k_whole=0, k_stratified=2)
    pooled = within_trial_interactions(eff).pooled[("depressive_symptoms", "SMD")]
    assert pooled.status == "estimated" and pooled.k == 2
    assert "very wide" in pooled.reason


def test_between_trial_regression_recovers_the_simulated_slope() -> None:
    eff = simulated_effects(
        seed=4, k_whole=60, k_stratified=0, slope_ln_crp=0.4, tau=0.0, n_per_arm=400
    )
    (reg,) = between_trial_regression(eff, "crp_cutoff_mg_l")
    assert reg.status == "estimated" and reg.k == 60
    slope = reg.slope
    assert slope["name"] == "ln(crp_cutoff_mg_l)"
    assert slope["ci_lb"] < 0.4 < slope["ci_ub"]
    ref = rma(
        reg.model.yi, reg.model.vi, mods=np.log(np.array(reg.x_values)), method="REML", test="knha"
    )
    assert slope["estimate"] == pytest.approx(float(ref.beta[1]), rel=1e-12)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_between_trial_not_estimable_with_too_few_trials(k: int) -> None:
    eff = simulated_effects(seed=5, k_whole=k, k_stratified=0)
    (reg,) = between_trial_regression(eff, "crp_cutoff_mg_l", outcome="depressive_symptoms")
    assert reg.status == "not estimable"
    assert reg.reason.startswith(f"not estimable: k = {k}")
    pred = predict_at_crp(reg, (1, 2, 3, 5))
    assert pred["pred"].isna().all() and (pred["k_trials"] == k).all()


def test_predictions_flag_extrapolation_and_count_trials() -> None:
    eff = simulated_effects(seed=6, k_whole=12, k_stratified=0)
    eff = eff[eff["crp_cutoff_mg_l"].between(1.5, 4.0)]  # observed range 1.5 .. 4
    (reg,) = between_trial_regression(eff, "crp_cutoff_mg_l")
    pred = predict_at_crp(reg, (1, 2, 3, 5)).set_index("crp_mg_l")
    assert bool(pred.loc[1.0, "extrapolation"]) and bool(pred.loc[5.0, "extrapolation"])
    assert not bool(pred.loc[2.0, "extrapolation"]) and not bool(pred.loc[3.0, "extrapolation"])
    assert pred.loc[3.0, "k_at_or_above"] + pred.loc[3.0, "k_below"] == reg.k
    assert (pred["pi_lb"] <= pred["ci_lb"] + 1e-12).all() and (pred["ci_lb"] <= pred["pred"]).all()


def test_mechanism_class_regression_and_its_small_k_guard() -> None:
    eff = simulated_effects(seed=7, k_whole=12, k_stratified=0)
    (reg,) = between_trial_regression(eff, "mechanism_class")
    assert reg.status == "estimated" and reg.scale == "categorical"
    assert len(reg.coefficients) == 4  # intercept + 3 class contrasts
    (small,) = between_trial_regression(eff.iloc[:4], "mechanism_class")
    assert small.status == "not estimable"


def test_disagreement_between_within_and_between_is_flagged() -> None:
    # SIMULATED: within-trial interaction positive, between-trial slope negative.
    eff = simulated_effects(
        seed=8,
        k_whole=40,
        k_stratified=6,
        slope_ln_crp=-0.5,
        interaction=0.6,
        tau=0.0,
        n_per_arm=300,
    )
    res = who_benefits(eff, moderators=("crp_cutoff_mg_l",))
    (agree,) = res.agreement
    assert agree["status"].startswith("disagree")
    assert "ecological" in agree["explanation"]
    eff2 = simulated_effects(
        seed=8,
        k_whole=40,
        k_stratified=6,
        slope_ln_crp=0.5,
        interaction=0.6,
        tau=0.0,
        n_per_arm=300,
    )
    (agree2,) = who_benefits(eff2, moderators=("crp_cutoff_mg_l",)).agreement
    assert agree2["status"] == "agree in direction"


def test_not_comparable_when_either_side_is_missing() -> None:
    eff = simulated_effects(seed=9, k_whole=12, k_stratified=1)
    (reg,) = between_trial_regression(eff, "crp_cutoff_mg_l")
    out = compare_within_between(Estimate("not estimable", "not estimable: k = 1", 1), reg)
    assert out["status"] == "not comparable" and "k = 1" in out["explanation"]


def test_empty_effects_table_gives_reasons_not_numbers() -> None:
    eff = simulated_effects(seed=10).iloc[0:0]
    res = who_benefits(eff)
    d = res.to_dict()
    assert d["within_trial"]["pooled"][0]["reason"] == "not estimable: k = 0"
    assert all(a["status"] == "not comparable" for a in res.agreement)
    assert res.to_frame()["pred"].isna().all()


def test_missing_required_column_is_an_input_error() -> None:
    from inflamed.errors import InputError

    with pytest.raises(InputError, match="lacks column"):
        within_trial_interactions(pd.DataFrame({"study_id": ["a"]}))


def test_cutoff_regression_uses_only_trials_that_enrolled_by_the_cutoff() -> None:
    eff = simulated_effects(seed=11, k_whole=12, k_stratified=0)
    eff["inflammation_selection"] = "selected"
    eff.loc[eff["study_id"] == "sim00", "inflammation_selection"] = "post_hoc"
    (reg,) = between_trial_regression(eff, "crp_cutoff_mg_l")
    assert reg.k == 11 and "sim00" not in reg.studies
    assert "excluded (cut-off not an inclusion criterion): sim00" in reg.reason
    (base,) = between_trial_regression(eff, "baseline_crp_mg_l")
    assert base.k == 12
