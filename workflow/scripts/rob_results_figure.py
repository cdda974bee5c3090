"""Rule rob_results_figure: the RoB 2 traffic light per result (study x outcome x analysis set)."""

from inflamed.analysis_sets import outcome_results
from inflamed.figures.risk_of_bias import rob_traffic_light
from inflamed.figures.style import save_figure
from inflamed.pipeline.figure_inputs import placeholder, read_csv, rob_results_input
from inflamed.pipeline.rules import run_rule
from inflamed.rare_events import set_aside_tables


def step(smk):
    labels = dict(smk.params.labels)
    studies = read_csv(smk.input.studies)
    # Double-zero tables and MD-only differences are results too (RoB 2 judges each result).
    set_aside = set_aside_tables(read_csv(smk.input.derivation_log), read_csv(smk.input.contrasts))
    md_rows = read_csv(smk.input.instrument_effects)
    results = {
        labels[outcome]: outcome_results(
            read_csv(path), set_aside, studies, outcome, instrument_effects=md_rows
        )
        for outcome, path in zip(smk.params.outcomes, smk.input.results, strict=True)
    }
    rob = rob_results_input(read_csv(smk.input.risk_of_bias), studies, results)
    title = "Risk of bias per result (RoB 2)"
    fig = (
        placeholder(title, "no result with a risk-of-bias judgement")
        if rob.empty
        else rob_traffic_light(rob, title=title)
    )
    save_figure(fig, smk.output.rob_results_png, smk.output.rob_results_svg)


run_rule(snakemake, step)
