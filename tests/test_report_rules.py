"""Do the report's RoB 2 and GRADE rules follow their published definitions?

Questions answered: is RoB 2's overall judgement the worst domain, with some concerns in three
or more domains raised to high and unassessed domains never hiding a judged concern; is a post hoc
subgroup result high in domain 5; does GRADE rate indirectness down for post hoc subgroups,
unselected whole samples and 'at any point' outcomes, and non-reporting bias for results known
to be missing; are absolute effects per 1,000 at the control-arm risk and capped at 1,000.
"""

from __future__ import annotations

import pandas as pd
import pytest

from inflamed.report.grade_context import (
    GradeContext,
    absolute_effect,
    judge_indirectness,
    judge_non_reporting,
)
from inflamed.report.rob2 import overall_judgement, result_judgements

L, S, H, N = "low", "some_concerns", "high", "not_assessed"


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        ((L, L, L, L, L), "low"),
        ((L, S, L, L, L), "some_concerns"),
        ((S, N, N, N, N), "some_concerns"),  # a judged concern is not hidden by gaps
        ((S, S, L, L, L), "some_concerns"),
        ((S, S, S, L, L), "high"),  # RoB 2's multiple-domains clause
        ((L, L, H, L, L), "high"),
        ((N, N, N, N, N), "not_assessed"),
        ((L, N, L, L, L), "not_assessed"),
    ],
)
def test_rob2_overall_follows_the_algorithm(domains, expected):
    named = {f"D{i + 1}": j for i, j in enumerate(domains)}
    named["overall"] = "low"  # a recorded overall is ignored: the algorithm derives it
    assert overall_judgement(named)[0] == expected


def test_post_hoc_subgroup_result_is_high_in_domain_5():
    rob = pd.DataFrame(
        {
            "study_id": ["T"] * 6,
            "domain": ["D1_randomisation", "D2_deviations", "D3_missing_data",
                       "D4_measurement", "D5_selection_of_reported_result", "overall"],
            "judgement": [S, L, L, L, S, S],
        }
    )  # fmt: skip
    _, whole, _ = result_judgements(rob, "T", post_hoc_subgroup=False)
    domains, subgroup, why = result_judgements(rob, "T", post_hoc_subgroup=True)
    assert (whole, subgroup) == ("some_concerns", "high")
    assert domains["D5_selection_of_reported_result"] == "high" and "after the fact" in why


def _context(notes: str = "", missing=None) -> GradeContext:
    contrasts = pd.DataFrame(
        {"study_id": ["A"], "row_ref": ["r:2"], "notes": [notes], "subgroup_definition": [""],
         "sd_ctrl": [8.0], "n_ctrl": [30]}
    )  # fmt: skip
    return GradeContext({"A": "Author 2020"}, contrasts, missing or {}, {"dep": ("HAMD17",)})


def _rows(selection: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"study_id": ["A"], "row_ref": ["r:2"], "inflammation_selection": [selection],
         "instrument": ["HAMD17"], "events_ctrl": [3], "n_ctrl": [9]}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("selection", "analysis_set", "notes", "levels"),
    [
        ("selected", "crp_high", "", 0),
        ("post_hoc", "crp_high", "", 1),
        ("unselected", "whole", "", 1),
        ("selected", "whole", "", 0),
        ("selected", "crp_high", "response at any study point up to week 12", 1),
        ("post_hoc", "crp_high", "counted during treatment", 2),
    ],
)
def test_indirectness_rules(selection, analysis_set, notes, levels):
    got, reason, assessed = judge_indirectness(_rows(selection), analysis_set, _context(notes))
    assert assessed and got == levels, reason


def test_non_reporting_names_the_missing_studies():
    context = _context(missing={("dep", "crp_high"): ("B", "C")})
    levels, reason, _ = judge_non_reporting("dep", "crp_high", context)
    assert levels == 1 and "B, C" in reason
    assert judge_non_reporting("dep", "whole", context) is None  # falls back to funnel tests
    # A study whose result is in the analysis (say a reported between-arm difference, its per-arm
    # numbers still requested) is not an unreported result.
    levels, reason, _ = judge_non_reporting("dep", "crp_high", context, contributing=["B"])
    assert levels == 1 and "C" in reason and "B" not in reason
    assert judge_non_reporting("dep", "crp_high", context, contributing=["B", "C"]) is None


def test_absolute_effect_per_1000_and_capped():
    effect = absolute_effect("RR", 1.85, 0.67, 5.11, _rows("post_hoc"), "response", _context())
    assert effect.text.startswith("333 per 1,000 with placebo; 617 per 1,000 with treatment")
    assert "to 1000, capped" in effect.text and "3/9" in effect.basis


def test_smd_in_instrument_points_names_its_sd():
    effect = absolute_effect("SMD", -0.31, -0.82, 0.2, _rows("post_hoc"), "dep", _context())
    assert effect.text.startswith("-2.5 HAMD17 points") and "SD 8" in effect.basis


def test_a_recorded_overall_without_domains_stands():
    assert overall_judgement({"overall": "high"})[0] == "high"
    assert overall_judgement({"overall": "low", "D1": "high"})[0] == "high"
