"""Small-study effects: Egger's regression test, Begg's rank test and trim-and-fill.

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
from scipy import stats

from inflamed.stats.errors import InputError
from inflamed.stats.pooling import rma
from inflamed.stats.refits import fit_quietly

__all__ = [
    "BeggResult",
    "EggerResult",
    "TrimFillResult",
    "begg_test",
    "egger_test",
    "kendall_exact_cdf",
    "trim_and_fill",
]


def _no_mods(rma_kwargs: dict[str, Any], what: str) -> None:
    for bad in ("mods", "intercept"):
        if rma_kwargs.get(bad) is not None:
            raise InputError(
                f"{what} is implemented for models without moderators",
                column=bad,
                expected=f"no '{bad}' argument",
            )


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


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
        return _plain(asdict(self))

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
    _no_mods(rma_kwargs, "egger_test")
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
    s2 = float(np.sum(w * (y - x @ b) ** 2) / df)
    se = np.sqrt(s2 * np.diag(xtwx_inv))
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = b / se  # a perfect fit (s2 = 0) gives an undefined test: inf or NaN, as lm()
    crit = float(stats.t.ppf(1.0 - (1.0 - level / 100.0) / 2.0, df))
    return EggerResult(
        model="lm",
        predictor=predictor,
        statistic=float(tval[1]),
        dist="t",
        df=df,
        pval=float(2.0 * stats.t.sf(abs(tval[1]), df)),
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
    tau = float(stats.kendalltau(ystar, v).statistic)
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
    return BeggResult(
        tau=tau, pval=float(2.0 * stats.norm.sf(abs(z))), exact=False, statistic=z, k=n
    )


# --------------------------------------------------------------------------------------------
# Trim and fill
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimFillResult:
    """Result of :func:`trim_and_fill`.

    Attributes
    ----------
    estimator, side
        ``"L0"`` or ``"R0"``; the side on which studies were judged missing.
    k0, se_k0, p_k0
        Estimated number of missing studies, its standard error (NaN where the variance formula
        goes negative, as in metafor) and, for R0, the p-value of ``H0: k0 = 0``.
    yi_fill, vi_fill
        The imputed (mirror-image) studies.
    k
        Number of studies in the filled analysis (``k_original + k0``).
    estimate, se, zval, pval, ci_lb, ci_ub, tau2, pi_lb, pi_ub
        The model fitted to the observed plus filled studies.
    original_estimate
        The estimate of the model fitted to the observed studies only.
    iterations
        Iterations of the trim step.
    method, test
    """

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    yi_fill: np.ndarray
    vi_fill: np.ndarray
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    pi_lb: float
    pi_ub: float
    original_estimate: float
    iterations: int
    method: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (arrays as lists)."""
        return _plain(asdict(self))

    def to_frame(self) -> pd.DataFrame:
        """The filled studies, one row each (``yi``, ``vi``)."""
        return pd.DataFrame(
            {"filled": np.arange(1, self.k0 + 1), "yi": self.yi_fill, "vi": self.vi_fill}
        )


def trim_and_fill(
    yi: Any,
    vi: Any,
    *,
    estimator: Literal["L0", "R0"] = "L0",
    side: Literal["left", "right"] | None = None,
    maxiter: int = 100,
    **rma_kwargs: Any,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    estimator
        ``"L0"`` (default) or ``"R0"``.
    side
        Side on which studies are missing. ``None`` (default): chosen from the sign of the
        slope in Egger's regression ``rma(yi, vi, mods = sqrt(vi))`` (negative slope: missing on
        the right, else on the left), as metafor.
    maxiter
        Maximum number of trim iterations.
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` for every fit (``method``, ``test``, ``level``,
        ``control``); ``mods`` is not allowed.

    Returns
    -------
    TrimFillResult

    Raises
    ------
    InputError
        k < 3, unknown options, moderators, bad ``yi``/``vi``.
    ConvergenceError
        If ``k0`` has not settled after ``maxiter`` iterations.

    Notes
    -----
    On the side where studies are missing (effects mirrored when ``side="right"``), the studies
    are sorted by effect size; repeatedly the ``k - k0`` smallest are pooled (with the chosen
    estimator), the deviations ``y - b`` are ranked by absolute value (ties by sorted position)
    and ``k0`` is re-estimated until it stops changing (Duval & Tweedie 2000a, b):

    * ``L0 = (4 S_r - k(k+1)) / (2k - 1)`` with ``S_r`` the sum of the positive signed ranks,
      ``se = 4 sqrt(Var(S_r)) / (2k - 1)``;
    * ``R0 = gamma - 1`` with ``gamma`` the length of the rightmost run of positive ranks,
      ``se = sqrt(2 max(0, R0) + 2)``;

    each rounded and floored at 0. The ``k0`` most extreme studies are mirrored about the trimmed
    estimate (``2 b - y``, same ``v``) and the model is refitted to all ``k + k0`` studies.

    Differences from metafor 3.8-1, on purpose: the filled model uses the caller's ``test``
    (metafor refits it with the default Wald-z test whatever the original model used, but
    returns the original model unchanged when ``k0 = 0``); for R0 with no negative rank
    metafor's ``max()`` of an empty set gives ``k0 = Inf``, here ``gamma = k``.

    References
    ----------
    Duval S, Tweedie R (2000a). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    doi:10.1111/j.0006-341X.2000.00455.x
    Duval S, Tweedie R (2000b). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. J Am Stat Assoc 95:89-98. doi:10.1080/01621459.2000.10473905
    """
    from inflamed.stats.errors import ConvergenceError

    if estimator not in ("L0", "R0"):
        raise InputError(
            "unknown estimator", column="estimator", value=estimator, expected="L0 or R0"
        )
    if side not in (None, "left", "right"):
        raise InputError("unknown side", column="side", value=side, expected="left or right")
    _no_mods(rma_kwargs, "trim and fill")
    original = fit_quietly(yi, vi, **rma_kwargs)
    y0, v0 = original.yi, original.vi
    k = original.k
    if k < 3:
        raise InputError(
            "trim and fill needs at least 3 studies", column="yi", value=k, expected="k >= 3"
        )
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    est_kw = {key: val for key, val in kw.items() if key in ("method", "control")}
    if side is None:
        if np.ptp(v0) == 0:
            side = "left"
        else:
            slope = fit_quietly(y0, v0, mods=np.sqrt(v0), test="z", **est_kw).beta[1]
            side = "right" if slope < 0 else "left"
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]

    k0_prev, k0, iterations = -1, 0, 0
    se_k0 = float("nan")
    beta = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            raise ConvergenceError(f"trim and fill: k0 did not settle in {maxiter} iterations")
        beta = float(fit_quietly(y[: k - k0], v[: k - k0], test="z", **est_kw).beta[0])
        dev = y - beta
        ranks = stats.rankdata(np.abs(dev), method="ordinal")
        signed = np.sign(dev) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            gamma = k - (float(np.max(neg)) if neg.size else 0.0)
            k0_raw = gamma - 1.0
            se_raw = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        else:
            sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
            se_raw = 4.0 * math.sqrt(var_sr) / (2.0 * k - 1.0) if var_sr >= 0 else float("nan")
        k0 = max(0, round(k0_raw))  # Python's round(), like R's, rounds half to even
        se_k0 = max(0.0, se_raw) if math.isfinite(se_raw) else float("nan")

    if k0 > 0:
        mirrored = 2.0 * beta - y[k - k0 :]
        yi_fill = -mirrored if side == "right" else mirrored
        vi_fill = v[k - k0 :].copy()
        filled = fit_quietly(np.concatenate([y0, yi_fill]), np.concatenate([v0, vi_fill]), **kw)
    else:
        yi_fill = np.empty(0)
        vi_fill = np.empty(0)
        filled = original
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1.0 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (j + 2) for j in m]))
    else:
        p_k0 = float("nan")
    return TrimFillResult(
        estimator=estimator,
        side=side,
        k0=int(k0),
        se_k0=se_k0,
        p_k0=p_k0,
        yi_fill=yi_fill,
        vi_fill=vi_fill,
        k=int(filled.k),
        estimate=float(filled.beta[0]),
        se=float(filled.se[0]),
        zval=float(filled.zval[0]),
        pval=float(filled.pval[0]),
        ci_lb=float(filled.ci_lb[0]),
        ci_ub=float(filled.ci_ub[0]),
        tau2=float(filled.tau2),
        pi_lb=float(filled.pi_lb),
        pi_ub=float(filled.pi_ub),
        original_estimate=float(original.beta[0]),
        iterations=iterations,
        method=filled.method,
        test=filled.test,
    )
