"""Inverse-variance pooling: fixed-effect, random-effects and mixed-effects meta-regression.

:func:`rma` is the Python counterpart of metafor's ``rma.uni()`` (Viechtbauer 2010, J Stat Softw
36(3), doi:10.18637/jss.v036.i03) for the estimators and tests a systematic review needs, and
agrees with metafor 3.8-1 to 1e-6 (iterative) / 1e-10 (closed forms) on the reference fixtures in
``tests/reference/fixtures/pooling_*.json``. Differences in convention between metafor, RevMan and
Cochrane guidance are listed in ``docs/conventions.md``; :mod:`inflamed.stats.presets` names them.

Status: estimators FE/EE, DL, HE, SJ, PM, EB, ML, REML (:mod:`inflamed.stats.tau2`, global
ML/REML maximum); tests z, t, knha, adhoc; prediction intervals; Q, I^2, H^2, Q-profile CI
(:func:`confint_tau2`); moderators with QM and pseudo R^2, redundant ones dropped as metafor
(:mod:`inflamed.stats.moderators`); predictions. Results: :mod:`inflamed.stats.rma_result`. Not
here: user weights, Mantel-Haenszel (:mod:`inflamed.stats.binary`), location-scale models.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import special

from inflamed.stats.errors import InputError
from inflamed.stats.heterogeneity import (
    cochran_q,
    i2_h2,
    i2_h2_higgins_thompson,
    typical_variance,
    zero_rss_bound,
)
from inflamed.stats.moderators import check_inputs, design
from inflamed.stats.options import METHODS, PI_TYPES, TESTS, check_options
from inflamed.stats.options import control as _control
from inflamed.stats.rma_result import PredictResult, RMAResult, confint_tau2, t_crit, z_crit
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
        ``safeguard`` (True: global search of the ML/REML likelihood; False reproduces plain
        metafor Fisher scoring, which may stop at a local maximum and raises
        :class:`~inflamed.errors.ConvergenceError` where it fails), ``tol`` (1e-12: root finders
        stop at ``tol`` x min(vi) + 4 eps tau2, relative to the data's scale), ``threshold``
        (1e-10) / ``maxiter`` (1000) / ``tau2_init`` (plain Fisher scoring; ``tau2_init`` is also
        SJ's start), ``s2w_zero`` (``"adhoc"``: a zero Knapp-Hartung factor is floored at 1;
        ``"metafor"``: kept, a zero-width interval). See
        :data:`inflamed.stats.options.DEFAULT_CONTROL`; unknown keys are refused.
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
        k = 1 (estimate from the single study, tau^2 undefined, Wald z inference);
        knha/adhoc with a fixed-effect model (as metafor); a multimodal ML/REML likelihood
        (``n_local_maxima > 1``); a redundant moderator dropped (as metafor); a zero
        Knapp-Hartung factor (identical studies). Every one is also kept in ``warnings``.

    Notes
    -----
    Weights ``w_i = 1/(v_i + tau2)``; ``beta = (X'WX)^-1 X'Wy``, ``vb = (X'WX)^-1``. Under knha
    and adhoc ``vb`` is multiplied by ``s2w = sum w_i (y_i - x_i beta)^2 / (k - p)`` (Hartung &
    Knapp 2001, doi:10.1002/sim.1009; Sidik & Jonkman 2002, doi:10.1002/sim.1262); adhoc uses
    ``max(1, s2w)`` (Knapp & Hartung 2003, doi:10.1002/sim.1482; Roever et al. 2015,
    doi:10.1186/s12874-015-0091-1). If the weighted RSS is below machine epsilon ``s2w = 0``, as
    in metafor, but "below machine epsilon" is relative to the data and, by default, such an
    ``s2w = 0`` is floored at 1 (``test`` becomes ``adhoc``) with a warning rather than giving a
    silent zero-width interval (``control={"s2w_zero": "metafor"}`` keeps it). QM is
    ``b' vb^-1 b`` over the non-intercept coefficients (divided by m and referred to F(m, k-p)
    under t/knha/adhoc). tau^2 comes from :func:`inflamed.stats.tau2.estimate_tau2` (ML/REML by
    a global search; ``n_local_maxima``); redundant moderators are dropped by
    :func:`inflamed.stats.moderators.design` as metafor drops them. Pseudo R^2 = ``max(0, (tau2_0 - tau2)/tau2_0)``
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
        s2w = 0.0 if rss <= zero_rss_bound(y, w) else rss / (k - p)
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
        crit = z_crit(alpha)
    else:
        pval = 2 * special.stdtr(ddf, -np.abs(zval))
        crit = t_crit(alpha, ddf)
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
