"""Rule network_bayes: the Bayesian random-effects NMA (NICE DSU TSD2), SUCRA, diagnostics."""

from pathlib import Path

from inflamed.network import load_arms, run_bayes
from inflamed.pipeline.rules import run_rule


def step(smk):
    outcome = smk.params.outcome
    arms = load_arms(smk.input.sheet, outcome=smk.wildcards.outcome, measure=outcome["measure"])
    run_bayes(
        arms,
        Path(smk.output.effects).parent,
        reference=smk.params.reference,
        small_values=outcome["small_values"],
        settings=dict(smk.params.settings),
    )


run_rule(snakemake, step)
