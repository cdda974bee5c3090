"""Rule pooled_table: every outcome's headline estimates of one review in one table."""

from inflamed.io import write_csv
from inflamed.pipeline.rules import run_rule
from inflamed.pool import pooled_table


def step(smk):
    write_csv(smk.output.table, pooled_table(list(smk.input.summaries)))


run_rule(snakemake, step)
