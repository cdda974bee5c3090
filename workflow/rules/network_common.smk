# The network stage's shared part: which networks, their sheets checked at parse time, which
# models can run here, target lists and input functions. network.smk holds the rules.

from inflamed.network import bayes_available, network_models, validate_network
from inflamed.pipeline.layout import (
    NETWORK_BAYES_FILES,
    NETWORK_FIGURES,
    NETWORK_FILES,
    NETWORK_PAIR_FIGURE,
    NETWORK_RANKINGS,
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

# File names come from inflamed.pipeline.layout, their one definition (the report asks it too).
NETWORK_TABLES = [*NETWORK_FILES.values(), NETWORK_RANKINGS]
NETWORK_BAYES_TABLES = list(NETWORK_BAYES_FILES.values())


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
            files += expand(
                f"{base}/figures/{NETWORK_PAIR_FIGURE}.{{ext}}", ext=FIGURE_FORMATS
            )
    return files


def network_table(key, caption=None):
    """A per-outcome network artefact by its layout key (wildcards left for Snakemake)."""
    path = layout.network_file("{network}", "{outcome}", key)
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
            "bayes": layout.network_file(wildcards.network, wildcards.outcome, "bayes")
        }
    return {}


def network_figure_inputs(wildcards):
    keys = ["arms", "effects", "league", "node_split", "rankings", "frequentist"]
    if network_runs_bayes(wildcards.network):
        keys.append("rank_probabilities")
    return {
        key: layout.network_file(wildcards.network, wildcards.outcome, key)
        for key in keys
    }


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
    network = wildcards.network
    return {
        "efficacy": layout.network_file(network, efficacy, "effects"),
        "acceptability": layout.network_file(network, acceptability, "effects"),
        "efficacy_summary": layout.network_file(network, efficacy, "frequentist"),
        "acceptability_summary": layout.network_file(
            network, acceptability, "frequentist"
        ),
    }
