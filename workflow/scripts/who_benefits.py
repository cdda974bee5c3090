"""Rule who_benefits: benefit as a function of inflammation, within and between trials."""

from pathlib import Path

import pandas as pd

from inflamed.mechanism.stage import run_who_benefits_stage
from inflamed.pipeline.rules import run_rule
from inflamed.pool import rma_settings


def step(smk):
    effects = pd.read_csv(smk.input.effects, keep_default_na=False, na_values=[""])
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
