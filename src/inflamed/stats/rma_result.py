"""Result objects of :func:`inflamed.stats.pooling.rma`: :class:`RMAResult` and :class:`PredictResult`.

The fields are those metafor's ``rma.uni`` returns, plus what inflamed adds for honesty about the
fit (``n_local_maxima``, ``warnings``, dropped moderators).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.distributions import norm_ppf, t_ppf
from inflamed.stats.errors import InputError
from inflamed.stats.heterogeneity import QProfileCI, q_profile_bounds

__all__ = ["PredictResult", "RMAResult", "confint_tau2", "t_crit", "z_crit"]

# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


def z_crit(alpha: float) -> float:
    """Two-sided normal critical value for level 1 - alpha."""
    return float(norm_ppf(1 - alpha / 2))


def t_crit(alpha: float, df: float) -> float:
    """Two-sided t critical value with df degrees of freedom."""
    return float(t_ppf(1 - alpha / 2, df))


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
    n_local_maxima
        ML/REML: number of distinct local maxima of the (restricted) likelihood (more than 1:
        the global one is used and a warning says so); None for other estimators.
    warnings
        Every warning issued while fitting (also issued as ``UserWarning``).
    dropped, all_names
        Redundant moderator columns dropped from the design (as metafor) and the column names
        before dropping.
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
    n_local_maxima: int | None = None
    warnings: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    all_names: tuple[str, ...] = ()

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
            return z_crit(alpha)
        return t_crit(alpha, self.ddf) if self.ddf > 0 else float("nan")

    def _pi_crit(self) -> tuple[float, int | None]:
        alpha = 1 - self.level / 100
        kind = self.pi_type
        if kind == "auto":
            kind = "z" if self.test == "z" else "t"
        if kind == "z":
            return z_crit(alpha), None
        df = self.k - self.p if kind == "t" else self.k - self.p - 1
        if df < 1:
            return float("nan"), df
        return t_crit(alpha, df), df

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
            m_all = len(self.all_names) - (1 if self.intercept else 0)
            if arr.ndim == 0:
                arr = arr.reshape(1, 1)
            elif arr.ndim == 1:
                arr = arr[:, None] if m == 1 else arr[None, :]
            if self.dropped and arr.shape[1] == m_all != m:  # newmods for every moderator given
                given = self.all_names[1:] if self.intercept else self.all_names
                arr = arr[:, [n not in self.dropped for n in given]]
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
            "n_local_maxima": self.n_local_maxima,
            "warnings": list(self.warnings),
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
            out["dropped_moderators"] = list(self.dropped)
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
    return replace(res, level=level)


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
