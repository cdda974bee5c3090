"""Simulated interventions map to trials of the same pathway (never anti-TNF) and are not ranked
where their plausible range spans orders of magnitude."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.mechanism.interventions import (
    PATHWAY_DRUGS,
    SIMULATED,
    intervention_table,
    pathway_trials,
)
from inflamed.mechanism.stage import clinic_bridge

STUDIES = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "reviews"
    / "anti-inflammatory-crp"
    / "studies.csv"
)


def test_il6_interventions_map_to_sirukumab_never_to_infliximab() -> None:
    studies = pd.read_csv(STUDIES, dtype=str)
    infliximab = set(studies.loc[studies["drug"].str.contains("infliximab"), "study_id"])
    assert infliximab  # the test can fail: the sheet has anti-TNF trials
    for name in ("il6_knockdown", "il6r_knockdown", "anti_il6_antibody", "anti_il6r_antibody"):
        assert PATHWAY_DRUGS[name] == ("IL-6/IL-6R", ("tocilizumab", "sirukumab"))
        trials = pathway_trials(name, studies)
        assert trials == ("SIRUKUMAB_NCT02473289",)
        assert not set(trials) & infliximab
    # minocycline alone or combined with aspirin tests the microglia pathway
    assert pathway_trials("minocycline", studies) == (
        "HELLMANNREGEN2022",
        "HUSAIN2017",
        "NETTIS2021",
        "SAVITZ2018",
    )
    assert pathway_trials("p2x7_antagonist", studies) == ()
    assert set(SIMULATED) <= set(PATHWAY_DRUGS)


def _sims(lo: float, hi: float) -> dict:
    out = {}
    for i, name in enumerate(("minocycline", "il6_knockdown")):
        for timing in ("before", "after"):
            r = np.array([0.5 + i, lo, hi])
            out[(name, timing)] = {"rescue": r, "fraction": r / 2.0}
    return out


def test_no_rank_when_the_region_spans_orders_of_magnitude() -> None:
    wide = intervention_table(_sims(1e-3, 30.0), n_drawn=10)
    assert wide["rank_best_within_timing"].isna().all()
    assert wide["ranking"].str.startswith("not ranked").all()
    assert (wide["region_span_log10"] > 4).all()
    narrow = intervention_table(_sims(0.4, 1.6), n_drawn=10)
    assert narrow["rank_best_within_timing"].notna().all()


def test_bridge_lists_pathway_trials_and_k_for_the_outcome() -> None:
    studies = pd.read_csv(STUDIES, dtype=str)
    effects = studies[["study_id", "drug"]].assign(outcome="depression_severity")
    effects = effects[effects["study_id"] != "HUSAIN2017"]
    itab = intervention_table(_sims(1e-3, 30.0), n_drawn=10)
    bridge = clinic_bridge(itab, effects, "depression_severity").set_index("intervention")
    assert bridge.loc["il6_knockdown", "trials"] == "SIRUKUMAB_NCT02473289"
    assert bridge.loc["minocycline", "clinical_k"] == 3
    assert "RAISON2013" not in " ".join(bridge["trials"])


def test_report_says_counts_and_refuses_to_rank() -> None:
    from inflamed.report.artefacts import MechanismArtefacts
    from inflamed.report.who_benefits import mechanism_caveats

    itab = intervention_table(_sims(1e-3, 30.0), n_drawn=10)
    mech = MechanismArtefacts(
        results_dir="results",
        cascade_fit={
            "fit": {"n_fitted_values": 2, "n_inequalities": 14},
            "identifiability": {"n_parameters": 12, "n_identifiable": 0},
        },
        identifiability=None,
        interventions=itab,
        sensitivity=None,
        figures={},
    )
    html = mechanism_caveats(mech)
    assert ">2</span> quantitative targets cannot inform" in html
    assert ">12</span> parameters" in html
    assert "No ranking" in html and "orders of magnitude" in html
    assert ">0.0010</span> to" in html  # the smallest rescue is not rounded to zero
    assert "never a counterpart" in html
