"""Rule run_config: the validated configuration of this run (defaults filled in), for the report."""

from inflamed.io import write_json
from inflamed.pipeline.rules import run_rule


def step(smk):
    write_json(smk.output[0], dict(smk.params.config))


run_rule(snakemake, step)
