"""The report's "Network meta-analysis" section and its confidence proposal.

Questions answered here: do the CINeMA-style rules give the judgement they state; does the
section quote every number with a source that resolves to the artefact value; does it state the
ranking's uncertainty, label the confidence table as a proposal and name the network awaiting
data; does it say so when the Bayesian model did not run or an artefact is absent.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from inflamed.network import load_arms, run_frequentist, write_rankings
from inflamed.report.html import resolve_source
from inflamed.report.network import network_section
from inflamed.report.network_confidence import (
    comparison_confidence,
    confidence_rules_text,
    confidence_table,
)
from simulated_network import write_simulated_network

L = math.log


@pytest.mark.parametrize(
    ("ci", "pi", "split_p", "expected"),
    [
        ((L(1.3), L(1.6)), (L(1.26), L(1.7)), 0.5, {"imprecision": "no concerns", "heterogeneity": "no concerns", "incoherence": "no concerns", "confidence": "high"}),
        ((L(0.95), L(1.2)), (L(0.9), L(1.22)), 0.5, {"imprecision": "some concerns", "confidence": "moderate"}),
        ((L(0.7), L(1.4)), (L(0.6), L(1.5)), None, {"imprecision": "major concerns", "heterogeneity": "no concerns"}),
        ((L(1.1), L(1.2)), (L(0.7), L(1.6)), 0.07, {"heterogeneity": "major concerns", "incoherence": "some concerns", "confidence": "very low"}),
        ((L(1.1), L(1.2)), (L(1.0), L(1.3)), 0.01, {"heterogeneity": "some concerns", "incoherence": "major concerns", "confidence": "very low"}),
    ],
)  # fmt: skip
def test_confidence_rules(ci, pi, split_p, expected):
    effect = {"ci_lb": ci[0], "ci_ub": ci[1], "pi_lb": pi[0], "pi_ub": pi[1]}
    judged = comparison_confidence(effect, ratio=True, split_p=split_p, global_p=0.5)
    for key, value in expected.items():
        assert judged[key] == value, (key, judged)
    assert judged["within-study bias"] == "not assessed"
    assert judged["indirectness"] == "not judged"


def test_incoherence_falls_back_to_global_q():
    effect = {"ci_lb": 0.1, "ci_ub": 0.3, "pi_lb": 0.1, "pi_ub": 0.3}
    assert (
        comparison_confidence(effect, ratio=True, split_p=None, global_p=0.01)["incoherence"]
        == "some concerns"
    )
    assert (
        comparison_confidence(effect, ratio=True, split_p=None, global_p=0.5)["incoherence"]
        == "no concerns"
    )
    assert (
        comparison_confidence({}, ratio=True, split_p=None, global_p=None)["heterogeneity"]
        == "not assessed"
    )


def test_confidence_table_matches_split_either_way_round():
    effects = pd.DataFrame(
        {
            "treatment": ["ref", "a"],
            "ci_lb": [0, 0.2],
            "ci_ub": [0, 0.4],
            "pi_lb": [0, 0.2],
            "pi_ub": [0, 0.4],
        }
    )
    split = pd.DataFrame({"treat1": ["ref"], "treat2": ["a"], "pval": [0.01]})
    table = confidence_table(effects, split, reference="ref", ratio=True, global_p=0.9)
    assert list(table["comparison"]) == ["a vs ref"]
    assert table["incoherence"].iloc[0] == "major concerns"
    assert "proposal" in confidence_rules_text()


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("report")
    sheet = write_simulated_network(root / "data" / "sim")
    results = root / "results"
    spec = {
        "title": "Simulated network",
        "path": (root / "data" / "sim").as_posix(),
        "reference": "placebo",
        "models": ["FE", "REML", "bayes"],
        "efficacy": "response",
        "acceptability": "dropout",
        "outcomes": {
            "response": {"label": "Response", "measure": "OR", "small_values": "bad"},
            "dropout": {"label": "Dropout", "measure": "OR", "small_values": "good"},
        },
    }
    for outcome, spec_outcome in spec["outcomes"].items():
        out = results / "sim" / "network" / outcome
        arms = load_arms(sheet, outcome=outcome, measure="OR")
        run_frequentist(
            arms,
            out,
            reference="placebo",
            small_values=spec_outcome["small_values"],
            models=["FE", "REML"],
        )
        write_rankings(out / "rankings.csv", pd.read_csv(out / "pscores.csv"), None)
    return root, {"networks": {"sim": spec}}


def test_section_numbers_resolve_to_artefacts(finished, monkeypatch):
    root, config = finished
    monkeypatch.chdir(root)
    text = network_section("results", config)
    spans = re.findall(r'data-source="([^"]+)" data-value="([^"]*)"', text)
    assert len(spans) > 40
    for source, value in spans:
        got = resolve_source(html.unescape(source), root)
        assert value == "" or math.isclose(float(got), float(value), rel_tol=1e-12), source


def test_section_states_uncertainty_proposal_and_waiting_network(finished, monkeypatch):
    root, config = finished
    monkeypatch.chdir(root)
    text = network_section("results", config)
    plain = html.unescape(re.sub(r"<[^>]+>", " ", text))
    assert 'id="network-meta-analysis"' in text
    assert "PROPOSAL: confidence per comparison" in plain
    assert re.search(r"ranks first, but its 95% CI against \d+ of the other \d+ treatments", plain)
    assert "95% CI" in plain and "P-score" in plain
    assert "best treatment" not in plain.replace("single out a best treatment", "")
    assert "Awaiting data" in plain and "acupuncture-brain-stimulation-template" in plain
    assert "Bayesian model. Not run" in re.sub(r"\s+", " ", plain)
    assert "Figure not available" in plain  # the fixture made no figures, and says so


def test_section_says_when_artefacts_are_absent(tmp_path):
    config = {
        "networks": {
            "x": {
                "path": "data/x",
                "reference": "a",
                "outcomes": {"o": {"label": "O", "small_values": "bad"}},
            }
        }
    }
    text = network_section(tmp_path / "results", config)
    assert "Not available" in text and "frequentist.json" in text
    assert "No network is configured" in network_section(tmp_path, {})
