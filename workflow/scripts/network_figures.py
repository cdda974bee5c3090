"""Rule network_figures: network graph, forest, league heat map, ranking and node-split plots."""

import json

import pandas as pd

from inflamed.figures.network import (
    league_heatmap,
    network_forest,
    network_graph,
    treatment_order,
)
from inflamed.figures.network_ranking import node_split_plot, ranking_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.rules import run_rule


def step(smk):
    summary = json.loads(open(smk.input.frequentist, encoding="utf-8").read())
    rankings = pd.read_csv(smk.input.rankings)
    effects = pd.read_csv(smk.input.effects)
    order = treatment_order(rankings)
    model = smk.params.model
    pscores = rankings[["treatment", f"pscore_{model}"]].rename(
        columns={f"pscore_{model}": "pscore"}
    )
    label = smk.params.label
    measure, reference = summary["measure"], summary["reference"]
    figures = {
        "network_graph": network_graph(pd.read_csv(smk.input.arms), title=label),
        "forest": network_forest(
            effects,
            reference=reference,
            measure=measure,
            model=model,
            order=order,
            pscores=pscores,
            title=label,
        ),
        "league_heatmap": league_heatmap(
            pd.read_csv(smk.input.league),
            measure=measure,
            small_values=summary["small_values"],
            order=order,
            model=model,
            title=label,
        ),
        "ranking": ranking_plot(
            rankings,
            pd.read_csv(smk.input.rank_probabilities)
            if "rank_probabilities" in smk.input.keys()
            else None,
            title=label,
        ),
        "node_split": node_split_plot(
            pd.read_csv(smk.input.node_split), measure=measure, title=label
        ),
    }
    for name, fig in figures.items():
        save_figure(fig, smk.output[name], smk.output[f"{name}_svg"])


run_rule(snakemake, step)
