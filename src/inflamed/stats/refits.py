"""Shared pieces of the diagnostics that refit a model many times (leave-one-out, cumulative,
influence, subgroups, small-study tests): a quiet ``rma`` call, the per-model summary row, study
labels, and the "no moderators" precondition. Public so that sibling modules need no private names.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from inflamed.stats.errors import InputError
from inflamed.stats.pooling import RMAResult, rma

__all__ = ["MODEL_COLUMNS", "fit_quietly", "model_row", "require_no_moderators", "study_labels"]

#: Columns every per-model summary row carries (leave-one-out and cumulative tables).
MODEL_COLUMNS = (
    "k",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "q",
    "q_pval",
    "tau2",
    "i2",
    "h2",
    "pi_lb",
    "pi_ub",
)


def fit_quietly(yi: np.ndarray, vi: np.ndarray, **kwargs: Any) -> RMAResult:
    """Fit ``rma`` with the k = 1 warning silenced (the callers document k = 1 rows)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="k = 1", category=UserWarning)
        return rma(yi, vi, **kwargs)


def model_row(res: RMAResult) -> dict[str, float]:
    """The summary of an intercept-only fit as a flat dictionary (keys :data:`MODEL_COLUMNS`)."""
    return {
        "k": int(res.k),
        "estimate": float(res.beta[0]),
        "se": float(res.se[0]),
        "zval": float(res.zval[0]),
        "pval": float(res.pval[0]),
        "ci_lb": float(res.ci_lb[0]),
        "ci_ub": float(res.ci_ub[0]),
        "q": float(res.q),
        "q_pval": float(res.q_pval),
        "tau2": float(res.tau2),
        "i2": float(res.i2),
        "h2": float(res.h2),
        "pi_lb": float(res.pi_lb),
        "pi_ub": float(res.pi_ub),
    }


def study_labels(labels: Any, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple(str(x) for x in np.asarray(labels, dtype=object).ravel())
    if len(out) != k:
        raise InputError(
            "labels must have one entry per study",
            column="labels",
            value=len(out),
            expected=f"{k} labels",
        )
    return out


def require_no_moderators(rma_kwargs: dict[str, Any], what: str) -> None:
    if rma_kwargs.get("mods") is not None:
        raise InputError(
            f"{what} is defined for models without moderators (as metafor)",
            column="mods",
            expected="mods=None",
        )
