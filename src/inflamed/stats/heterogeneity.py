"""Heterogeneity statistics: Cochran's Q, I^2 and H^2 (two definitions) and the Q-profile CI.

The building blocks here work on a design matrix ``X`` (k x p) so they serve the intercept-only
random-effects model and mixed-effects meta-regression alike. :func:`confint_tau2` is the
Q-profile confidence interval of metafor's ``confint.rma.uni(type="QP")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from inflamed.stats.distributions import chi2_ppf

__all__ = [
    "ZERO_RSS_REL",
    "QProfileCI",
    "cochran_q",
    "generalised_q",
    "i2_h2",
    "i2_h2_higgins_thompson",
    "typical_variance",
    "zero_rss_bound",
]


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


#: :func:`zero_rss_bound` is this times the number of studies times ``sum w y^2``.
ZERO_RSS_REL = (16 * float(np.finfo(float).eps)) ** 2


def zero_rss_bound(yi: np.ndarray, w: np.ndarray) -> np.ndarray | float:
    """A weighted RSS at or below this is rounding noise (residuals within 16 eps of ``|y|``).

    metafor sets the Knapp-Hartung factor to 0 when the weighted RSS is below
    ``.Machine$double.eps`` in absolute terms, which depends on the data's units; this bound is
    relative, so rescaled data give the same decision. Works along the last axis (batch rows).
    """
    n = np.count_nonzero(w, axis=-1)
    return n * ZERO_RSS_REL * np.sum(w * yi * yi, axis=-1)


def cochran_q(yi: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    """Cochran's Q (QE for a meta-regression): the generalised Q at ``tau2 = 0``, floored at 0."""
    return max(0.0, generalised_q(0.0, yi, vi, X))


def typical_variance(vi: np.ndarray, X: np.ndarray) -> float:
    """The "typical" within-study variance of Higgins & Thompson (2002) as metafor computes it.

    ``vt = (k - p) / tr(P)`` with ``P`` built from the fixed-effect weights ``1/v_i``. For the
    intercept-only model this is ``(k - 1) sum w / ((sum w)^2 - sum w^2)``.
    """
    k, p = X.shape
    w = 1.0 / vi
    qmat, _ = np.linalg.qr(np.sqrt(w)[:, None] * X)
    # tr P = sum w_i (1 - h_i), h_i the leverages: linear cost, no k x k matrix
    return float((k - p) / (w @ (1.0 - np.einsum("ij,ij->i", qmat, qmat))))


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
    crit_u = float(chi2_ppf(1 - alpha / 2, k - p))
    crit_l = float(chi2_ppf(alpha / 2, k - p))
    q0 = generalised_q(0.0, yi, vi, X)
    hi = max(100.0, 10.0 * tau2_hint)
    if q0 < crit_l:
        return 0.0, 0.0, True
    ub = _q_root(yi, vi, X, crit_l, hi, tol)
    if q0 < crit_u:
        return 0.0, ub, True
    lb = _q_root(yi, vi, X, crit_u, hi, tol)
    return lb, ub, False
