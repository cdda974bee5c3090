"""Rule network_frequentist: common-effect and REML NMA, inconsistency checks, P-scores."""

from pathlib import Path

from inflamed.network import load_arms, run_frequentist
from inflamed.pipeline.rules import run_rule


def step(smk):
    outcome = smk.params.outcome
    arms = load_arms(smk.input.sheet, outcome=smk.wildcards.outcome, measure=outcome["measure"])
    run_frequentist(
        arms,
        Path(smk.output.effects).parent,
        reference=smk.params.reference,
        small_values=outcome["small_values"],
        models=list(smk.params.models),
        level=float(smk.params.level),
    )


run_rule(snakemake, step)
