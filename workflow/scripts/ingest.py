"""Rule ingest: a review's raw files -> the validated internal model (see docs/architecture.md)."""

from inflamed.ingest.review import ingest_summary, load_review_with_registry
from inflamed.io import write_csv, write_json
from inflamed.pipeline.rules import run_rule


def step(smk):
    review, registry = load_review_with_registry(
        smk.params.review, instruments=smk.params.instruments
    )
    out = smk.output
    write_csv(
        out.contrasts, review.contrasts, sort_by=["study_id", "outcome", "subgroup", "row_ref"]
    )
    write_csv(out.studies, review.studies, sort_by=["study_id"])
    write_csv(out.risk_of_bias, review.risk_of_bias)
    write_csv(out.published, review.published_estimates)
    write_csv(out.prisma, review.prisma)
    # The instruments the review was validated against (a Metapsy review derives its own), so
    # extraction decides sign flips on exactly the table ingestion checked.
    write_csv(out.instruments, review.instruments, sort_by=["instrument"])
    summary = ingest_summary(review)
    if registry is not None:  # what saved ClinicalTrials.gov records added (inflamed fetch)
        summary["registry"] = registry
    write_json(out.summary, summary)


run_rule(snakemake, step)
