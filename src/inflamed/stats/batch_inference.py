"""The arithmetic shared by every batch of intercept-only fits once tau^2 is known.

:func:`infer` turns per-analysis sums (sum of weights, weighted mean, weighted RSS, the
fixed-effect Q and sums) and the tau^2 fits into a :class:`BatchResult`: Knapp-Hartung, t or z
inference, I^2/H^2 and the prediction interval. :func:`inflamed.stats.batch.rma_batch` computes the
sums from (m, k) arrays; :mod:`inflamed.stats.deletions` computes those of the k leave-one-out
fits in linear cost. One definition, so the two paths cannot drift.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["BatchResult", "RowSums", "Tau2Rows", "infer"]


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Results of :func:`rma_batch`: one element per analysis (arrays of length m).

    Attributes
    ----------
    method, test, level, pi_type, i2_def
        Settings shared by all analyses.
    k
        Number of studies in each analysis.
    estimate, se, zval, pval, ci_lb, ci_ub
        Pooled effect and its inference (``zval`` is a t value under t/knha/adhoc).
    tau2, se_tau2
        Between-study variance and metafor's standard error of it.
    i2, h2, i2_ht, h2_ht
        Heterogeneity (``i2``/``h2`` in the ``i2_def`` definition; ``_ht`` = Higgins-Thompson).
    q, q_df, q_pval
        Cochran's Q, its df (k - 1) and p-value.
    s2w
        Knapp-Hartung scale factor (1 under z and t).
    pi_lb, pi_ub
        Prediction interval.
    converged, iterations
        Per-analysis convergence of the tau^2 estimator.
    """

    method: str
    test: str
    level: float
    pi_type: str
    i2_def: str
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    i2_ht: np.ndarray
    h2_ht: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pval: np.ndarray
    s2w: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray

    _COLUMNS = (
        "k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "i2", "h2",
        "i2_ht", "h2_ht", "q", "q_df", "q_pval", "s2w", "pi_lb", "pi_ub", "converged",
        "iterations",
    )  # fmt: skip

    def __len__(self) -> int:
        return int(self.k.size)

    def summary_frame(self) -> pd.DataFrame:
        """One row per analysis."""
        return pd.DataFrame({c: getattr(self, c) for c in self._COLUMNS})


@dataclass(frozen=True)
class Tau2Rows:
    """tau^2 of each analysis (NaN where k = 1), its standard error, convergence and iterations."""

    tau2: np.ndarray
    se_tau2: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


@dataclass(frozen=True)
class RowSums:
    """The per-analysis sums the inference needs (arrays of length m).

    Attributes
    ----------
    k
        Number of studies (integers).
    sw, estimate, rss
        ``sum w``, ``sum w y / sum w`` and ``sum w (y - estimate)^2`` with ``w = 1/(v + tau2)``.
    zero_rss
        Whether ``rss`` is rounding noise (:func:`inflamed.stats.heterogeneity.zero_rss_bound`;
        False where k = 1).
    q, sw0, sw02
        Cochran's Q (not yet floored), ``sum 1/v`` and ``sum 1/v^2``.
    """

    k: np.ndarray
    sw: np.ndarray
    estimate: np.ndarray
    rss: np.ndarray
    zero_rss: np.ndarray
    q: np.ndarray
    sw0: np.ndarray
    sw02: np.ndarray


def infer(
    sums: RowSums,
    fit: Tau2Rows,
    *,
    method: str,
    test: str,
    level: float,
    pi: str,
    i2_def: str,
    con: dict[str, Any],
) -> BatchResult:
    """The :class:`BatchResult` of m analyses from their sums and tau^2 fits (options checked)."""
    kk = sums.k
    k = kk.astype(float)
    m = k.size
    one = kk == 1
    tau2, se_tau2, conv, iters = fit.tau2, fit.se_tau2, fit.converged, fit.iterations
    tau_use = np.where(np.isfinite(tau2), tau2, 0.0)
    sw, est, rss, zero = sums.sw, sums.estimate, sums.rss, sums.zero_rss
    q, sw0, sw02 = sums.q, sums.sw0, sums.sw02
    vb = 1.0 / sw
    s2w = np.ones(m)
    use_t = test in ("t", "knha", "adhoc")
    if test in ("knha", "adhoc"):
        if method == "FE":
            warnings.warn(
                "the Knapp-Hartung method is not meant for fixed-effect models",
                UserWarning,
                stacklevel=3,
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(zero, 0.0, rss / (k - 1))
        if test == "adhoc" or (con["s2w_zero"] == "adhoc" and zero.any()):  # rma's fallback
            s2w = np.maximum(1.0, s2w) if test == "adhoc" else np.where(zero, 1.0, s2w)
        if zero.any() and test == "knha":
            warnings.warn(f"Knapp-Hartung scale factor s2w = 0 in {int(zero.sum())} analyses "
                          f"(zero residuals): control s2w_zero='{con['s2w_zero']}'", UserWarning, stacklevel=3)  # fmt: skip
        s2w = np.where(one, 1.0, s2w)
    vb = vb * s2w
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = est / se
    alpha = 1 - level / 100
    zcrit = float(special.ndtri(1 - alpha / 2))
    if use_t:
        tcrit = np.where(one, zcrit, special.stdtrit(np.where(one, 1.0, k - 1), 1 - alpha / 2))
        pval = np.where(
            one,
            2 * special.ndtr(-np.abs(zval)),
            2 * special.stdtr(np.where(one, 1.0, k - 1), -np.abs(zval)),
        )
        crit = tcrit
    else:
        pval = 2 * special.ndtr(-np.abs(zval))
        crit = np.full(m, zcrit)
    ci_lb = est - crit * se
    ci_ub = est + crit * se

    # heterogeneity from the fixed-effect weights
    q = np.maximum(0.0, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_pval = np.where(one, 1.0, special.chdtrc(np.maximum(k - 1, 1), q))
        vt = (k - 1) * sw0 / (sw0 * sw0 - sw02)
        i2_ht = np.where(q > 0, np.maximum(0.0, 100 * (q - (k - 1)) / q), 0.0)
        h2_ht = q / (k - 1)
        if method == "FE":
            i2_m, h2_m = i2_ht, h2_ht
        else:
            i2_m = 100 * tau_use / (vt + tau_use)
            h2_m = tau_use / vt + 1
    i2_ht = np.where(one, np.nan, i2_ht)
    h2_ht = np.where(one, np.nan, h2_ht)
    i2_m = np.where(one, np.nan, i2_m)
    h2_m = np.where(one, np.nan, h2_m)
    i2, h2 = (i2_m, h2_m) if i2_def == "metafor" else (i2_ht, h2_ht)

    # prediction interval
    kind = pi if pi != "auto" else ("z" if test == "z" else "t")
    if kind == "z":
        pcrit = np.full(m, zcrit)
    else:
        pdf = k - 1 if kind == "t" else k - 2
        with np.errstate(invalid="ignore"):
            pcrit = np.where(pdf >= 1, special.stdtrit(np.maximum(pdf, 1), 1 - alpha / 2), np.nan)
        pcrit = np.where(one, zcrit, pcrit)
    spi = np.sqrt(vb + tau_use)
    return BatchResult(
        method=method, test=test, level=level, pi_type=pi, i2_def=i2_def, k=kk,
        estimate=est, se=se, zval=zval, pval=pval, ci_lb=ci_lb, ci_ub=ci_ub,
        tau2=tau2, se_tau2=se_tau2, i2=i2, h2=h2, i2_ht=i2_ht, h2_ht=h2_ht,
        q=q, q_df=kk - 1, q_pval=q_pval, s2w=s2w,
        pi_lb=est - pcrit * spi, pi_ub=est + pcrit * spi,
        converged=conv, iterations=iters,
    )  # fmt: skip
