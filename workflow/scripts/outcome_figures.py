"""Rule outcome_figures: every figure of one outcome, drawn in one process (one artefact each)."""

from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import draw_outcome_figure
from inflamed.pipeline.layout import OUTCOME_FIGURES
from inflamed.pipeline.rules import run_rule


def step(smk):
    pool_files = dict(smk.input.items())
    for figure in OUTCOME_FIGURES:
        fig = draw_outcome_figure(figure, pool_files, smk.params.label)
        save_figure(fig, smk.output[f"{figure}_png"], smk.output[f"{figure}_svg"])


run_rule(snakemake, step)
