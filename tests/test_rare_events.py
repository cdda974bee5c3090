"""Rare events: double-zero trials set aside on the ratio scale but kept by the risk difference.

Questions answered:

* Does :func:`inflamed.rare_events.set_aside_tables` find the tables extract set aside for no
  events in both arms, with their counts from ``contrasts.csv``?
* Does the MH risk difference of a lone 0/30 vs 0/30 trial give 0 with a real interval (the 0.5
  correction, as RevMan; metafor's value from ``tests/reference/R/rare_events.R``), and does a set
  with events use no correction (metafor's default)? Is Peto "not estimable" with a reason when
  nobody had an event?
* Does the pool stage put the set-aside trial into the analysis set's ``rare_events`` block (and
  only when config names methods)?
* Does the report's sentence quote the risk difference with spans that resolve to summary.json?

The 2x2 tables are constructed here; none is trial data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from inflamed.io import write_json
from inflamed.pool import analyse_outcome
from inflamed.rare_events import rare_event_analyses, set_aside_tables
from inflamed.report.artefacts import OutcomeArtefacts, ReviewArtefacts
from inflamed.report.html import resolve_source
from inflamed.report.zero_events import risk_difference_text, zero_event_text

FIXTURE = Path(__file__).resolve().parent / "reference" / "fixtures" / "binary_rare_events.json"
CASES = json.loads(FIXTURE.read_text())["cases"]
SPEC = {"type": "binary", "measure": "RR", "event_is": "harm", "label": "Serious adverse events"}
POOLING = {"preset": "cochrane", "level": 95, "rare_events": ["MH_RD", "PETO"]}


def _case(dataset: str, extra: str, fun: str = "rma.mh") -> dict:
    return next(
        c
        for c in CASES
        if c["dataset"].startswith(dataset) and c["extra"] == extra and c["fun"] == fun
    )


def _tables(case: dict) -> pd.DataFrame:
    # jsonlite's auto_unbox writes a one-table input as a scalar
    inp = {k: v if isinstance(v, list) else [v] for k, v in case["inputs"].items()}
    return pd.DataFrame(
        {
            "study_id": [f"S{i}" for i in range(len(inp["ai"]))],
            "events_treat": inp["ai"],
            "n_treat": inp["n1i"],
            "events_ctrl": inp["ci"],
            "n_ctrl": inp["n2i"],
        }
    )


def test_lone_double_zero_gets_a_corrected_interval_as_metafor() -> None:
    corrected = _case("one double-zero", ', add = c(1/2, 1/2), to = c("only0", "only0")')
    block = rare_event_analyses(_tables(corrected), ["MH_RD", "PETO"])
    rd = block["MH_RD"]
    assert block["double_zero"] == ["S0"] and block["n_participants"] == 60
    assert rd["estimable"] and rd["estimate"] == 0
    for key in ("se", "ci_lb", "ci_ub"):
        assert rd[key] == pytest.approx(corrected["result"][key], rel=1e-10)
    assert rd["ci_lb"] < 0 < rd["ci_ub"]  # a real interval, not metafor's zero-width default
    assert rd["zero_cell_correction"].startswith("no table has an event")
    assert not block["PETO"]["estimable"] and block["PETO"]["reason"]


def test_tables_with_events_use_no_correction() -> None:
    plain = _case("mixed", "")
    rd = rare_event_analyses(_tables(plain), ["MH_RD"])["MH_RD"]
    assert rd["zero_cell_correction"].startswith("none")
    for key in ("estimate", "se", "ci_lb", "ci_ub"):
        assert rd[key] == pytest.approx(plain["result"][key], rel=1e-10)


def test_no_methods_or_no_counts_say_why() -> None:
    assert "pooling.rare_events" in rare_event_analyses(_tables(_case("mixed", "")), [])["reason"]
    empty = pd.DataFrame(columns=["study_id", "events_treat", "n_treat", "events_ctrl", "n_ctrl"])
    assert rare_event_analyses(empty, ["MH_RD"])["reported"] is False


def _logs() -> tuple[pd.DataFrame, pd.DataFrame]:
    log = pd.DataFrame(
        {
            "row_ref": ["sim/outcomes.csv:6", "sim/outcomes.csv:7"],
            "study_id": ["ZERO2020", "OTHER2019"],
            "outcome": ["serious_ae", "serious_ae"],
            "subgroup": ["whole", "whole"],
            "contrast": ["drug_vs_placebo", "drug_vs_placebo"],
            "step": ["exclude", "timepoint"],
            "formula": ["RR: study dropped", ""],
            "assumption": ["no events (or only events) in both arms", "closest time point"],
        }
    )
    contrasts = pd.DataFrame(
        {
            "row_ref": ["sim/outcomes.csv:6", "sim/outcomes.csv:7"],
            "study_id": ["ZERO2020", "OTHER2019"],
            "outcome": ["serious_ae", "serious_ae"],
            "subgroup": ["whole", "whole"],
            "contrast": ["drug_vs_placebo", "drug_vs_placebo"],
            "events_treat": [0, 3],
            "n_treat": [30, 40],
            "events_ctrl": [0, 1],
            "n_ctrl": [30, 41],
        }
    )
    return log, contrasts


def test_set_aside_tables_come_from_the_derivation_log() -> None:
    aside = set_aside_tables(*_logs())
    assert aside["study_id"].tolist() == ["ZERO2020"]
    assert aside[["events_treat", "n_treat", "events_ctrl", "n_ctrl"]].iloc[0].tolist() == [
        0,
        30,
        0,
        30,
    ]


def _effects() -> pd.DataFrame:
    """One usable whole-sample SAE row (another trial) besides the set-aside double zero."""
    return pd.DataFrame(
        {
            "study_id": ["OTHER2019", "ZERO2020"],
            "contrast": ["drug_vs_placebo", "drug_vs_placebo"],
            "subgroup": ["whole", "whole"],
            "outcome": ["serious_ae", "response"],
            "yi": [0.9, 0.1],
            "vi": [1.3, 0.2],
            "n_treat": [40, 30],
            "n_ctrl": [41, 30],
            "events_treat": [3, 10],
            "events_ctrl": [1, 9],
            "year": [2019, 2020],
            "inflammation_selection": ["none", "none"],
            "mechanism_class": ["cytokine", "cytokine"],
            "study_label": ["Other 2019", "Zero 2020"],
        }
    )


def test_pool_stage_keeps_the_double_zero_trial_in_the_risk_difference() -> None:
    aside = set_aside_tables(*_logs())
    with_aside = analyse_outcome(
        _effects(), outcome="serious_ae", spec=SPEC, pooling=POOLING, set_aside=aside
    )
    block = with_aside.summary["sets"]["whole"]["rare_events"]
    assert block["k"] == 2 and block["double_zero"] == ["ZERO2020"]
    assert with_aside.summary["sets"]["whole"]["k"] == 1  # the ratio analysis is unchanged
    without = analyse_outcome(_effects(), outcome="serious_ae", spec=SPEC, pooling=POOLING)
    assert without.summary["sets"]["whole"]["rare_events"]["k"] == 1
    assert (
        block["MH_RD"]["estimate"]
        != without.summary["sets"]["whole"]["rare_events"]["MH_RD"]["estimate"]
    )  # the double zero weighs in
    off = analyse_outcome(
        _effects(), outcome="serious_ae", spec=SPEC, pooling={**POOLING, "rare_events": []}
    )
    assert "rare_events" not in off.summary["sets"]["whole"]


def test_report_sentence_quotes_the_risk_difference_from_the_summary(tmp_path: Path) -> None:
    log, contrasts = _logs()
    log = log.iloc[:1]
    effects = _effects().iloc[1:]  # only the double zero: nothing on the ratio scale
    analysis = analyse_outcome(
        effects,
        outcome="serious_ae",
        spec=SPEC,
        pooling=POOLING,
        set_aside=set_aside_tables(log, contrasts),
    )
    summary_path = "results/sim/pool/serious_ae/summary.json"
    write_json(tmp_path / summary_path, analysis.summary)
    outcome = OutcomeArtefacts(
        name="serious_ae",
        spec=SPEC,
        summary=analysis.summary,
        studies=None,
        subgroups=None,
        small_study=None,
        leave_one_out=None,
        influence=None,
        cumulative=None,
        figures={},
        paths={"summary": summary_path},
    )
    none = dict.fromkeys(
        (
            "studies risk_of_bias published prisma effects derivation_log missing_data pooled "
            "who_benefits crp_predictions clinic_bridge"
        ).split()
    )
    review = ReviewArtefacts(
        name="sim",
        title="Simulated",
        spec={},
        results_dir="results",
        outcomes={"serious_ae": outcome},
        figures={},
        paths={},
        **none,
    )
    text = risk_difference_text(review, "serious_ae", "whole")
    assert "risk difference (Mantel-Haenszel" in text and "0.5 added" in text
    sources = [s.split('"')[0] for s in text.split('data-source="')[1:]]
    block = analysis.summary["sets"]["whole"]["rare_events"]["MH_RD"]
    assert [resolve_source(s, tmp_path) for s in sources] == pytest.approx(
        [block["estimate"], block["ci_lb"], block["ci_ub"]]
    )
    assert text in zero_event_text((), text)
    assert risk_difference_text(review, "serious_ae", "crp_high") == ""
