"""Rule outcome_figures: every figure of one outcome, drawn in one process (one artefact each).

A large review's forest (beyond ``figures.forest_max_rows`` study rows) is a pooled summary
forest, with the study rows on pages in the ``forest_pages`` folder; otherwise that folder is empty.
"""

from inflamed.figures.style import save_figure
from inflamed.io import replace_directory
from inflamed.pipeline.figure_inputs import draw_outcome_figure, paged_forest
from inflamed.pipeline.layout import OUTCOME_FIGURES
from inflamed.pipeline.rules import run_rule


def step(smk):
    pool_files = dict(smk.input.items())
    paged = paged_forest(
        pool_files,
        max_rows=int(smk.params.forest_max_rows),
        max_pages=int(smk.params.forest_max_pages),
    )
    for figure in OUTCOME_FIGURES:
        if figure == "forest" and paged is not None:
            fig = paged[0]
        else:
            fig = draw_outcome_figure(figure, pool_files, smk.params.label)
        save_figure(fig, smk.output[f"{figure}_png"], smk.output[f"{figure}_svg"])
    with replace_directory(smk.output.forest_pages) as folder:
        for number, page in enumerate(paged[1] if paged is not None else (), start=1):
            save_figure(page.figure, folder / f"page_{number:04d}.png")


run_rule(snakemake, step)
