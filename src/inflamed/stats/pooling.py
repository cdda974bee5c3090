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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from inflamed.stats.errors import InputError
from inflamed.stats.heterogeneity import (
    QProfileCI,
    cochran_q,
    i2_h2,
    i2_h2_higgins_thompson,
    q_profile_bounds,
    typical_variance,
)
from inflamed.stats.moderators import check_inputs, design
from inflamed.stats.options import METHODS, PI_TYPES, TESTS, check_options
from inflamed.stats.options import control as _control
from inflamed.stats.tau2 import Tau2Fit, estimate_tau2, loglik

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
    method, level = check_options(method, test, pi, i2_def, level)
    con = _control(control)
    y, v = check_inputs(yi, vi, row_offset)
    k = y.size
    des = design(mods, k, intercept, row_offset)
    notes: list[str] = list(des.warnings)
    for msg in des.warnings:
        warnings.warn(msg, UserWarning, stacklevel=2)
    X, names = des.X, des.names
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
        fit = Tau2Fit(float("nan"), True, 0, "none (k = 1)", float("nan"))
    else:
        if k <= p:
            raise InputError(
                "a meta-regression needs more studies than coefficients",
                value=k,
                expected=f"k > {p}",
            )
        test_eff = test
        fit = estimate_tau2(y, v, X, method, con)
        notes.extend(fit.warnings)

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
        s2w = 0.0 if rss <= _zero_rss(y, w) else rss / (k - p)
        if test_eff == "adhoc":
            s2w = max(1.0, s2w)
        elif s2w == 0.0:
            # every residual is zero (e.g. identical studies): metafor keeps s2w = 0, a
            # zero-width interval with p = 0; the default floors it at 1 (its test="adhoc")
            msg = (
                "Knapp-Hartung scale factor s2w = 0 (the weighted residuals are all zero, e.g. "
                "identical studies): "
                + (
                    "s2w floored at 1 as test='adhoc' (control s2w_zero='adhoc')"
                    if con["s2w_zero"] == "adhoc"
                    else "the interval has zero width, as metafor reports it"
                )
            )
            if con["s2w_zero"] == "adhoc":
                s2w = 1.0
                test_eff = "adhoc"
            notes.append(msg)
            warnings.warn(msg, UserWarning, stacklevel=2)
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
        if _is_intercept_only(X):
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
    ll_ml = loglik(tau2_use, y, v, X, reml=False)
    ll_reml = loglik(tau2_use, y, v, X, reml=True) if k > p else float("nan")

    # pseudo R^2
    r2: float | None = None
    if intercept and p > 1:
        if method == "FE":
            r2 = _wls_adj_r2(y, X, w)
        else:
            with warnings.catch_warnings():  # the intercept-only model is not the one reported
                warnings.simplefilter("ignore", UserWarning)
                tau2_0 = estimate_tau2(y, v, None, method, con).tau2
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
        n_local_maxima=fit.n_local_maxima,
        warnings=tuple(notes),
        dropped=des.dropped,
        all_names=des.all_names,
    )
    if p == 1 and intercept:
        pcrit, pdf = res._pi_crit()
        spi = float(np.sqrt(se[0] ** 2 + tau2_use))
        res = replace(
            res,
            pi_lb=float(beta[0] - pcrit * spi),
            pi_ub=float(beta[0] + pcrit * spi),
            pi_df=pdf,
        )
    return res


def _is_intercept_only(X: np.ndarray) -> bool:
    return X.shape[1] == 1 and bool(np.all(X[:, 0] == 1.0))


def _zero_rss(y: np.ndarray, w: np.ndarray) -> float:
    """A weighted RSS at or below this is rounding noise: residuals within 16 eps of ``|y|``.

    metafor compares with ``.Machine$double.eps`` absolutely, which depends on the data's units;
    this bound is relative, so rescaled data give the same decision.
    """
    return y.size * (16 * np.finfo(float).eps) ** 2 * float(np.sum(w * y * y))


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
