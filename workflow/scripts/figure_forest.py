"""Rule figure_forest: one outcome's forest plot (CRP-selected and whole-sample blocks)."""

from inflamed.figures.forest import forest_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import forest_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = forest_input(smk.input.studies, smk.input.summary, smk.input.subgroups)
    if spec.drawable:
        fig = forest_plot(spec.frames["studies"], spec.frames["pooled"], **spec.options)
    else:
        fig = placeholder(f"Forest plot: {smk.params.outcome['label']}", spec.reason)
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
