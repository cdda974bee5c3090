"""inflamed.stats.network: network meta-analysis (contrast-based frequentist; arm-based Bayesian).

::

    from inflamed.stats.network import pairwise, nma, node_split, decomp_design

    data = pairwise(arms.study, arms.treatment, measure="OR", events=arms.responders,
                    n=arms.n)
    fit = nma(data, reference="placebo", method="REML")
    fit.effects_frame(); fit.league_frame(); fit.pscores
    node_split(data, method="REML", fit=fit).frame()
    decomp_design(data).frame()

Data (:mod:`.data`)
    :class:`Contrasts`, :func:`pairwise` (arm-level rows, OR/RR/RD/MD/SMD), :func:`contrasts`
    (contrast-level rows, as netmeta's TE/seTE).
Model (:mod:`.model`)
    :func:`nma` -> :class:`NMAResult` (FE, REML, netmeta's method-of-moments "DL").
Inconsistency (:mod:`.inconsistency`)
    :func:`decomp_design` (Q within / between designs), :func:`node_split` (back-calculation).
Ranking (:mod:`.ranking`)
    :func:`pscores` (Rücker & Schwarzer 2015).
Bayesian model (:mod:`.bayes`)
    :func:`nma_bayes` -> :class:`BayesNMAResult`: the NICE DSU TSD2 arm-based consistency model
    by NUTS (NumPyro on JAX, imported on first use), with R-hat/ESS, SUCRA and rank
    probabilities (see ``docs/network_bayes.md``).

See ``docs/network.md`` for the model, conventions and what is validated against what.
"""

from __future__ import annotations

from inflamed.stats.network.bayes import BayesNMAResult, nma_bayes
from inflamed.stats.network.data import Contrasts, components, contrasts, pairwise
from inflamed.stats.network.inconsistency import (
    DesignDecomposition,
    NodeSplitResult,
    decomp_design,
    node_split,
)
from inflamed.stats.network.model import NMAResult, nma
from inflamed.stats.network.ranking import pscores

__all__ = [
    "BayesNMAResult",
    "Contrasts",
    "DesignDecomposition",
    "NMAResult",
    "NodeSplitResult",
    "components",
    "contrasts",
    "decomp_design",
    "nma",
    "nma_bayes",
    "node_split",
    "pairwise",
    "pscores",
]
