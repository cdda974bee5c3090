"""Cumulative meta-analysis: the pooled result after each study is added (a living review's history).

Status: reproduces metafor 3.8-1 ``cumul()`` to 1e-6 on the committed fixtures
``tests/reference/fixtures/diagnostics_cumul.json`` (except tau^2/I^2/H^2 of the first, single-study
step, which inflamed reports as NaN and metafor as 0/0/1). The first step is
:func:`inflamed.stats.pooling.rma`; the others come from prefix sums in linear cost
(:mod:`inflamed.stats.subset_sums`), with the steps that path cannot certify (typically the first
few, whose tau^2 lies far from the full data's) fitted together by
:func:`inflamed.stats.batch.rma_batch` (the test suite checks all paths agree to 1e-10), or one :func:`~inflamed.stats.pooling.rma` at a time for options the batch
engine does not take.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.errors import InputError
from inflamed.stats.pooling import rma
from inflamed.stats.refits import (
    MODEL_COLUMNS,
    batchable,
    fit_in_slices,
    fit_quietly,
    model_row,
    require_no_moderators,
    study_labels,
)
from inflamed.stats.subset_sums import prefix_sums_fit

__all__ = ["CumulativeResult", "cumulative_meta_analysis"]


@dataclass(frozen=True)
class CumulativeResult:
    """Result of :func:`cumulative_meta_analysis`: row j is the model of the first j+1 studies.

    Attributes
    ----------
    labels
        Label of the study added at each step.
    added
        0-based input position of the study added at each step.
    order
        The ordering value of that study (e.g. publication year), as given.
    k, estimate, se, zval, pval, ci_lb, ci_ub, q, q_pval, tau2, i2, h2, pi_lb, pi_ub
        The model after that step (``zval`` is a t value under t/knha/adhoc tests).
    method, test
        How every model was fitted.
    """

    labels: tuple[str, ...]
    added: np.ndarray
    order: tuple[Any, ...]
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    method: str
    test: str

    def to_frame(self) -> pd.DataFrame:
        """One row per step, in the cumulative order."""
        cols: dict[str, Any] = {
            "step": np.arange(1, len(self.labels) + 1),
            "study": list(self.labels),
            "added": self.added,
            "order": list(self.order),
        }
        cols.update({c: getattr(self, c) for c in MODEL_COLUMNS})
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (arrays as lists)."""
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def cumulative_meta_analysis(
    yi: Any,
    vi: Any,
    order: Any = None,
    *,
    labels: Any = None,
    decreasing: bool = False,
    **rma_kwargs: Any,
) -> CumulativeResult:
    """Add studies one at a time in the order of ``order`` and refit after each.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    order
        One sortable value per study (publication year, date, ...), aligned with ``yi`` -- the
        sort key, as metafor's ``cumul(res, order = year)``, not a permutation such as
        ``np.argsort(year)`` (that would sort by the wrong key). Studies are sorted by it,
        ties keep their input order (a stable sort, as R's ``order()``). ``None``: input order.
        Missing values are not allowed.
    labels
        Optional study labels.
    decreasing
        Sort from the largest value down (metafor's ``decreasing=TRUE``).
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` for every fit; ``mods`` is not allowed.

    Returns
    -------
    CumulativeResult

    Raises
    ------
    InputError
        ``order`` of the wrong length or with missing values, moderators given, or any input
        error :func:`~inflamed.stats.pooling.rma` raises.

    Notes
    -----
    Step j fits ``rma(yi[o[:j]], vi[o[:j]], **rma_kwargs)`` where ``o`` is the sorting permutation
    (Lau et al. 1992). The first step has one study: its estimate and Wald-z inference are the
    study's own; tau^2, I^2 and H^2 are NaN (metafor prints 0, 0, 1). Cumulative analyses are
    descriptive: the repeated p-values are not adjusted for sequential testing.

    References
    ----------
    Lau J, Antman EM, Jimenez-Silva J, Kupelnick B, Mosteller F, Chalmers TC (1992). Cumulative
    meta-analysis of therapeutic trials for myocardial infarction. N Engl J Med 327:248-254.
    doi:10.1056/NEJM199207233270406
    """
    require_no_moderators(rma_kwargs, "cumulative meta-analysis")
    full = rma(yi, vi, **rma_kwargs)  # validates the inputs once, with row numbers
    y, v = full.yi, full.vi
    k = full.k
    labs = study_labels(labels, k)
    if order is None:
        values: list[Any] = list(range(k))
    else:
        values = list(np.asarray(order, dtype=object).ravel())
        if len(values) != k:
            raise InputError(
                "order must have one value per study",
                column="order",
                value=len(values),
                expected=f"{k} values",
            )
        for i, val in enumerate(values):
            if val is None or (isinstance(val, float) and np.isnan(val)):
                raise InputError(
                    f"element {i} (0-based): ordering value is missing",
                    column="order",
                    expected="a sortable value for every study",
                )
    try:
        perm = sorted(range(k), key=lambda i: values[i], reverse=decreasing)
    except TypeError as exc:
        raise InputError(
            "ordering values cannot be compared", column="order", expected="values of one type"
        ) from exc
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    if batchable(kw) and k >= 2:
        ys, vs = y[perm], v[perm]
        cols = np.arange(k)

        def select(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # Refit r of this slice holds the first steps[r] + 2 studies of the sorted order.
            width = int(steps.max()) + 2 if steps.size else 2
            index = np.broadcast_to(cols[:width], (steps.size, width))
            return index, cols[None, :width] < (steps[:, None] + 2)

        first = pd.DataFrame([model_row(fit_quietly(ys[:1], vs[:1], **kw))])
        later = _later_fits(ys, vs, full.tau2, kw, select)
        frame = pd.concat([first, later], ignore_index=True)
    else:
        rows = [model_row(fit_quietly(y[perm[: j + 1]], v[perm[: j + 1]], **kw)) for j in range(k)]
        frame = pd.DataFrame(rows)
    return CumulativeResult(
        labels=tuple(labs[i] for i in perm),
        added=np.asarray(perm, dtype=int),
        order=tuple(values[i] for i in perm),
        **{c: frame[c].to_numpy() for c in MODEL_COLUMNS},
        method=full.method,
        test=full.test,
    )


def _later_fits(
    ys: np.ndarray, vs: np.ndarray, tau2_full: float, kw: dict[str, Any], select: Any
) -> pd.DataFrame:
    """Steps 2..k: from prefix sums in linear cost (:mod:`inflamed.stats.subset_sums`), with
    every step that path cannot certify refitted by :func:`~inflamed.stats.batch.rma_batch`."""
    k = ys.size
    linear = prefix_sums_fit(ys, vs, tau2_full, kw) if k >= 3 else None
    if linear is None:
        cols = fit_in_slices(ys, vs, k - 1, k, select, kw)
    else:
        cols = {c: val[1:] for c, val in linear[0].items()}
        redo = np.flatnonzero(~linear[1][1:])  # refit r holds the first r + 2 studies
        if redo.size:
            again = fit_in_slices(ys, vs, redo.size, k, lambda rows: select(redo[rows]), kw)
            for c, val in again.items():
                cols[c][redo] = val
    return pd.DataFrame(cols).drop(columns="s2w")
