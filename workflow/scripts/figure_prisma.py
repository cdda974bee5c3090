"""Rule figure_prisma: the PRISMA 2020 flow diagram from the review's own counts."""

from inflamed.figures.prisma import prisma_flow
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import read_csv
from inflamed.pipeline.rules import run_rule


def step(smk):
    save_figure(prisma_flow(read_csv(smk.input.prisma)), smk.output.png, smk.output.svg)


run_rule(snakemake, step)
