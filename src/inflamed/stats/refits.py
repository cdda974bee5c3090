"""Shared pieces of the diagnostics that refit a model many times (leave-one-out, cumulative,
influence, subgroups, small-study tests): a quiet ``rma`` call, the per-model summary row, study
labels, and the "no moderators" precondition. Public so that sibling modules need no private names.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from inflamed.stats.batch import rma_batch
from inflamed.stats.errors import InputError
from inflamed.stats.pooling import RMAResult, rma

__all__ = [
    "BATCH_CELLS",
    "MODEL_COLUMNS",
    "batchable",
    "fit_in_slices",
    "fit_quietly",
    "model_row",
    "require_no_moderators",
    "study_labels",
]

#: Cells of the (refits x studies) arrays handed to the batch engine at once. k refits of up to k
#: studies are k^2 cells: in slices of this many cells memory stays bounded (a few arrays of
#: 8 MB) however large k grows.
BATCH_CELLS = 1_000_000

#: ``rma`` options the batch engine takes; with any other option (``mods``, ``intercept``) the
#: refits are fitted one model at a time.
_BATCH_OPTIONS = frozenset({"method", "test", "level", "pi", "i2_def", "control"})

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
    """Fit ``rma`` with the k = 1 and s2w = 0 warnings silenced (the full model's fit and the
    callers report them; one per refit would repeat them k times). ``res.warnings`` keeps them."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="k = 1", category=UserWarning)
        warnings.filterwarnings("ignore", message="Knapp-Hartung scale", category=UserWarning)
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


def batchable(kw: dict[str, Any]) -> bool:
    """Whether refits with these ``rma`` options can go through :func:`rma_batch`."""
    return set(kw) <= _BATCH_OPTIONS


def fit_in_slices(
    y: np.ndarray,
    v: np.ndarray,
    m: int,
    width: int,
    select: Any,
    kw: dict[str, Any],
    extra: Any = None,
) -> dict[str, np.ndarray]:
    """Fit m intercept-only refits with :func:`rma_batch`, a bounded slice of refits at a time.

    Parameters
    ----------
    y, v
        All studies' effects and variances.
    m
        Number of refits.
    width
        Most studies in one refit (sets how many refits fit in a slice of :data:`BATCH_CELLS`).
    select
        ``select(rows) -> (index, mask)``: for the refit numbers ``rows`` (an array), an integer
        array (len(rows), c) of study positions and a boolean mask of the same shape (or None),
        in the order ``rma`` would see the studies.
    kw
        ``rma`` options (see :func:`batchable`).
    extra
        Optional ``extra(result, index, mask) -> dict`` of further per-refit arrays.

    Returns
    -------
    dict
        :data:`MODEL_COLUMNS` plus ``s2w`` (and the ``extra`` columns), arrays of length m.
    """
    step = max(1, BATCH_CELLS // max(1, width))
    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, m, step):
        rows = np.arange(start, min(start + step, m))
        index, mask = select(rows)
        res = rma_batch(y[index], v[index], mask=mask, **kw)
        part = {c: np.asarray(getattr(res, c)) for c in (*MODEL_COLUMNS, "s2w")}
        if extra is not None:
            part.update(extra(res, index, mask))
        parts.append(part)
    out = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    out["k"] = out["k"].astype(int)
    return out


def require_intercept_only(rma_kwargs: dict[str, Any], what: str) -> None:
    """Refuse ``mods`` and ``intercept`` for analyses defined on the intercept-only model."""
    for bad in ("mods", "intercept"):
        if rma_kwargs.get(bad) is not None:
            raise InputError(
                f"{what} is implemented for models without moderators",
                column=bad,
                expected=f"no '{bad}' argument",
            )


def plain_dict(d: dict[str, Any]) -> dict[str, Any]:
    """A result's fields with arrays as lists (JSON-ready)."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}
