"""Rule figure_cumulative: the pooled estimate as studies accrued, by year (living review)."""

from inflamed.figures.cumulative import cumulative_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import cumulative_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = cumulative_input(smk.input.cumulative, smk.input.summary)
    if spec.drawable:
        fig = cumulative_plot(spec.frames["frame"], **spec.options)
    else:
        fig = placeholder(f"Cumulative meta-analysis: {smk.params.outcome['label']}", spec.reason)
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
