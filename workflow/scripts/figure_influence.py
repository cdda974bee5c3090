"""Rule figure_influence: influence diagnostics (studentized residuals, Cook's distance, hat)."""

from inflamed.figures.influence import influence_plot
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import influence_input, placeholder
from inflamed.pipeline.rules import run_rule


def step(smk):
    spec = influence_input(smk.input.influence)
    if spec.drawable:
        fig = influence_plot(spec.frames["frame"], **spec.options)
    else:
        fig = placeholder(f"Influence diagnostics: {smk.params.outcome['label']}", spec.reason)
    save_figure(fig, smk.output.png, smk.output.svg)


run_rule(snakemake, step)
