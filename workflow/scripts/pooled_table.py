"""Rule pooled_table: every outcome's headline estimates of one review in one table."""

from inflamed.io import write_csv
from inflamed.pipeline.history import update_history
from inflamed.pipeline.rules import run_rule
from inflamed.pool import pooled_table


def step(smk):
    table = pooled_table(list(smk.input.summaries))
    write_csv(smk.output.table, table)
    # The living review's history follows the configured analyses; the per-instrument MD rows
    # (instrument named) are in pooled.csv only.
    update_history(
        smk.params.store,
        smk.output.history,
        table[table["instrument"] == ""],
        summaries=list(smk.input.summaries),
        data_files=list(smk.input.data),
    )


run_rule(snakemake, step)
