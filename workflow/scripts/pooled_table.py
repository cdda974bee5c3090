"""Rule pooled_table: every outcome's headline estimates of one review in one table."""

from inflamed.analysis import pooled_table
from inflamed.io import write_csv
from inflamed.rule_support import run_rule


def step(smk):
    write_csv(smk.output.table, pooled_table(list(smk.input.summaries)))


run_rule(snakemake, step)
