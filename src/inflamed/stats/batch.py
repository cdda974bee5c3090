"""Many random-effects meta-analyses at once, vectorised over a leading axis.

:func:`rma_batch` fits m intercept-only meta-analyses of up to k studies each (a ragged set through
``mask``) with the estimators and tests of :func:`inflamed.stats.pooling.rma` and returns the same
numbers (to 1e-6 for iterative estimators; the test suite checks it) as arrays of length m. It is
meant for sensitivity grids, living-review histories and simulation studies.

Status: intercept-only models; Q-profile CIs are not vectorised (:func:`~inflamed.stats.confint_tau2`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from inflamed.stats.batch_inference import BatchResult, RowSums, Tau2Rows, infer
from inflamed.stats.errors import InputError
from inflamed.stats.heterogeneity import zero_rss_bound
from inflamed.stats.options import check_options
from inflamed.stats.options import control as _control
from inflamed.stats.tau2 import estimate_tau2, exclusive_sum, multimodal_rows

__all__ = ["BatchResult", "rma_batch"]

_LOG2PI = float(np.log(2 * np.pi))
#: Fisher scoring stops when tau^2 changes by less than this times (tau^2 + min vi) of the row.
_REL_STEP = 1e-13


# ----------------------------------------------------------------------------------------------
# vectorised pieces (all sums over axis 1 with weights already zero where masked)
# ----------------------------------------------------------------------------------------------


def _wmean(w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sw = w.sum(axis=1)
    return sw, (w * y).sum(axis=1) / sw


def _q(w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted RSS about the weighted mean, the weighted mean and sum w."""
    sw, mu = _wmean(w, y)
    r = y - mu[:, None]
    return (w * r * r).sum(axis=1), mu, sw


def _pp(w: np.ndarray, a: np.ndarray, b: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """``sum_ij P_ij^2 a_i b_j`` for ``P = W - w w'/sum w`` (a, b broadcastable to w)."""
    w2 = w * w
    return (
        (w2 * a * b).sum(axis=1)
        - 2.0 * (w2 * w * a * b).sum(axis=1) / sw
        + (w2 * a).sum(axis=1) * (w2 * b).sum(axis=1) / (sw * sw)
    )


def _loglik(t: np.ndarray, y, v, mask, k, reml: bool) -> np.ndarray:
    s = v + t[:, None]
    w = mask / s
    rss, _, sw = _q(w, y)
    slog = (mask * np.log(s)).sum(axis=1)
    if not reml:
        return -0.5 * k * _LOG2PI - 0.5 * slog - 0.5 * rss
    return -0.5 * (k - 1) * _LOG2PI + 0.5 * np.log(k) - 0.5 * slog - 0.5 * np.log(sw) - 0.5 * rss


def _score(t: np.ndarray, y, v, mask, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Twice the score and the expected information (REML or ML) for each row."""
    w = mask / (v + t[:, None])
    sw, mu = _wmean(w, y)
    wr = w * (y - mu[:, None])
    ypp = (wr * wr).sum(axis=1)
    sw2 = (w * w).sum(axis=1)
    if not reml:
        return ypp - sw, sw2
    rest = exclusive_sum(w)  # sums of positive terms, as inflamed.stats.tau2 (no cancellation)
    trp = (w * rest).sum(axis=1) / sw
    trpp = ((w * w) * (rest * rest) + (w * w) * exclusive_sum(w * w)).sum(axis=1) / (sw * sw)
    return ypp - trp, trpp


def _he(y, v, mask, k) -> np.ndarray:
    ybar = (mask * y).sum(axis=1) / k
    rss = (mask * (y - ybar[:, None]) ** 2).sum(axis=1)
    return (rss - (1 - 1 / k) * (mask * v).sum(axis=1)) / (k - 1)


def _q_root(y, v, mask, target, tol: float, maxiter: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised root of ``Q(t) = target`` on t >= 0 (0 where Q(0) < target): Newton in a bracket."""
    m = y.shape[0]
    t = np.zeros(m)
    vmin = np.where(mask > 0, v, np.inf).min(axis=1)
    q0, _, _ = _q(mask / v, y)
    active = q0 >= target
    lo = np.zeros(m)
    hi = np.full(m, np.inf)
    iters = np.zeros(m, dtype=int)
    for _ in range(maxiter):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        ti = t[idx]
        w = mask[idx] / (v[idx] + ti[:, None])
        _, mu = _wmean(w, y[idx])
        r = y[idx] - mu[:, None]
        f = (w * r * r).sum(axis=1) - target[idx]
        df = -(w * w * r * r).sum(axis=1)
        lo[idx] = np.where(f > 0, np.maximum(lo[idx], ti), lo[idx])
        hi[idx] = np.where(f < 0, np.minimum(hi[idx], ti), hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ti - f / df
        bad = ~np.isfinite(new) | (new <= lo[idx]) | (new >= hi[idx])
        bisect = np.where(np.isfinite(hi[idx]), 0.5 * (lo[idx] + hi[idx]), 2 * ti + 1.0)
        new = np.where(bad, bisect, new)
        # relative to the row's smallest variance: rescaled data stop at the rescaled point
        done = (np.abs(new - ti) <= tol * (vmin[idx] + np.abs(ti))) | (f == 0)
        t[idx] = new
        iters[idx] += 1
        active[idx[done]] = False
    return t, ~active


def _fit_tau2(
    y: np.ndarray, v: np.ndarray, mask: np.ndarray, k: np.ndarray, method: str, con: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """tau^2, its SE, convergence flags and iteration counts for each row."""
    m = y.shape[0]
    iters = np.zeros(m, dtype=int)
    conv = np.ones(m, dtype=bool)
    if method == "FE":
        return np.zeros(m), np.full(m, np.nan), conv, iters
    if method == "DL":
        w = mask / v
        rss, _, sw = _q(w, y)
        sw2 = (w * w).sum(axis=1)
        trp = sw - sw2 / sw
        tau2 = np.maximum(0.0, (rss - (k - 1)) / trp)
        sumpp = _pp(w, 1.0, 1.0, sw)
        se = np.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * sumpp) / trp**2)
        return tau2, se, conv, iters
    if method == "HE":
        tau2 = np.maximum(0.0, _he(y, v, mask, k))
        vm = mask * v
        sv, sv2 = vm.sum(axis=1), (vm * vm).sum(axis=1)
        pvpv = (1 - 1 / k) ** 2 * sv2 + (sv * sv - sv2) / k**2
        trpv = (1 - 1 / k) * sv
        se = np.sqrt((2 * pvpv + 4 * tau2 * trpv + 2 * tau2**2 * (k - 1)) / (k - 1) ** 2)
        return tau2, se, conv, iters
    if method == "SJ":
        ybar = (mask * y).sum(axis=1) / k
        tau0 = (mask * (y - ybar[:, None]) ** 2).sum(axis=1) / k
        w = mask / (v + tau0[:, None])
        rss, _, sw = _q(w, y)
        tau2 = np.maximum(0.0, tau0 * rss / (k - 1))
        vv = np.where(mask, v, 0.0)
        se = np.sqrt(
            tau0**2
            / (k - 1) ** 2
            * (
                2 * _pp(w, vv, vv, sw)
                + 4 * tau2 * _pp(w, 1.0, vv, sw)
                + 2 * tau2**2 * _pp(w, 1.0, 1.0, sw)
            )
        )
        return tau2, se, conv, iters
    if method in ("PM", "EB"):
        tau2, conv = _q_root(y, v, mask, (k - 1).astype(float), 1e-14, 500)
        w = mask / (v + tau2[:, None])
        se = np.sqrt(2 * k**2 / (k - 1) / w.sum(axis=1) ** 2)
        return tau2, se, conv, iters
    # ML / REML: vectorised Fisher scoring from HE, safeguarded per row by a bracket on the score
    # (secant step after a sign change, bisection for a step leaving the bracket, the boundary 0
    # tested directly): the same iteration as inflamed.stats.pooling.estimate_tau2
    reml = method == "REML"
    vmin = np.where(mask > 0, v, np.inf).min(axis=1)
    if con["tau2_init"] is None:
        tau2 = np.maximum(0.0, _he(y, v, mask, k))
    else:
        tau2 = np.full(m, float(con["tau2_init"]))
    lo = np.zeros(m)
    hi = np.full(m, np.inf)
    t_prev = np.full(m, np.nan)
    g_prev = np.full(m, np.nan)
    active = np.ones(m, dtype=bool)
    conv = np.zeros(m, dtype=bool)
    for _ in range(con["maxiter"]):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ti = tau2[idx]
        g, info = _score(ti, y[idx], v[idx], mask[idx], reml)
        iters[idx] += 1
        bad = ~(np.isfinite(g) & np.isfinite(info) & (info > 0))
        lo[idx] = np.where(g > 0, np.maximum(lo[idx], ti), lo[idx])
        hi[idx] = np.where(g < 0, np.minimum(hi[idx], ti), hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ti + g / info
            gp, tp = g_prev[idx], t_prev[idx]
            crossed = np.isfinite(gp) & (g * gp < 0)
            new = np.where(crossed, ti - g * (ti - tp) / (g - gp), new)
        li, hii = lo[idx], hi[idx]
        out = (new >= hii) | ((new <= li) & (li > 0))
        new = np.where(out, 0.5 * (li + hii), new)
        new = np.where(new < 0, 0.0, new)
        stop = (g == 0) | ((ti == 0.0) & (g < 0))
        new = np.where(stop | bad, ti, new)
        change = np.abs(new - ti)
        t_prev[idx], g_prev[idx] = ti, g
        tau2[idx] = new
        # scale-free stop: the change relative to tau2 + the row's smallest variance
        done = stop | (change < _REL_STEP * (ti + vmin[idx]))
        conv[idx[done & ~bad]] = True
        active[idx[done | bad]] = False
    tau2 = np.maximum(0.0, tau2)
    # rows that did not converge, whose likelihood is higher at 0 (metafor's ll0check) or may
    # have several local maxima: the scalar estimator's global search decides
    ll0 = _loglik(np.zeros(m), y, v, mask, k, reml)
    llt = _loglik(tau2, y, v, mask, k, reml)
    redo = ~conv | ((tau2 > 0) & (ll0 - llt > 1e-10))
    if con["safeguard"]:  # possibly multimodal likelihoods: the scalar global search decides
        redo |= multimodal_rows(y, v, mask, reml)
    redo = np.flatnonzero(redo)
    for i in redo:
        sel = mask[i].astype(bool)
        fit = estimate_tau2(y[i, sel], v[i, sel], None, method, con)
        tau2[i] = fit.tau2
        conv[i] = fit.converged
    w = mask / (v + tau2[:, None])
    if reml:
        se = np.sqrt(2.0 / _pp(w, 1.0, 1.0, w.sum(axis=1)))
    else:
        se = np.sqrt(2.0 / (w * w).sum(axis=1))
    return tau2, se, conv, iters


def rma_batch(
    Y: Any,
    V: Any,
    *,
    method: str = "REML",
    test: str = "knha",
    mask: Any = None,
    level: float = 95.0,
    pi: str = "auto",
    i2_def: str = "metafor",
    control: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Fit m intercept-only meta-analyses at once (the estimators of :func:`inflamed.stats.pooling.rma`).

    Parameters
    ----------
    Y, V
        Effect sizes and sampling variances, shape (m, k): one analysis per row.
    method, test, level, pi, i2_def
        As :func:`inflamed.stats.pooling.rma`.
    mask
        Boolean (m, k), True where a study is present (ragged k). Masked cells of ``Y``/``V`` are
        ignored and may be NaN. Default: all present.
    control
        As :func:`inflamed.stats.pooling.rma`: ``maxiter``, ``tau2_init``, ``safeguard``. Fisher
        scoring stops at a change below 1e-13 x (tau^2 + min vi) of the row (scale-free).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        Shape mismatch, a present cell that is missing/non-finite or has ``V <= 0`` (the message
        names analysis and study), or an analysis with no studies.

    Warns
    -----
    UserWarning
        When some analyses have k = 1 (their tau^2 is NaN and inference is Wald z).

    Notes
    -----
    DL, HE and SJ are closed forms; PM and EB solve ``Q(tau2) = k - 1`` by Newton's method kept
    inside a bisection bracket; ML and REML use Fisher scoring (as metafor) vectorised over rows,
    safeguarded per row exactly as :func:`inflamed.stats.pooling.estimate_tau2` (a bracket on the
    score, secant steps once the iterate crosses the root, bisection for steps leaving the
    bracket); any row that does not converge, or whose likelihood is higher at tau2 = 0, is
    handed to the scalar estimator with its global fallback. Everything else (weights, Knapp-Hartung, Q, I^2,
    prediction interval) is the closed-form arithmetic of :func:`~inflamed.stats.pooling.rma` on sums
    over the study axis.
    """
    method, level = check_options(method, test, pi, i2_def, level)
    con = _control(control)
    y = np.array(Y, dtype=float, ndmin=2, copy=True)
    v = np.array(V, dtype=float, ndmin=2, copy=True)
    if y.shape != v.shape:
        raise InputError("Y and V have different shapes", column="V", value=(y.shape, v.shape))
    msk = np.ones(y.shape, dtype=bool) if mask is None else np.array(mask, dtype=bool, ndmin=2)
    if msk.shape != y.shape:
        raise InputError("mask has a different shape from Y", column="mask", value=msk.shape)
    for name, arr in (("Y", y), ("V", v)):
        bad = np.argwhere(msk & ~np.isfinite(arr))
        if bad.size:
            i, j = (int(x) for x in bad[0])
            raise InputError(
                f"analysis {i}, study {j}: value is missing or not finite",
                column=name,
                value=float(arr[i, j]),
                expected="a finite number",
            )
    bad = np.argwhere(msk & (v <= 0))
    if bad.size:
        i, j = (int(x) for x in bad[0])
        raise InputError(
            f"analysis {i}, study {j}: sampling variance is not positive",
            column="V",
            value=float(v[i, j]),
            expected="V > 0",
        )
    kk = msk.sum(axis=1)
    if (kk == 0).any():
        raise InputError(
            f"analysis {int(np.flatnonzero(kk == 0)[0])} has no studies (k = 0)",
            column="mask",
            expected="at least one study per analysis",
        )
    y = np.where(msk, y, 0.0)
    v = np.where(msk, v, 1.0)
    mf = msk.astype(float)
    one = kk == 1
    if one.any():
        warnings.warn(
            f"{int(one.sum())} analyses have k = 1: tau^2 is NaN and Wald z is used",
            UserWarning,
            stacklevel=2,
        )
    k = kk.astype(float)
    m = y.shape[0]

    tau2 = np.full(m, np.nan)
    se_tau2 = np.full(m, np.nan)
    conv = np.ones(m, dtype=bool)
    iters = np.zeros(m, dtype=int)
    many = ~one
    if many.any():
        t, s, c, it = _fit_tau2(y[many], v[many], mf[many], k[many], method, con)
        tau2[many], se_tau2[many], conv[many], iters[many] = t, s, c, it
    tau_use = np.where(np.isfinite(tau2), tau2, 0.0)

    w = mf / (v + tau_use[:, None])
    sw, est = _wmean(w, y)
    rss = (w * (y - est[:, None]) ** 2).sum(axis=1)
    zero = (rss <= zero_rss_bound(y, w)) & ~one  # the rule of rma, row by row
    # heterogeneity from the fixed-effect weights
    w0 = mf / v
    q, _, sw0 = _q(w0, y)
    sw02 = (w0 * w0).sum(axis=1)
    fit = Tau2Rows(tau2=tau2, se_tau2=se_tau2, converged=conv, iterations=iters)
    sums = RowSums(k=kk, sw=sw, estimate=est, rss=rss, zero_rss=zero, q=q, sw0=sw0, sw02=sw02)
    return infer(sums, fit, method=method, test=test, level=level, pi=pi, i2_def=i2_def, con=con)
