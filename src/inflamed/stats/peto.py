"""Peto's one-step odds ratio of 2x2 tables, matching metafor's ``rma.peto()``.

Zero cells and double-zero studies as in :mod:`inflamed.stats.binary` (metafor 3.8's two stages).
Status: agrees with metafor 3.8.1 to 1e-10 relative on ``tests/reference/fixtures/binary_*.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inflamed.stats.effect_sizes import binary_cells, continuity_correct
from inflamed.stats.tables import double_zero, fixed_heterogeneity, pair, prepare_tables, wald

__all__ = ["PetoResult", "rma_peto"]


@dataclass(frozen=True)
class PetoResult:
    """Result of :func:`rma_peto`: the Peto log odds ratio and its heterogeneity statistics.

    ``reason`` as in :class:`inflamed.stats.binary.MHResult` (NaN estimate and heterogeneity when not estimable).
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
        As :func:`inflamed.stats.binary.rma_mh`. ``add``/``to``/``drop00`` matter only through which studies count
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
    :func:`inflamed.stats.binary.rma_mh` (set to 0 and 1 when fewer than two tables have V > 0, as metafor).

    References
    ----------
    Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after
    myocardial infarction. Prog Cardiovasc Dis 27:335-371.
    """
    a, b, c, d, _yi, _vi, k = prepare_tables(
        ai, n1i, ci, n2i, bi, di, add, to, drop00, "OR", row_offset
    )
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
    zval, pval, ci_lb, ci_ub = wald(beta, se, level)
    k_pos = int(np.sum(V > 0))
    pos = V > 0
    q = max(
        0.0, float(np.sum((a[pos] - E[pos]) ** 2 / V[pos]) - np.sum(a - E) ** 2 / np.sum(V[pos]))
    )
    if k_pos > 1:
        q_pval, i2, h2, df = fixed_heterogeneity(q, k_yi)
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
    add1, _ = pair(add, 0.0)
    to1, _ = pair(to, "none")
    drop1, _ = pair(drop00, False)
    a, b, c, d = binary_cells(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, row_offset=row_offset)
    if drop1:
        dz = double_zero(a, b, c, d)
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
