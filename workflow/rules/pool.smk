# Pooled meta-analysis, one job per review and outcome: the random-effects model with its
# heterogeneity statistics, subgroup comparisons, sensitivity analyses (leave-one-out,
# influence), small-study effects and the cumulative (living-review) history.


rule pool:
    input:
        effects="results/{review}/extract/effects.csv",
    output:
        summary=report(
            "results/{review}/pool/{outcome}/summary.json",
            caption="../report/pool_summary.rst",
            category="Meta-analysis",
            subcategory="{review}: {outcome}",
        ),
        studies="results/{review}/pool/{outcome}/studies.csv",
        subgroups="results/{review}/pool/{outcome}/subgroups.json",
        leave_one_out="results/{review}/pool/{outcome}/leave_one_out.csv",
        influence="results/{review}/pool/{outcome}/influence.csv",
        small_study="results/{review}/pool/{outcome}/small_study.json",
        cumulative="results/{review}/pool/{outcome}/cumulative.csv",
        provenance=provenance_path("pool", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
        primary_subgroup=lambda wc: config["reviews"][wc.review]["primary_subgroup"],
        pooling=config["pooling"],
    log:
        log_path("pool", "{review}/{outcome}"),
    benchmark:
        benchmark_path("pool", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/pool.yaml"
    script:
        "../scripts/pool.py"


rule pooled_table:
    input:
        summaries=lambda wc: expand(
            "results/{review}/pool/{outcome}/summary.json",
            review=wc.review,
            outcome=outcomes_of(wc.review),
        ),
    output:
        table=report(
            "results/{review}/pool/pooled.csv",
            caption="../report/pooled.rst",
            category="Meta-analysis",
            subcategory="{review}",
        ),
        provenance=provenance_path("pooled_table"),
    log:
        log_path("pooled_table"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/pool.yaml"
    script:
        "../scripts/pooled_table.py"
