"""inflamed.stats: the statistics engine.

Plain functions over NumPy arrays that return small frozen result objects, with metafor's argument
names and metafor's numbers (checked against committed metafor fixtures). The engine knows nothing
of reviews, configuration or files; it imports nothing from the rest of :mod:`inflamed` (a test
enforces this), so it can be used on its own::

    from inflamed.stats import escalc, rma

    es = escalc("SMD", m1i=m1, sd1i=sd1, n1i=n1, m2i=m2, sd2i=sd2, n2i=n2)
    res = rma(es.yi, es.vi, method="REML", test="knha")
    res.summary_frame()

Effect sizes
    :func:`escalc` (SMD, MD, RR, OR, RD), :func:`split_shared_control`, and the conversions of
    :mod:`inflamed.stats.conversions` (SD from SE/CI/t/p; mean and SD from medians).
Pooling
    :func:`rma` (FE, DL, HE, HS, SJ, PM, EB, ML, REML; z or Knapp-Hartung tests; moderators),
    :func:`rma_mh`, :func:`rma_peto`, :func:`rma_three_level`, :func:`rma_batch` (many analyses
    at once), :func:`confint_tau2` (Q-profile), :func:`preset` (metafor, RevMan, Cochrane options).
Diagnostics
    :func:`leave_one_out`, :func:`influence_diagnostics`, :func:`cumulative_meta_analysis`,
    :func:`subgroup_analysis`, :func:`egger_test`, :func:`begg_test`, :func:`trim_and_fill`.
Network meta-analysis
    :func:`pairwise`, :func:`contrasts` (-> :class:`Contrasts`), :func:`nma` (-> :class:`NMAResult`:
    FE, REML, netmeta's MoM), :func:`decomp_design`, :func:`node_split`, :func:`pscores`
    (subpackage :mod:`inflamed.stats.network`).
Distributions
    :mod:`inflamed.stats.distributions`: scipy.stats' normal, chi-squared and t probabilities and
    quantiles from :mod:`scipy.special`, without scipy.stats' half-second import.
Errors
    :class:`InputError` (a bad argument, named), :class:`ConvergenceError`.

Names are imported on first use, so ``import inflamed.stats`` costs nothing until an estimator is
called (the command line starts fast).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: Public name -> submodule that defines it (one place; ``__all__`` is derived from it).
_EXPORTS: dict[str, str] = {
    # effect sizes
    "EffectSizes": "effect_sizes",
    "escalc": "effect_sizes",
    "hedges_j": "effect_sizes",
    "split_shared_control": "multi_arm",
    # pooling
    "RMAResult": "rma_result",
    "PredictResult": "rma_result",
    "rma": "pooling",
    "estimate_tau2": "tau2",
    "Tau2Fit": "tau2",
    "confint_tau2": "rma_result",
    "QProfileCI": "heterogeneity",
    "MHResult": "binary",
    "PetoResult": "peto",
    "rma_mh": "binary",
    "rma_peto": "peto",
    "ThreeLevelResult": "multilevel",
    "rma_three_level": "multilevel",
    "BatchResult": "batch",
    "rma_batch": "batch",
    "preset": "presets",
    "PRESETS": "presets",
    # diagnostics
    "LeaveOneOutResult": "influence",
    "InfluenceResult": "influence",
    "leave_one_out": "influence",
    "influence_diagnostics": "influence",
    "case_deletion": "influence",
    "CumulativeResult": "cumulative",
    "cumulative_meta_analysis": "cumulative",
    "SubgroupResult": "subgroups",
    "subgroup_analysis": "subgroups",
    "EggerResult": "small_study",
    "BeggResult": "small_study",
    "TrimFillResult": "trim_fill",
    "egger_test": "small_study",
    "begg_test": "small_study",
    "trim_and_fill": "trim_fill",
    # network meta-analysis (frequentist)
    "Contrasts": "network.data",
    "pairwise": "network.data",
    "contrasts": "network.data",
    "NMAResult": "network.model",
    "nma": "network.model",
    "DesignDecomposition": "network.inconsistency",
    "NodeSplitResult": "network.inconsistency",
    "decomp_design": "network.inconsistency",
    "node_split": "network.inconsistency",
    "pscores": "network.ranking",
    # network meta-analysis (Bayesian)
    "BayesNMAResult": "network.bayes",
    "nma_bayes": "network.bayes",
    # errors
    "InputError": "errors",
    "ConvergenceError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inflamed.stats' has no attribute {name!r}")
    value = getattr(import_module(f"inflamed.stats.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def defining_module(name: str) -> str | None:
    """The submodule (``inflamed.stats.<module>``) that defines a public name, or ``None``."""
    module = _EXPORTS.get(name)
    return None if module is None else f"inflamed.stats.{module}"


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers see ordinary imports
    from inflamed.stats.batch import BatchResult, rma_batch
    from inflamed.stats.binary import MHResult, rma_mh
    from inflamed.stats.cumulative import CumulativeResult, cumulative_meta_analysis
    from inflamed.stats.effect_sizes import EffectSizes, escalc, hedges_j
    from inflamed.stats.errors import ConvergenceError, InputError
    from inflamed.stats.heterogeneity import QProfileCI
    from inflamed.stats.influence import (
        InfluenceResult,
        LeaveOneOutResult,
        case_deletion,
        influence_diagnostics,
        leave_one_out,
    )
    from inflamed.stats.multi_arm import split_shared_control
    from inflamed.stats.multilevel import ThreeLevelResult, rma_three_level
    from inflamed.stats.network.bayes import BayesNMAResult, nma_bayes
    from inflamed.stats.network.data import Contrasts, contrasts, pairwise
    from inflamed.stats.network.inconsistency import (
        DesignDecomposition,
        NodeSplitResult,
        decomp_design,
        node_split,
    )
    from inflamed.stats.network.model import NMAResult, nma
    from inflamed.stats.network.ranking import pscores
    from inflamed.stats.peto import PetoResult, rma_peto
    from inflamed.stats.pooling import rma
    from inflamed.stats.presets import PRESETS, preset
    from inflamed.stats.rma_result import PredictResult, RMAResult, confint_tau2
    from inflamed.stats.small_study import (
        BeggResult,
        EggerResult,
        begg_test,
        egger_test,
    )
    from inflamed.stats.subgroups import SubgroupResult, subgroup_analysis
    from inflamed.stats.tau2 import Tau2Fit, estimate_tau2
    from inflamed.stats.trim_fill import TrimFillResult, trim_and_fill
