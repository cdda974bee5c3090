"""Rule extract: internal model -> one effect size per study x contrast x subgroup x outcome."""

import pandas as pd

from inflamed.extract import extract_effects
from inflamed.ingest import Review
from inflamed.io import read_artefact_csv, write_csv
from inflamed.pipeline.rules import run_rule


def step(smk):
    review = Review(
        name=smk.wildcards.review,
        contrasts=read_artefact_csv(smk.input.contrasts),
        studies=read_artefact_csv(smk.input.studies),
        risk_of_bias=pd.DataFrame(),
        published_estimates=pd.DataFrame(),
        prisma=pd.DataFrame(),
        conversions=pd.DataFrame(),
        # Ingest's own artefact (already validated); keep "true"/"false" as the text it wrote.
        instruments=pd.read_csv(
            smk.input.instruments, dtype={"higher_is_worse": str}, keep_default_na=False
        ),
    )
    result = extract_effects(review, dict(smk.params.outcomes), dict(smk.params.rules))
    write_csv(smk.output.effects, result.effects)
    write_csv(smk.output.derivation_log, result.derivation_log)
    write_csv(smk.output.missing, result.missing)
    write_csv(smk.output.instrument_effects, result.instrument_effects)


run_rule(snakemake, step)
