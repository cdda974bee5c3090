# Ingestion: a review's raw files (extraction sheets, ClinicalTrials.gov records or a Metapsy
# CSV) become one validated internal model. The raw files are only ever read.


rule ingest:
    input:
        review_input_files,
    output:
        contrasts=review_file("ingest", "contrasts"),
        studies=report(
            review_file("ingest", "studies"),
            caption="../report/studies.rst",
            category="Evidence base",
            subcategory="{review}",
        ),
        risk_of_bias=review_file("ingest", "risk_of_bias"),
        published=review_file("ingest", "published"),
        prisma=review_file("ingest", "prisma"),
        instruments=review_file("ingest", "instruments"),
        summary=review_file("ingest", "summary"),
        provenance=provenance_path("ingest"),
    log:
        log_path("ingest"),
    benchmark:
        benchmark_path("ingest")
    conda:
        "../../envs/ingest.yaml"
    priority: PRIORITY["ingest"]
    threads: 1
    resources:
        **job_resources("ingest"),
    params:
        # What ingestion reads of the review's entry (its title and labels reach only the report).
        review=lambda wc: {
            **review_spec(wc.review, "path", "format", "fractional_counts", "registry_mapping"),
            "outcomes": outcomes_of(wc.review),
        },
        instruments=config["instruments"],
        code=code("ingest.py"),
    script:
        "../scripts/ingest.py"
