"""Rule rob_results_figure: the RoB 2 traffic light per result (study x outcome x analysis set)."""

from inflamed.figures.risk_of_bias import rob_traffic_light
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import (
    NO_RESULT_JUDGEMENTS,
    placeholder,
    read_csv,
    rob_figure_reason,
    rob_per_result,
)
from inflamed.pipeline.rules import run_rule


def step(smk):
    studies = read_csv(smk.input.studies)
    results = dict(zip(smk.params.outcomes, map(read_csv, smk.input.results), strict=True))
    rob = rob_per_result(
        read_csv(smk.input.risk_of_bias),
        studies,
        results,
        dict(smk.params.labels),
        derivation_log=read_csv(smk.input.derivation_log),
        contrasts=read_csv(smk.input.contrasts),
        instrument_effects=read_csv(smk.input.instrument_effects),
    )
    title = "Risk of bias per result (RoB 2)"
    reason = rob_figure_reason(rob, smk.params.max_rows, empty=NO_RESULT_JUDGEMENTS)
    fig = placeholder(title, reason) if reason else rob_traffic_light(rob, title=title)
    save_figure(fig, smk.output.rob_results_png, smk.output.rob_results_svg)


run_rule(snakemake, step)
