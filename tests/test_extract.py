"""Trial extraction: priority rules, allowed imputations, sign convention, multi-arm handling,
binary outcomes, the derivation log and the missing-data table. Uses the simulated fixture
review in tests/fixtures/sheets/valid."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.extract import DERIVATION_COLUMNS, EFFECT_COLUMNS, MISSING_COLUMNS, extract_effects
from inflamed.ingest import read_review
from inflamed.stats.effect_sizes import escalc

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sheets"
OUTCOMES = {
    "depression_severity": {"type": "continuous", "measure": "SMD"},
    "anhedonia": {"type": "continuous", "measure": "SMD"},
    "response": {"type": "binary", "measure": "RR", "event_is": "benefit"},
    "remission": {"type": "binary", "measure": "RR", "event_is": "benefit"},
    "serious_ae": {"type": "binary", "measure": "RR", "event_is": "harm"},
}


@pytest.fixture(scope="module")
def review():
    return read_review(FIX / "valid", instruments_path=FIX / "instruments.csv")


def _one(frame, **where):
    mask = np.ones(len(frame), dtype=bool)
    for k, v in where.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, (where, mask.sum())
    return frame[mask].iloc[0]


def _g(m1, sd1, n1, m2, sd2, n2):
    return escalc("SMD", m1i=[m1], sd1i=[sd1], n1i=[n1], m2i=[m2], sd2i=[sd2], n2i=[n2])


def test_columns_sorting_and_one_row_per_study_contrast_subgroup_outcome(review):
    res = extract_effects(review, OUTCOMES, {})
    eff = res.effects
    assert list(eff.columns) == EFFECT_COLUMNS
    assert list(res.derivation_log.columns) == DERIVATION_COLUMNS
    assert list(res.missing.columns) == MISSING_COLUMNS
    key = ["study_id", "contrast", "subgroup", "outcome"]
    assert not eff.duplicated(key).any()
    assert eff.equals(
        eff.sort_values(
            ["outcome", "subgroup", "study_id", "contrast"], kind="mergesort"
        ).reset_index(drop=True)
    )
    a = _one(eff, study_id="SimA2020", outcome="depression_severity")
    assert (
        a["mechanism_class"] == "tetracycline" and a["crp_cutoff_mg_l"] == 3.0 and a["year"] == 2020
    )
    b = _one(eff, study_id="SimB2021", outcome="depression_severity", subgroup="whole")
    assert b["crp_cutoff_mg_l"] == pytest.approx(2.0)  # converted from mg/dL at ingest


def test_sign_flip_for_higher_is_worse_and_log(review):
    res = extract_effects(review, OUTCOMES, {})
    a = _one(res.effects, study_id="SimA2020", outcome="depression_severity")
    expected = _g(12.5, 6.1, 18, 15.0, 6.4, 19)
    assert a["yi"] == pytest.approx(-expected.yi[0], rel=1e-12) and a["yi"] > 0
    assert a["vi"] == pytest.approx(expected.vi[0], rel=1e-12)
    assert a["row_ref"] == "valid/outcomes.csv:2"
    steps = res.derivation_log[res.derivation_log.row_ref == "valid/outcomes.csv:2"]
    assert steps["step"].tolist() == ["select", "effect_size", "sign"]
    assert "yi = -yi" in steps.iloc[2]["formula"] and "higher = worse" in steps.iloc[2]["formula"]
    assert "yi = -yi" in a["derivation"]


def test_no_flip_for_higher_is_better(review):
    instruments = review.instruments.copy()
    instruments.loc[instruments.instrument == "hamd17", "higher_is_worse"] = "false"
    res = extract_effects(dataclasses.replace(review, instruments=instruments), OUTCOMES, {})
    a = _one(res.effects, study_id="SimA2020", outcome="depression_severity")
    assert a["yi"] == pytest.approx(_g(12.5, 6.1, 18, 15.0, 6.4, 19).yi[0], rel=1e-12)
    assert (
        "kept"
        in res.derivation_log[
            (res.derivation_log.row_ref == a["row_ref"]) & (res.derivation_log.step == "sign")
        ].iloc[0]["formula"]
    )


@pytest.mark.parametrize(
    ("rules", "row_ref"),
    [
        ({"timepoint_rule": "closest", "target_weeks": 8}, "valid/outcomes.csv:2"),
        ({"timepoint_rule": "closest", "target_weeks": 4}, "valid/outcomes.csv:3"),
        (
            {"timepoint_rule": "closest", "target_weeks": 6},
            "valid/outcomes.csv:2",
        ),  # tie 4/8 -> later
        ({"timepoint_rule": "latest"}, "valid/outcomes.csv:2"),
        (
            {"instrument_priority": {"depression_severity": ["madrs", "hamd17"]}},
            "valid/outcomes.csv:4",
        ),
    ],
)
def test_priority_rules(review, rules, row_ref):
    res = extract_effects(review, OUTCOMES, rules)
    a = _one(res.effects, study_id="SimA2020", outcome="depression_severity")
    assert a["row_ref"] == row_ref
    sel = res.derivation_log[
        (res.derivation_log.row_ref == row_ref) & (res.derivation_log.step == "select")
    ].iloc[0]
    assert "not used" in sel["formula"]


def test_sd_from_se_and_ci_when_allowed(review):
    res = extract_effects(review, OUTCOMES, {"sd_imputations": ["se", "ci"]})
    hi = _one(res.effects, study_id="SimB2021", subgroup="crp_high", outcome="depression_severity")
    sd_t, sd_c = 1.5 * math.sqrt(14), 1.4 * math.sqrt(15)
    assert hi["yi"] == pytest.approx(-_g(-9.0, sd_t, 14, -6.0, sd_c, 15).yi[0], rel=1e-12)
    assert hi["yi"] > 0  # larger improvement (more negative post - pre) on treatment
    log = res.derivation_log[res.derivation_log.row_ref == hi["row_ref"]]
    assert (log.step == "sd").sum() == 2 and "SE * sqrt(n)" in log[log.step == "sd"].iloc[0][
        "formula"
    ]
    lo = _one(res.effects, study_id="SimB2021", subgroup="crp_low", outcome="depression_severity")
    from scipy import stats

    sd_ci = math.sqrt(15) * 6.0 / (2 * stats.t.ppf(0.975, 14))
    assert lo["yi"] == pytest.approx(-_g(-7.0, sd_ci, 15, -8.0, sd_ci, 15).yi[0], rel=1e-12)


def test_imputation_not_allowed_goes_to_missing(review):
    res = extract_effects(review, OUTCOMES, {"sd_imputations": []})
    assert not ((res.effects.study_id == "SimB2021") & (res.effects.subgroup == "crp_high")).any()
    miss = _one(
        res.missing, study_id="SimB2021", subgroup="crp_high", outcome="depression_severity"
    )
    assert miss["fields"] == "sd_treat, sd_ctrl"
    assert "se given but imputing from it is not allowed" in miss["why"]
    assert miss["who"] == "trial investigators (Beta et al.)"
    assert miss["row_ref"] == "valid/outcomes.csv:7"


def test_median_iqr_only_when_allowed(review):
    res = extract_effects(review, OUTCOMES, {})
    assert not (res.effects.outcome == "anhedonia").any()
    assert (
        _one(res.missing, outcome="anhedonia")["fields"]
        == "mean_treat, sd_treat, mean_ctrl, sd_ctrl"
    )
    res = extract_effects(review, OUTCOMES, {"sd_imputations": ["median_iqr"]})
    a = _one(res.effects, outcome="anhedonia")
    assert np.isfinite(a["yi"]) and a["yi"] > 0  # lower SHAPS median on treatment
    log = res.derivation_log[res.derivation_log.row_ref == a["row_ref"]]
    assert (log.step == "mean").sum() == 2 and "Luo 2018" in log[log.step == "mean"].iloc[0][
        "formula"
    ]


def test_pre_minus_post_change_is_turned_around(review):
    c = review.contrasts.copy()
    i = c.index[
        (c.study_id == "SimB2021") & (c.subgroup == "whole") & (c.outcome == "depression_severity")
    ][0]
    base = extract_effects(review, OUTCOMES, {})
    c.loc[i, ["mean_treat", "mean_ctrl", "change_direction"]] = [8.0, 7.0, "pre_minus_post"]
    res = extract_effects(dataclasses.replace(review, contrasts=c), OUTCOMES, {})
    ref = c.loc[i, "row_ref"]
    assert _one(res.effects, row_ref=ref)["yi"] == pytest.approx(
        _one(base.effects, row_ref=ref)["yi"], rel=1e-12
    )
    assert "direction" in set(res.derivation_log[res.derivation_log.row_ref == ref].step)


def test_multi_arm_split_and_first(review):
    res = extract_effects(review, OUTCOMES, {"multi_arm": "split"})
    c = res.effects[
        (res.effects.study_id == "SimC2022") & (res.effects.outcome == "depression_severity")
    ]
    assert sorted(c.contrast) == ["celecoxib_high_vs_placebo", "celecoxib_low_vs_placebo"]
    assert c["n_ctrl"].tolist() == [12, 12]
    hi = _one(c, contrast="celecoxib_high_vs_placebo")
    assert hi["yi"] == pytest.approx(-_g(18.0, 7.0, 12, 21.0, 7.5, 12).yi[0], rel=1e-12)
    assert (res.derivation_log.step == "split_control").sum() == 2
    res = extract_effects(review, OUTCOMES, {"multi_arm": "first"})
    c = res.effects[
        (res.effects.study_id == "SimC2022") & (res.effects.outcome == "depression_severity")
    ]
    assert c.contrast.tolist() == ["celecoxib_high_vs_placebo"] and c.n_ctrl.tolist() == [24]
    assert "multi-arm rule 'first'" in _one(res.derivation_log, step="exclude")["formula"]


def test_binary_outcomes_keep_orientation_and_record_event_meaning(review):
    res = extract_effects(review, OUTCOMES, {})
    r = _one(res.effects, study_id="SimA2020", outcome="response")
    assert r["measure"] == "RR" and r["yi"] == pytest.approx(
        math.log((9 / 20) / (5 / 20)), rel=1e-12
    )
    assert r["events_treat"] == 9 and r["events_ctrl"] == 5
    s = _one(res.effects, study_id="SimA2020", outcome="serious_ae")
    assert "0.5 added" in s["derivation"]
    assert s["yi"] == pytest.approx(math.log((1.5 / 21) / (0.5 / 21)), rel=1e-12)
    eff_log = res.derivation_log[
        (res.derivation_log.row_ref == s["row_ref"]) & (res.derivation_log.step == "effect_size")
    ]
    assert "harm" in eff_log.iloc[0]["formula"]


def test_double_zero_is_excluded_and_logged(review):
    c = review.contrasts.copy()
    i = c.index[(c.study_id == "SimA2020") & (c.outcome == "serious_ae")][0]
    c.loc[i, "events_treat"] = 0.0
    res = extract_effects(dataclasses.replace(review, contrasts=c), OUTCOMES, {})
    assert not ((res.effects.study_id == "SimA2020") & (res.effects.outcome == "serious_ae")).any()
    ex = _one(res.derivation_log, step="exclude")
    assert "both arms" in ex["assumption"] and ex["row_ref"] == c.loc[i, "row_ref"]


def test_missing_events_name_who_could_supply(review):
    res = extract_effects(review, OUTCOMES, {})
    m = _one(res.missing, study_id="SimC2022", outcome="response")
    assert m["fields"] == "events_treat, events_ctrl"
    assert m["who"] == "trial investigators (Gamma et al.)"
    c = review.contrasts.copy()
    c.loc[(c.study_id == "SimA2020") & (c.outcome == "response"), "events_treat"] = np.nan
    res = extract_effects(dataclasses.replace(review, contrasts=c), OUTCOMES, {})
    m = _one(res.missing, study_id="SimA2020", outcome="response")
    assert (
        m["who"]
        == "trial investigators (Alpha et al.); sponsor, via ClinicalTrials.gov results for NCT00000001"
    )
    assert res.missing.equals(
        res.missing.sort_values(
            ["study_id", "outcome", "subgroup", "contrast", "row_ref"], kind="mergesort"
        ).reset_index(drop=True)
    )


def test_outcomes_not_declared_are_ignored(review):
    res = extract_effects(review, {"response": OUTCOMES["response"]}, {})
    assert set(res.effects.outcome) == {"response"}


@pytest.mark.parametrize(
    ("rules", "column"),
    [
        ({"timepoint_rule": "first"}, "timepoint_rule"),
        ({"multi_arm": "merge"}, "multi_arm"),
        ({"sd_imputations": ["guess"]}, "sd_imputations"),
    ],
)
def test_bad_rules_are_rejected(review, rules, column):
    with pytest.raises(InputError) as info:
        extract_effects(review, OUTCOMES, rules)
    assert info.value.column == column


def test_prepost_r_is_recorded(review):
    assert (
        extract_effects(review, OUTCOMES, {"prepost_correlation": 0.7}).rules["prepost_correlation"]
        == 0.7
    )


def test_same_effects_after_a_csv_round_trip(review, tmp_path):
    """The extract rule reads contrasts.csv back (empty text cells become NaN); results must not change."""
    import pandas as pd

    from inflamed.io import write_csv

    write_csv(tmp_path / "contrasts.csv", review.contrasts)
    write_csv(tmp_path / "studies.csv", review.studies)
    back = dataclasses.replace(
        review,
        contrasts=pd.read_csv(tmp_path / "contrasts.csv", keep_default_na=False, na_values=[""]),
        studies=pd.read_csv(tmp_path / "studies.csv", keep_default_na=False, na_values=[""]),
    )
    a = extract_effects(review, OUTCOMES, {})
    b = extract_effects(back, OUTCOMES, {})
    cols = [
        "study_id",
        "contrast",
        "subgroup",
        "outcome",
        "yi",
        "vi",
        "n_ctrl",
        "derivation",
        "row_ref",
    ]
    pd.testing.assert_frame_equal(a.effects[cols], b.effects[cols], check_dtype=False)
    pd.testing.assert_frame_equal(a.missing, b.missing, check_dtype=False)
    assert len(a.derivation_log) == len(b.derivation_log)
