"""Inverse-variance pooling: fixed-effect, random-effects and mixed-effects meta-regression.

:func:`rma` is the Python counterpart of metafor's ``rma.uni()`` (Viechtbauer 2010, J Stat Softw
36(3), doi:10.18637/jss.v036.i03) for the estimators and tests a systematic review needs, and
agrees with metafor 3.8-1 to 1e-6 (iterative) / 1e-10 (closed forms) on the reference fixtures in
``tests/reference/fixtures/pooling_*.json``. Differences in convention between metafor, RevMan and
Cochrane guidance are listed in ``docs/conventions.md``; :mod:`inflamed.stats.presets` names them.

Status: estimators FE/EE, DL, HE, SJ, PM, EB, ML, REML; tests z, t, knha, adhoc; prediction
intervals; Q, I^2, H^2, Q-profile CI (:func:`inflamed.stats.heterogeneity.confint_tau2`); moderators
with QM and pseudo R^2; predictions. Not here: user weights, Mantel-Haenszel (``inflamed.stats.binary``),
location-scale models.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from inflamed.stats.errors import ConvergenceError, InputError
from inflamed.stats.heterogeneity import (
    QProfileCI,
    cochran_q,
    generalised_q,
    i2_h2,
    i2_h2_higgins_thompson,
    q_profile_bounds,
    typical_variance,
)
from inflamed.stats.validation import as_float_array, check_positive

__all__ = [
    "METHODS",
    "PI_TYPES",
    "TESTS",
    "PredictResult",
    "RMAResult",
    "confint_tau2",
    "estimate_tau2",
    "rma",
]

#: Estimators of tau^2 accepted by :func:`rma` (``EE`` is an alias of ``FE``).
METHODS = ("FE", "EE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML")
#: Inference for the coefficients.
TESTS = ("z", "t", "knha", "adhoc")
#: Prediction-interval variants: ``auto`` follows the test as metafor's ``predict()`` does.
PI_TYPES = ("auto", "z", "t", "higgins")

_DEFAULT_CONTROL: dict[str, Any] = {
    "threshold": 1e-10,  # absolute change in tau^2 that ends Fisher scoring
    "maxiter": 1000,
    "tau2_init": None,
    "safeguard": True,  # step-halving + bracketed fallback; False = plain metafor Fisher scoring
    "tol": 1e-12,  # root-finder tolerance (PM/EB and the fallback)
}


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _check_vector(x: Any, name: str, *, row_offset: int | None) -> np.ndarray:
    """A finite 1-D float array (``inflamed.stats.validation.as_float_array``), fast for float arrays."""
    if isinstance(x, np.ndarray) and x.dtype == np.float64 and x.ndim == 1 and np.isfinite(x).all():
        return x.copy()
    return as_float_array(name, x, row_offset=row_offset)


def _check_inputs(yi: Any, vi: Any, row_offset: int | None) -> tuple[np.ndarray, np.ndarray]:
    y = _check_vector(yi, "yi", row_offset=row_offset)
    v = _check_vector(vi, "vi", row_offset=row_offset)
    if y.shape != v.shape:
        raise InputError("yi and vi have different lengths", column="vi", value=(y.size, v.size))
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)", column="yi", expected="at least one study")
    check_positive("vi", v, row_offset=row_offset)
    return y, v


def _design(
    mods: Any, k: int, intercept: bool, row_offset: int | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Build the design matrix; DataFrame columns that are not numeric become treatment dummies."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(k))
        names.append("intrcpt")
    if mods is not None:
        if isinstance(mods, pd.Series):
            mods = mods.to_frame()
        if isinstance(mods, pd.DataFrame):
            if len(mods) != k:
                raise InputError(
                    "mods has a different number of rows than yi",
                    column="mods",
                    value=len(mods),
                    expected=f"{k} rows",
                )
            for col in mods.columns:
                s = mods[col]
                if pd.api.types.is_numeric_dtype(s) and not isinstance(
                    s.dtype, pd.CategoricalDtype
                ):
                    arr = _check_vector(s.to_numpy(dtype=float), str(col), row_offset=row_offset)
                    cols.append(arr)
                    names.append(str(col))
                else:
                    if s.isna().any():
                        i = int(np.flatnonzero(s.isna().to_numpy())[0])
                        raise InputError(
                            "categorical moderator is missing",
                            column=str(col),
                            row=None if row_offset is None else i + row_offset,
                        )
                    cat = s.astype("category")
                    levels = list(cat.cat.categories)
                    drop_first = intercept or len(cols) > 0
                    for lev in levels[1:] if drop_first else levels:
                        cols.append((s == lev).to_numpy(dtype=float))
                        names.append(f"{col}{lev}")
        else:
            m = np.asarray(mods, dtype=float)
            if m.ndim == 1:
                m = m[:, None]
            if m.ndim != 2 or m.shape[0] != k:
                raise InputError(
                    "mods must be a (k, m) array",
                    column="mods",
                    value=m.shape,
                    expected=f"({k}, m)",
                )
            for j in range(m.shape[1]):
                cols.append(_check_vector(m[:, j], f"mods[:, {j}]", row_offset=row_offset))
                names.append(f"mod{j + 1}" if m.shape[1] > 1 else "mods")
    if not cols:
        raise InputError(
            "the model has no coefficients",
            column="mods",
            expected="intercept=True or at least one moderator",
        )
    X = np.column_stack(cols)
    if X.shape[1] > 1 and np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError(
            "the moderator matrix is not of full rank",
            column="mods",
            expected="linearly independent moderators",
        )
    return X, tuple(names)


# --------------------------------------------------------------------------------------------
# tau^2 estimators
# --------------------------------------------------------------------------------------------


def _proj(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'WX)^-1 X'W`` via the QR decomposition of ``W^(1/2) X`` (well conditioned)."""
    sw = np.sqrt(w)
    qmat, _ = np.linalg.qr(sw[:, None] * X)
    return np.diag(w) - (sw[:, None] * qmat) @ (sw[:, None] * qmat).T


def _intercept_only(X: np.ndarray) -> bool:
    return X.shape[1] == 1 and bool(np.all(X[:, 0] == 1.0))


_LOG2PI = float(np.log(2 * np.pi))


def _loglik_int(tau2: float, y: np.ndarray, v: np.ndarray, reml: bool) -> float:
    """:func:`_loglik` for the intercept-only model in scalar sums (same value, no matrices)."""
    k = y.size
    s = v + tau2
    w = 1.0 / s
    sw = float(w.sum())
    r = y - float(w @ y) / sw
    rss = float(w @ (r * r))
    slog = float(np.log(s).sum())
    if not reml:
        return -0.5 * k * _LOG2PI - 0.5 * slog - 0.5 * rss
    return -0.5 * (k - 1) * _LOG2PI + 0.5 * np.log(k) - 0.5 * slog - 0.5 * np.log(sw) - 0.5 * rss


def _step_int(tau2: float, y: np.ndarray, v: np.ndarray, method: str) -> tuple[float, float]:
    """:func:`_fisher_step` for the intercept-only model: ``P y = w r``, traces in closed form."""
    w = 1.0 / (v + tau2)
    sw = float(w.sum())
    r = y - float(w @ y) / sw
    wr = w * r
    ypp = float(wr @ wr)
    sw2 = float(w @ w)
    if method == "ML":
        return ypp - sw, sw2
    trp = sw - sw2 / sw
    trpp = sw2 - 2.0 * float(w @ (w * w)) / sw + sw2 * sw2 / (sw * sw)
    return ypp - trp, trpp


def _loglik(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, reml: bool) -> float:
    """ML or REML log-likelihood at tau2 (metafor's ``ll.ML`` / ``ll.REML`` with REMLf=TRUE)."""
    k, p = X.shape
    s = v + tau2
    w = 1.0 / s
    wx = w[:, None] * X
    xtwx = X.T @ wx
    beta = np.linalg.solve(xtwx, wx.T @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    if not reml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * float(np.sum(np.log(s))) - 0.5 * rss
    _, ld = np.linalg.slogdet(xtwx)
    _, ldx = np.linalg.slogdet(X.T @ X)
    return (
        -0.5 * (k - p) * np.log(2 * np.pi)
        + 0.5 * ldx
        - 0.5 * float(np.sum(np.log(s)))
        - 0.5 * ld
        - 0.5 * rss
    )


def _he(y, v, X) -> float:
    k, p = X.shape
    P = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
    rss = float(y @ P @ y)
    return (rss - float(np.sum(np.diag(P) * v))) / (k - p)


def _fisher_step(tau2, y, v, X, method) -> tuple[float, float]:
    """Twice the score and the expected information of metafor's Fisher scoring (ML, REML).

    The Fisher step is ``score / information``: for REML ``(y'PPy - tr P) / tr(PP)``, for ML
    ``(y'PPy - sum w) / sum w^2`` (Viechtbauer 2005, doi:10.3102/10769986030003261).
    """
    w = 1.0 / (v + tau2)
    P = _proj(w, X)
    Py = P @ y
    if method == "ML":
        return float(Py @ Py - w.sum()), float(np.sum(w * w))
    return float(Py @ Py - np.trace(P)), float(np.sum(P * P))


@dataclass(frozen=True)
class _Tau2Fit:
    tau2: float
    converged: bool
    iterations: int
    algorithm: str
    se_tau2: float


def _q_equation(y, v, X, target: float, tol: float) -> float:
    """Root of ``Q(tau2) = target`` on tau2 >= 0 (0 when Q(0) < target): PM and EB."""

    def f(t: float) -> float:
        return generalised_q(t, y, v, X) - target

    if f(0.0) < 0:
        return 0.0
    hi = max(1.0, 10.0 * float(np.var(y)))
    for _ in range(200):
        if f(hi) < 0:
            break
        hi *= 2.0
    return float(optimize.brentq(f, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=500))


def _lik_fallback(y, v, X, method: str, tol: float) -> float:
    """Maximise the (restricted) likelihood over tau2 >= 0 by a bracketed 1-D search.

    Brent's method on the score where it changes sign on a bracket; otherwise a bounded scalar
    maximiser; the better of the candidates and the boundary 0 is returned.
    """
    reml = method == "REML"

    def score(t: float) -> float:
        w = 1.0 / (v + t)
        P = _proj(w, X)
        Py = P @ y
        if reml:
            return float(Py @ Py - np.trace(P))
        return float(Py @ Py - w.sum())

    candidates = [0.0]
    hi = max(1.0, 10.0 * float(np.var(y)) + float(np.max(v)))
    for _ in range(200):
        if score(hi) < 0:
            break
        hi *= 2.0
    # scan a log grid for sign changes of the score (local maxima: + to -)
    grid = np.concatenate([[0.0], np.geomspace(hi * 1e-10, hi, 200)])
    sc = np.array([score(t) for t in grid])
    for a, b, sa, sb in zip(grid[:-1], grid[1:], sc[:-1], sc[1:], strict=True):
        if sa > 0 and sb <= 0:
            candidates.append(
                float(optimize.brentq(score, a, b, xtol=tol, rtol=4 * np.finfo(float).eps))
            )
    lls = [_loglik(t, y, v, X, reml) for t in candidates]
    return candidates[int(np.argmax(lls))]


def estimate_tau2(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray | None = None,
    method: str = "REML",
    control: Mapping[str, Any] | None = None,
) -> _Tau2Fit:
    """Estimate tau^2 with one of the estimators of :data:`METHODS` (metafor 3.8-1 formulas).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances, shape (k,).
    X
        Design matrix (k, p); intercept only when None.
    method
        ``FE``/``EE`` (tau2 = 0), ``DL``, ``HE``, ``SJ``, ``PM``, ``EB``, ``ML``, ``REML``.
    control
        ``threshold``, ``maxiter``, ``tau2_init``, ``safeguard``, ``tol`` (see :func:`rma`).

    Returns
    -------
    _Tau2Fit
        ``tau2``, ``converged``, ``iterations``, ``algorithm`` and ``se_tau2`` (metafor's
        standard error for the estimator).

    Notes
    -----
    * DL (DerSimonian & Laird 1986), HE (Hedges 1983; Hedges & Olkin 1985), SJ (Sidik & Jonkman
      2005, initial value ``var(y) (k-1)/k``) are closed forms, truncated at 0 as metafor does.
    * PM (Paule & Mandel 1982) and EB (Morris 1983; Berkey et al. 1995) both solve
      ``Q(tau2) = k - p``; metafor finds PM by ``uniroot`` and EB by Fisher-type iteration to the
      same root. Here both use Brent's method to ``tol``.
    * ML/REML: Fisher scoring from the HE estimate as in metafor (Viechtbauer 2005,
      doi:10.3102/10769986030003261), with metafor's step-halving at the boundary tau2 = 0.
      Fisher scoring uses the expected information, and where it differs enough from the observed
      information the plain iteration oscillates around the root with growing amplitude (metafor
      then stops with "Fisher scoring algorithm did not converge"). With ``safeguard`` (default)
      inflamed keeps a bracket on the score: once the iterate crosses the root the next step is a
      secant (regula falsi) step between the last two iterates, and a step that leaves the bracket
      is replaced by bisection. If that still has not converged after ``maxiter`` steps the
      estimate is the best root of the score found by Brent's method on a scanned grid over
      tau2 >= 0. metafor's check that the likelihood is not higher at tau2 = 0 (``ll0check``) is
      applied (with ``safeguard`` the global search decides). ``safeguard=False`` is plain metafor
      Fisher scoring and raises :class:`~inflamed.errors.ConvergenceError` where it fails.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = y.size
    if X is None:
        X = np.ones((k, 1))
    p = X.shape[1]
    con = {**_DEFAULT_CONTROL, **(control or {})}
    method = method.upper()
    if method == "EE":
        method = "FE"
    if method not in METHODS:
        raise InputError(
            "unknown method", column="method", value=method, expected=", ".join(METHODS)
        )
    if method == "FE":
        return _Tau2Fit(0.0, True, 0, "none", float("nan"))
    if k <= p:
        raise InputError("too few studies to estimate tau^2", value=k, expected=f"k > {p}")

    if method == "DL":
        w = 1.0 / v
        if _intercept_only(X):
            sw, sw2 = float(w.sum()), float(w @ w)
            r = y - float(w @ y) / sw
            rss = float(w @ (r * r))
            trP = sw - sw2 / sw
            sumpp = sw2 - 2.0 * float(w @ (w * w)) / sw + sw2 * sw2 / (sw * sw)
        else:
            P = _proj(w, X)
            rss = float(y @ P @ y)
            trP = float(np.trace(P))
            sumpp = float(np.sum(P * P))
        tau2 = max(0.0, (rss - (k - p)) / trP)
        se = np.sqrt((2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * sumpp) / trP**2)
        return _Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method == "HE":
        Pols = np.eye(k) - X @ np.linalg.solve(X.T @ X, X.T)
        PV = Pols * v[None, :]
        trPV = float(np.trace(PV))
        tau2 = max(0.0, (float(y @ Pols @ y) - trPV) / (k - p))
        se = np.sqrt(
            (2 * np.sum(PV * PV.T) + 4 * tau2 * trPV + 2 * tau2**2 * (k - p)) / (k - p) ** 2
        )
        return _Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method == "SJ":
        tau0 = con["tau2_init"]
        if tau0 is None:
            tau0 = float(np.var(y - y.mean()))  # var(y) (k-1)/k
        w = 1.0 / (v + tau0)
        P = _proj(w, X)
        PV = P * v[None, :]
        tau2 = max(0.0, tau0 * float(y @ P @ y) / (k - p))
        se = np.sqrt(
            tau0**2
            / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return _Tau2Fit(tau2, True, 0, "closed form", float(se))
    if method in ("PM", "EB"):
        tau2 = _q_equation(y, v, X, float(k - p), con["tol"])
        w = 1.0 / (v + tau2)
        se = np.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)
        return _Tau2Fit(tau2, True, 0, "brent (Q = k - p)", float(se))

    # ML / REML: Fisher scoring (metafor), safeguarded
    reml = method == "REML"
    if _intercept_only(X):

        def ll(t: float) -> float:
            return _loglik_int(t, y, v, reml)

        def step(t: float) -> tuple[float, float]:
            return _step_int(t, y, v, method)
    else:

        def ll(t: float) -> float:
            return _loglik(t, y, v, X, reml)

        def step(t: float) -> tuple[float, float]:
            return _fisher_step(t, y, v, X, method)

    tau2 = con["tau2_init"]
    if tau2 is None:
        tau2 = max(0.0, _he(y, v, X))
    tau2 = float(tau2)
    converged = False
    it = 0
    safeguard = bool(con["safeguard"])
    lo, hi = 0.0, np.inf  # bracket on the score: positive at lo (or lo = 0), negative at hi
    t_prev = g_prev = None
    while it < con["maxiter"]:
        it += 1
        g, info = step(tau2)
        if not (np.isfinite(g) and np.isfinite(info)) or info <= 0:
            break
        new = tau2 + g / info  # metafor's Fisher scoring step
        if safeguard:
            if g > 0:
                lo = max(lo, tau2)
            elif g < 0:
                hi = min(hi, tau2)
            else:
                converged = True
                break
            if tau2 == 0.0 and g < 0:  # maximum on the boundary
                converged = True
                break
            if g_prev is not None and g * g_prev < 0:
                # the iterate crossed the root: a secant (regula falsi) step between the two
                new = tau2 - g * (tau2 - t_prev) / (g - g_prev)
            if new >= hi or (new <= lo and lo > 0):
                new = 0.5 * (lo + hi)  # bisection inside the bracket
            elif new < 0:
                new = 0.0  # test the boundary directly instead of halving towards it
        adj = new - tau2
        while tau2 + adj < 0:  # metafor's step-halving at the boundary tau2 = 0
            adj /= 2.0
        new = tau2 + adj
        change = abs(new - tau2)
        t_prev, g_prev = tau2, g
        tau2 = new
        if change < con["threshold"]:
            converged = True
            break
    algorithm = "fisher scoring" + (" (bracketed)" if safeguard else "")
    if not converged:
        if not con["safeguard"]:
            raise ConvergenceError(
                f"Fisher scoring for {method} did not converge in {con['maxiter']} iterations "
                "(control safeguard=False); use the default safeguard=True"
            )
        tau2 = _lik_fallback(y, v, X, method, con["tol"])
        converged = True
        algorithm = "bracketed score root (Brent) after Fisher scoring failed"
    # metafor's ll0check: is the likelihood at tau2 = 0 higher?
    if tau2 > 0 and ll(0.0) - ll(tau2) > 1e-10:
        tau2 = 0.0 if not con["safeguard"] else _lik_fallback(y, v, X, method, con["tol"])
    tau2 = max(0.0, tau2)
    w = 1.0 / (v + tau2)
    if reml and _intercept_only(X):
        sw, sw2 = float(w.sum()), float(w @ w)
        trpp = sw2 - 2.0 * float(w @ (w * w)) / sw + sw2 * sw2 / (sw * sw)
        se = np.sqrt(2.0 / trpp)
    elif reml:
        P = _proj(w, X)
        se = np.sqrt(2.0 / np.sum(P * P))
    else:
        se = np.sqrt(2.0 / np.sum(w * w))
    return _Tau2Fit(tau2, converged, it, algorithm, float(se))


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


def _z_crit(alpha: float) -> float:
    return float(special.ndtri(1 - alpha / 2))


def _t_crit(alpha: float, df: float) -> float:
    return float(special.stdtrit(df, 1 - alpha / 2))


@dataclass(frozen=True)
class PredictResult:
    """Predicted (average) effects with confidence and prediction intervals.

    Attributes
    ----------
    pred, se, ci_lb, ci_ub, pi_lb, pi_ub
        Arrays of length n (one per row of ``newmods``).
    """

    pred: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray

    def summary_frame(self) -> pd.DataFrame:
        """One row per prediction."""
        return pd.DataFrame(
            {k: getattr(self, k) for k in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")}
        )


@dataclass(frozen=True, eq=False)
class RMAResult:
    """A fitted fixed-, random- or mixed-effects model (the fields metafor's ``rma.uni`` returns).

    Attributes
    ----------
    k, p
        Number of studies and of coefficients.
    method, test, level, pi_type
        How the model was fitted (``level`` in per cent).
    names
        Coefficient names (``intrcpt`` for the intercept, as metafor).
    beta, se, zval, pval, ci_lb, ci_ub
        Coefficient table (``zval`` is a t value under t/knha/adhoc tests).
    vb
        Variance-covariance matrix of ``beta`` (Knapp-Hartung scaled where applicable).
    tau2, se_tau2
        Between-study variance and metafor's standard error for it (NaN for FE and k = 1).
    i2, h2
        I^2 (per cent) and H^2 in the definition chosen by ``i2_def``.
    i2_metafor, h2_metafor, i2_ht, h2_ht
        Both definitions: metafor's (typical within-study variance ``vt``) and
        Higgins-Thompson ``(Q - df)/Q``.
    vt
        Typical within-study variance.
    q, q_df, q_pval
        Cochran's Q (QE, residual heterogeneity, with moderators), df = k - p and its p-value.
    qm, qm_df, qm_pval
        Omnibus test of the moderators (all coefficients but the intercept): chi^2 with
        ``qm_df = (m, None)`` under z, F with ``(m, k - p)`` under t/knha/adhoc.
    r2
        Pseudo R^2 (per cent) for meta-regressions, as metafor computes it; None otherwise.
    s2w
        Knapp-Hartung scale factor (1 for z and t tests).
    ddf
        Degrees of freedom of the t reference distribution (None for z).
    pi_lb, pi_ub, pi_df
        Prediction interval for the intercept-only model (for meta-regression: at the mean of the
        moderators is not computed; use :meth:`predict`). ``pi_df`` is None for a z-based PI.
    weights
        Per-study weights in per cent (``100 w_i / sum w_i``, ``w_i = 1 / (v_i + tau2)``).
    converged, iterations, algorithm
        Convergence of the tau^2 estimator.
    ll_ml, ll_reml
        Log-likelihoods at the estimate.
    yi, vi, X
        The data the model was fitted to.
    """

    k: int
    p: int
    method: str
    test: str
    level: float
    pi_type: str
    i2_def: str
    names: tuple[str, ...]
    intercept: bool
    beta: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    i2_metafor: float
    h2_metafor: float
    i2_ht: float
    h2_ht: float
    vt: float
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_pval: float
    r2: float | None
    s2w: float
    ddf: int | None
    pi_lb: float
    pi_ub: float
    pi_df: int | None
    weights: np.ndarray
    converged: bool
    iterations: int
    algorithm: str
    ll_ml: float
    ll_reml: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)

    # -- convenience ---------------------------------------------------------------------
    @property
    def estimate(self) -> float:
        """The first coefficient (the pooled effect in an intercept-only model)."""
        return float(self.beta[0])

    @property
    def crit(self) -> float:
        """Critical value used for the coefficient CIs."""
        alpha = 1 - self.level / 100
        if self.ddf is None:
            return _z_crit(alpha)
        return _t_crit(alpha, self.ddf) if self.ddf > 0 else float("nan")

    def _pi_crit(self) -> tuple[float, int | None]:
        alpha = 1 - self.level / 100
        kind = self.pi_type
        if kind == "auto":
            kind = "z" if self.test == "z" else "t"
        if kind == "z":
            return _z_crit(alpha), None
        df = self.k - self.p if kind == "t" else self.k - self.p - 1
        if df < 1:
            return float("nan"), df
        return _t_crit(alpha, df), df

    def predict(self, newmods: Any = None, *, level: float | None = None) -> PredictResult:
        """Predicted effects for new moderator values, with CI and prediction interval.

        Parameters
        ----------
        newmods
            Moderator values (without the intercept column), shape (n, p - 1) or (p - 1,) or a
            scalar for a single moderator; a DataFrame is taken column by column in the order of
            the fit. None for the intercept-only model.
        level
            Confidence level in per cent (defaults to the fit's).

        Returns
        -------
        PredictResult

        Notes
        -----
        As metafor's ``predict.rma()``: ``se = sqrt(x' vb x)``, CI with the fit's critical value,
        PI ``pred +/- crit_pi sqrt(se^2 + tau2)`` with ``crit_pi`` from ``pi_type``.
        """
        if newmods is None:
            Xn = np.ones((1, 1)) if self.p == 1 and self.intercept else None
            if Xn is None:
                raise InputError(
                    "newmods is required for a model with moderators", column="newmods"
                )
        else:
            arr = np.asarray(
                newmods.to_numpy() if isinstance(newmods, pd.DataFrame) else newmods, dtype=float
            )
            m = self.p - (1 if self.intercept else 0)
            if arr.ndim == 0:
                arr = arr.reshape(1, 1)
            elif arr.ndim == 1:
                arr = arr[:, None] if m == 1 else arr[None, :]
            if arr.shape[1] != m:
                raise InputError(
                    "newmods has the wrong number of columns",
                    column="newmods",
                    value=arr.shape,
                    expected=f"{m} columns",
                )
            Xn = np.column_stack([np.ones(arr.shape[0]), arr]) if self.intercept else arr
        lev = self.level if level is None else float(level)
        obj = self if level is None else _replace_level(self, lev)
        pred = Xn @ self.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vb, Xn))
        crit = obj.crit
        pcrit, _ = obj._pi_crit()
        tau2 = 0.0 if not np.isfinite(self.tau2) else self.tau2
        spi = np.sqrt(se**2 + tau2)
        return PredictResult(
            pred=pred,
            se=se,
            ci_lb=pred - crit * se,
            ci_ub=pred + crit * se,
            pi_lb=pred - pcrit * spi,
            pi_ub=pred + pcrit * spi,
        )

    def coefficients(self) -> list[dict[str, Any]]:
        """Coefficient table as a list of dicts (name, estimate, se, stat, pval, ci_lb, ci_ub)."""
        stat = "zval" if self.ddf is None else "tval"
        return [
            {
                "name": n,
                "estimate": float(b),
                "se": float(s),
                stat: float(z),
                "pval": float(pv),
                "ci_lb": float(lo),
                "ci_ub": float(hi),
            }
            for n, b, s, z, pv, lo, hi in zip(
                self.names,
                self.beta,
                self.se,
                self.zval,
                self.pval,
                self.ci_lb,
                self.ci_ub,
                strict=True,
            )
        ]

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table (one row per coefficient, indexed by name)."""
        return pd.DataFrame(self.coefficients()).set_index("name")

    def to_dict(self, *, qprofile: bool = False) -> dict[str, Any]:
        """Plain-dict summary (the ``pool --json`` contract).

        Keys: ``k, estimate, se, ci_lb, ci_ub, pval, tau2, i2, h2, q, q_pval, pi_lb, pi_ub`` plus
        ``method, test, level, q_df, se_tau2, i2_ht, converged``; with moderators also
        ``coefficients, qm, qm_df, qm_pval, r2``. ``qprofile=True`` adds the Q-profile CI of
        tau^2 and I^2 (``tau2_ci_lb`` ...).
        """
        out: dict[str, Any] = {
            "k": self.k,
            "method": self.method,
            "test": self.test,
            "level": self.level,
            "estimate": self.estimate,
            "se": float(self.se[0]),
            "ci_lb": float(self.ci_lb[0]),
            "ci_ub": float(self.ci_ub[0]),
            "pval": float(self.pval[0]),
            "tau2": self.tau2,
            "se_tau2": self.se_tau2,
            "i2": self.i2,
            "i2_ht": self.i2_ht,
            "h2": self.h2,
            "q": self.q,
            "q_df": self.q_df,
            "q_pval": self.q_pval,
            "pi_lb": self.pi_lb,
            "pi_ub": self.pi_ub,
            "converged": self.converged,
        }
        if self.p > 1 or not self.intercept:
            out["coefficients"] = [
                {key: c[key] for key in ("name", "estimate", "se", "ci_lb", "ci_ub", "pval")}
                for c in self.coefficients()
            ]
            out["qm"] = self.qm
            out["qm_df"] = list(self.qm_df)
            out["qm_pval"] = self.qm_pval
            out["r2"] = self.r2
        if qprofile and self.k > 1 and self.method != "FE":
            ci = confint_tau2(self)
            out.update(
                tau2_ci_lb=ci.tau2_lb,
                tau2_ci_ub=ci.tau2_ub,
                i2_ci_lb=ci.i2_lb,
                i2_ci_ub=ci.i2_ub,
                h2_ci_lb=ci.h2_lb,
                h2_ci_ub=ci.h2_ub,
            )
        return out


def _replace_level(res: RMAResult, level: float) -> RMAResult:
    from dataclasses import replace

    return replace(res, level=level)


# --------------------------------------------------------------------------------------------
# the model
# --------------------------------------------------------------------------------------------


def rma(
    yi: Any,
    vi: Any,
    *,
    mods: Any = None,
    method: str = "REML",
    test: str = "knha",
    level: float = 95.0,
    pi: str = "auto",
    intercept: bool = True,
    i2_def: str = "metafor",
    control: Mapping[str, Any] | None = None,
    row_offset: int | None = None,
) -> RMAResult:
    """Fit a fixed-, random- or mixed-effects meta-analysis model (metafor's ``rma.uni``).

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances (length k). Orientation is the caller's
        (see docs/architecture.md "Sign convention").
    mods
        Moderators: a (k, m) array, a 1-D array (one moderator), a Series or a DataFrame
        (non-numeric columns become treatment-coded dummies against the first sorted level,
        named ``<column><level>`` as R does). None for the intercept-only model.
    method
        tau^2 estimator: ``REML`` (default), ``ML``, ``DL``, ``PM``, ``SJ``, ``HE``, ``EB`` or
        ``FE`` (alias ``EE``: tau^2 = 0).
    test
        ``z`` (Wald), ``t`` (Wald with t(k-p)), ``knha`` (Hartung-Knapp-Sidik-Jonkman; the
        default, following Cochrane guidance) or ``adhoc`` (HKSJ with the scale factor floored at
        1, so the CI is never narrower than the Wald-type t CI).
    level
        Confidence level in per cent.
    pi
        Prediction interval: ``auto`` (z under test z, else t(k-p): metafor's ``predict()``),
        ``z``, ``t`` (t(k-p), i.e. t(k-1) without moderators) or ``higgins`` (t(k-p-1), i.e.
        t(k-2) as in Higgins, Thompson & Spiegelhalter 2009 and RevMan 5).
    intercept
        Add an intercept column (default True).
    i2_def
        Which I^2/H^2 go into ``i2``/``h2``: ``metafor`` (typical within-study variance;
        metafor's RE definition) or ``ht`` (Higgins-Thompson ``(Q - df)/Q``, RevMan). Both are
        always available as ``i2_metafor`` and ``i2_ht``.
    control
        ``threshold`` (default 1e-10: Fisher scoring stops when tau^2 changes by less),
        ``maxiter`` (1000), ``tau2_init``, ``safeguard`` (True: step-halving and bracketed
        fallback; False reproduces plain metafor Fisher scoring and raises
        :class:`~inflamed.errors.ConvergenceError` where it fails), ``tol`` (1e-12, root finder).
    row_offset
        Spreadsheet row of element 0 (e.g. 2 for a CSV with a header), so errors name the row.

    Returns
    -------
    RMAResult

    Raises
    ------
    InputError
        k = 0, missing/non-finite values, non-positive ``vi``, unknown options, k <= p.
    ConvergenceError
        Only with ``control={"safeguard": False}``.

    Warns
    -----
    UserWarning
        k = 1 (estimate from the single study, tau^2 undefined, Wald z inference), and
        knha/adhoc with a fixed-effect model (as metafor).

    Notes
    -----
    Weights ``w_i = 1/(v_i + tau2)``; ``beta = (X'WX)^-1 X'Wy``, ``vb = (X'WX)^-1``. Under knha
    and adhoc ``vb`` is multiplied by ``s2w = sum w_i (y_i - x_i beta)^2 / (k - p)`` (Hartung &
    Knapp 2001, doi:10.1002/sim.1009; Sidik & Jonkman 2002, doi:10.1002/sim.1262); adhoc uses
    ``max(1, s2w)`` (Knapp & Hartung 2003, doi:10.1002/sim.1482; Roever et al. 2015,
    doi:10.1186/s12874-015-0091-1). If the weighted RSS is below machine epsilon ``s2w = 0``, as
    in metafor. QM is ``b' vb^-1 b`` over the non-intercept coefficients (divided by m and
    referred to F(m, k-p) under t/knha/adhoc). Pseudo R^2 = ``max(0, (tau2_0 - tau2)/tau2_0)``
    with ``tau2_0`` from the intercept-only model with the same estimator (Raudenbush 2009);
    for FE meta-regression the adjusted R^2 of the weighted least-squares fit, as metafor.
    See ``docs/conventions.md`` for every convention choice.

    References
    ----------
    Viechtbauer W (2010) Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3):1-48. doi:10.18637/jss.v036.i03
    """
    method = str(method).upper()
    if method == "EE":
        method = "FE"
    if method not in METHODS:
        raise InputError(
            "unknown method", column="method", value=method, expected=", ".join(METHODS)
        )
    if test not in TESTS:
        raise InputError("unknown test", column="test", value=test, expected=", ".join(TESTS))
    if pi not in PI_TYPES:
        raise InputError(
            "unknown prediction-interval type", column="pi", value=pi, expected=", ".join(PI_TYPES)
        )
    if i2_def not in ("metafor", "ht"):
        raise InputError(
            "unknown I^2 definition", column="i2_def", value=i2_def, expected="metafor or ht"
        )
    level = float(level)
    if level <= 1:  # metafor accepts 0.95 as 95 %
        level *= 100
    if not 0 < level < 100:
        raise InputError("level must lie between 0 and 100", column="level", value=level)
    y, v = _check_inputs(yi, vi, row_offset)
    k = y.size
    X, names = _design(mods, k, intercept, row_offset)
    p = X.shape[1]

    if k == 1:
        warnings.warn(
            "k = 1: the pooled estimate is the single study's; tau^2 is not estimable and "
            "Wald z inference is used",
            UserWarning,
            stacklevel=2,
        )
        if p > 1:
            raise InputError(
                "a meta-regression needs more studies than coefficients",
                value=k,
                expected=f"k > {p}",
            )
        test_eff = "z"
        fit = _Tau2Fit(float("nan"), True, 0, "none (k = 1)", float("nan"))
    else:
        if k <= p:
            raise InputError(
                "a meta-regression needs more studies than coefficients",
                value=k,
                expected=f"k > {p}",
            )
        test_eff = test
        fit = estimate_tau2(y, v, X, method, control)

    tau2 = fit.tau2
    tau2_use = 0.0 if not np.isfinite(tau2) else tau2
    w = 1.0 / (v + tau2_use)
    # weighted least squares through the QR decomposition of W^(1/2) X (as metafor's .invcalc)
    sw = np.sqrt(w)
    qmat, rmat = np.linalg.qr(sw[:, None] * X)
    beta = np.linalg.solve(rmat, qmat.T @ (sw * y))
    rinv = np.linalg.solve(rmat, np.eye(p))
    vb = rinv @ rinv.T
    resid = y - X @ beta
    rss = float(np.sum(w * resid * resid))

    s2w = 1.0
    if test_eff in ("knha", "adhoc"):
        if method == "FE":
            warnings.warn(
                "the Knapp-Hartung method is not meant for fixed-effect models",
                UserWarning,
                stacklevel=2,
            )
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        if test_eff == "adhoc":
            s2w = max(1.0, s2w)
    vb = s2w * vb
    ddf = k - p if test_eff in ("t", "knha", "adhoc") else None
    alpha = 1 - level / 100
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = beta / se
    if ddf is None:
        pval = 2 * special.ndtr(-np.abs(zval))
        crit = _z_crit(alpha)
    else:
        pval = 2 * special.stdtr(ddf, -np.abs(zval))
        crit = _t_crit(alpha, ddf)
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se

    btt = np.arange(1, p) if (intercept and p > 1) else np.arange(p)
    m = btt.size
    try:
        sub = vb[np.ix_(btt, btt)]
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = float("nan")
    if ddf is None:
        qm_df: tuple[int, int | None] = (m, None)
        qm_pval = float(special.chdtrc(m, qm))
    else:
        qm = qm / m
        qm_df = (m, ddf)
        qm_pval = float(special.fdtrc(m, ddf, qm))

    # heterogeneity (always from the fixed-effect weights)
    if k > p:
        if _intercept_only(X):
            w0 = 1.0 / v
            sw0, sw02 = float(w0.sum()), float(w0 @ w0)
            r0 = y - float(w0 @ y) / sw0
            q = max(0.0, float(w0 @ (r0 * r0)))
            vt = (k - 1) * sw0 / (sw0 * sw0 - sw02)
        else:
            q = cochran_q(y, v, X)
            vt = typical_variance(v, X)
        q_pval = float(special.chdtrc(k - p, q))
        i2_ht, h2_ht = i2_h2_higgins_thompson(q, k - p)
        if method == "FE":
            i2_m, h2_m = i2_ht, h2_ht
        else:
            i2_m, h2_m = i2_h2(tau2, vt)
    else:
        q, q_pval, vt = 0.0, 1.0, 0.0
        i2_ht = h2_ht = i2_m = h2_m = float("nan")
    i2, h2 = (i2_m, h2_m) if i2_def == "metafor" else (i2_ht, h2_ht)

    # log-likelihoods (metafor's ll.ML, ll.REML with REMLf = TRUE)
    if _intercept_only(X):
        ll_ml = _loglik_int(tau2_use, y, v, reml=False)
        ll_reml = _loglik_int(tau2_use, y, v, reml=True) if k > p else float("nan")
    else:
        ll_ml = _loglik(tau2_use, y, v, X, reml=False)
        ll_reml = _loglik(tau2_use, y, v, X, reml=True) if k > p else float("nan")

    # pseudo R^2
    r2: float | None = None
    if intercept and p > 1:
        if method == "FE":
            r2 = _wls_adj_r2(y, X, w)
        else:
            tau2_0 = estimate_tau2(y, v, None, method, control).tau2
            r2 = 0.0 if tau2_0 == 0 else max(0.0, 100.0 * (tau2_0 - tau2) / tau2_0)

    res = RMAResult(
        k=k,
        p=p,
        method=method,
        test=test_eff,
        level=level,
        pi_type=pi,
        i2_def=i2_def,
        names=names,
        intercept=intercept,
        beta=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        vb=vb,
        tau2=tau2,
        se_tau2=fit.se_tau2,
        i2=i2,
        h2=h2,
        i2_metafor=i2_m,
        h2_metafor=h2_m,
        i2_ht=i2_ht,
        h2_ht=h2_ht,
        vt=vt,
        q=q,
        q_df=k - p,
        q_pval=q_pval,
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        r2=r2,
        s2w=s2w,
        ddf=ddf,
        pi_lb=float("nan"),
        pi_ub=float("nan"),
        pi_df=None,
        weights=100.0 * w / w.sum(),
        converged=fit.converged,
        iterations=fit.iterations,
        algorithm=fit.algorithm,
        ll_ml=ll_ml,
        ll_reml=ll_reml,
        yi=y,
        vi=v,
        X=X,
    )
    if p == 1 and intercept:
        pcrit, pdf = res._pi_crit()
        spi = float(np.sqrt(se[0] ** 2 + tau2_use))
        from dataclasses import replace

        res = replace(
            res,
            pi_lb=float(beta[0] - pcrit * spi),
            pi_ub=float(beta[0] + pcrit * spi),
            pi_df=pdf,
        )
    return res


def _wls_adj_r2(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> float:
    """Adjusted R^2 (per cent, floored at 0) of ``lm(y ~ X, weights = w)``, as metafor's FE R^2."""
    k, p = X.shape
    if np.var(y) == 0:
        return 0.0
    wx = w[:, None] * X
    beta = np.linalg.solve(X.T @ wx, wx.T @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    ybar = float(np.sum(w * y) / w.sum())
    tss = float(np.sum(w * (y - ybar) ** 2))
    r2 = 1 - rss / tss
    adj = 1 - (1 - r2) * (k - 1) / (k - p)
    return max(0.0, 100.0 * adj)


def confint_tau2(res: RMAResult, level: float | None = None, *, tol: float = 1e-12) -> QProfileCI:
    """Q-profile confidence interval for tau^2, tau, I^2 and H^2 of a fitted model.

    Parameters
    ----------
    res
        A random-effects or mixed-effects fit from :func:`inflamed.stats.pooling.rma`.
    level
        Confidence level in per cent; defaults to the level of the fit.
    tol
        Absolute tolerance of the root finder on the tau^2 scale.

    Returns
    -------
    QProfileCI

    Raises
    ------
    InputError
        For k < 2 or a fixed-effect fit.

    Notes
    -----
    The Q-profile method (Viechtbauer 2007, Stat Med 26:37, doi:10.1002/sim.2514) inverts the
    generalised Q statistic, which follows a chi^2_{k-p} distribution at the true tau^2. The
    bounds are transformed to I^2 and H^2 with the typical within-study variance ``vt``, as in
    metafor's ``confint.rma.uni()``. metafor searches ``[0, max(100, 10 tau2)]`` with a default
    tolerance of ``eps^0.25`` (about 1e-4) and reports "> 100" beyond it; here the bracket is
    extended until it contains the root and the tolerance is ``tol``.
    """
    if res.k < 2:
        raise InputError("a confidence interval for tau^2 needs k >= 2 studies", value=res.k)
    if res.method == "FE":
        raise InputError(
            "a fixed-effect model has no tau^2 to profile",
            column="method",
            value=res.method,
            expected="a random-effects method",
        )
    level = res.level if level is None else float(level)
    lb, ub, at_zero = q_profile_bounds(
        res.yi, res.vi, res.X, level=level, tau2_hint=res.tau2, tol=tol
    )
    vt = res.vt
    i2 = lambda t: 100.0 * t / (vt + t)  # noqa: E731
    h2 = lambda t: t / vt + 1.0  # noqa: E731
    return QProfileCI(
        level=level,
        tau2=res.tau2,
        tau2_lb=lb,
        tau2_ub=ub,
        tau=float(np.sqrt(res.tau2)),
        tau_lb=float(np.sqrt(lb)),
        tau_ub=float(np.sqrt(ub)),
        i2=res.i2_metafor,
        i2_lb=i2(lb),
        i2_ub=i2(ub),
        h2=res.h2_metafor,
        h2_lb=h2(lb),
        h2_ub=h2(ub),
        lb_at_zero=at_zero,
    )
