"""Estimators of the between-study variance tau^2, with a global search for ML and REML.

:func:`estimate_tau2` implements metafor 3.8-1's estimators (FE, DL, HE, SJ, PM, EB, ML, REML).
Every quantity is computed in linear cost from the QR decomposition of ``W^(1/2) X`` (no k x k
matrix), because leave-one-out and influence diagnostics refit a model once per study.

ML and REML are found by a **global** search (metafor's Fisher scoring can stop at a local
maximum, and so did inflamed before; issue 12): the score is evaluated on a grid in
``s = log(tau2 + v_min)`` that brackets every stationary point, each sign change is refined by
Brent's method, and the candidate with the highest (restricted) log-likelihood is returned with the
number of distinct local maxima. All tolerances are relative to the data's variance scale, so
multiplying the effects by c multiplies tau^2 by c^2 to rounding.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import optimize

from inflamed.stats.errors import ConvergenceError, InputError
from inflamed.stats.heterogeneity import generalised_q
from inflamed.stats.options import check_options
from inflamed.stats.options import control as _control

__all__ = [
    "GRID_PER_EFOLD",
    "Projection",
    "Tau2Fit",
    "estimate_tau2",
    "exclusive_sum",
    "loglik",
    "multimodal_rows",
]

_LOG2PI = float(np.log(2 * np.pi))
_EPS = float(np.finfo(float).eps)
#: Grid points per e-fold of ``tau2 + v_min`` in the global search (about 18 per decade): every
#: term of the score varies on the scale ``v_i + tau2 >= v_min + tau2``, so this spacing resolves
#: each term to about 13 % relative change.
GRID_PER_EFOLD = 8
#: Two local maxima count as distinct only if the likelihood dips by more than this between them.
_DISTINCT_LL = 1e-9


@dataclass(frozen=True)
class Tau2Fit:
    """Result of :func:`estimate_tau2`.

    Attributes
    ----------
    tau2, se_tau2
        The estimate and metafor's standard error for the estimator.
    converged, iterations, algorithm
        How it was found (``iterations`` counts score or Q evaluations of the refinement).
    n_local_maxima
        ML/REML: number of distinct local maxima of the (restricted) likelihood on tau2 >= 0
        (the boundary 0 counts when the score is negative there); None for other estimators.
    local_maxima
        Their locations (ascending).
    warnings
        Messages about the fit (multimodal likelihood), also issued as ``UserWarning``.
    """

    tau2: float
    converged: bool
    iterations: int
    algorithm: str
    se_tau2: float
    n_local_maxima: int | None = None
    local_maxima: tuple[float, ...] = ()
    warnings: tuple[str, ...] = ()


class Projection:
    """``P = W - W X (X'WX)^-1 X'W`` held as ``w`` and the QR factor of ``W^(1/2) X`` (linear cost).

    With ``M = Q Q'`` (``Q`` from ``qr(W^(1/2) X)``), ``P_ij = sqrt(w_i w_j) (delta_ij - M_ij)``;
    traces and quadratic forms follow without forming any k x k matrix.
    """

    def __init__(self, w: np.ndarray, X: np.ndarray) -> None:
        self.w = w
        self.sw = np.sqrt(w)
        self.total = float(w.sum())
        # intercept only: Q = sqrt(w) / sqrt(sum w) without a QR call, and 1 - h_i = (sum of the
        # other weights) / sum w, summed without the cancellation of 1 - h_i when one study's
        # weight dominates (vi over many decades)
        self.simple = _intercept_only(X)
        if self.simple:
            self.q = (self.sw / np.sqrt(self.total))[:, None]
            self.rest = exclusive_sum(w)
        else:
            self.q, _ = np.linalg.qr(self.sw[:, None] * X)
        self.h = np.einsum("ij,ij->i", self.q, self.q)  # leverages M_ii

    def py(self, y: np.ndarray) -> np.ndarray:
        """``P y`` (= W times the weighted least-squares residuals)."""
        z = self.sw * y
        return self.sw * (z - self.q @ (self.q.T @ z))

    def trace(self) -> float:
        """``tr P``."""
        if self.simple:
            return float(self.w @ self.rest) / self.total
        return float(self.w @ (1.0 - self.h))

    def pp(self, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> float:
        """``sum_ij P_ij^2 a_i b_j`` (``tr(PP)`` for a = b = 1, ``tr(PVPV)`` for a = b = v)."""
        wa = self.w * a
        wb = self.w * b
        if self.simple:  # P_ii = w_i rest_i / sw, P_ij = -w_i w_j / sw: a sum of positive terms
            off = float(np.sum(wa * self.w * exclusive_sum(wb * self.w)))
            return (float(np.sum(wa * wb * self.rest * self.rest)) + off) / self.total**2
        diag = float(np.sum(wa * wb * (1.0 - 2.0 * self.h)))
        ma = self.q.T @ (wa[:, None] * self.q)
        mb = self.q.T @ (wb[:, None] * self.q)
        return diag + float(np.sum(ma * mb))


def exclusive_sum(a: np.ndarray) -> np.ndarray:
    """``sum_{j != i} a_j`` along the last axis, without subtracting (prefix + suffix sums)."""
    zero = np.zeros((*a.shape[:-1], 1))
    before = np.concatenate([zero, np.cumsum(a[..., :-1], axis=-1)], axis=-1)
    after = np.concatenate([np.cumsum(a[..., :0:-1], axis=-1)[..., ::-1], zero], axis=-1)
    return before + after


def _intercept_only(X: np.ndarray) -> bool:
    return X.shape[1] == 1 and bool(np.all(X[:, 0] == 1.0))


def loglik(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """ML or REML log-likelihood at tau2 (metafor's ``ll.ML`` / ``ll.REML`` with REMLf=TRUE)."""
    k, p = X.shape
    s = v + tau2
    w = 1.0 / s
    slog = float(np.sum(np.log(s)))
    if _intercept_only(X):
        sw = float(w.sum())
        r = y - float(w @ y) / sw
        rss = float(w @ (r * r))
        if not reml:
            return -0.5 * k * _LOG2PI - 0.5 * slog - 0.5 * rss
        return (
            -0.5 * (k - 1) * _LOG2PI + 0.5 * np.log(k) - 0.5 * slog - 0.5 * np.log(sw) - 0.5 * rss
        )
    sq = np.sqrt(w)
    _, rmat = np.linalg.qr(sq[:, None] * X)
    proj = Projection(w, X)
    rss = float(y @ proj.py(y))
    if not reml:
        return -0.5 * k * _LOG2PI - 0.5 * slog - 0.5 * rss
    ld = 2.0 * float(np.sum(np.log(np.abs(np.diag(rmat)))))  # log|X'WX|
    _, ldx = np.linalg.slogdet(X.T @ X)
    return -0.5 * (k - p) * _LOG2PI + 0.5 * ldx - 0.5 * slog - 0.5 * ld - 0.5 * rss


def _scores_int(t: np.ndarray, y: np.ndarray, v: np.ndarray, reml: bool) -> tuple[np.ndarray, ...]:
    """Twice the score and the expected information of the intercept-only model at each t."""
    w = 1.0 / (v[None, :] + t[:, None])
    sw = w.sum(axis=1)
    r = y[None, :] - ((w @ y) / sw)[:, None]
    wr = w * r
    ypp = np.einsum("ij,ij->i", wr, wr)
    w2 = w * w
    sw2 = w2.sum(axis=1)
    if not reml:
        return ypp - sw, sw2
    # tr P and tr PP as sums of positive terms (see Projection): no cancellation when one
    # weight dominates
    rest = exclusive_sum(w)
    trp = np.einsum("ij,ij->i", w, rest) / sw
    trpp = np.einsum("ij,ij->i", w2, rest * rest) + np.einsum("ij,ij->i", w2, exclusive_sum(w2))
    return ypp - trp, trpp / (sw * sw)


def _score_general(t: float, y, v, X, reml: bool) -> tuple[float, float]:
    """Twice the score and the expected information (REML: ``y'PPy - tr P``, ``tr PP``)."""
    w = 1.0 / (v + t)
    proj = Projection(w, X)
    py = proj.py(y)
    if not reml:
        return float(py @ py - w.sum()), float(w @ w)
    return float(py @ py - proj.trace()), proj.pp()


def _score_int(t: np.ndarray, y: np.ndarray, v: np.ndarray, reml: bool) -> np.ndarray:
    """Twice the score of the intercept-only model at each t (no information: the fast path).

    ``tr P = sum_{i != j} w_i w_j / sum w = 2 sum_i w_i (w_1 + ... + w_{i-1}) / sum w``.
    """
    w = 1.0 / (v[None, :] + t[:, None])
    sw = w.sum(axis=1)
    wr = w * (y[None, :] - ((w @ y) / sw)[:, None])
    ypp = np.einsum("ij,ij->i", wr, wr)
    if not reml:
        return ypp - sw
    pairs = np.einsum("ij,ij->i", w[:, 1:], np.cumsum(w[:, :-1], axis=1))
    return ypp - 2.0 * pairs / sw


def _score_fn(y, v, X, reml: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised twice-score over an array of tau2 values."""
    if _intercept_only(X):
        return lambda t: _score_int(np.asarray(t, dtype=float).reshape(-1), y, v, reml)
    return lambda t: np.array(
        [_score_general(float(ti), y, v, X, reml)[0] for ti in np.atleast_1d(t)]
    )


def _upper_bound(y, v, X, reml: bool) -> float:
    """A tau2 beyond which the score is negative, so every stationary point lies below it.

    ``y'PPy <= RSS_ols / tau2^2`` and ``tr P >= (k - p) / (v_max + tau2)`` (``sum w >= k / ...``
    for ML), so the score is negative once ``RSS_ols (v_max + t) < (k - p) t^2``.
    """
    k, p = X.shape
    if _intercept_only(X):
        rss = float(np.sum((y - y.mean()) ** 2))
    else:
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        rss = float(np.sum((y - X @ coef) ** 2))
    n = k if not reml else k - p
    vmax = float(v.max())
    return 1.1 * (rss + np.sqrt(rss * rss + 4.0 * n * rss * vmax)) / (2.0 * n)


def _global_ml(y, v, X, method: str, tol: float) -> Tau2Fit:
    """Global maximiser of the (restricted) likelihood over tau2 >= 0 (see the module docstring)."""
    reml = method == "REML"
    vmin = float(v.min())
    upper = _upper_bound(y, v, X, reml)
    score = _score_fn(y, v, X, reml)
    if not upper > 0 or not np.isfinite(upper):  # all residuals zero: the score is -tr P < 0
        return Tau2Fit(0.0, True, 0, "global grid (maximum at 0)", np.nan, 1, (0.0,))
    smax = float(np.log1p(upper / vmin))
    n = max(32, int(np.ceil(GRID_PER_EFOLD * smax)) + 1)
    grid = vmin * np.expm1(np.linspace(0.0, smax, n))
    grid[0] = 0.0
    sc = score(grid)
    evals = n
    cands: list[float] = []
    if sc[0] <= 0:
        cands.append(0.0)
    for i in range(n - 1):
        if sc[i] > 0 and sc[i + 1] <= 0:
            f = lambda t: float(score(np.array([t]))[0])  # noqa: E731
            root, info = optimize.brentq(
                f, grid[i], grid[i + 1], xtol=tol * vmin, rtol=4 * _EPS, full_output=True
            )
            evals += info.function_calls
            cands.append(float(root))
    if not cands:  # cannot happen with the bound above; keep the grid maximum rather than fail
        lls = [loglik(float(t), y, v, X, reml) for t in grid]
        cands.append(float(grid[int(np.argmax(lls))]))
    lls = np.array([loglik(t, y, v, X, reml) for t in cands])
    best = int(np.argmax(lls))
    # distinct maxima: the likelihood must dip by more than _DISTINCT_LL between neighbours
    grid_ll = None
    distinct = [0]
    for j in range(1, len(cands)):
        if grid_ll is None:
            grid_ll = np.array([loglik(float(t), y, v, X, reml) for t in grid])
        between = grid_ll[(grid > cands[distinct[-1]]) & (grid < cands[j])]
        dip = float(between.min()) if between.size else min(lls[distinct[-1]], lls[j])
        if min(lls[distinct[-1]], lls[j]) - dip > _DISTINCT_LL:
            distinct.append(j)
        elif lls[j] > lls[distinct[-1]]:
            distinct[-1] = j
    maxima = tuple(cands[j] for j in distinct)
    msgs: tuple[str, ...] = ()
    if len(maxima) > 1:
        others = ", ".join(f"{t:.6g}" for t in maxima if t != cands[best])
        msgs = (
            f"the {method} likelihood has {len(maxima)} local maxima in tau^2 (also at "
            f"{others}); the global maximum tau^2 = {cands[best]:.6g} is used (Fisher scoring, "
            "as in metafor, can stop at another)",
        )
    return Tau2Fit(
        cands[best], True, evals, "global grid + Brent", np.nan, len(maxima), maxima, msgs
    )


def multimodal_rows(y: np.ndarray, v: np.ndarray, mask: np.ndarray, reml: bool) -> np.ndarray:
    """For m intercept-only analyses (rows; ``mask`` 1 where a study is present): True where the
    (restricted) likelihood may have more than one local maximum on tau2 >= 0.

    The same grid as :func:`estimate_tau2` (uniform in ``log(tau2 + v_min)`` up to the bound of
    ``_upper_bound``), vectorised over rows; a row is flagged when its score has more than one
    candidate maximum (a + to - sign change, or the boundary 0 with a negative score). The batch
    engine hands flagged rows to :func:`estimate_tau2`.
    """
    m = y.shape[0]
    flags = np.zeros(m, dtype=bool)
    k = mask.sum(axis=1)
    vmin = np.where(mask > 0, v, np.inf).min(axis=1)
    vmax = np.where(mask > 0, v, 0.0).max(axis=1)
    ybar = (mask * y).sum(axis=1) / k
    rss = (mask * (y - ybar[:, None]) ** 2).sum(axis=1)
    n = k - 1 if reml else k
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = 1.1 * (rss + np.sqrt(rss * rss + 4.0 * n * rss * vmax)) / (2.0 * n)
    smax = np.log1p(np.where(upper > 0, upper, 0.0) / vmin)
    g = max(32, int(np.ceil(GRID_PER_EFOLD * float(np.max(smax, initial=0.0)))) + 1)
    frac = np.linspace(0.0, 1.0, g)
    rows_per_chunk = max(1, 2_000_000 // max(1, g * y.shape[1]))
    for start in range(0, m, rows_per_chunk):
        sl = slice(start, min(m, start + rows_per_chunk))
        t = vmin[sl, None] * np.expm1(smax[sl, None] * frac[None, :])  # (r, g)
        w = mask[sl, None, :] / (v[sl, None, :] + t[:, :, None])  # (r, g, k)
        sw = w.sum(axis=2)
        r = y[sl, None, :] - (np.einsum("rgk,rk->rg", w, y[sl]) / sw)[:, :, None]
        wr = w * r
        score = np.einsum("rgk,rgk->rg", wr, wr)
        score -= sw - (w * w).sum(axis=2) / sw if reml else sw
        down = (score[:, :-1] > 0) & (score[:, 1:] <= 0)
        n_cand = down.sum(axis=1) + (score[:, 0] <= 0)
        flags[sl] = n_cand > 1
    return flags


def _fisher_plain(y, v, X, method: str, con: Mapping[str, Any]) -> tuple[float, int]:
    """metafor's Fisher scoring (with its step-halving at 0 and ll0check), unsafeguarded."""
    reml = method == "REML"
    tau2 = con["tau2_init"]
    tau2 = float(max(0.0, _he(y, v, X)) if tau2 is None else tau2)
    it = 0
    while it < con["maxiter"]:
        it += 1
        if _intercept_only(X):
            g_arr, i_arr = _scores_int(np.array([tau2]), y, v, reml)
            g, info = float(g_arr[0]), float(i_arr[0])
        else:
            g, info = _score_general(tau2, y, v, X, reml)
        if not (np.isfinite(g) and np.isfinite(info)) or info <= 0:
            break
        adj = g / info
        while tau2 + adj < 0:
            adj /= 2.0
        new = tau2 + adj
        change = abs(new - tau2)
        tau2 = new
        if change < con["threshold"]:
            if tau2 > 0 and loglik(0.0, y, v, X, reml) - loglik(tau2, y, v, X, reml) > 1e-10:
                tau2 = 0.0
            return tau2, it
    raise ConvergenceError(
        f"Fisher scoring for {method} did not converge in {con['maxiter']} iterations "
        "(control safeguard=False); use the default safeguard=True"
    )


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Hedges' estimator before truncation: ``(y'Py - tr(PV)) / (k - p)`` with the OLS projection.

    ``P = I - Q Q'`` (``Q`` from ``qr(X)``), so ``y'Py`` is the OLS residual sum of squares and
    ``tr(PV) = sum v_i (1 - h_i)``: linear in k (it used to build P, k x k, on every call).
    """
    k, p = X.shape
    q, _ = np.linalg.qr(X)
    resid = y - q @ (q.T @ y)
    h = np.einsum("ij,ij->i", q, q)
    return (float(resid @ resid) - float(v @ (1.0 - h))) / (k - p)


def _q_equation(y, v, X, target: float, tol: float) -> tuple[float, int]:
    """Root of ``Q(tau2) = target`` on tau2 >= 0 (0 when Q(0) < target): PM and EB."""

    def f(t: float) -> float:
        return generalised_q(t, y, v, X) - target

    if f(0.0) < 0:
        return 0.0, 1
    scale = float(v.min())
    hi = max(scale, 10.0 * float(np.var(y)))
    for _ in range(2000):
        if f(hi) < 0:
            break
        hi *= 2.0
    root, info = optimize.brentq(
        f, 0.0, hi, xtol=tol * scale, rtol=4 * _EPS, maxiter=500, full_output=True
    )
    return float(root), int(info.function_calls)


def estimate_tau2(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray | None = None,
    method: str = "REML",
    control: Mapping[str, Any] | None = None,
) -> Tau2Fit:
    """Estimate tau^2 with one of metafor's estimators (metafor 3.8-1 formulas).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances, shape (k,).
    X
        Design matrix (k, p); intercept only when None.
    method
        ``FE``/``EE`` (tau2 = 0), ``DL``, ``HE``, ``SJ``, ``PM``, ``EB``, ``ML``, ``REML``.
    control
        ``tol``, ``safeguard``, ``threshold``, ``maxiter``, ``tau2_init`` (see
        :data:`inflamed.stats.options.DEFAULT_CONTROL`).

    Returns
    -------
    Tau2Fit

    Warns
    -----
    UserWarning
        ML/REML: the likelihood has more than one local maximum (the global one is returned).

    Notes
    -----
    * DL (DerSimonian & Laird 1986), HE (Hedges 1983), SJ (Sidik & Jonkman 2005, initial value
      ``var(y) (k-1)/k``) are closed forms, truncated at 0 as metafor does.
    * PM (Paule & Mandel 1982) and EB (Morris 1983; Berkey et al. 1995) both solve
      ``Q(tau2) = k - p``; Q decreases in tau2, so the root is unique. Brent's method to
      ``tol`` x ``min(v)`` (relative).
    * ML/REML (``safeguard=True``, default): global search. All stationary points lie in
      ``[0, T]`` with ``T`` from ``RSS_ols (v_max + T) = (k - p) T^2`` (ML: ``k``), because beyond
      it the score is negative. The score is evaluated on a grid uniform in
      ``log(tau2 + v_min)`` (:data:`GRID_PER_EFOLD` points per e-fold, at least 32), each + to -
      sign change is refined by Brent's method to ``tol`` x ``v_min`` + 4 eps tau2, the boundary 0
      is a candidate when the score is negative there, and the candidate with the highest
      log-likelihood is returned. ``safeguard=False`` is metafor's plain Fisher scoring from the
      HE estimate (absolute ``threshold``), which can return a local maximum and raises
      :class:`~inflamed.errors.ConvergenceError` where it does not converge.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    if X is None:
        X = np.ones((k, 1))
    p = X.shape[1]
    con = _control(control)
    method, _ = check_options(method, "z", "auto", "metafor", 95.0)
    if method == "FE":
        return Tau2Fit(0.0, True, 0, "none", float("nan"))
    if k <= p:
        raise InputError("too few studies to estimate tau^2", value=k, expected=f"k > {p}")
    if method == "DL":
        proj = Projection(1.0 / v, X)
        rss = float(y @ proj.py(y))
        trp = proj.trace()
        tau2 = max(0.0, (rss - (k - p)) / trp)
        se = np.sqrt((2 * (k - p) + 4 * tau2 * trp + 2 * tau2**2 * proj.pp()) / trp**2)
        return Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method == "HE":
        tau2 = max(0.0, _he(y, v, X))
        ols = Projection(np.ones(k), X)
        trpv = float(v @ (1.0 - ols.h))
        se = np.sqrt((2 * ols.pp(v, v) + 4 * tau2 * trpv + 2 * tau2**2 * (k - p)) / (k - p) ** 2)
        return Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method == "SJ":
        tau0 = con["tau2_init"]
        if tau0 is None:
            tau0 = float(np.var(y - y.mean()))  # var(y) (k-1)/k
        proj = Projection(1.0 / (v + tau0), X)
        tau2 = max(0.0, tau0 * float(y @ proj.py(y)) / (k - p))
        se = np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * proj.pp(v, v) + 4 * tau2 * proj.pp(1.0, v) + 2 * tau2**2 * proj.pp())
        )
        return Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method in ("PM", "EB"):
        tau2, n_eval = _q_equation(y, v, X, float(k - p), con["tol"])
        w = 1.0 / (v + tau2)
        se = np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)
        return Tau2Fit(tau2, True, n_eval, "brent (Q = k - p)", float(se))

    reml = method == "REML"
    if con["safeguard"]:
        fit = _global_ml(y, v, X, method, con["tol"])
        tau2 = fit.tau2
    else:
        tau2, it = _fisher_plain(y, v, X, method, con)
        fit = Tau2Fit(tau2, True, it, "fisher scoring", np.nan)
    for msg in fit.warnings:
        warnings.warn(msg, UserWarning, stacklevel=2)
    w = 1.0 / (v + tau2)
    se = np.sqrt(2.0 / Projection(w, X).pp()) if reml else np.sqrt(2.0 / float(w @ w))
    return replace(fit, se_tau2=float(se))
