"""Rule report: execute the report notebook with papermill, strip its timestamps, write the HTML."""

from inflamed.pipeline.notebooks import execute, normalise, to_html
from inflamed.pipeline.rules import run_rule


def step(smk):
    execute(
        smk.input.notebook,
        smk.output.notebook,
        {
            "results_dir": "results",
            "run_config": smk.input.run_config,
            "reviews": smk.params.reviews,
        },
    )
    normalise(smk.output.notebook)
    to_html(smk.output.notebook, smk.output.html)


run_rule(snakemake, step)
