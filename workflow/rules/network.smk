# Network meta-analysis (inflamed.network): per network and outcome, the frequentist models
# (common effect, REML random effects, inconsistency checks), the Bayesian model when configured,
# the rankings and the figures. Networks are read from their own arm-level sheets (config
# `networks:`), so they never enter the pairwise ingest/extract/pool stages.


include: "network_common.smk"


rule network_frequentist:
    input:
        sheet=network_sheet,
    output:
        arms=network_table("arms"),
        data_log=network_table("data_log", "network_data_log"),
        effects=network_table("effects", "network_effects"),
        league=network_table("league", "network_league"),
        pscores=network_table("pscores"),
        design=network_table("design_decomposition", "network_design_decomposition"),
        node_split=network_table("node_split", "network_node_split_table"),
        summary=network_table("frequentist"),
        provenance=provenance_path("network_frequentist", "{network}/{outcome}"),
    log:
        log_path("network_frequentist", "{network}/{outcome}"),
    benchmark:
        benchmark_path("network_frequentist", "{network}/{outcome}")
    conda:
        "../../envs/network.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code("network_frequentist.py"),
        outcome=network_outcome_spec,
        reference=lambda wc: config["networks"][wc.network]["reference"],
        models=lambda wc: [m for m in NETWORK_MODELS[wc.network] if m != "bayes"]
        or ["REML"],
        level=lambda wc: config["networks"][wc.network]["level"],
    script:
        "../scripts/network_frequentist.py"


rule network_bayes:
    input:
        sheet=network_sheet,
    output:
        effects=network_table("bayes_effects", "network_bayes_effects"),
        rank_probabilities=network_table("rank_probabilities"),
        diagnostics=network_table("diagnostics", "network_diagnostics"),
        summary=network_table("bayes"),
        provenance=provenance_path("network_bayes", "{network}/{outcome}"),
    log:
        log_path("network_bayes", "{network}/{outcome}"),
    benchmark:
        benchmark_path("network_bayes", "{network}/{outcome}")
    conda:
        "../../envs/network.yaml"
    priority: PRIORITY["network_bayes"]
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        code=code("network_bayes.py"),
        outcome=network_outcome_spec,
        reference=lambda wc: config["networks"][wc.network]["reference"],
        settings=lambda wc: config["networks"][wc.network]["bayes"],
    script:
        "../scripts/network_bayes.py"


rule network_rankings:
    input:
        unpack(network_bayes_summary),
        pscores=network_table("pscores"),
    output:
        rankings=network_table("rankings", "network_rankings"),
        provenance=provenance_path("network_rankings", "{network}/{outcome}"),
    log:
        log_path("network_rankings", "{network}/{outcome}"),
    benchmark:
        benchmark_path("network_rankings", "{network}/{outcome}")
    conda:
        "../../envs/network.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=2,
    params:
        code=code("network_rankings.py"),
    script:
        "../scripts/network_rankings.py"


rule network_figures:
    input:
        unpack(network_figure_inputs),
    output:
        **network_figure_outputs(),
        provenance=provenance_path("network_figures", "{network}/{outcome}"),
    log:
        log_path("network_figures", "{network}/{outcome}"),
    benchmark:
        benchmark_path("network_figures", "{network}/{outcome}")
    conda:
        "../../envs/network.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code("network_figures.py"),
        label=lambda wc: config["networks"][wc.network]["outcomes"][wc.outcome]["label"],
        model=lambda wc: "REML" if "REML" in NETWORK_MODELS[wc.network] else "FE",
    script:
        "../scripts/network_figures.py"


rule network_efficacy_acceptability:
    input:
        unpack(network_pair_inputs),
    output:
        png=report(
            f"results/{{network}}/network/figures/{NETWORK_PAIR_FIGURE}.png",
            caption="../report/network_efficacy_acceptability.rst",
            category="Network meta-analysis",
            subcategory="{network}",
        ),
        svg=f"results/{{network}}/network/figures/{NETWORK_PAIR_FIGURE}.svg",
        provenance=provenance_path("network_efficacy_acceptability", "{network}"),
    log:
        log_path("network_efficacy_acceptability", "{network}"),
    benchmark:
        benchmark_path("network_efficacy_acceptability", "{network}")
    conda:
        "../../envs/network.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code("network_efficacy_acceptability.py"),
        labels=lambda wc: [
            config["networks"][wc.network]["outcomes"][o]["label"]
            for o in network_pair(wc.network)
        ],
        model=lambda wc: "REML" if "REML" in NETWORK_MODELS[wc.network] else "FE",
    script:
        "../scripts/network_efficacy_acceptability.py"
