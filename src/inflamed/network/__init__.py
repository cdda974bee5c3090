"""The network stage: network meta-analysis of an arm-level network sheet.

A network review (config ``networks:``) is one sheet with a row per study arm
(:mod:`inflamed.network.sheet`); the stage (:mod:`inflamed.network.stage`) turns one outcome of it
into the artefacts under ``results/<network>/network/<outcome>/`` by calling the engine
:mod:`inflamed.stats.network` (frequentist) and :mod:`inflamed.stats.network.bayes` (Bayesian).
The figures are :mod:`inflamed.figures.network`, the report section
:mod:`inflamed.report.network`.

Status: runs the two shipped public networks (Linde 2015, Cipriani 2009) end to end; tested on
a small network fixture. It computes no statistic itself.
"""

from collections.abc import Sequence

from inflamed.network.sheet import (
    NetworkArms,
    outcome_arms,
    read_network,
    sheet_path,
    validate_network,
)
from inflamed.network.stage import (
    bayes_available,
    load_arms,
    run_bayes,
    run_frequentist,
    write_rankings,
)

__all__ = [
    "NetworkArms",
    "bayes_available",
    "load_arms",
    "network_models",
    "outcome_arms",
    "read_network",
    "run_bayes",
    "run_frequentist",
    "sheet_path",
    "validate_network",
    "write_rankings",
]


def network_models(models: Sequence[str], *, bayes_available: bool) -> list[str]:
    """The configured models that can run here: 'bayes' is dropped when its engine is missing."""
    return [m for m in models if m != "bayes" or bayes_available]
