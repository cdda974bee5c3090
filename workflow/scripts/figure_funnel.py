"""Rule figure_funnel: contour-enhanced funnel plot with Egger's test (and trim-and-fill)."""

from inflamed.figures.funnel import funnel_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import funnel_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = funnel_input(smk.input.studies, smk.input.summary, smk.input.small_study)
    if spec.drawable:
        fig = funnel_plot(spec.frames["yi"], spec.frames["vi"], **spec.options)
    else:
        fig = placeholder(f"Funnel plot: {smk.params.outcome['label']}", spec.reason)
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
