"""Rule network_rankings: P-scores of the frequentist models and SUCRA in one table."""

import json

import pandas as pd

from inflamed.network import write_rankings
from inflamed.pipeline.rules import run_rule


def step(smk):
    bayes = None
    if "bayes" in smk.input.keys():
        bayes = json.loads(open(smk.input.bayes, encoding="utf-8").read())
    write_rankings(smk.output.rankings, pd.read_csv(smk.input.pscores), bayes)


run_rule(snakemake, step)
