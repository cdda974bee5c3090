"""Rule pool: one outcome's effects -> pooled estimates, subgroups, sensitivity, small-study tests."""

from inflamed.io import read_artefact_csv
from inflamed.pipeline.rules import run_rule
from inflamed.pool import analyse_outcome
from inflamed.rare_events import set_aside_tables


def step(smk):
    effects = read_artefact_csv(smk.input.effects)
    analysis = analyse_outcome(
        effects,
        instrument_effects=read_artefact_csv(smk.input.instrument_effects),
        outcome=smk.wildcards.outcome,
        spec=dict(smk.params.outcome),
        pooling=dict(smk.params.pooling),
        primary_subgroup=smk.params.primary_subgroup,
        set_aside=set_aside_tables(
            read_artefact_csv(smk.input.derivation_log), read_artefact_csv(smk.input.contrasts)
        ),
    )
    analysis.write(
        summary=smk.output.summary,
        studies=smk.output.studies,
        subgroups=smk.output.subgroups,
        leave_one_out=smk.output.leave_one_out,
        influence=smk.output.influence,
        small_study=smk.output.small_study,
        cumulative=smk.output.cumulative,
    )


run_rule(snakemake, step)
