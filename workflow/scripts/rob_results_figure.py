"""Rule rob_results_figure: the RoB 2 traffic light per result (study x outcome x analysis set)."""

from inflamed.figures.risk_of_bias import rob_traffic_light
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import placeholder, read_csv, rob_results_input
from inflamed.pipeline.rules import run_rule


def step(smk):
    labels = dict(smk.params.labels)
    results = {
        labels[outcome]: read_csv(path)
        for outcome, path in zip(smk.params.outcomes, smk.input.results, strict=True)
    }
    rob = rob_results_input(read_csv(smk.input.risk_of_bias), read_csv(smk.input.studies), results)
    title = "Risk of bias per result (RoB 2)"
    fig = (
        placeholder(title, "no result with a risk-of-bias judgement")
        if rob.empty
        else rob_traffic_light(rob, title=title)
    )
    save_figure(fig, smk.output.rob_results_png, smk.output.rob_results_svg)


run_rule(snakemake, step)
