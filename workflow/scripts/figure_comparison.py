"""Rule figure_comparison: inflamed's pooled estimates beside published meta-analyses."""

from inflamed.figures.comparison import comparison_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import comparison_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = comparison_input(
        smk.input.pooled,
        smk.input.published,
        dict(smk.params.outcomes),
        smk.params.primary_subgroup,
    )
    if spec.drawable:
        fig = comparison_plot(spec.frames["frame"], **spec.options)
    else:
        fig = placeholder("Comparison with published meta-analyses", spec.reason)
    save_figure(fig, smk.output.comparison_png, smk.output.comparison_svg)


run_rule(snakemake, step)
