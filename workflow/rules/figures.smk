# Figures: each figure is its own artefact (a PNG for the report, an SVG for print, a caption for
# the audit report), but the figures of one outcome (and those of one review) are drawn in one
# process: interpreter and matplotlib start-up, not drawing, was most of each figure job's time.


rule outcome_figures:
    input:
        **pool_outputs(),
    output:
        **figure_outputs(layout.OUTCOME_FIGURES, per_outcome=True),
        # Study rows of a large review's forest on pages (empty below figures.forest_max_rows).
        forest_pages=directory("results/{review}/figures/{outcome}_forest_pages"),
        provenance=provenance_path("outcome_figures", "{review}/{outcome}"),
    log:
        log_path("outcome_figures", "{review}/{outcome}"),
    benchmark:
        benchmark_path("outcome_figures", "{review}/{outcome}")
    conda:
        "../../envs/figures.yaml"
    priority: PRIORITY["outcome_figures"]
    threads: 1
    resources:
        **job_resources("figure"),
    params:
        label=lambda wc: config["reviews"][wc.review]["outcomes"][wc.outcome]["label"],
        forest_max_rows=config["figures"]["forest_max_rows"],
        forest_max_pages=config["figures"]["forest_max_pages"],
        code=code("outcome_figures.py"),
    script:
        "../scripts/outcome_figures.py"


rule review_figures:
    input:
        risk_of_bias=review_file("ingest", "risk_of_bias"),
        # Row labels: the one study label (first author + year) from the studies sheet.
        studies=review_file("ingest", "studies"),
        prisma=review_file("ingest", "prisma"),
    output:
        **figure_outputs(
            ["rob_traffic_light", "rob_summary", "prisma"], per_outcome=False
        ),
        provenance=provenance_path("review_figures"),
    log:
        log_path("review_figures"),
    benchmark:
        benchmark_path("review_figures")
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        **job_resources("figure"),
    params:
        max_rows=config["figures"]["forest_max_rows"],
        code=code("review_figures.py"),
    script:
        "../scripts/review_figures.py"


rule rob_results_figure:
    input:
        risk_of_bias=review_file("ingest", "risk_of_bias"),
        studies=review_file("ingest", "studies"),
        # The results the analyses use (study x outcome x analysis set), one file per outcome.
        results=lambda wc: expand(
            pool_file("studies"), review=wc.review, outcome=outcomes_of(wc.review)
        ),
        # Tables set aside for no events in either arm and rows only the MD analysis uses.
        derivation_log=review_file("extract", "derivation_log"),
        instrument_effects=review_file("extract", "instrument_effects"),
        contrasts=review_file("ingest", "contrasts"),
    output:
        **figure_outputs(["rob_results"], per_outcome=False),
        provenance=provenance_path("rob_results_figure"),
    log:
        log_path("rob_results_figure"),
    benchmark:
        benchmark_path("rob_results_figure")
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        **job_resources("figure"),
    params:
        max_rows=config["figures"]["forest_max_rows"],
        outcomes=lambda wc: outcomes_of(wc.review),
        labels=lambda wc: {
            name: spec["label"] for name, spec in outcome_specs(wc.review, "label").items()
        },
        code=code("rob_results_figure.py"),
    script:
        "../scripts/rob_results_figure.py"


rule figure_comparison:
    input:
        pooled=pooled_table_file(),
        published=review_file("ingest", "published"),
    output:
        **figure_outputs(["comparison"], per_outcome=False),
        provenance=provenance_path("figure_comparison"),
    log:
        log_path("figure_comparison"),
    benchmark:
        benchmark_path("figure_comparison")
    conda:
        "../../envs/figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        outcomes=lambda wc: outcome_specs(
            wc.review, "label", "measure", "type", "event_is"
        ),
        primary_subgroup=lambda wc: config["reviews"][wc.review]["primary_subgroup"],
        code=code("figure_comparison.py"),
    script:
        "../scripts/figure_comparison.py"
