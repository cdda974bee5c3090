"""Rule extract: internal model -> one effect size per study x contrast x subgroup x outcome."""

import pandas as pd

from inflamed.extract import extract_effects
from inflamed.io import write_csv
from inflamed.rule_support import run_rule


def step(smk):
    contrasts = pd.read_csv(smk.input.contrasts, keep_default_na=False, na_values=[""])
    studies = pd.read_csv(smk.input.studies, keep_default_na=False, na_values=[""])
    result = extract_effects(contrasts, studies, dict(smk.params.outcomes), dict(smk.params.rules))
    write_csv(smk.output.effects, result.effects)
    write_csv(smk.output.derivation_log, result.derivation_log)
    write_csv(smk.output.missing, result.missing)


run_rule(snakemake, step)
