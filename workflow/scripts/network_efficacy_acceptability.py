"""Rule network_efficacy_acceptability: one point per treatment, efficacy vs acceptability."""

import json

import pandas as pd

from inflamed.figures.network_ranking import efficacy_acceptability_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.rules import run_rule


def step(smk):
    model = smk.params.model
    summaries = [
        json.loads(open(path, encoding="utf-8").read())
        for path in (smk.input.efficacy_summary, smk.input.acceptability_summary)
    ]
    frames = [pd.read_csv(path) for path in (smk.input.efficacy, smk.input.acceptability)]
    frames = [f[f["model"] == model] for f in frames]
    fig = efficacy_acceptability_plot(
        frames[0],
        frames[1],
        reference=summaries[0]["reference"],
        measures=[s["measure"] for s in summaries],
        labels=list(smk.params.labels),
        small_values=[s["small_values"] for s in summaries],
        title=f"Efficacy and acceptability vs {summaries[0]['reference']} ({model})",
    )
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
