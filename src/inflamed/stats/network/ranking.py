"""P-scores: the frequentist analogue of SUCRA (Rücker & Schwarzer 2015).

For treatments i and j with network estimate ``d_ij`` (i vs j) and standard error ``s_ij``, the
certainty that i is better than j is ``P_ij = Phi(-d_ij / s_ij)`` when small values are good and
``Phi(d_ij / s_ij)`` when they are bad. The P-score of i is the mean of ``P_ij`` over the other
``T - 1`` treatments: 1 means certainly best, 0 certainly worst; the scores sum to ``T / 2``.

Reference: Rücker G, Schwarzer G (2015). Ranking treatments in frequentist network
meta-analysis works without resampling methods. BMC Med Res Methodol 15:58.
doi:10.1186/s12874-015-0060-8
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from inflamed.stats.errors import InputError

__all__ = ["check_small_values", "pscores"]


def check_small_values(small_values: str) -> str:
    """Return ``small_values`` if it is ``"good"`` or ``"bad"``; otherwise raise InputError."""
    if small_values not in ("good", "bad"):
        raise InputError(
            "small_values must be 'good' or 'bad'",
            column="small_values",
            value=small_values,
            expected="good or bad",
        )
    return small_values


def pscores(
    estimate_matrix: np.ndarray | pd.DataFrame,
    se_matrix: np.ndarray | pd.DataFrame,
    *,
    small_values: str = "good",
    treatments: Sequence[str] | None = None,
) -> dict[str, float]:
    """P-score of every treatment from the league table.

    Parameters
    ----------
    estimate_matrix
        ``[i, j]`` = treatment i vs treatment j (antisymmetric, zero diagonal).
    se_matrix
        Standard errors of those contrasts (symmetric).
    small_values
        ``"good"`` or ``"bad"``: what a low estimate of i vs j means for i.
    treatments
        Names in matrix order (default: the DataFrame index, else ``"1"``, ``"2"``, ...).

    Returns
    -------
    dict
        Treatment -> P-score in [0, 1].
    """
    check_small_values(small_values)
    if treatments is None and isinstance(estimate_matrix, pd.DataFrame):
        treatments = [str(t) for t in estimate_matrix.index]
    d = np.asarray(estimate_matrix, dtype=float)
    s = np.asarray(se_matrix, dtype=float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or s.shape != d.shape:
        raise InputError(
            "estimate and SE matrices must be square and of the same shape",
            column="estimate_matrix",
            value=str(d.shape),
            expected="T x T",
        )
    t = d.shape[0]
    names = [str(i + 1) for i in range(t)] if treatments is None else list(treatments)
    if len(names) != t:
        raise InputError(
            "treatments do not match the matrix size",
            column="treatments",
            value=len(names),
            expected=str(t),
        )
    sign = -1.0 if small_values == "good" else 1.0
    off = ~np.eye(t, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = special.ndtr(sign * d / s)
    p = np.where(off, p, 0.0)
    score = p.sum(axis=1) / (t - 1) if t > 1 else np.ones(t)
    return {n: float(v) for n, v in zip(names, score, strict=True)}
