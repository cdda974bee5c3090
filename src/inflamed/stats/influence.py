"""Leave-one-out analysis and case-deletion influence diagnostics.

Status: reproduces metafor 3.8-1 ``leave1out()`` and ``influence()`` for ``rma.uni`` models
(intercept-only and, for the influence diagnostics, meta-regression) to 1e-6 on the committed
fixtures ``tests/reference/fixtures/diagnostics_{leave1out,influence}.json``. For models without
moderators the k deletion fits come from sums in linear cost (:mod:`inflamed.stats.subset_sums`,
which shares the batch engine's inference and hands every deletion it cannot certify to
:func:`inflamed.stats.batch.rma_batch`; the test suite checks both against per-model refits to
1e-10); meta-regressions refit :func:`inflamed.stats.pooling.rma` once per study.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.distributions import chi2_cdf
from inflamed.stats.errors import InputError
from inflamed.stats.pooling import rma
from inflamed.stats.refits import (
    MODEL_COLUMNS,
    batchable,
    fit_quietly,
    model_row,
    require_no_moderators,
    study_labels,
)
from inflamed.stats.subset_sums import deletion_fits

__all__ = [
    "InfluenceResult",
    "LeaveOneOutResult",
    "case_deletion",
    "influence_diagnostics",
    "leave_one_out",
]


def _batchable(kw: dict[str, Any], k: int) -> bool:
    # k - 1 = 1 refits follow inflamed's k = 1 rule in rma; keep those on the scalar path.
    return k >= 3 and batchable(kw)


@dataclass(frozen=True)
class LeaveOneOutResult:
    """Result of :func:`leave_one_out`: one intercept-only model per omitted study.

    Attributes
    ----------
    labels
        Label of the omitted study in each row.
    omitted
        0-based position of the omitted study in the input.
    k, estimate, se, zval, pval, ci_lb, ci_ub, q, q_pval, tau2, i2, h2, pi_lb, pi_ub
        The model fitted without that study (``zval`` is a t value under t/knha/adhoc tests).
    method, test
        How every model was fitted.
    """

    labels: tuple[str, ...]
    omitted: np.ndarray
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    q: np.ndarray
    q_pval: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    method: str
    test: str

    def to_frame(self) -> pd.DataFrame:
        """One row per omitted study."""
        cols = {"study": list(self.labels), "omitted": self.omitted}
        cols.update({c: getattr(self, c) for c in MODEL_COLUMNS})
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (arrays as lists)."""
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def leave_one_out(yi: Any, vi: Any, *, labels: Any = None, **rma_kwargs: Any) -> LeaveOneOutResult:
    """Refit the model k times, each time leaving one study out (metafor's ``leave1out``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    labels
        Optional study labels (default ``Study 1`` ... ``Study k``).
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` for every refit (``method``, ``test``, ``level``,
        ``pi``, ``i2_def``, ``control``, ``row_offset``); ``mods`` is not allowed.

    Returns
    -------
    LeaveOneOutResult

    Raises
    ------
    InputError
        k < 2, moderators given, or any input error :func:`~inflamed.stats.pooling.rma` raises.

    Notes
    -----
    Row i is ``rma(yi[-i], vi[-i], **rma_kwargs)``; for k >= 3 the k refits are fitted together
    by :func:`inflamed.stats.batch.rma_batch` (vectorised, in slices of bounded memory). With k = 2 each refit has a single study:
    its tau^2, I^2 and H^2 are NaN (inflamed's k = 1 rule) where metafor reports 0, 0 and 1;
    the estimate and its Wald-z inference agree.

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods 1:112-125. doi:10.1002/jrsm.11
    """
    require_no_moderators(rma_kwargs, "leave-one-out")
    full = rma(yi, vi, **rma_kwargs)  # validates the inputs once, with row numbers
    y, v = full.yi, full.vi
    k = full.k
    if k < 2:
        raise InputError(
            "leave-one-out needs at least 2 studies", column="yi", value=k, expected="k >= 2"
        )
    labs = study_labels(labels, k)
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    if _batchable(kw, k):
        return _loo_result(deletion_fits(y, v, kw, full.tau2), labs, full.method, full.test)
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        rows.append(model_row(fit_quietly(y[keep], v[keep], **kw)))
    frame = pd.DataFrame(rows)
    return LeaveOneOutResult(
        labels=labs,
        omitted=np.arange(k),
        **{c: frame[c].to_numpy() for c in MODEL_COLUMNS},
        method=full.method,
        test=full.test,
    )


@dataclass(frozen=True)
class InfluenceResult:
    """Result of :func:`influence_diagnostics` (metafor's ``influence.rma.uni``).

    Attributes
    ----------
    labels
        Study labels.
    rstudent
        Externally studentised residuals (deleted residual over its standard error).
    dffits
        Change in the fitted value when the study is deleted, in standard-error units.
    cook_d
        Cook's distance.
    cov_r
        Covariance ratio ``det(vb_(-i)) / det(vb)``.
    tau2_del, qe_del
        tau^2 and residual Q of the model without the study.
    hat
        Leverage (diagonal of the hat matrix).
    weight
        Weight of the study in the full model, per cent.
    dfbetas
        ``(k, p)`` array: change in each coefficient, in standard-error units.
    names
        Coefficient names (columns of ``dfbetas``).
    influential
        metafor's flag (printed as ``*``): ``|dffits| > 3 sqrt(p/(k-p))``, or
        ``pchisq(cook_d, p) > 0.5``, or ``hat > 3p/k``, or any ``|dfbetas| > 1``.
    method, test
        How the models were fitted.
    """

    labels: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    names: tuple[str, ...]
    influential: np.ndarray
    method: str
    test: str

    def to_frame(self) -> pd.DataFrame:
        """One row per study; dfbetas as ``dfbetas_<coefficient>`` columns."""
        cols: dict[str, Any] = {"study": list(self.labels)}
        for c in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"):
            cols[c] = getattr(self, c)
        for j, name in enumerate(self.names):
            cols[f"dfbetas_{name}"] = self.dfbetas[:, j]
        cols["influential"] = self.influential
        return pd.DataFrame(cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (arrays as lists)."""
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


def influence_diagnostics(
    yi: Any, vi: Any, *, labels: Any = None, **rma_kwargs: Any
) -> InfluenceResult:
    """Case-deletion diagnostics for a (mixed-effects) meta-analysis model.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    labels
        Optional study labels.
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` (``mods``, ``method``, ``test``, ``control``, ...).

    Returns
    -------
    InfluenceResult

    Raises
    ------
    InputError
        k < 2 or any input error :func:`~inflamed.stats.pooling.rma` raises.

    Notes
    -----
    Follows Viechtbauer & Cheung (2010) as implemented in metafor 3.8-1 ``influence.rma.uni``.
    With ``b``, ``vb`` from the full model and ``b_(-i)``, ``vb_(-i)``, ``tau2_(-i)``, ``s2w_(-i)``
    (the Knapp-Hartung factor, 1 under z/t tests) from the model without study i, and
    ``h_i`` the leverage ``[X (X'WX)^-1 X'W]_ii``, ``W = diag(1/(v + tau2))``:

    * rstudent: ``(y_i - x_i b_(-i)) / sqrt(s2w_(-i) (v_i + tau2_(-i)) + x_i vb_(-i) x_i')``;
    * dffits: ``x_i (b - b_(-i)) / sqrt(s2w_(-i) h_i (v_i + tau2_(-i)))``;
    * Cook's distance: ``(b - b_(-i))' vb^-1 (b - b_(-i))``;
    * cov.r: ``det(vb_(-i)) / det(vb)``;
    * dfbetas: ``(b - b_(-i)) / sqrt(s2w_(-i) diag((X' W_(-i) X)^-1))`` with
      ``W_(-i) = diag(1/(v + tau2_(-i)))`` over all k studies.

    A deletion that leaves the model unidentifiable (k - 1 <= p) gives NaN in that row.

    References
    ----------
    Viechtbauer W, Cheung MWL (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods 1:112-125. doi:10.1002/jrsm.11
    Belsley DA, Kuh E, Welsch RE (1980). Regression diagnostics. Wiley.
    """
    full = rma(yi, vi, **rma_kwargs)
    y, v, x = full.yi, full.vi, np.asarray(full.X, dtype=float)
    k, p = x.shape
    if k < 2:
        raise InputError(
            "influence diagnostics need at least 2 studies", column="yi", value=k, expected="k >= 2"
        )
    labs = study_labels(labels, k)
    plain = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    if rma_kwargs.get("mods") is None and _batchable(plain, k):
        return _influence_result(full, deletion_fits(y, v, plain, full.tau2), labs)
    kw = {key: val for key, val in rma_kwargs.items() if key not in ("mods", "row_offset")}
    kw["intercept"] = False
    beta = np.asarray(full.beta, dtype=float)
    vb = np.asarray(full.vb, dtype=float).reshape(p, p)
    svb = _inverse_or_none(vb)
    if svb is None:
        _warn_singular()
    tau2_full = 0.0 if not math.isfinite(full.tau2) else float(full.tau2)
    w = 1.0 / (v + tau2_full)
    hat = np.einsum("ij,jk,ik->i", x, np.linalg.inv(x.T @ (w[:, None] * x)), x) * w

    nan = np.full(k, np.nan)
    tau2_del, qe_del, delpred, vdelpred, s2w_del = (nan.copy() for _ in range(5))
    dffits, cook_d, cov_r = nan.copy(), nan.copy(), nan.copy()
    dfbetas = np.full((k, p), np.nan)
    pred_full = x @ beta
    for i in range(k):
        keep = np.arange(k) != i
        try:
            res = fit_quietly(y[keep], v[keep], mods=x[keep], **kw)
        except InputError:
            continue
        t2 = 0.0 if not math.isfinite(res.tau2) else float(res.tau2)
        b_del = np.asarray(res.beta, dtype=float)
        vb_del_model = np.asarray(res.vb, dtype=float).reshape(p, p)
        tau2_del[i] = t2
        qe_del[i] = res.q
        s2w_del[i] = res.s2w
        delpred[i] = x[i] @ b_del
        vdelpred[i] = x[i] @ vb_del_model @ x[i]
        vb_del = np.linalg.inv(x.T @ (x / (v + t2)[:, None]))
        dfb = beta - b_del
        if res.s2w > 0:  # s2w = 0 (zero residuals): scaled differences are undefined, NaN
            dffits[i] = (pred_full[i] - delpred[i]) / math.sqrt(res.s2w * hat[i] * (t2 + v[i]))
            dfbetas[i] = dfb / np.sqrt(res.s2w * np.diag(vb_del))
        if svb is not None:
            cook_d[i] = float(dfb @ svb @ dfb)
            cov_r[i] = float(np.linalg.det(vb_del_model) / np.linalg.det(vb))
    return _assemble(
        full,
        labs,
        _Deletions(delpred, vdelpred, tau2_del, qe_del, s2w_del, dffits, cook_d, cov_r, dfbetas),
        hat,
    )


@dataclass(frozen=True)
class _Deletions:
    """Per-study quantities of the models fitted without each study (influence diagnostics)."""

    delpred: np.ndarray
    vdelpred: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    s2w_del: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    dfbetas: np.ndarray


def _assemble(full: Any, labs: tuple[str, ...], d: _Deletions, hat: np.ndarray) -> InfluenceResult:
    """rstudent, metafor's flag and the result object, from the deletion quantities."""
    y, v = full.yi, full.vi
    k, p = d.dfbetas.shape
    resid = y - d.delpred
    resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        rstudent = resid / np.sqrt(v * d.s2w_del + d.vdelpred + d.tau2_del * d.s2w_del)
    with np.errstate(invalid="ignore"):
        flag = (
            (np.abs(d.dffits) > 3.0 * math.sqrt(p / (k - p)) if k > p else np.zeros(k, bool))
            | (chi2_cdf(d.cook_d, df=p) > 0.5)
            | (hat > 3.0 * p / k)
            | np.any(np.abs(d.dfbetas) > 1.0, axis=1)
        )
    return InfluenceResult(
        labels=labs,
        rstudent=rstudent,
        dffits=d.dffits,
        cook_d=d.cook_d,
        cov_r=d.cov_r,
        tau2_del=d.tau2_del,
        qe_del=d.qe_del,
        hat=hat,
        weight=np.asarray(full.weights, dtype=float),
        dfbetas=d.dfbetas,
        names=tuple(full.names),
        influential=np.asarray(flag, dtype=bool),
        method=full.method,
        test=full.test,
    )


def _influence_result(
    full: Any, fits: dict[str, np.ndarray], labs: tuple[str, ...]
) -> InfluenceResult:
    """The influence diagnostics of an intercept-only model from its batch-fitted deletions.

    The same formulas as the per-model loop of :func:`influence_diagnostics` with ``x_i = 1``:
    the deleted prediction is ``b_(-i)``, its variance ``vb_(-i)`` (the refit's squared SE, the
    Knapp-Hartung factor included), and dfbetas uses ``1 / sum_j 1/(v_j + tau2_(-i))`` over all
    k studies.
    """
    v = full.vi
    beta = float(np.asarray(full.beta, dtype=float)[0])
    vb = float(np.asarray(full.vb, dtype=float).reshape(-1)[0])
    tau2_full = 0.0 if not math.isfinite(full.tau2) else float(full.tau2)
    w = 1.0 / (v + tau2_full)
    hat = w / w.sum()
    t2 = np.where(np.isfinite(fits["tau2"]), fits["tau2"], 0.0)
    s2w, b_del = fits["s2w"], fits["estimate"]
    vb_del_model = fits["se"] ** 2
    dfb = beta - b_del
    if not vb > 0:
        _warn_singular()
    nan = np.full(dfb.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):  # s2w = 0 or vb = 0: NaN, no crash
        d = _Deletions(
            delpred=b_del,
            vdelpred=vb_del_model,
            tau2_del=t2,
            qe_del=fits["q"],
            s2w_del=s2w,
            dffits=np.where(s2w > 0, dfb / np.sqrt(s2w * hat * (t2 + v)), nan),
            cook_d=dfb * dfb / vb if vb > 0 else nan,
            cov_r=vb_del_model / vb if vb > 0 else nan,
            dfbetas=np.where(s2w > 0, dfb / np.sqrt(s2w / fits["sum_w_all"]), nan)[:, None],
        )
    return _assemble(full, labs, d, hat)


def _loo_result(
    fits: dict[str, np.ndarray], labs: tuple[str, ...], method: str, test: str
) -> LeaveOneOutResult:
    k = len(labs)
    cols = {c: fits[c] for c in MODEL_COLUMNS}
    return LeaveOneOutResult(labels=labs, omitted=np.arange(k), **cols, method=method, test=test)


def case_deletion(
    yi: Any, vi: Any, *, labels: Any = None, **rma_kwargs: Any
) -> tuple[LeaveOneOutResult, InfluenceResult]:
    """Leave-one-out and influence diagnostics of a model without moderators, from one set of refits.

    Equal to ``(leave_one_out(...), influence_diagnostics(...))`` with the same arguments, but the
    k refits are fitted once (with :func:`inflamed.stats.batch.rma_batch` for k >= 3) instead of
    twice.

    Parameters
    ----------
    yi, vi, labels, **rma_kwargs
        As :func:`leave_one_out`.

    Returns
    -------
    tuple of LeaveOneOutResult and InfluenceResult

    Raises
    ------
    InputError
        As :func:`leave_one_out`.
    """
    require_no_moderators(rma_kwargs, "leave-one-out")
    full = rma(yi, vi, **rma_kwargs)
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    if not _batchable(kw, full.k):
        return (
            leave_one_out(yi, vi, labels=labels, **rma_kwargs),
            influence_diagnostics(yi, vi, labels=labels, **rma_kwargs),
        )
    labs = study_labels(labels, full.k)
    fits = deletion_fits(full.yi, full.vi, kw, full.tau2)
    return (
        _loo_result(fits, labs, full.method, full.test),
        _influence_result(full, fits, labs),
    )


def _warn_singular() -> None:
    warnings.warn(
        "influence diagnostics: the variance matrix of the coefficients is singular (e.g. "
        "identical studies with s2w = 0 under Knapp-Hartung); Cook's distance and cov.r are "
        "NaN (metafor's influence() stops with an error here)",
        UserWarning,
        stacklevel=3,
    )


def _inverse_or_none(a: np.ndarray) -> np.ndarray | None:
    """The inverse of a symmetric matrix, or None when it is singular to working precision."""
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if scale == 0.0 or not np.isfinite(scale) or np.linalg.cond(a) > 1.0 / np.finfo(float).eps:
        return None
    return np.linalg.inv(a)
