"""Normal, chi-squared and Student t probabilities and quantiles over :mod:`scipy.special`.

They return what ``scipy.stats.norm``, ``chi2`` and ``t`` return (the same special functions,
with their answers outside the support: ``nan`` for ``df <= 0``, a chi-squared tail of 1 below 0)
without importing :mod:`scipy.stats`, which costs about 0.5 s at start-up; every pipeline rule is
its own process and pays that once per job. Scalars in give NumPy scalars out; arrays broadcast.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = [
    "chi2_cdf",
    "chi2_ppf",
    "chi2_sf",
    "norm_cdf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
    "t_isf",
    "t_ppf",
    "t_sf",
]


def _positive(df: ArrayLike) -> np.ndarray:
    """Degrees of freedom with the invalid ones (<= 0) as nan, as scipy.stats treats them."""
    df = np.asarray(df, dtype=float)
    return np.where(df > 0, df, np.nan)


def norm_cdf(x: ArrayLike) -> np.floating | np.ndarray:
    """P(Z <= x) for a standard normal Z."""
    return special.ndtr(x)


def norm_sf(x: ArrayLike) -> np.floating | np.ndarray:
    """P(Z > x) for a standard normal Z."""
    return special.ndtr(-np.asarray(x, dtype=float))


def norm_ppf(q: ArrayLike) -> np.floating | np.ndarray:
    """The standard normal quantile at lower-tail probability q."""
    return special.ndtri(q)


def norm_isf(q: ArrayLike) -> np.floating | np.ndarray:
    """The standard normal quantile at upper-tail probability q."""
    return -special.ndtri(q)


def chi2_sf(x: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """P(X > x) for X chi-squared with df degrees of freedom."""
    x, df = np.asarray(x, dtype=float), _positive(df)
    tail = np.where(x == np.inf, 0.0, special.chdtrc(df, np.maximum(x, 0.0)))
    return np.where(np.isnan(df), np.nan, tail)[()]


def chi2_cdf(x: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """P(X <= x) for X chi-squared with df degrees of freedom."""
    x, df = np.asarray(x, dtype=float), _positive(df)
    lower = np.where(x == np.inf, 1.0, special.chdtr(df, np.maximum(x, 0.0)))
    return np.where(np.isnan(df), np.nan, lower)[()]


def chi2_ppf(q: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """The chi-squared quantile at lower-tail probability q (scipy.stats' 2 gammaincinv(df/2, q))."""
    return 2.0 * special.gammaincinv(_positive(df) / 2.0, q)


def t_sf(x: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """P(T > x) for T Student t with df degrees of freedom."""
    return special.stdtr(_positive(df), -np.asarray(x, dtype=float))


def t_ppf(q: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """The Student t quantile at lower-tail probability q."""
    q, df = np.asarray(q, dtype=float), _positive(df)
    # stdtrit answers +inf at q = 0; the quantile there is the support's lower end.
    return np.where((q == 0.0) & ~np.isnan(df), -np.inf, special.stdtrit(df, q))[()]


def t_isf(q: ArrayLike, df: ArrayLike) -> np.floating | np.ndarray:
    """The Student t quantile at upper-tail probability q."""
    return -t_ppf(q, df)
