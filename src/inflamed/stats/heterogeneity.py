"""Heterogeneity statistics: Cochran's Q, I^2 and H^2 (two definitions) and the Q-profile CI.

The building blocks here work on a design matrix ``X`` (k x p) so they serve the intercept-only
random-effects model and mixed-effects meta-regression alike. :func:`confint_tau2` is the
Q-profile confidence interval of metafor's ``confint.rma.uni(type="QP")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, stats

from inflamed.stats.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from inflamed.stats.pooling import RMAResult

__all__ = [
    "QProfileCI",
    "cochran_q",
    "confint_tau2",
    "generalised_q",
    "i2_h2",
    "i2_h2_higgins_thompson",
    "typical_variance",
]


def _projection(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Return ``P = W - W X (X'WX)^-1 X'W`` for weights ``w`` (k,) and design ``X`` (k, p).

    Computed from the QR decomposition of ``W^(1/2) X`` (as metafor's ``.invcalc``), which keeps
    the digits that the normal equations lose with badly scaled moderators (e.g. calendar year).
    """
    sw = np.sqrt(w)
    qmat, _ = np.linalg.qr(sw[:, None] * X)
    swq = sw[:, None] * qmat
    return np.diag(w) - swq @ swq.T


def generalised_q(tau2: float, yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q statistic ``sum w_i (y_i - x_i b)^2`` with ``w_i = 1 / (v_i + tau2)``.

    Parameters
    ----------
    tau2
        Between-study variance at which to evaluate Q.
    yi, vi
        Effect sizes and sampling variances, shape (k,).
    X
        Design matrix, shape (k, p).

    Returns
    -------
    float
        The weighted residual sum of squares of the weighted least-squares fit; at ``tau2 = 0``
        this is Cochran's Q (QE in a meta-regression).

    Notes
    -----
    Decreasing in ``tau2``; the Paule-Mandel estimator solves ``Q(tau2) = k - p`` and the
    Q-profile interval solves ``Q(tau2) = chi^2_{k-p}`` quantiles (Viechtbauer 2007,
    doi:10.1002/sim.2514).
    """
    w = 1.0 / (vi + tau2)
    sw = np.sqrt(w)
    qmat, _ = np.linalg.qr(sw[:, None] * X)
    z = sw * yi
    resid = z - qmat @ (qmat.T @ z)
    return float(resid @ resid)


def cochran_q(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Cochran's Q (QE for a meta-regression): the generalised Q at ``tau2 = 0``, floored at 0."""
    return max(0.0, generalised_q(0.0, yi, vi, X))


def typical_variance(vi: np.ndarray, X: np.ndarray) -> float:
    """The "typical" within-study variance of Higgins & Thompson (2002) as metafor computes it.

    ``vt = (k - p) / tr(P)`` with ``P`` built from the fixed-effect weights ``1/v_i``. For the
    intercept-only model this is ``(k - 1) sum w / ((sum w)^2 - sum w^2)``.
    """
    k, p = X.shape
    P = _projection(1.0 / vi, X)
    return float((k - p) / np.trace(P))


def i2_h2(tau2: float, vt: float) -> tuple[float, float]:
    """I^2 (per cent) and H^2 as metafor defines them for random-effects models.

    ``I^2 = 100 tau2 / (vt + tau2)`` and ``H^2 = (tau2 + vt) / vt`` with ``vt`` the typical
    within-study variance (:func:`typical_variance`). For DL these equal the Higgins-Thompson
    forms below; for other estimators they differ.
    """
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


def i2_h2_higgins_thompson(q: float, df: int) -> tuple[float, float]:
    """Higgins & Thompson (2002, doi:10.1002/sim.1186) ``I^2 = max(0, (Q - df) / Q)`` and ``H^2 = Q / df``.

    This is the definition RevMan reports and metafor uses for fixed-effect models.
    """
    if q <= 0:
        return 0.0, q / df if df > 0 else float("nan")
    return max(0.0, 100.0 * (q - df) / q), q / df


@dataclass(frozen=True)
class QProfileCI:
    """Q-profile confidence interval for tau^2 and the I^2, H^2 and tau it implies.

    Attributes
    ----------
    level
        Confidence level in per cent.
    tau2, tau2_lb, tau2_ub
        Point estimate and bounds for tau^2.
    tau, tau_lb, tau_ub
        Square roots of the above.
    i2, i2_lb, i2_ub
        I^2 (per cent, metafor definition) at the estimate and at the bounds.
    h2, h2_lb, h2_ub
        H^2 at the estimate and bounds.
    lb_at_zero
        True where the lower bound is the boundary 0 (Q(0) is below the upper chi^2 quantile).
    """

    level: float
    tau2: float
    tau2_lb: float
    tau2_ub: float
    tau: float
    tau_lb: float
    tau_ub: float
    i2: float
    i2_lb: float
    i2_ub: float
    h2: float
    h2_lb: float
    h2_ub: float
    lb_at_zero: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict view (for JSON artefacts)."""
        return dict(self.__dict__)


def _q_root(yi, vi, X, target: float, hi: float, tol: float) -> float:
    """Solve ``Q(tau2) = target`` on ``[0, hi]``, doubling ``hi`` until it brackets the root."""

    def f(t: float) -> float:
        return generalised_q(t, yi, vi, X) - target

    for _ in range(200):
        if f(hi) < 0:
            break
        hi *= 2.0
    else:  # pragma: no cover - Q decreases to 0 as tau2 grows, so this is unreachable
        raise RuntimeError("could not bracket the Q-profile root")
    return float(optimize.brentq(f, 0.0, hi, xtol=tol, rtol=4 * np.finfo(float).eps, maxiter=500))


def q_profile_bounds(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    *,
    level: float = 95.0,
    tau2_hint: float = 0.0,
    tol: float = 1e-12,
) -> tuple[float, float, bool]:
    """Q-profile bounds ``(lb, ub, lb_at_zero)`` for tau^2 (Viechtbauer 2007).

    The lower bound solves ``Q(tau2) = chi^2_{k-p, 1-alpha/2}``, the upper bound
    ``Q(tau2) = chi^2_{k-p, alpha/2}``; where ``Q(0)`` already lies below a quantile the bound
    is 0 (both 0 when ``Q(0)`` is below the lower quantile: the interval is the null set at 0).
    """
    k, p = X.shape
    alpha = 1.0 - level / 100.0
    crit_u = stats.chi2.ppf(1 - alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    q0 = generalised_q(0.0, yi, vi, X)
    hi = max(100.0, 10.0 * tau2_hint)
    if q0 < crit_l:
        return 0.0, 0.0, True
    ub = _q_root(yi, vi, X, crit_l, hi, tol)
    if q0 < crit_u:
        return 0.0, ub, True
    lb = _q_root(yi, vi, X, crit_u, hi, tol)
    return lb, ub, False


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
