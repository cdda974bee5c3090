# Ingestion: a review's raw files (extraction sheets, ClinicalTrials.gov records or a Metapsy
# CSV) become one validated internal model. The raw files are only ever read.


rule ingest:
    input:
        review_input_files,
    output:
        contrasts="results/{review}/ingest/contrasts.csv",
        studies=report(
            "results/{review}/ingest/studies.csv",
            caption="../report/studies.rst",
            category="Evidence base",
            subcategory="{review}",
        ),
        risk_of_bias="results/{review}/ingest/risk_of_bias.csv",
        published="results/{review}/ingest/published_estimates.csv",
        prisma="results/{review}/ingest/prisma.csv",
        instruments="results/{review}/ingest/instruments.csv",
        summary="results/{review}/ingest/ingest_summary.json",
        provenance=provenance_path("ingest"),
    params:
        review=lambda wc: config["reviews"][wc.review],
        instruments=config["instruments"],
    log:
        log_path("ingest"),
    benchmark:
        benchmark_path("ingest")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/ingest.yaml"
    script:
        "../scripts/ingest.py"
