"""Named sets of :func:`inflamed.stats.pooling.rma` options that reproduce a tool or a guideline.

``rma(yi, vi, **preset("revman"))`` reproduces RevMan 5's inverse-variance random-effects
analysis, ``preset("metafor")`` metafor's ``rma()`` defaults and ``preset("cochrane")`` (the
default) the methods Cochrane endorsed in 2022 for random-effects meta-analysis. Every choice and
its source is listed in ``docs/conventions.md``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from inflamed.stats.errors import InputError

__all__ = ["DEFAULT_PRESET", "PRESETS", "preset"]

#: The preset the workflow uses unless config says otherwise.
DEFAULT_PRESET = "cochrane"

PRESETS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {
        # Cochrane Methods, "Random-effects meta-analysis methods for Intervention Reviews"
        # (endorsed Sept 2022, implemented in RevMan Jan 2025): REML tau^2, HKSJ CI, prediction
        # interval on a t distribution, Q-profile CI for tau^2, I^2 computed from tau^2.
        "cochrane": MappingProxyType(
            {"method": "REML", "test": "knha", "pi": "t", "i2_def": "metafor"}
        ),
        # metafor 3.8-1 rma(): method = "REML", test = "z"; predict() PI on the normal
        # distribution under test = "z"; I^2 from tau^2 and the typical within-study variance.
        "metafor": MappingProxyType(
            {"method": "REML", "test": "z", "pi": "auto", "i2_def": "metafor"}
        ),
        # RevMan 5 inverse-variance random effects: DerSimonian-Laird, Wald z CI,
        # I^2 = (Q - df)/Q; PI (not shown by RevMan 5) as Higgins et al. 2009: t(k - 2).
        "revman": MappingProxyType({"method": "DL", "test": "z", "pi": "higgins", "i2_def": "ht"}),
    }
)


def preset(name: str = DEFAULT_PRESET) -> dict[str, Any]:
    """Return the :func:`~inflamed.stats.pooling.rma` keyword arguments of a named preset.

    Parameters
    ----------
    name
        ``"cochrane"`` (default: REML + Hartung-Knapp-Sidik-Jonkman, PI on t(k-1)),
        ``"metafor"`` (REML + Wald z, PI on z) or ``"revman"`` (DerSimonian-Laird + Wald z,
        I^2 = (Q - df)/Q, PI on t(k-2)).

    Returns
    -------
    dict
        A fresh dict (``method``, ``test``, ``pi``, ``i2_def``) to pass as ``**kwargs``.

    Raises
    ------
    InputError
        For an unknown name.

    Notes
    -----
    Sources, and the conventions that differ between the three, are in ``docs/conventions.md``:
    Cochrane Methods (2022, https://methods.cochrane.org/methods-cochrane/random-effects-meta-analysis-methods-intervention-reviews);
    metafor 3.8-1 ``rma.uni`` and ``predict.rma`` (Viechtbauer 2010, doi:10.18637/jss.v036.i03);
    Cochrane Handbook 5.1 section 9.4.10 (RevMan 5 methods) and Higgins, Thompson &
    Spiegelhalter 2009 (doi:10.1111/j.1467-985X.2008.00552.x) for the t(k-2) PI.
    """
    key = str(name).lower()
    if key not in PRESETS:
        raise InputError(
            "unknown preset", column="preset", value=name, expected=", ".join(sorted(PRESETS))
        )
    return dict(PRESETS[key])
