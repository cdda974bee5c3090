"""Small-study effects: Egger's regression test and Begg's rank test (trim and fill: :mod:`.trim_fill`).

Status: reproduces metafor 3.8-1 ``regtest()``, ``ranktest()`` and ``trimfill()`` on the committed
fixtures ``tests/reference/fixtures/diagnostics_{regtest,ranktest,trimfill}.json`` (closed forms
to 1e-10, iterative estimators to 1e-6). Random-effects fits go through
:func:`inflamed.stats.pooling.rma`. These tests detect funnel-plot asymmetry, which has causes other
than publication bias (Sterne et al. 2011, BMJ 343:d4002).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from inflamed.stats.distributions import norm_sf, t_ppf, t_sf
from inflamed.stats.errors import InputError
from inflamed.stats.heterogeneity import generalised_q, zero_rss_bound
from inflamed.stats.pooling import rma
from inflamed.stats.refits import fit_quietly, plain_dict, require_intercept_only

__all__ = [
    "BeggResult",
    "EggerResult",
    "begg_test",
    "egger_test",
    "kendall_exact_cdf",
]


# --------------------------------------------------------------------------------------------
# Egger's regression test
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EggerResult:
    """Result of :func:`egger_test`.

    Attributes
    ----------
    model, predictor
        ``"rma"`` (mixed-effects meta-regression, metafor's default) or ``"lm"`` (classic Egger:
        weighted least squares with a multiplicative dispersion); ``"sei"`` or ``"vi"``.
    statistic, dist, df, pval
        Test of the predictor's slope: z (``dist="z"``, ``df=None``) or t with ``df``.
    slope, slope_se
        The predictor's coefficient and its standard error.
    limit_estimate, limit_ci_lb, limit_ci_ub
        The intercept: the estimated effect as the standard error (or variance) goes to 0.
    k
        Number of studies.
    method, test
        tau^2 estimator and inference of the ``rma`` model (``None`` for ``lm``).
    """

    model: str
    predictor: str
    statistic: float
    dist: str
    df: int | None
    pval: float
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    k: int
    method: str | None
    test: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary."""
        return plain_dict(asdict(self))

    def to_frame(self) -> pd.DataFrame:
        """One-row data frame."""
        return pd.DataFrame([self.to_dict()])


def egger_test(
    yi: Any,
    vi: Any,
    *,
    model: Literal["rma", "lm"] = "rma",
    predictor: Literal["sei", "vi"] = "sei",
    **rma_kwargs: Any,
) -> EggerResult:
    """Regression test for funnel-plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    model
        ``"rma"`` (default; metafor's default): ``rma(yi, vi, mods = predictor, **rma_kwargs)`` and
        the Wald-type test of the predictor (z, or t/F under ``test="t"``/``"knha"``).
        ``"lm"``: the classic Egger et al. (1997) test, ``lm(yi ~ predictor, weights = 1/vi)``
        (equivalently the regression of the standard normal deviate on precision), t test with
        ``k - 2`` df.
    predictor
        ``"sei"`` (standard error; Egger) or ``"vi"`` (variance; the Moreno et al. 2009 variant).
    **rma_kwargs
        For ``model="rma"``: passed to :func:`inflamed.stats.pooling.rma` (``method``, ``test``,
        ``level``, ``control``). For ``model="lm"`` only ``level`` is used. Note that
        :func:`~inflamed.stats.pooling.rma` defaults to ``test="knha"``; metafor's ``regtest(yi, vi)``
        on raw vectors uses ``test="z"``, and ``regtest(fit)`` uses ``fit``'s test.

    Returns
    -------
    EggerResult

    Raises
    ------
    InputError
        Fewer than 3 studies, moderators given, unknown options, or bad ``yi``/``vi``.

    Notes
    -----
    ``model="lm"``: with ``w = 1/vi``, ``b = (X'WX)^-1 X'Wy``, ``s^2 = sum w (y - Xb)^2 / (k - 2)``
    and ``Var(b) = s^2 (X'WX)^-1`` (Egger et al. 1997; Sterne & Egger 2005). The limit estimate
    is the intercept (Stanley & Doucouliagos 2014: PET with ``sei``, PEESE with ``vi``), with a
    t(k - 2) CI for ``lm`` and the model's CI for ``rma``.

    References
    ----------
    Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ 315:629-634. doi:10.1136/bmj.315.7109.629
    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
    meta-analysis. In: Publication Bias in Meta-Analysis, Wiley, ch. 6.
    Moreno SG et al. (2009). Assessment of regression-based methods to adjust for publication
    bias through a comprehensive simulation study. BMC Med Res Methodol 9:2.
    doi:10.1186/1471-2288-9-2
    """
    if model not in ("rma", "lm"):
        raise InputError("unknown model", column="model", value=model, expected="rma or lm")
    if predictor not in ("sei", "vi"):
        raise InputError(
            "unknown predictor", column="predictor", value=predictor, expected="sei or vi"
        )
    require_intercept_only(rma_kwargs, "egger_test")
    base = fit_quietly(yi, vi, **rma_kwargs) if model == "rma" else fit_quietly(yi, vi)
    y, v = base.yi, base.vi
    k = base.k
    if k < 3:
        raise InputError(
            "the regression test needs at least 3 studies", column="yi", value=k, expected="k >= 3"
        )
    pred = np.sqrt(v) if predictor == "sei" else v.copy()
    if np.ptp(pred) == 0:
        raise InputError(
            f"all studies have the same {predictor}: the regression test is undefined",
            column="vi",
            expected="sampling variances that differ",
        )
    if model == "rma":
        kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
        fit = rma(y, v, mods=pred, **kw)
        dist = "z" if fit.ddf is None else "t"
        return EggerResult(
            model="rma",
            predictor=predictor,
            statistic=float(fit.zval[1]),
            dist=dist,
            df=None if fit.ddf is None else int(fit.ddf),
            pval=float(fit.pval[1]),
            slope=float(fit.beta[1]),
            slope_se=float(fit.se[1]),
            limit_estimate=float(fit.beta[0]),
            limit_ci_lb=float(fit.ci_lb[0]),
            limit_ci_ub=float(fit.ci_ub[0]),
            k=k,
            method=fit.method,
            test=fit.test,
        )
    level = float(rma_kwargs.get("level", 95.0))
    if level <= 1:
        level *= 100
    x = np.column_stack([np.ones(k), pred])
    w = 1.0 / v
    xtwx_inv = np.linalg.inv(x.T @ (w[:, None] * x))
    b = xtwx_inv @ (x.T @ (w * y))
    df = k - 2
    # The weighted RSS by QR, not from the normal equations' residuals: on a perfect fit those
    # keep rounding noise large enough, and dependent on the order of the studies, to pass for a
    # test. Noise is called 0, as rma does (zero_rss_bound): the test is then undefined (inf or
    # NaN) in any order.
    rss = generalised_q(0.0, y, v, x)
    s2 = 0.0 if rss <= zero_rss_bound(y, w) else rss / df
    se = np.sqrt(s2 * np.diag(xtwx_inv))
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = b / se
    crit = float(t_ppf(1.0 - (1.0 - level / 100.0) / 2.0, df))
    return EggerResult(
        model="lm",
        predictor=predictor,
        statistic=float(tval[1]),
        dist="t",
        df=df,
        pval=float(2.0 * t_sf(abs(tval[1]), df)),
        slope=float(b[1]),
        slope_se=float(se[1]),
        limit_estimate=float(b[0]),
        limit_ci_lb=float(b[0] - crit * se[0]),
        limit_ci_ub=float(b[0] + crit * se[0]),
        k=k,
        method=None,
        test=None,
    )


# --------------------------------------------------------------------------------------------
# Begg and Mazumdar's rank correlation test
# --------------------------------------------------------------------------------------------


def kendall_exact_cdf(q: int, n: int) -> float:
    """``P(T <= q)`` for T the number of concordant pairs of n untied pairs under independence.

    Parameters
    ----------
    q
        Number of concordant pairs.
    n
        Number of observations.

    Returns
    -------
    float
        The exact probability.

    Notes
    -----
    T has the distribution of the number of inversions of a uniformly random permutation
    (Mahonian numbers). Built by the recursion ``f_i(j) = (1/i) sum_{m=0}^{i-1} f_{i-1}(j - m)``
    with cumulative sums, normalised at every step so it stays in floating point range for any n
    (Kendall 1938; the same distribution R's ``cor.test(..., method = "kendall", exact = TRUE)``
    uses).
    """
    if q < 0:
        return 0.0
    top = n * (n - 1) // 2
    if q >= top:
        return 1.0
    dist = np.array([1.0])
    for i in range(2, n + 1):
        csum = np.concatenate([[0.0], np.cumsum(dist)])
        size = dist.size + i - 1
        idx = np.arange(size)
        hi = np.minimum(idx, dist.size - 1) + 1
        lo = np.maximum(idx - i + 1, 0)
        dist = (csum[hi] - csum[lo]) / i
    return float(min(1.0, np.sum(dist[: q + 1])))


@dataclass(frozen=True)
class BeggResult:
    """Result of :func:`begg_test`.

    Attributes
    ----------
    tau
        Kendall's tau (tau-b) between the standardised effect sizes and their variances.
    pval
        Two-sided p-value (exact, or normal approximation with ties).
    exact
        Whether the exact null distribution was used.
    statistic
        The number of concordant pairs T (exact) or the z statistic (approximation).
    k
        Number of studies.
    """

    tau: float
    pval: float
    exact: bool
    statistic: float
    k: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One-row data frame."""
        return pd.DataFrame([self.to_dict()])


def begg_test(yi: Any, vi: Any, *, exact: bool = True) -> BeggResult:
    """Rank correlation test for funnel-plot asymmetry (Begg & Mazumdar 1994; metafor ``ranktest``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    exact
        Use the exact null distribution of Kendall's statistic when there are no ties (default,
        as metafor's ``ranktest``); otherwise, or with ties, the normal approximation with R's
        tie-corrected variance.

    Returns
    -------
    BeggResult

    Raises
    ------
    InputError
        Fewer than 3 studies or bad ``yi``/``vi``.

    Notes
    -----
    With the equal-effects estimate ``b = sum(y/v)/sum(1/v)`` and ``v_b = 1/sum(1/v)``, the
    standardised deviates ``y* = (y - b)/sqrt(v - v_b)`` are rank-correlated with ``v`` by
    Kendall's tau (tau-b). Exact two-sided p-value: with T the number of concordant pairs,
    ``p = 2 P(T <= q)`` if ``q <= n(n-1)/4`` else ``2 P(T >= q)``, capped at 1 (as R's
    ``cor.test``). With ties: ``z = S / sqrt(var_S)``, ``S = tau sqrt((T0 - T1)(T0 - T2))``,
    Kendall's tie-corrected variance (Hollander & Wolfe 1973).

    References
    ----------
    Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics 50:1088-1101. doi:10.2307/2533446
    """
    base = fit_quietly(yi, vi, method="FE", test="z")
    y, v = base.yi, base.vi
    n = base.k
    if n < 3:
        raise InputError(
            "the rank test needs at least 3 studies", column="yi", value=n, expected="k >= 3"
        )
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    ystar = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))
    # Loaded here, not at the top: scipy.stats costs every process that imports this module
    # about 0.5 s, and most never run a rank test.
    from scipy.stats import kendalltau

    tau = float(kendalltau(ystar, v).statistic)
    if not math.isfinite(tau):
        return BeggResult(
            tau=float("nan"), pval=float("nan"), exact=False, statistic=float("nan"), k=n
        )
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    if exact and not ties:
        q = round((tau + 1.0) * n * (n - 1) / 4.0)
        if q > n * (n - 1) / 4.0:
            p = 1.0 - kendall_exact_cdf(q - 1, n)
        else:
            p = kendall_exact_cdf(q, n)
        return BeggResult(tau=tau, pval=min(1.0, 2.0 * p), exact=True, statistic=float(q), k=n)

    def tie_sizes(a: np.ndarray) -> np.ndarray:
        _, counts = np.unique(a, return_counts=True)
        return counts[counts > 1].astype(float)

    xt, yt = tie_sizes(ystar), tie_sizes(v)
    t0 = n * (n - 1) / 2.0
    t1 = float(np.sum(xt * (xt - 1)) / 2.0)
    t2 = float(np.sum(yt * (yt - 1)) / 2.0)
    s = tau * math.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = float(np.sum(xt * (xt - 1) * (2 * xt + 5)))
    vu = float(np.sum(yt * (yt - 1) * (2 * yt + 5)))
    v1 = float(np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1)))
    v2 = float(np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2)))
    var_s = (v0 - vt - vu) / 18.0 + v1 / (2.0 * n * (n - 1)) + v2 / (9.0 * n * (n - 1) * (n - 2))
    z = s / math.sqrt(var_s)
    return BeggResult(tau=tau, pval=float(2.0 * norm_sf(abs(z))), exact=False, statistic=z, k=n)
