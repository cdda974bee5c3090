"""The RoB 2 traffic light per result: does each result get its trial's domains, the result-level
rule (a post hoc subgroup result is high in D5) and the overall judgement by RoB 2's algorithm,
one row per study x outcome x analysis set, and does the figure draw one row per result?

The judgements and results here are SIMULATED (made up in code), not any trial's.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from inflamed.figures.risk_of_bias import rob_traffic_light
from inflamed.pipeline.figure_inputs import rob_results_input
from inflamed.pipeline.layout import REVIEW_FIGURES, review_artefacts

DOMAINS = ["D1_randomisation", "D2_deviations", "D3_missing_data", "D4_measurement"]


def _rob() -> pd.DataFrame:
    judgements = ["some_concerns", "low", "low", "low", "some_concerns"]
    return pd.DataFrame(
        {
            "study_id": ["SIM2020"] * 5,
            "domain": [*DOMAINS, "D5_selection_of_reported_result"],
            "judgement": judgements,
        }
    )


def _results() -> dict[str, pd.DataFrame]:
    response = pd.DataFrame(
        {
            "study_id": ["SIM2020", "SIM2020", "SIM2020"],
            "analysis_set": ["whole", "crp_high", "crp_high"],  # two contrasts in crp_high
            "inflammation_selection": ["post_hoc"] * 3,
        }
    )
    return {"Response": response, "Remission": pd.DataFrame()}


def test_each_result_gets_the_algorithm_and_the_post_hoc_rule() -> None:
    studies = pd.DataFrame({"study_id": ["SIM2020"], "first_author": ["Sim"], "year": [2020]})
    long = rob_results_input(_rob(), studies, _results())
    grid = long.pivot(index="study_id", columns="domain", values="judgement")
    assert list(grid.index) == [
        "Sim 2020 | Response, CRP-high",
        "Sim 2020 | Response, whole sample",
    ]
    whole, high = (
        grid.loc["Sim 2020 | Response, whole sample"],
        grid.loc["Sim 2020 | Response, CRP-high"],
    )
    assert whole["D5_selection_of_reported_result"] == "some_concerns"
    assert whole["overall"] == "some_concerns"  # two domains with some concerns: not yet high
    assert high["D5_selection_of_reported_result"] == "high" and high["overall"] == "high"
    assert (whole[DOMAINS] == high[DOMAINS]).all()  # the trial's other domains apply to both


def test_figure_draws_one_row_per_result_and_is_a_review_artefact() -> None:
    long = rob_results_input(_rob(), None, _results())
    fig = rob_traffic_light(long, title="Risk of bias per result (RoB 2)")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["SIM2020 | Response, whole sample", "SIM2020 | Response, CRP-high"]
    assert "rob_results" in REVIEW_FIGURES
    assert "results/r/figures/rob_results.png" in review_artefacts("r", ["response"])


def test_a_double_zero_table_is_a_result_with_its_own_row() -> None:
    """A table extract set aside for no events in either arm still gets its RoB 2 row."""
    from inflamed.analysis_sets import outcome_results

    pooled = pd.DataFrame(
        {"study_id": ["SIM2020"], "analysis_set": ["whole"], "inflammation_selection": ["post_hoc"]}
    )
    set_aside = pd.DataFrame(
        {
            "study_id": ["SIM2021"],
            "outcome": ["serious_adverse_events"],
            "subgroup": ["whole"],
            "contrast": ["drug_vs_placebo"],
            "row_ref": ["outcomes.csv:9"],
            "events_treat": [0],
            "n_treat": [30],
            "events_ctrl": [0],
            "n_ctrl": [30],
        }
    )
    sheet = pd.DataFrame(
        {
            "study_id": ["SIM2020", "SIM2021"],
            "year": [2020, 2021],
            "inflammation_selection": ["post_hoc", "selected"],
        }
    )
    rows = outcome_results(pooled, set_aside, sheet, "serious_adverse_events")
    # SIM2021 selected on inflammation: its whole sample is also the CRP-high result.
    assert sorted(zip(rows["study_id"], rows["analysis_set"], strict=True)) == [
        ("SIM2020", "whole"),
        ("SIM2021", "crp_high"),
        ("SIM2021", "whole"),
    ]
    assert outcome_results(pooled, set_aside, sheet, "response")["study_id"].tolist() == ["SIM2020"]
    rob = rob_results_input(_rob(), None, {"Serious adverse events": rows})
    assert "SIM2021 | Serious adverse events, whole sample" in set(rob["study_id"])


def test_a_difference_only_the_md_analysis_uses_is_a_result() -> None:
    """A CRP-stratum difference without a pooled SD (MD analysis only) gets its RoB 2 row."""
    from inflamed.analysis_sets import outcome_results

    md = pd.DataFrame(
        {
            "study_id": ["SIM2020"],
            "subgroup": ["crp_high"],
            "outcome": ["depression_severity"],
            "year": [2020],
            "inflammation_selection": ["post_hoc"],
        }
    )
    rows = outcome_results(None, None, None, "depression_severity", instrument_effects=md)
    assert rows[["study_id", "analysis_set"]].values.tolist() == [["SIM2020", "crp_high"]]
    rob = rob_results_input(_rob(), None, {"Depression": rows}).set_index(["study_id", "domain"])
    # A post hoc subgroup result: high in D5, so high overall.
    assert rob.loc[("SIM2020 | Depression, CRP-high", "overall"), "judgement"] == "high"


def test_a_traffic_light_is_drawn_up_to_the_readable_row_limit_and_no_further() -> None:
    from inflamed.pipeline.figure_inputs import rob_figure_reason

    long = rob_results_input(_rob(), None, _results())  # two result rows
    assert rob_figure_reason(long, 2, empty="none") == ""
    assert rob_figure_reason(long, None, empty="none") == ""
    reason = rob_figure_reason(long, 1, empty="none")
    assert reason.startswith("2 rows, more than the 1 a figure shows readably")
    assert rob_figure_reason(long.iloc[0:0], 1, empty="none") == "none"
