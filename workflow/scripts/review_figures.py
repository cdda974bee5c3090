"""Rule review_figures: the review's risk-of-bias (traffic light, summary) and PRISMA figures."""

from inflamed.figures.prisma import prisma_flow
from inflamed.figures.risk_of_bias import rob_summary, rob_traffic_light
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import (
    NO_STUDY_JUDGEMENTS,
    placeholder,
    read_csv,
    risk_of_bias_input,
    rob_figure_reason,
)
from inflamed.pipeline.rules import run_rule


def step(smk):
    out = smk.output
    save_figure(prisma_flow(read_csv(smk.input.prisma)), out.prisma_png, out.prisma_svg)
    rob = risk_of_bias_input(read_csv(smk.input.risk_of_bias), read_csv(smk.input.studies))
    # The summary has one bar per domain whatever the number of studies: only the traffic light,
    # one row per study, has a readable limit.
    reasons = {
        "rob_traffic_light": rob_figure_reason(rob, smk.params.max_rows, empty=NO_STUDY_JUDGEMENTS),
        "rob_summary": rob_figure_reason(rob, None, empty=NO_STUDY_JUDGEMENTS),
    }
    drawings = {"rob_traffic_light": rob_traffic_light, "rob_summary": rob_summary}
    titles = {"rob_traffic_light": "Risk of bias (RoB 2)", "rob_summary": "Risk of bias summary"}
    for figure, draw in drawings.items():
        reason = reasons[figure]
        fig = placeholder(titles[figure], reason) if reason else draw(rob)
        save_figure(fig, out[f"{figure}_png"], out[f"{figure}_svg"])


run_rule(snakemake, step)
