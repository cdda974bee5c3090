"""Network figures on the stage's artefacts of a SIMULATED network (tests/simulated_network.py).

Questions answered here: does each figure come out byte-identical twice (PNG and SVG); do its
texts stay apart; does a missing or non-numeric column raise an InputError naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures.network import (
    league_heatmap,
    network_forest,
    network_graph,
    treatment_order,
)
from inflamed.figures.network_ranking import (
    efficacy_acceptability_plot,
    node_split_plot,
    ranking_plot,
)
from inflamed.figures.style import save_figure
from inflamed.network import load_arms, run_frequentist, write_rankings
from simulated_network import write_simulated_network
from test_figures import _overlaps


@pytest.fixture(scope="module")
def stage(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("network")
    sheet = write_simulated_network(root / "data")
    out = {}
    for outcome, small in (("response", "bad"), ("dropout", "good")):
        arms = load_arms(sheet, outcome=outcome, measure="OR")
        run_frequentist(
            arms, root / outcome, reference="placebo", small_values=small, models=["FE", "REML"]
        )
        write_rankings(
            root / outcome / "rankings.csv", pd.read_csv(root / outcome / "pscores.csv"), None
        )
        out[outcome] = root / outcome
    return out


def _rank_probabilities(order: list[str]) -> pd.DataFrame:
    """Made-up rank probabilities (rows sum to 1), only to exercise the drawing."""
    k = len(order)
    grid = np.full((k, k), 1.0 / k)
    grid[np.arange(k), np.arange(k)] += 0.5
    grid /= grid.sum(axis=1, keepdims=True)
    frame = pd.DataFrame(grid, columns=[f"rank_{i + 1}" for i in range(k)])
    frame.insert(0, "treatment", order)
    return frame


def builders(stage: dict[str, Path]) -> dict[str, Callable[[], Figure]]:
    base = stage["response"]
    rankings = pd.read_csv(base / "rankings.csv")
    order = treatment_order(rankings)
    effects = {o: pd.read_csv(p / "effects.csv") for o, p in stage.items()}
    reml = {o: e[e["model"] == "REML"] for o, e in effects.items()}
    return {
        "graph": lambda: network_graph(pd.read_csv(base / "arms.csv"), title="Simulated"),
        "forest": lambda: network_forest(
            effects["response"], reference="placebo", measure="OR", order=order, title="Simulated"
        ),
        "league": lambda: league_heatmap(
            pd.read_csv(base / "league.csv"), measure="OR", small_values="bad", order=order
        ),
        "pscores": lambda: ranking_plot(rankings, title="Simulated"),
        "rankogram": lambda: ranking_plot(
            rankings.assign(sucra=0.5), _rank_probabilities(order), title="Simulated"
        ),
        "node_split": lambda: node_split_plot(
            pd.read_csv(base / "node_split.csv"), measure="OR", title="Simulated"
        ),
        "efficacy_acceptability": lambda: efficacy_acceptability_plot(
            reml["response"], reml["dropout"], reference="placebo", title="Simulated"
        ),
    }


NAMES = [
    "graph",
    "forest",
    "league",
    "pscores",
    "rankogram",
    "node_split",
    "efficacy_acceptability",
]


@pytest.mark.parametrize("name", NAMES)
def test_network_figure_is_deterministic(stage, name, tmp_path):
    build = builders(stage)[name]
    save_figure(build(), tmp_path / "a.png", tmp_path / "a.svg")
    save_figure(build(), tmp_path / "b.png", tmp_path / "b.svg")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()


@pytest.mark.parametrize(
    "name", ["graph", "forest", "pscores", "rankogram", "node_split", "efficacy_acceptability"]
)
def test_network_figure_texts_do_not_overlap(stage, name):
    assert _overlaps(builders(stage)[name]()) == []


def test_missing_and_bad_columns_are_named(stage):
    base = stage["response"]
    arms = pd.read_csv(base / "arms.csv")
    with pytest.raises(InputError, match="column 'n'"):
        network_graph(arms.drop(columns="n"))
    with pytest.raises(InputError, match=r"row 3, column 'n'.*not a finite number"):
        network_graph(arms.assign(n=arms["n"].astype(object).where(arms.index != 1, "many")))
    effects = pd.read_csv(base / "effects.csv")
    with pytest.raises(InputError, match="column 'ci_ub'"):
        network_forest(effects.drop(columns="ci_ub"), reference="placebo", measure="OR")
    with pytest.raises(InputError, match=r"column 'model'.*'bayes'"):
        network_forest(effects, reference="placebo", measure="OR", model="bayes")
    with pytest.raises(InputError, match="small_values"):
        league_heatmap(
            pd.read_csv(base / "league.csv"), measure="OR", small_values="up", order=["a"]
        )
    with pytest.raises(InputError, match="column 'pval'"):
        node_split_plot(pd.read_csv(base / "node_split.csv").drop(columns="pval"), measure="OR")
    with pytest.raises(InputError, match="rank_probabilities does not match"):
        ranking_plot(pd.read_csv(base / "rankings.csv"), _rank_probabilities(["x", "y"]))
    reml = effects[effects["model"] == "REML"]
    with pytest.raises(InputError, match="both outcomes"):
        efficacy_acceptability_plot(reml, reml.assign(treatment="other"), reference="placebo")
