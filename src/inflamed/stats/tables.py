"""Shared pieces of the 2x2-table methods (Mantel-Haenszel in :mod:`inflamed.stats.binary`, Peto in
:mod:`inflamed.stats.peto`): metafor's two-stage zero-cell handling, fixed-effect heterogeneity and
the Wald interval.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inflamed.stats.distributions import chi2_sf, norm_isf, norm_sf
from inflamed.stats.effect_sizes import binary_cells, continuity_correct, escalc
from inflamed.stats.errors import InputError

__all__ = ["double_zero", "fixed_heterogeneity", "pair", "prepare_tables", "wald"]


def pair(value: Any, second: Any) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InputError("give one or two values", value=value, expected="a scalar or a pair")
        return value[0], value[1]
    return value, second


def double_zero(ai: np.ndarray, bi: np.ndarray, ci: np.ndarray, di: np.ndarray) -> np.ndarray:
    return ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))


def prepare_tables(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    bi: Any,
    di: Any,
    add: Any,
    to: Any,
    drop00: Any,
    measure: str,
    row_offset: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    add1, add2 = pair(add, 0.0)
    to1, to2 = pair(to, "none")
    drop1, drop2 = pair(drop00, False)
    a, b, c, d = binary_cells(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, row_offset=row_offset)
    if a.shape[0] == 0:
        raise InputError("no studies to pool (k = 0)", column="ai", expected="at least one study")
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, add=float(add1), to=to1, drop00=bool(drop1))
    keep_yi = ~(np.isnan(es.yi) | np.isnan(es.vi))
    yi, vi = es.yi[keep_yi], es.vi[keep_yi]
    if drop2:
        keep = ~double_zero(a, b, c, d)
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if a.shape[0] == 0:
        raise InputError(
            "no studies left to pool after dropping double-zero studies",
            column="ai",
            expected="at least one study with events",
        )
    (a, b, c, d), _ = continuity_correct((a, b, c, d), float(add2), to2)
    return a, b, c, d, yi, vi, int(a.shape[0])


def fixed_heterogeneity(q: float, k_yi: int) -> tuple[float, float, float, int]:
    if k_yi > 1:
        df = k_yi - 1
        q_pval = float(chi2_sf(q, df))
        # metafor: max(0, 100 (Q - df) / Q), which is 0 when Q = 0 (the ratio is -Inf)
        i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
        h2 = q / df
        return q_pval, i2, h2, df
    return 1.0, 0.0, 1.0, 0


def wald(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    crit = norm_isf((1 - level / 100) / 2)
    zval = beta / se
    pval = 2 * norm_sf(abs(zval))
    return zval, float(pval), beta - crit * se, beta + crit * se
