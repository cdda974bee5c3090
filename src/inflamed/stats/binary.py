"""Mantel-Haenszel and Peto pooling of 2x2 tables, matching metafor's ``rma.mh()`` and ``rma.peto()``.

Arm 1 (``ai``, ``n1i``) is treatment, arm 2 (``ci``, ``n2i``) control; estimates for RR and OR
are on the log scale (exponentiate for display), RR > 1 means more events on treatment.

Zero cells and double-zero studies follow metafor 3.8 exactly, because two different sets of
2x2 tables are in play:

* the **pooled estimate** (and for OR the CMH, Breslow-Day and Tarone tests) uses the raw tables:
  ``add``/``to``/``drop00`` second elements default to ``0``/``"none"``/``False``, so no
  correction is applied and double-zero studies stay in (they contribute nothing to the MH
  sums of RR and OR, but they do enter the RD weights);
* the **heterogeneity statistics** (Q, I^2, H^2) use the study-level effects from
  :func:`inflamed.stats.effect_sizes.escalc` with the first elements (default ``add = 0.5`` to tables
  with a zero cell, double-zero studies dropped), so Q's degrees of freedom are
  ``k_yi - 1`` where ``k_yi`` counts studies with a computable effect.

Pass a pair, e.g. ``add=(0.5, 0.5)``, to set both, as in metafor; a single value sets only the
first (escalc) element, also as in metafor.

Status: agrees with metafor 3.8.1 to 1e-10 relative on ``tests/reference/fixtures/binary_*.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from inflamed.stats.effect_sizes import binary_cells, continuity_correct, escalc
from inflamed.stats.errors import InputError

__all__ = ["MHResult", "PetoResult", "rma_mh", "rma_peto"]


@dataclass(frozen=True)
class MHResult:
    """Result of :func:`rma_mh`.

    ``estimate`` is log RR / log OR / RD; ``k`` counts the tables used for the estimate and
    ``k_yi`` those with a study-level effect (used for Q). ``cmh``/``cmh_pval`` (OR only):
    Cochran-Mantel-Haenszel test (with continuity correction if ``correct``); ``cochran``:
    Cochran's version (denominators N rather than N - 1); ``bd``: Breslow-Day statistic;
    ``tarone``: Tarone's corrected Breslow-Day test, both with ``k_pos - 1`` df.
    NaN where metafor reports NA. ``tau2`` is always 0 (a fixed-effect method, as metafor's
    ``rma.mh`` stores it), so a caller that reports random-effects fields can use it directly.
    ``reason`` says in words why the estimate is not estimable (None when it is); then the
    estimate and every heterogeneity statistic are NaN, never 0 or 1 in place of a missing value.
    """

    measure: str
    k: int
    k_yi: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    cmh: float = np.nan
    cmh_pval: float = np.nan
    cochran: float = np.nan
    cochran_pval: float = np.nan
    bd: float = np.nan
    bd_pval: float = np.nan
    tarone: float = np.nan
    tarone_pval: float = np.nan
    k_pos: int | None = None
    level: float = 95.0
    tau2: float = 0.0
    method: str = "MH"
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (keys k, estimate, se, ci_lb, ci_ub, zval, pval, q, q_df, q_pval, i2, h2,
        measure, method, ...)."""
        return asdict(self)


@dataclass(frozen=True)
class PetoResult:
    """Result of :func:`rma_peto`: the Peto log odds ratio and its heterogeneity statistics.

    ``reason`` as in :class:`MHResult` (NaN estimate and heterogeneity when not estimable).
    """

    measure: str
    k: int
    k_yi: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    k_pos: int
    level: float = 95.0
    tau2: float = 0.0
    method: str = "PETO"
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with the same core keys as :meth:`MHResult.to_dict`."""
        return asdict(self)


def _pair(value: Any, second: Any) -> tuple[Any, Any]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise InputError("give one or two values", value=value, expected="a scalar or a pair")
        return value[0], value[1]
    return value, second


def _double_zero(ai: np.ndarray, bi: np.ndarray, ci: np.ndarray, di: np.ndarray) -> np.ndarray:
    return ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))


def _prepare(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    bi: Any,
    di: Any,
    add: Any,
    to: Any,
    drop00: Any,
    measure: str,
    row_offset: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    add1, add2 = _pair(add, 0.0)
    to1, to2 = _pair(to, "none")
    drop1, drop2 = _pair(drop00, False)
    a, b, c, d = binary_cells(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, row_offset=row_offset)
    if a.shape[0] == 0:
        raise InputError("no studies to pool (k = 0)", column="ai", expected="at least one study")
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, add=float(add1), to=to1, drop00=bool(drop1))
    keep_yi = ~(np.isnan(es.yi) | np.isnan(es.vi))
    yi, vi = es.yi[keep_yi], es.vi[keep_yi]
    if drop2:
        keep = ~_double_zero(a, b, c, d)
        a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    if a.shape[0] == 0:
        raise InputError(
            "no studies left to pool after dropping double-zero studies",
            column="ai",
            expected="at least one study with events",
        )
    (a, b, c, d), _ = continuity_correct((a, b, c, d), float(add2), to2)
    return a, b, c, d, yi, vi, int(a.shape[0])


def _heterogeneity(q: float, k_yi: int) -> tuple[float, float, float, int]:
    if k_yi > 1:
        df = k_yi - 1
        q_pval = float(stats.chi2.sf(q, df))
        # metafor: max(0, 100 (Q - df) / Q), which is 0 when Q = 0 (the ratio is -Inf)
        i2 = max(0.0, 100 * (q - df) / q) if q > 0 else 0.0
        h2 = q / df
        return q_pval, i2, h2, df
    return 1.0, 0.0, 1.0, 0


def _wald(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    crit = stats.norm.isf((1 - level / 100) / 2)
    zval = beta / se
    pval = 2 * stats.norm.sf(abs(zval))
    return zval, float(pval), beta - crit * se, beta + crit * se


def rma_mh(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    measure: str = "OR",
    *,
    bi: Any = None,
    di: Any = None,
    level: float = 95.0,
    correct: bool = True,
    add: Any = 0.5,
    to: Any = "only0",
    drop00: Any = True,
    row_offset: int | None = None,
) -> MHResult:
    """Mantel-Haenszel fixed-effect pooling of 2x2 tables (metafor ``rma.mh``).

    Parameters
    ----------
    ai, n1i, ci, n2i
        Events and participants in arm 1 (treatment) and arm 2 (control). ``n1i``/``n2i`` may be
        ``None`` if ``bi``/``di`` (non-events) are given.
    measure
        ``"OR"`` (default, as metafor), ``"RR"`` or ``"RD"``.
    level
        Confidence level in percent.
    correct
        Continuity correction (0.5) in the CMH test (OR only).
    add, to, drop00
        Zero-cell handling; a scalar sets the first element (study-level effects used for Q),
        a pair sets both; see the module docstring. Defaults as metafor: ``add = (0.5, 0)``,
        ``to = ("only0", "none")``, ``drop00 = (True, False)``.
    row_offset
        Spreadsheet-row offset for error messages.

    Returns
    -------
    MHResult

    Notes
    -----
    Method. OR: Mantel & Haenszel (1959) estimator sum(a d / N) / sum(b c / N) with the
    Robins-Breslow-Greenland (1986) variance; CMH test (Mantel-Haenszel 1959) and Tarone's
    (1985) correction of the Breslow-Day test. RR: Greenland & Robins (1985) estimator and
    variance. RD: Greenland & Robins (1985) estimator with the Sato, Greenland & Robins (1989)
    variance. Q = sum w_i (y_i - estimate)^2 with inverse-variance weights of the study-level
    effects; I^2 = max(0, (Q - df)/Q) x 100 %; H^2 = Q/df (metafor's fixed-effect definitions).
    If the MH sums are zero (no events at all, or none in one arm for RR) the estimate is NaN,
    as metafor's NA.

    References
    ----------
    Viechtbauer W (2010). J Stat Softw 36(3); metafor 3.8 ``rma.mh`` documentation.
    """
    measure = str(measure).upper()
    if measure not in ("OR", "RR", "RD"):
        raise InputError(
            "unknown measure for Mantel-Haenszel",
            column="measure",
            value=measure,
            expected="OR, RR or RD",
        )
    a, b, c, d, yi, vi, k = _prepare(ai, n1i, ci, n2i, bi, di, add, to, drop00, measure, row_offset)
    reason: str | None = None
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    k_yi = int(yi.shape[0])
    extra: dict[str, Any] = {}
    nan = float("nan")
    if measure == "OR":
        P = a / N + d / N
        Q_ = b / N + c / N
        R_i = (a / N) * d
        S_i = (b / N) * c
        R, S = R_i.sum(), S_i.sum()
        if R == 0 or S == 0:
            beta = se = nan
            beta_exp = nan
            reason = _or_reason(a, b, c, d)
        else:
            beta_exp = R / S
            beta = float(np.log(beta_exp))
            se = float(
                np.sqrt(
                    0.5
                    * (
                        np.sum(P * R_i) / R**2
                        + np.sum(P * S_i + Q_ * R_i) / (R * S)
                        + np.sum(Q_ * S_i) / S**2
                    )
                )
            )
        xt = a + c
        yt = b + d
        if xt.sum() == 0 or yt.sum() == 0:
            pass
        else:
            cc = 0.5 if correct else 0.0
            num = (abs(np.sum(a - (n1 / N) * xt)) - cc) ** 2
            co = float(num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / N))))
            cmh = float(num / np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1)))))
            extra.update(
                cochran=co,
                cochran_pval=float(stats.chi2.sf(co, 1)),
                cmh=cmh,
                cmh_pval=float(stats.chi2.sf(cmh, 1)),
            )
        if np.isnan(beta):
            extra["k_pos"] = 0
        else:
            if beta_exp == 1:
                n11 = (n1 / N) * xt
            else:
                A = beta_exp * (n1 + xt) + (n2 - xt)
                B = np.sqrt(A**2 - 4 * n1 * xt * beta_exp * (beta_exp - 1))
                n11 = (A - B) / (2 * (beta_exp - 1))
            pos = (n11 > 0) & (xt > 0) & (yt > 0)
            k_pos = int(pos.sum())
            n11 = n11[pos]
            n12 = n1[pos] - n11
            n21 = xt[pos] - n11
            n22 = n11 - n1[pos] - xt[pos] + N[pos]
            inv = 1 / (1 / n11 + 1 / n12 + 1 / n21 + 1 / n22)
            dev = a[pos] - n11
            bd = max(0.0, float(np.sum(dev**2 / inv)))
            ta = max(0.0, bd - float(np.sum(dev) ** 2 / np.sum(inv)))
            extra.update(bd=bd, tarone=ta, k_pos=k_pos)
            if k_pos > 1:
                extra.update(
                    bd_pval=float(stats.chi2.sf(bd, k_pos - 1)),
                    tarone_pval=float(stats.chi2.sf(ta, k_pos - 1)),
                )
    elif measure == "RR":
        R = np.sum(a * (n2 / N))
        S = np.sum(c * (n1 / N))
        if a.sum() == 0 or c.sum() == 0:
            beta = se = nan
            arm = "treatment" if a.sum() == 0 else "control"
            reason = f"no events in the {arm} arm of any study: the MH risk ratio is undefined"
        else:
            beta = float(np.log(R / S))
            se = float(np.sqrt(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c) / (R * S)))
    else:
        W = np.sum(n1 * (n2 / N))
        beta = float(np.sum(a * (n2 / N) - c * (n1 / N)) / W)
        se = float(
            np.sqrt(
                (
                    beta
                    * np.sum(
                        c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2
                    )
                    + np.sum(a * (n2 - c) / N + c * (n1 - a) / N) / 2
                )
                / W**2
            )
        )
    if not np.isfinite(beta) or not np.isfinite(se):
        reason = reason or "the Mantel-Haenszel estimate or its variance is undefined"
        beta = se = zval = pval = ci_lb = ci_ub = nan
    else:
        zval, pval, ci_lb, ci_ub = _wald(beta, se, level)
    if k_yi > 1:
        q = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
    else:
        q = 0.0
    q_pval, i2, h2, df = _heterogeneity(q, k_yi)
    if reason is not None:  # max(0, NaN) above would read 0: Q is not estimable either
        q = q_pval = i2 = h2 = nan
    return MHResult(
        measure=measure,
        k=k,
        k_yi=k_yi,
        estimate=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        q=q,
        q_df=df,
        q_pval=q_pval,
        i2=i2,
        h2=h2,
        level=level,
        reason=reason,
        **extra,
    )


def rma_peto(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    *,
    bi: Any = None,
    di: Any = None,
    level: float = 95.0,
    add: Any = 0.5,
    to: Any = "only0",
    drop00: Any = True,
    row_offset: int | None = None,
) -> PetoResult:
    """Peto's one-step log odds ratio (metafor ``rma.peto``).

    Parameters
    ----------
    ai, n1i, ci, n2i, bi, di, level, add, to, drop00, row_offset
        As :func:`rma_mh`. ``add``/``to``/``drop00`` matter only through which studies count
        towards ``k_yi`` (Q's degrees of freedom) and, with a second element, a correction of the
        tables themselves.

    Returns
    -------
    PetoResult

    Notes
    -----
    With O_i = a_i, E_i = (a_i + c_i) n1_i / N_i and hypergeometric variance
    V_i = (a_i + c_i)(b_i + d_i) n1_i n2_i / (N_i^2 (N_i - 1)), the estimate is
    sum(O - E) / sum(V) with SE 1 / sqrt(sum V) (Yusuf et al. 1985). Q = sum (O - E)^2 / V -
    (sum(O - E))^2 / sum V over tables with V > 0, with k_yi - 1 df; I^2 and H^2 as in
    :func:`rma_mh` (set to 0 and 1 when fewer than two tables have V > 0, as metafor).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after
    myocardial infarction. Prog Cardiovasc Dis 27:335-371.
    """
    a, b, c, d, _yi, _vi, k = _prepare(ai, n1i, ci, n2i, bi, di, add, to, drop00, "OR", row_offset)
    # k_yi: studies with a computable Peto effect (escalc "PETO" with the first-stage
    # correction); we recompute it here rather than use the OR effects.
    k_yi = _peto_k_yi(ai, n1i, ci, n2i, bi, di, add, to, drop00, row_offset)
    n1 = a + b
    n2 = c + d
    N = n1 + n2
    xt = a + c
    yt = b + d
    E = xt * n1 / N
    V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    sum_v = float(np.sum(V))
    if sum_v == 0:
        nan = float("nan")
        return PetoResult(
            measure="PETO", k=k, k_yi=k_yi, estimate=nan, se=nan, zval=nan, pval=nan,
            ci_lb=nan, ci_ub=nan, q=nan, q_df=max(k_yi - 1, 0), q_pval=nan, i2=nan, h2=nan,
            k_pos=0, level=level,
            reason="no table has both events and non-events (every hypergeometric variance is "
            "0): Peto's odds ratio is undefined (metafor stops with an error here)",
        )  # fmt: skip
    beta = float(np.sum(a - E) / sum_v)
    se = float(np.sqrt(1 / sum_v))
    zval, pval, ci_lb, ci_ub = _wald(beta, se, level)
    k_pos = int(np.sum(V > 0))
    pos = V > 0
    q = max(
        0.0, float(np.sum((a[pos] - E[pos]) ** 2 / V[pos]) - np.sum(a - E) ** 2 / np.sum(V[pos]))
    )
    if k_pos > 1:
        q_pval, i2, h2, df = _heterogeneity(q, k_yi)
    else:
        q_pval, i2, h2, df = 1.0, 0.0, 1.0, max(k_yi - 1, 0)
    return PetoResult(
        measure="PETO",
        k=k,
        k_yi=k_yi,
        estimate=beta,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        q=q,
        q_df=df,
        q_pval=q_pval,
        i2=i2,
        h2=h2,
        k_pos=k_pos,
        level=level,
    )


def _or_reason(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> str:
    """Why the MH odds ratio is undefined (a sum of a d / N or of b c / N is zero)."""
    if not (a + c).any():
        return "no events in any study: the MH odds ratio is undefined"
    if not (b + d).any():
        return "every participant had the event: the MH odds ratio is undefined"
    if not a.any() or not d.any():
        return (
            "no study has events in the treatment arm and non-events in the control arm "
            "(sum a d / N = 0): the MH odds ratio is undefined"
        )
    return (
        "no study has non-events in the treatment arm and events in the control arm "
        "(sum b c / N = 0): the MH odds ratio is undefined"
    )


def _peto_k_yi(
    ai: Any,
    n1i: Any,
    ci: Any,
    n2i: Any,
    bi: Any,
    di: Any,
    add: Any,
    to: Any,
    drop00: Any,
    row_offset: int | None,
) -> int:
    add1, _ = _pair(add, 0.0)
    to1, _ = _pair(to, "none")
    drop1, _ = _pair(drop00, False)
    a, b, c, d = binary_cells(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, row_offset=row_offset)
    if drop1:
        dz = _double_zero(a, b, c, d)
        a, b, c, d = (np.where(dz, np.nan, x) for x in (a, b, c, d))
    (a, b, c, d), _ = continuity_correct((a, b, c, d), float(add1), to1)
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    with np.errstate(invalid="ignore", divide="ignore"):
        V = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
        yi = (a - xt * n1 / N) / V
        vi = 1 / V
    # as metafor: a study counts unless its effect or variance is NA/NaN (Inf counts)
    return int(np.sum(~np.isnan(yi) & ~np.isnan(vi)))
