"""Rule mechanism_cascade: fit the P2X7 -> IL-6 -> astrocyte cascade to sourced targets."""

from pathlib import Path

from inflamed.mechanism.stage import run_cascade_stage
from inflamed.pipeline.rules import run_rule


def step(smk):
    outdir = Path(smk.output.fit).parent
    run_cascade_stage(smk.input.targets, outdir, seed=smk.params.seed)


run_rule(snakemake, step)
