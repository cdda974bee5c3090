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

Peto's method lives in :mod:`inflamed.stats.peto` (re-exported here) and the shared table handling
in :mod:`inflamed.stats.tables`. An undefined estimate is NaN, with every heterogeneity statistic,
and a ``reason``.

Status: agrees with metafor 3.8.1 to 1e-10 relative on ``tests/reference/fixtures/binary_*.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inflamed.stats.distributions import chi2_sf
from inflamed.stats.errors import InputError
from inflamed.stats.peto import PetoResult, rma_peto
from inflamed.stats.tables import fixed_heterogeneity, prepare_tables, wald

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
    a, b, c, d, yi, vi, k = prepare_tables(
        ai, n1i, ci, n2i, bi, di, add, to, drop00, measure, row_offset
    )
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
                cochran_pval=float(chi2_sf(co, 1)),
                cmh=cmh,
                cmh_pval=float(chi2_sf(cmh, 1)),
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
                    bd_pval=float(chi2_sf(bd, k_pos - 1)),
                    tarone_pval=float(chi2_sf(ta, k_pos - 1)),
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
    elif se == 0:
        # RD with no events in any table (e.g. one trial with 0/30 vs 0/30): the Sato-Greenland-
        # Robins variance is 0. metafor reports the estimate with z = p = NaN (0/0) and a
        # zero-width interval; callers that need an interval use the 0.5 correction (add, to).
        zval = pval = nan
        ci_lb = ci_ub = beta
    else:
        zval, pval, ci_lb, ci_ub = wald(beta, se, level)
    if k_yi > 1:
        q = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
    else:
        q = 0.0
    q_pval, i2, h2, df = fixed_heterogeneity(q, k_yi)
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
