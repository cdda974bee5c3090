"""Rule figure_risk_of_bias: RoB 2 traffic-light plot and summary bar chart."""

from inflamed.figures.risk_of_bias import rob_summary, rob_traffic_light
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import placeholder, read_csv
from inflamed.pipeline.rules import run_rule


def step(smk):
    rob = read_csv(smk.input.risk_of_bias)
    out = smk.output
    if rob.empty:
        reason = "no risk-of-bias judgements in risk_of_bias.csv"
        save_figure(
            placeholder("Risk of bias (RoB 2)", reason), out.traffic_light, out.traffic_light_svg
        )
        save_figure(placeholder("Risk of bias summary", reason), out.summary, out.summary_svg)
        return
    save_figure(rob_traffic_light(rob), out.traffic_light, out.traffic_light_svg)
    save_figure(rob_summary(rob), out.summary, out.summary_svg)


run_rule(snakemake, step)
