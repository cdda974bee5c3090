"""Rule who_benefits: benefit as a function of inflammation, within and between trials."""

from pathlib import Path

from inflamed.io import read_artefact_csv
from inflamed.mechanism.stage import run_who_benefits_stage
from inflamed.pipeline.rules import run_rule
from inflamed.pool import rma_settings


def step(smk):
    effects = read_artefact_csv(smk.input.effects)
    run_who_benefits_stage(
        effects,
        Path(smk.output.who_benefits).parent,
        interventions=smk.input.interventions,
        config={
            "mechanism": dict(smk.params.mechanism),
            "pooling": rma_settings(smk.params.pooling),
        },
        outcomes=list(smk.params.outcomes),
    )


run_rule(snakemake, step)
