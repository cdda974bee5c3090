# Trial extraction: one analysis-ready effect size per study, contrast, subgroup and outcome, each
# with the derivation that produced it, and a list of what was needed but not reported.


rule extract:
    input:
        contrasts="results/{review}/ingest/contrasts.csv",
        studies="results/{review}/ingest/studies.csv",
        instruments="results/{review}/ingest/instruments.csv",
    output:
        effects=report(
            "results/{review}/extract/effects.csv",
            caption="../report/effects.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        derivation_log=report(
            "results/{review}/extract/derivation_log.csv",
            caption="../report/derivation_log.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        missing=report(
            "results/{review}/extract/missing_data.csv",
            caption="../report/missing_data.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        provenance=provenance_path("extract"),
    params:
        outcomes=lambda wc: config["reviews"][wc.review]["outcomes"],
        rules={
            **config["extraction"],
            "continuity_correction": config["pooling"]["continuity_correction"],
        },
    log:
        log_path("extract"),
    benchmark:
        benchmark_path("extract")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/extract.yaml"
    script:
        "../scripts/extract.py"
