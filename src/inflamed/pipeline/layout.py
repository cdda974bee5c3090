"""The artefact layout: the one place that knows the workflow's file names.

Every artefact lives at ``results/<review>/<stage>/<name>`` (review-level) or
``results/mechanism/<name>`` (the run-level cascade model). The Snakemake rules, the rule scripts,
the report and the tests ask this module for names instead of spelling them, so a new artefact is
added here once (three drifting copies of these lists preceded this module).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

__all__ = [
    "CASCADE_FIGURES",
    "CASCADE_TABLES",
    "EXTRACT_FILES",
    "FIGURE_FORMATS",
    "INGEST_FILES",
    "MECHANISM_REVIEW_FILES",
    "NETWORK_BAYES_FILES",
    "NETWORK_FIGURES",
    "NETWORK_FILES",
    "NETWORK_PAIR_FIGURE",
    "NETWORK_RANKINGS",
    "OUTCOME_FIGURES",
    "POOLED_HISTORY",
    "POOLED_TABLE",
    "POOL_FILES",
    "RESULTS",
    "REVIEW_FIGURES",
    "cascade_artefacts",
    "network_file",
    "outcome_figure",
    "pool_file",
    "review_artefacts",
    "review_figure",
    "stage_file",
]

#: Root of every artefact (relative to the project).
RESULTS = "results"

#: ingest: the validated internal model of one review (key -> file name).
INGEST_FILES = {
    "contrasts": "contrasts.csv",
    "studies": "studies.csv",
    "risk_of_bias": "risk_of_bias.csv",
    "published": "published_estimates.csv",
    "prisma": "prisma.csv",
    "instruments": "instruments.csv",
    "summary": "ingest_summary.json",
}

#: extract: one effect per study x contrast x subgroup x outcome, and how it was derived.
EXTRACT_FILES = {
    "effects": "effects.csv",
    "derivation_log": "derivation_log.csv",
    "missing": "missing_data.csv",
    # continuous outcomes analysed as SMDs: the MD in each instrument's own points
    "instrument_effects": "instrument_effects.csv",
}

#: pool: per outcome (``results/<review>/pool/<outcome>/<file>``).
POOL_FILES = {
    "summary": "summary.json",
    "studies": "studies.csv",
    "subgroups": "subgroups.json",
    "leave_one_out": "leave_one_out.csv",
    "influence": "influence.csv",
    "small_study": "small_study.json",
    "cumulative": "cumulative.csv",
}

#: pool: one row per outcome x analysis set (``results/<review>/pool/pooled.csv``).
POOLED_TABLE = "pooled.csv"

#: pool: the living review's estimates per data version, a copy of the store kept between runs
#: (config ``history_dir``; :mod:`inflamed.report.history`).
POOLED_HISTORY = "history.csv"

#: mechanism, per review: who benefits as a function of inflammation.
MECHANISM_REVIEW_FILES = {
    "who_benefits": "who_benefits.json",
    "predictions": "crp_predictions.csv",
    "bridge": "clinic_bridge.csv",
}

#: mechanism, once per run: the P2X7 -> IL-6 -> astrocyte cascade model.
CASCADE_TABLES = {
    "fit": "cascade_fit.json",
    "identifiability": "identifiability.csv",
    "profiles": "profiles.csv",
    "interventions": "interventions.csv",
    "sensitivity": "sensitivity.csv",
}
CASCADE_FIGURES = ("model_diagram", "fit_vs_targets", "profiles", "interventions")

#: network, per outcome (``results/<network>/network/<outcome>/<file>``): the frequentist fit.
NETWORK_FILES = {
    "arms": "arms.csv",
    "data_log": "data_log.csv",
    "effects": "effects.csv",
    "league": "league.csv",
    "pscores": "pscores.csv",
    "design_decomposition": "design_decomposition.csv",
    "node_split": "node_split.csv",
    "frequentist": "frequentist.json",
}
#: network, per outcome: the Bayesian fit (only where the network runs model ``bayes``).
NETWORK_BAYES_FILES = {
    "bayes_effects": "bayes_effects.csv",
    "rank_probabilities": "rank_probabilities.csv",
    "diagnostics": "diagnostics.csv",
    "bayes": "bayes.json",
}
#: network, per outcome: P-scores and SUCRA side by side.
NETWORK_RANKINGS = "rankings.csv"
#: network figures per outcome (``results/<network>/network/figures/<outcome>_<figure>.<ext>``).
NETWORK_FIGURES = ("network_graph", "forest", "league_heatmap", "ranking", "node_split")
#: network figure per network, drawn when it names an efficacy and an acceptability outcome.
NETWORK_PAIR_FIGURE = "efficacy_acceptability"

#: figures drawn for every outcome (``results/<review>/figures/<outcome>_<figure>.<ext>``).
OUTCOME_FIGURES = ("forest", "funnel", "leave_one_out", "influence", "cumulative")
#: figures drawn once per review (``results/<review>/figures/<figure>.<ext>``).
REVIEW_FIGURES = ("rob_traffic_light", "rob_summary", "rob_results", "prisma", "comparison")
#: PNG for the report, SVG for print.
FIGURE_FORMATS = ("png", "svg")


def stage_file(review: str, stage: str, name: str, *, results: str = RESULTS) -> str:
    """``results/<review>/<stage>/<name>``."""
    return str(PurePosixPath(results, review, stage, name))


def pool_file(review: str, outcome: str, key: str, *, results: str = RESULTS) -> str:
    """One per-outcome pool artefact by its key in :data:`POOL_FILES`."""
    return str(PurePosixPath(results, review, "pool", outcome, POOL_FILES[key]))


def outcome_figure(
    review: str, outcome: str, figure: str, ext: str = "png", *, results: str = RESULTS
) -> str:
    """``results/<review>/figures/<outcome>_<figure>.<ext>``."""
    return str(PurePosixPath(results, review, "figures", f"{outcome}_{figure}.{ext}"))


def review_figure(review: str, figure: str, ext: str = "png", *, results: str = RESULTS) -> str:
    """``results/<review>/figures/<figure>.<ext>``."""
    return str(PurePosixPath(results, review, "figures", f"{figure}.{ext}"))


def network_file(network: str, outcome: str, key: str, *, results: str = RESULTS) -> str:
    """One per-outcome network artefact by its key in :data:`NETWORK_FILES`,
    :data:`NETWORK_BAYES_FILES` or ``"rankings"``."""
    names = {**NETWORK_FILES, **NETWORK_BAYES_FILES, "rankings": NETWORK_RANKINGS}
    return str(PurePosixPath(results, network, "network", outcome, names[key]))


def _each(names: Iterable[str], formats: Sequence[str]) -> list[tuple[str, str]]:
    return [(name, ext) for name in names for ext in formats]


def review_artefacts(review: str, outcomes: Iterable[str], *, results: str = RESULTS) -> list[str]:
    """Every artefact of one review, in stage order (what ``rule all`` and the report need)."""
    outcomes = sorted(outcomes)
    files = [stage_file(review, "ingest", n, results=results) for n in INGEST_FILES.values()]
    files += [stage_file(review, "extract", n, results=results) for n in EXTRACT_FILES.values()]
    files += [pool_file(review, o, key, results=results) for o in outcomes for key in POOL_FILES]
    files.append(stage_file(review, "pool", POOLED_TABLE, results=results))
    files.append(stage_file(review, "pool", POOLED_HISTORY, results=results))
    files += [
        stage_file(review, "mechanism", n, results=results) for n in MECHANISM_REVIEW_FILES.values()
    ]
    files += [
        stage_file(review, "mechanism", f"crp_bubble.{ext}", results=results)
        for ext in FIGURE_FORMATS
    ]
    files += [
        outcome_figure(review, o, figure, ext, results=results)
        for o in outcomes
        for figure, ext in _each(OUTCOME_FIGURES, FIGURE_FORMATS)
    ]
    files += [
        review_figure(review, figure, ext, results=results)
        for figure, ext in _each(REVIEW_FIGURES, FIGURE_FORMATS)
    ]
    return files


def cascade_artefacts(*, results: str = RESULTS) -> list[str]:
    """Every artefact of the run-level cascade model."""
    files = [str(PurePosixPath(results, "mechanism", n)) for n in CASCADE_TABLES.values()]
    files += [
        str(PurePosixPath(results, "mechanism", f"{figure}.{ext}"))
        for figure, ext in _each(CASCADE_FIGURES, FIGURE_FORMATS)
    ]
    return files
