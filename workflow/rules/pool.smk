# Pooled meta-analysis, one job per review and outcome: the random-effects model with its
# heterogeneity statistics, subgroup comparisons, sensitivity analyses (leave-one-out,
# influence), small-study effects and the cumulative (living-review) history.


# Seconds of work: scheduling them on a cluster costs more than running them (profiles/README.md).
localrules:
    pooled_table,


rule pool:
    input:
        effects=review_file("extract", "effects"),
        instrument_effects=review_file("extract", "instrument_effects"),
        # Double-zero tables extract set aside (and their counts) for the rare-event analyses.
        derivation_log=review_file("extract", "derivation_log"),
        contrasts=review_file("ingest", "contrasts"),
    output:
        **{k: v for k, v in pool_outputs().items() if k != "summary"},
        summary=report(
            pool_file("summary"),
            caption="../report/pool_summary.rst",
            category="Meta-analysis",
            subcategory="{review}: {outcome}",
        ),
        provenance=provenance_path("pool", "{review}/{outcome}"),
    log:
        log_path("pool", "{review}/{outcome}"),
    benchmark:
        benchmark_path("pool", "{review}/{outcome}")
    conda:
        "../../envs/pool.yaml"
    priority: PRIORITY["pool"]
    threads: 1
    resources:
        **job_resources("pool"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
        primary_subgroup=lambda wc: config["reviews"][wc.review]["primary_subgroup"],
        pooling=pooling_params(),
        code=code("pool.py"),
    script:
        "../scripts/pool.py"


rule pooled_table:
    input:
        summaries=lambda wc: expand(
            pool_file("summary"),
            review=wc.review,
            outcome=outcomes_of(wc.review),
        ),
        data=review_input_files,
    output:
        table=report(
            pooled_table_file(),
            caption="../report/pooled.rst",
            category="Meta-analysis",
            subcategory="{review}",
        ),
        # The living review's path: a copy of the store kept between runs (config history_dir).
        history=pooled_history_file(),
        provenance=provenance_path("pooled_table"),
    log:
        log_path("pooled_table"),
    conda:
        "../../envs/pool.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        store=lambda wc: f"{config['history_dir']}/{wc.review}.csv",
        code=code("pooled_table.py"),
    script:
        "../scripts/pooled_table.py"
