# Trial extraction: one analysis-ready effect size per study, contrast, subgroup and outcome, each
# with the derivation that produced it, and a list of what was needed but not reported.


rule extract:
    input:
        contrasts=review_file("ingest", "contrasts"),
        studies=review_file("ingest", "studies"),
        instruments=review_file("ingest", "instruments"),
    output:
        effects=report(
            review_file("extract", "effects"),
            caption="../report/effects.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        derivation_log=report(
            review_file("extract", "derivation_log"),
            caption="../report/derivation_log.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        missing=report(
            review_file("extract", "missing"),
            caption="../report/missing_data.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        instrument_effects=report(
            review_file("extract", "instrument_effects"),
            caption="../report/instrument_effects.rst",
            category="Trial extraction",
            subcategory="{review}",
        ),
        provenance=provenance_path("extract"),
    log:
        log_path("extract"),
    benchmark:
        benchmark_path("extract")
    conda:
        "../../envs/extract.yaml"
    priority: PRIORITY["extract"]
    threads: 1
    resources:
        **job_resources("extract"),
    params:
        outcomes=lambda wc: outcome_specs(wc.review, "type", "measure", "event_is"),
        rules={
            **config["extraction"],
            "continuity_correction": config["pooling"]["continuity_correction"],
        },
        code=code("extract.py"),
    script:
        "../scripts/extract.py"
