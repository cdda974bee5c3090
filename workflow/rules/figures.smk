# Figures: one rule per figure, each a PNG for the report and an SVG for print, with a caption
# for the audit report. Figure functions live in inflamed.figures and read the stage artefacts.


rule figure_forest:
    input:
        studies="results/{review}/pool/{outcome}/studies.csv",
        summary="results/{review}/pool/{outcome}/summary.json",
        subgroups="results/{review}/pool/{outcome}/subgroups.json",
    output:
        **figure_outputs("forest", "forest", "Forest plots"),
        provenance=provenance_path("figure_forest", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
    log:
        log_path("figure_forest", "{review}/{outcome}"),
    benchmark:
        benchmark_path("figure_forest", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_forest.py"


rule figure_funnel:
    input:
        studies="results/{review}/pool/{outcome}/studies.csv",
        summary="results/{review}/pool/{outcome}/summary.json",
        small_study="results/{review}/pool/{outcome}/small_study.json",
    output:
        **figure_outputs("funnel", "funnel", "Funnel plots"),
        provenance=provenance_path("figure_funnel", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
    log:
        log_path("figure_funnel", "{review}/{outcome}"),
    benchmark:
        benchmark_path("figure_funnel", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_funnel.py"


rule figure_leave_one_out:
    input:
        leave_one_out="results/{review}/pool/{outcome}/leave_one_out.csv",
        summary="results/{review}/pool/{outcome}/summary.json",
    output:
        **figure_outputs("leave_one_out", "leave_one_out", "Sensitivity"),
        provenance=provenance_path("figure_leave_one_out", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
    log:
        log_path("figure_leave_one_out", "{review}/{outcome}"),
    benchmark:
        benchmark_path("figure_leave_one_out", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_leave_one_out.py"


rule figure_influence:
    input:
        influence="results/{review}/pool/{outcome}/influence.csv",
    output:
        **figure_outputs("influence", "influence", "Sensitivity"),
        provenance=provenance_path("figure_influence", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
    log:
        log_path("figure_influence", "{review}/{outcome}"),
    benchmark:
        benchmark_path("figure_influence", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_influence.py"


rule figure_cumulative:
    input:
        cumulative="results/{review}/pool/{outcome}/cumulative.csv",
        summary="results/{review}/pool/{outcome}/summary.json",
    output:
        **figure_outputs("cumulative", "cumulative", "Cumulative meta-analysis"),
        provenance=provenance_path("figure_cumulative", "{review}/{outcome}"),
    params:
        outcome=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome],
    log:
        log_path("figure_cumulative", "{review}/{outcome}"),
    benchmark:
        benchmark_path("figure_cumulative", "{review}/{outcome}")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_cumulative.py"


rule figure_risk_of_bias:
    input:
        risk_of_bias="results/{review}/ingest/risk_of_bias.csv",
    output:
        traffic_light=report(
            "results/{review}/figures/rob_traffic_light.png",
            caption="../report/rob_traffic_light.rst",
            category="Figures",
            subcategory="Risk of bias",
        ),
        traffic_light_svg="results/{review}/figures/rob_traffic_light.svg",
        summary=report(
            "results/{review}/figures/rob_summary.png",
            caption="../report/rob_summary.rst",
            category="Figures",
            subcategory="Risk of bias",
        ),
        summary_svg="results/{review}/figures/rob_summary.svg",
        provenance=provenance_path("figure_risk_of_bias"),
    log:
        log_path("figure_risk_of_bias"),
    benchmark:
        benchmark_path("figure_risk_of_bias")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_risk_of_bias.py"


rule figure_prisma:
    input:
        prisma="results/{review}/ingest/prisma.csv",
    output:
        **figure_outputs("prisma", "prisma", "PRISMA", per_outcome=False),
        provenance=provenance_path("figure_prisma"),
    log:
        log_path("figure_prisma"),
    benchmark:
        benchmark_path("figure_prisma")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_prisma.py"


rule figure_comparison:
    input:
        pooled="results/{review}/pool/pooled.csv",
        published="results/{review}/ingest/published_estimates.csv",
    output:
        **figure_outputs("comparison", "comparison", "Published estimates", per_outcome=False),
        provenance=provenance_path("figure_comparison"),
    params:
        outcomes=lambda wc: config["reviews"][wc.review]["outcomes"],
        primary_subgroup=lambda wc: config["reviews"][wc.review]["primary_subgroup"],
    log:
        log_path("figure_comparison"),
    benchmark:
        benchmark_path("figure_comparison")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_comparison.py"
