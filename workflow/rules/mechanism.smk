# Mechanism models. Who benefits (per review): benefit as a function of inflammation, within
# and between trials. The P2X7 -> IL-6 -> astrocyte cascade (once per run): it is fitted to
# sourced mouse-study targets only, so a change to a review's data never refits it.


rule mechanism_cascade:
    input:
        targets=config["mechanism"]["targets"],
    output:
        fit=report(
            "results/mechanism/cascade_fit.json",
            caption="../report/cascade_fit.rst",
            category="Mechanism",
        ),
        identifiability=report(
            "results/mechanism/identifiability.csv",
            caption="../report/identifiability.rst",
            category="Mechanism",
        ),
        profiles="results/mechanism/profiles.csv",
        interventions="results/mechanism/interventions.csv",
        sensitivity="results/mechanism/sensitivity.csv",
        figures=expand(
            "results/mechanism/{figure}.{ext}", figure=CASCADE_FIGURES, ext=FIGURE_FORMATS
        ),
        provenance=provenance_path("mechanism_cascade", "cascade"),
    params:
        seed=config["mechanism"]["seed"],
    log:
        log_path("mechanism_cascade", "cascade"),
    benchmark:
        benchmark_path("mechanism_cascade", "cascade")
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/mechanism.yaml"
    script:
        "../scripts/mechanism_cascade.py"


rule who_benefits:
    input:
        effects="results/{review}/extract/effects.csv",
        interventions="results/mechanism/interventions.csv",
    output:
        who_benefits=report(
            "results/{review}/mechanism/who_benefits.json",
            caption="../report/who_benefits.rst",
            category="Mechanism",
            subcategory="{review}",
        ),
        predictions="results/{review}/mechanism/crp_predictions.csv",
        bridge="results/{review}/mechanism/clinic_bridge.csv",
        bubble=expand(
            "results/{{review}}/mechanism/crp_bubble.{ext}", ext=FIGURE_FORMATS
        ),
        provenance=provenance_path("who_benefits"),
    params:
        mechanism={k: v for k, v in config["mechanism"].items() if k not in ("targets", "seed")},
        outcomes=lambda wc: list(config["reviews"][wc.review]["outcomes"]),
        pooling=config["pooling"],
    log:
        log_path("who_benefits"),
    benchmark:
        benchmark_path("who_benefits")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/mechanism.yaml"
    script:
        "../scripts/who_benefits.py"
