# The network stage's shared part: which networks, their sheets checked at parse time, which
# models can run here, target lists and input functions. network.smk holds the rules.

from inflamed.network import (
    BAYES_FILES,
    FIGURES,
    FREQUENTIST_FILES,
    PAIR_FIGURE,
    RANKINGS_FILE,
    bayes_available,
    network_models,
    validate_network,
)

NETWORKS = sorted(config.get("networks", {}))


wildcard_constraints:
    network="|".join(NETWORKS) or "(?!)",


# Sheets are checked at parse time: a bad cell stops the run before any job starts, naming the
# file, row and column.
for _name in NETWORKS:
    validate_network(config["networks"][_name], name=_name)

# 'bayes' runs only where configured and importable (NumPyro/JAX); otherwise it is skipped with a
# warning and the report says the Bayesian model was not run.
BAYES_AVAILABLE = bayes_available()
NETWORK_MODELS = {
    _name: network_models(
        config["networks"][_name]["models"], bayes_available=BAYES_AVAILABLE
    )
    for _name in NETWORKS
}
if (
    any("bayes" in config["networks"][n]["models"] for n in NETWORKS)
    and not BAYES_AVAILABLE
):
    logger.warning(
        "inflamed: the Bayesian NMA engine cannot be imported; model 'bayes' is skipped."
    )

# File names come from inflamed.network.stage, their one definition (the report asks it too).
NETWORK_TABLES = [*FREQUENTIST_FILES, RANKINGS_FILE]
NETWORK_BAYES_TABLES = list(BAYES_FILES)
NETWORK_FIGURES = list(FIGURES)


def network_runs_bayes(network):
    return "bayes" in NETWORK_MODELS[network]


def network_outcomes(network):
    return sorted(config["networks"][network]["outcomes"])


def network_pair(network):
    """The efficacy and acceptability outcomes of a network, when it names both."""
    spec = config["networks"][network]
    if spec.get("efficacy") and spec.get("acceptability"):
        return spec["efficacy"], spec["acceptability"]
    return None


def network_sheet(wildcards):
    spec = config["networks"][wildcards.network]
    return f"{spec['path']}/{spec['sheet']}"


def network_outcome_spec(wildcards):
    """The outcome keys the analysis reads (a new label reruns only the figures and report)."""
    spec = config["networks"][wildcards.network]["outcomes"][wildcards.outcome]
    return {key: spec[key] for key in ("measure", "small_values")}


def network_artefacts():
    """Every artefact of every network, in stage order."""
    files = []
    for network in NETWORKS:
        base = f"results/{network}/network"
        for outcome in network_outcomes(network):
            tables = NETWORK_TABLES + (
                NETWORK_BAYES_TABLES if network_runs_bayes(network) else []
            )
            files += [f"{base}/{outcome}/{name}" for name in tables]
            files += expand(
                f"{base}/figures/{outcome}_{{figure}}.{{ext}}",
                figure=NETWORK_FIGURES,
                ext=FIGURE_FORMATS,
            )
        if network_pair(network):
            files += expand(f"{base}/figures/{PAIR_FIGURE}.{{ext}}", ext=FIGURE_FORMATS)
    return files


def network_table(name, caption=None):
    path = f"results/{{network}}/network/{{outcome}}/{name}"
    if caption is None:
        return path
    return report(
        path,
        caption=f"../report/{caption}.rst",
        category="Network meta-analysis",
        subcategory="{network}: {outcome}",
    )


def network_bayes_summary(wildcards):
    if network_runs_bayes(wildcards.network):
        return {
            "bayes": f"results/{wildcards.network}/network/{wildcards.outcome}/bayes.json"
        }
    return {}


def network_figure_inputs(wildcards):
    base = f"results/{wildcards.network}/network/{wildcards.outcome}"
    files = {
        name.split(".")[0]: f"{base}/{name}"
        for name in [
            "arms.csv",
            "effects.csv",
            "league.csv",
            "node_split.csv",
            "rankings.csv",
            "frequentist.json",
        ]
    }
    if network_runs_bayes(wildcards.network):
        files["rank_probabilities"] = f"{base}/rank_probabilities.csv"
    return files


def network_figure_outputs():
    outputs = {}
    for figure in NETWORK_FIGURES:
        stem = f"results/{{network}}/network/figures/{{outcome}}_{figure}"
        outputs[figure] = report(
            f"{stem}.png",
            caption=f"../report/network_{figure}.rst",
            category="Network meta-analysis",
            subcategory="{network}: {outcome}",
        )
        outputs[f"{figure}_svg"] = f"{stem}.svg"
    return outputs


def network_pair_inputs(wildcards):
    efficacy, acceptability = network_pair(wildcards.network)
    base = f"results/{wildcards.network}/network"
    return {
        "efficacy": f"{base}/{efficacy}/effects.csv",
        "acceptability": f"{base}/{acceptability}/effects.csv",
        "efficacy_summary": f"{base}/{efficacy}/frequentist.json",
        "acceptability_summary": f"{base}/{acceptability}/frequentist.json",
    }
