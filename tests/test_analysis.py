"""The pool stage's orchestration: analysis sets, honest emptiness, gating of small-study tests.

Effects tables here are SIMULATED (seeded), built in code.
"""

import json

import numpy as np
import pandas as pd
import pytest

from inflamed.pool import analyse_outcome, analysis_sets, pooled_table, rma_settings
from inflamed.stats.pooling import rma

POOLING = {"preset": "cochrane", "level": 95, "small_study_min_k": 10}
SMD = {"type": "continuous", "measure": "SMD", "label": "Severity"}
RR = {"type": "binary", "measure": "RR", "label": "Response", "event_is": "benefit"}


def simulated_effects(
    k: int,
    subgroup: str = "crp_high",
    outcome: str = "severity",
    seed: int = 1,
    selection: str = "stratified",
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 60, size=(k, 2))
    return pd.DataFrame(
        {
            "study_id": [f"S{i:02d}" for i in range(k)],
            "contrast": "drug_vs_placebo",
            "subgroup": subgroup,
            "outcome": outcome,
            "measure": "SMD",
            "yi": rng.normal(0.4, 0.2, k),
            "vi": rng.uniform(0.03, 0.15, k),
            "n_treat": n[:, 0],
            "n_ctrl": n[:, 1],
            "events_treat": np.nan,
            "events_ctrl": np.nan,
            "year": 2000 + np.arange(k),
            "mechanism_class": ["minocycline", "cytokine_inhibitor"] * (k // 2)
            + ["other"] * (k % 2),
            "inflammation_selection": selection,
        }
    )


def test_settings_follow_the_preset_and_explicit_overrides():
    assert rma_settings({"preset": "cochrane"})["test"] == "knha"
    assert rma_settings({"preset": "revman"})["method"] == "DL"
    assert rma_settings({"preset": "revman", "method": "REML"})["method"] == "REML"


def test_whole_sample_of_a_selected_trial_counts_as_crp_high():
    selected = simulated_effects(2, subgroup="whole", selection="selected")
    stratified = simulated_effects(2, subgroup="whole", seed=2).assign(study_id=["T0", "T1"])
    sets = analysis_sets(pd.concat([selected, stratified]))
    high = sets[sets["analysis_set"] == "crp_high"]
    assert sorted(high["study_id"]) == ["S00", "S01"]
    assert high["set_note"].str.contains("selected patients on inflammation").all()
    assert len(sets[sets["analysis_set"] == "whole"]) == 4


def test_primary_estimate_equals_rma_on_the_primary_rows():
    effects = pd.concat([simulated_effects(12), simulated_effects(12, subgroup="whole", seed=3)])
    out = analyse_outcome(effects, outcome="severity", spec=SMD, pooling=POOLING)
    high = effects[effects["subgroup"] == "crp_high"]
    fit = rma(high["yi"].to_numpy(), high["vi"].to_numpy(), method="REML", test="knha")
    result = out.summary["sets"]["crp_high"]["result"]
    assert result["estimate"] == pytest.approx(fit.estimate, rel=1e-12)
    assert result["tau2_ci_lb"] <= result["tau2"] <= result["tau2_ci_ub"]
    assert out.summary["sets"]["crp_high"]["n_participants"] == int(
        high[["n_treat", "n_ctrl"]].sum().sum()
    )
    assert out.small_study["reported"] and out.small_study["k"] == 12
    assert list(out.leave_one_out["study_id"]) == list(high["study_id"])
    assert out.cumulative["k"].tolist() == list(range(1, 13))


def test_too_few_studies_are_reported_not_guessed():
    out = analyse_outcome(simulated_effects(1), outcome="severity", spec=SMD, pooling=POOLING)
    single = out.summary["sets"]["crp_high"]
    assert single["estimable"] and single["k"] == 1
    assert single["result"]["tau2"] is None and "single study" in single["note"]
    assert not out.summary["sets"]["whole"]["estimable"]
    assert "no study in this set has usable numbers" in out.summary["sets"]["whole"]["reason"]
    assert not out.small_study["reported"] and "k = 1 < 10" in out.small_study["reason"]
    assert "needs at least 3" in out.leave_one_out["not_run_because"].iloc[0]
    assert not out.subgroups["mechanism_class"]["reported"]


def test_binary_outcome_reports_ratio_scale_and_mantel_haenszel():
    effects = simulated_effects(4, outcome="response")
    effects["events_treat"] = [10, 12, 8, 15]
    effects["events_ctrl"] = [6, 7, 5, 9]
    effects["measure"] = "RR"
    out = analyse_outcome(effects, outcome="response", spec=RR, pooling=POOLING)
    block = out.summary["sets"]["crp_high"]
    assert block["ratio_scale"]["estimate"] == pytest.approx(np.exp(block["result"]["estimate"]))
    assert block["fixed_effect_counts"]["mantel_haenszel"]["k"] == 4
    assert "event is a benefit" in out.summary["direction"]


def test_mantel_haenszel_without_treatment_events_is_reported_not_estimable():
    """Issue 12: no events in one arm of every study gave Q = 0, p = 1, I^2 = 0 (simulated rows)."""
    effects = simulated_effects(4, outcome="response")
    effects["events_treat"] = [0, 0, 0, 0]
    effects["events_ctrl"] = [6, 7, 5, 9]
    effects["measure"] = "RR"
    out = analyse_outcome(effects, outcome="response", spec=RR, pooling=POOLING)
    mh = out.summary["sets"]["crp_high"]["fixed_effect_counts"]["mantel_haenszel"]
    assert mh["estimable"] is False and "treatment arm" in mh["reason"]
    assert all(np.isnan(mh[key]) for key in ("estimate", "q", "q_pval", "i2", "h2"))


def test_pooled_result_says_how_many_likelihood_maxima_and_what_was_warned():
    out = analyse_outcome(simulated_effects(5), outcome="severity", spec=SMD, pooling=POOLING)
    result = out.summary["sets"]["crp_high"]["result"]
    assert result["n_local_maxima"] == 1 and result["warnings"] == []


def test_pooled_table_lists_every_set(tmp_path):
    effects = pd.concat([simulated_effects(5), simulated_effects(3, subgroup="whole", seed=4)])
    out = analyse_outcome(effects, outcome="severity", spec=SMD, pooling=POOLING)
    paths = {
        name: tmp_path / f"{name}.out"
        for name in [
            "summary",
            "studies",
            "subgroups",
            "leave_one_out",
            "influence",
            "small_study",
            "cumulative",
        ]
    }
    out.write(**paths)
    table = pooled_table([paths["summary"]])
    assert set(table["analysis_set"]) == {"crp_high", "whole", "crp_low"}
    row = table[table["analysis_set"] == "crp_high"].iloc[0]
    assert row["estimate"] == pytest.approx(
        json.loads(paths["summary"].read_text())["sets"]["crp_high"]["result"]["estimate"]
    )
    assert not table[table["analysis_set"] == "crp_low"]["estimable"].iloc[0]


def test_cumulative_rows_are_labelled_by_the_study_that_entered():
    effects = simulated_effects(4)
    effects["year"] = [2005, 2001, 2003, 2002]
    out = analyse_outcome(effects, outcome="severity", spec=SMD, pooling=POOLING)
    first = out.cumulative.iloc[0]
    assert (first["study_id"], first["year"]) == ("S01", 2001)
    assert first["estimate"] == pytest.approx(effects.loc[1, "yi"])
    assert out.cumulative["year"].tolist() == [2001, 2002, 2003, 2005]
