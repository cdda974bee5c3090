"""Trim and fill (Duval & Tweedie 2000): the funnel's missing studies imputed by symmetry.

Status: reproduces metafor 3.8-1 ``trimfill()`` (L0 and R0 estimators, either side) on the
committed fixture ``tests/reference/fixtures/diagnostics_trimfill.json``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from inflamed.stats.errors import InputError
from inflamed.stats.refits import fit_quietly, plain_dict, require_intercept_only

__all__ = ["TrimFillResult", "trim_and_fill"]


@dataclass(frozen=True)
class TrimFillResult:
    """Result of :func:`trim_and_fill`.

    Attributes
    ----------
    estimator, side
        ``"L0"`` or ``"R0"``; the side on which studies were judged missing.
    k0, se_k0, p_k0
        Estimated number of missing studies, its standard error (NaN where the variance formula
        goes negative, as in metafor) and, for R0, the p-value of ``H0: k0 = 0``.
    yi_fill, vi_fill
        The imputed (mirror-image) studies.
    k
        Number of studies in the filled analysis (``k_original + k0``).
    estimate, se, zval, pval, ci_lb, ci_ub, tau2, pi_lb, pi_ub
        The model fitted to the observed plus filled studies.
    original_estimate
        The estimate of the model fitted to the observed studies only.
    iterations
        Iterations of the trim step.
    method, test
    """

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    yi_fill: np.ndarray
    vi_fill: np.ndarray
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    pi_lb: float
    pi_ub: float
    original_estimate: float
    iterations: int
    method: str
    test: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (arrays as lists)."""
        return plain_dict(asdict(self))

    def to_frame(self) -> pd.DataFrame:
        """The filled studies, one row each (``yi``, ``vi``)."""
        return pd.DataFrame(
            {"filled": np.arange(1, self.k0 + 1), "yi": self.yi_fill, "vi": self.vi_fill}
        )


def trim_and_fill(
    yi: Any,
    vi: Any,
    *,
    estimator: Literal["L0", "R0"] = "L0",
    side: Literal["left", "right"] | None = None,
    maxiter: int = 100,
    **rma_kwargs: Any,
) -> TrimFillResult:
    """Duval and Tweedie's trim-and-fill method (metafor's ``trimfill``).

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    estimator
        ``"L0"`` (default) or ``"R0"``.
    side
        Side on which studies are missing. ``None`` (default): chosen from the sign of the
        slope in Egger's regression ``rma(yi, vi, mods = sqrt(vi))`` (negative slope: missing on
        the right, else on the left), as metafor.
    maxiter
        Maximum number of trim iterations.
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` for every fit (``method``, ``test``, ``level``,
        ``control``); ``mods`` is not allowed.

    Returns
    -------
    TrimFillResult

    Raises
    ------
    InputError
        k < 3, unknown options, moderators, bad ``yi``/``vi``.
    ConvergenceError
        If ``k0`` has not settled after ``maxiter`` iterations.

    Notes
    -----
    On the side where studies are missing (effects mirrored when ``side="right"``), the studies
    are sorted by effect size; repeatedly the ``k - k0`` smallest are pooled (with the chosen
    estimator), the deviations ``y - b`` are ranked by absolute value (ties by sorted position)
    and ``k0`` is re-estimated until it stops changing (Duval & Tweedie 2000a, b):

    * ``L0 = (4 S_r - k(k+1)) / (2k - 1)`` with ``S_r`` the sum of the positive signed ranks,
      ``se = 4 sqrt(Var(S_r)) / (2k - 1)``;
    * ``R0 = gamma - 1`` with ``gamma`` the length of the rightmost run of positive ranks,
      ``se = sqrt(2 max(0, R0) + 2)``;

    each rounded and floored at 0. The ``k0`` most extreme studies are mirrored about the trimmed
    estimate (``2 b - y``, same ``v``) and the model is refitted to all ``k + k0`` studies.

    Differences from metafor 3.8-1, on purpose: the filled model uses the caller's ``test``
    (metafor refits it with the default Wald-z test whatever the original model used, but
    returns the original model unchanged when ``k0 = 0``); for R0 with no negative rank
    metafor's ``max()`` of an empty set gives ``k0 = Inf``, here ``gamma = k``.

    References
    ----------
    Duval S, Tweedie R (2000a). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
    doi:10.1111/j.0006-341X.2000.00455.x
    Duval S, Tweedie R (2000b). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. J Am Stat Assoc 95:89-98. doi:10.1080/01621459.2000.10473905
    """
    from inflamed.stats.errors import ConvergenceError

    if estimator not in ("L0", "R0"):
        raise InputError(
            "unknown estimator", column="estimator", value=estimator, expected="L0 or R0"
        )
    if side not in (None, "left", "right"):
        raise InputError("unknown side", column="side", value=side, expected="left or right")
    require_intercept_only(rma_kwargs, "trim and fill")
    original = fit_quietly(yi, vi, **rma_kwargs)
    y0, v0 = original.yi, original.vi
    k = original.k
    if k < 3:
        raise InputError(
            "trim and fill needs at least 3 studies", column="yi", value=k, expected="k >= 3"
        )
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}
    est_kw = {key: val for key, val in kw.items() if key in ("method", "control")}
    if side is None:
        if np.ptp(v0) == 0:
            side = "left"
        else:
            slope = fit_quietly(y0, v0, mods=np.sqrt(v0), test="z", **est_kw).beta[1]
            side = "right" if slope < 0 else "left"
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]

    k0_prev, k0, iterations = -1, 0, 0
    se_k0 = float("nan")
    beta = float("nan")
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > maxiter:
            raise ConvergenceError(f"trim and fill: k0 did not settle in {maxiter} iterations")
        beta = float(fit_quietly(y[: k - k0], v[: k - k0], test="z", **est_kw).beta[0])
        dev = y - beta
        # Ordinal ranks (ties in order of appearance, as R's rank(ties.method = "first")).
        ranks = np.empty(k, dtype=float)
        ranks[np.argsort(np.abs(dev), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(dev) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            gamma = k - (float(np.max(neg)) if neg.size else 0.0)
            k0_raw = gamma - 1.0
            se_raw = math.sqrt(2.0 * max(0.0, k0_raw) + 2.0)
        else:
            sr = float(np.sum(signed[signed > 0]))
            k0_raw = (4.0 * sr - k * (k + 1)) / (2.0 * k - 1.0)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0_raw**3
                + 27 * k0_raw**2
                + 17 * k0_raw
                - 18 * k * k0_raw**2
                - 18 * k * k0_raw
                + 6 * k**2 * k0_raw
            ) / 24.0
            se_raw = 4.0 * math.sqrt(var_sr) / (2.0 * k - 1.0) if var_sr >= 0 else float("nan")
        k0 = max(0, round(k0_raw))  # Python's round(), like R's, rounds half to even
        se_k0 = max(0.0, se_raw) if math.isfinite(se_raw) else float("nan")

    if k0 > 0:
        mirrored = 2.0 * beta - y[k - k0 :]
        yi_fill = -mirrored if side == "right" else mirrored
        vi_fill = v[k - k0 :].copy()
        filled = fit_quietly(np.concatenate([y0, yi_fill]), np.concatenate([v0, vi_fill]), **kw)
    else:
        yi_fill = np.empty(0)
        vi_fill = np.empty(0)
        filled = original
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1.0 - np.sum([math.comb(int(j) + 1, int(j) + 1) * 0.5 ** (j + 2) for j in m]))
    else:
        p_k0 = float("nan")
    return TrimFillResult(
        estimator=estimator,
        side=side,
        k0=int(k0),
        se_k0=se_k0,
        p_k0=p_k0,
        yi_fill=yi_fill,
        vi_fill=vi_fill,
        k=int(filled.k),
        estimate=float(filled.beta[0]),
        se=float(filled.se[0]),
        zval=float(filled.zval[0]),
        pval=float(filled.pval[0]),
        ci_lb=float(filled.ci_lb[0]),
        ci_ub=float(filled.ci_ub[0]),
        tau2=float(filled.tau2),
        pi_lb=float(filled.pi_lb),
        pi_ub=float(filled.pi_ub),
        original_estimate=float(original.beta[0]),
        iterations=iterations,
        method=filled.method,
        test=filled.test,
    )
