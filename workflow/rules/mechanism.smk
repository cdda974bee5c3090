# Mechanism models. Who benefits (per review): benefit as a function of inflammation, within
# and between trials. The P2X7 -> IL-6 -> astrocyte cascade (once per run): it is fitted to
# sourced mouse-study targets only, so a change to a review's data never refits it.


rule mechanism_cascade:
    input:
        targets=config["mechanism"]["targets"],
    output:
        fit=report(
            cascade_file("fit"),
            caption="../report/cascade_fit.rst",
            category="Mechanism",
        ),
        identifiability=report(
            cascade_file("identifiability"),
            caption="../report/identifiability.rst",
            category="Mechanism",
        ),
        profiles=cascade_file("profiles"),
        interventions=cascade_file("interventions"),
        sensitivity=cascade_file("sensitivity"),
        figures=expand(
            "results/mechanism/{figure}.{ext}",
            figure=layout.CASCADE_FIGURES,
            ext=FIGURE_FORMATS,
        ),
        provenance=provenance_path("mechanism_cascade", "cascade"),
    log:
        log_path("mechanism_cascade", "cascade"),
    benchmark:
        benchmark_path("mechanism_cascade", "cascade")
    conda:
        "../../envs/mechanism.yaml"
    priority: PRIORITY["mechanism_cascade"]
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=config["mechanism"]["seed"],
        code=code("mechanism_cascade.py"),
    script:
        "../scripts/mechanism_cascade.py"


rule who_benefits:
    input:
        effects=review_file("extract", "effects"),
        interventions=cascade_file("interventions"),
    output:
        who_benefits=report(
            "results/{review}/mechanism/"
            + layout.MECHANISM_REVIEW_FILES["who_benefits"],
            caption="../report/who_benefits.rst",
            category="Mechanism",
            subcategory="{review}",
        ),
        predictions="results/{review}/mechanism/"
        + layout.MECHANISM_REVIEW_FILES["predictions"],
        bridge=review_file("mechanism", "bridge"),
        bubble=expand(
            "results/{{review}}/mechanism/crp_bubble.{ext}", ext=FIGURE_FORMATS
        ),
        provenance=provenance_path("who_benefits"),
    log:
        log_path("who_benefits"),
    benchmark:
        benchmark_path("who_benefits")
    conda:
        "../../envs/mechanism.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        mechanism={
            k: v
            for k, v in config["mechanism"].items()
            if k not in ("targets", "seed")
        },
        outcomes=lambda wc: list(config["reviews"][wc.review]["outcomes"]),
        pooling=pooling_params("preset", "method", "test", "level"),
        code=code("who_benefits.py"),
    script:
        "../scripts/who_benefits.py"
