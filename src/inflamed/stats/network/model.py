"""Contrast-based network meta-analysis: common-effect and random-effects (REML or netmeta's MoM).

The model on the basic contrasts ``y`` (each arm of a study against the study's baseline arm) is

    y = X d + delta + e,   e ~ N(0, S),   delta ~ N(0, tau^2 C),

where ``d`` holds the effects of every treatment against the reference, ``X`` has +1 for treat1
and -1 for treat2 (reference column dropped), ``S`` is the block-diagonal sampling covariance, and
``C`` has 1 on the diagonal and 1/2 between two contrasts of the same study (one common tau^2, the
consistency model of Higgins & Whitehead 1996). This is metafor's
``rma.mv(yi, S, mods = X, random = ~ comp | study, rho = 1/2)`` on the same coding, which the
committed fixtures check to 1e-6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from inflamed.stats.errors import ConvergenceError, InputError
from inflamed.stats.network.data import Contrasts, check_connected
from inflamed.stats.network.ranking import check_small_values, pscores

__all__ = [
    "METHODS",
    "GLSFit",
    "NMAResult",
    "chi2_pval",
    "design_matrix",
    "estimate_tau2",
    "gls",
    "inverse",
    "nma",
    "study_blocks",
    "tau_structure",
    "within_design_q",
]

METHODS = ("FE", "REML", "DL")


@dataclass(frozen=True)
class GLSFit:
    """Generalised least squares fit: coefficients, their covariance and the residual Q."""

    beta: np.ndarray
    vcov: np.ndarray
    q: float
    df: int


def design_matrix(data: Contrasts, columns: tuple[str, ...]) -> np.ndarray:
    """Contrast design matrix: +1 in treat1's column, -1 in treat2's (absent columns dropped)."""
    pos = {t: j for j, t in enumerate(columns)}
    x = np.zeros((len(data.yi), len(columns)))
    for i, (t1, t2) in enumerate(zip(data.treat1, data.treat2, strict=True)):
        if t1 in pos:
            x[i, pos[t1]] = 1.0
        if t2 in pos:
            x[i, pos[t2]] = -1.0
    return x


def tau_structure(data: Contrasts) -> np.ndarray:
    """C: 1 on the diagonal, 1/2 between contrasts of the same study, 0 elsewhere."""
    study = np.asarray(data.study, dtype=object)
    same = study[:, None] == study[None, :]
    return np.where(same, 0.5, 0.0) + 0.5 * np.eye(len(study))


Blocks = tuple[np.ndarray, ...]


def study_blocks(study: Sequence[str]) -> Blocks | None:
    """Index arrays of each study's contrasts, grouped by block size (one ``(n, size)`` array per
    size), or ``None`` if a study's contrasts are not contiguous."""
    runs: list[list[int]] = []
    seen: set[str] = set()
    for i, s in enumerate(study):
        if runs and study[i - 1] == s:
            runs[-1].append(i)
            continue
        if s in seen:
            return None
        seen.add(s)
        runs.append([i])
    by_size: dict[int, list[list[int]]] = {}
    for r in runs:
        by_size.setdefault(len(r), []).append(r)
    return tuple(np.array(v, dtype=int) for _, v in sorted(by_size.items()))


def inverse(m: np.ndarray, blocks: Blocks | None = None) -> np.ndarray:
    """Inverse of a covariance matrix, block by block when it is block-diagonal by study."""
    if blocks is None:
        return np.linalg.inv(m)
    out = np.zeros_like(m)
    for idx in blocks:
        if idx.shape[1] == 1:
            j = idx[:, 0]
            out[j, j] = 1.0 / m[j, j]
        else:
            rows, cols = idx[:, :, None], idx[:, None, :]
            out[rows, cols] = np.linalg.inv(m[rows, cols])
    return out


def gls(y: np.ndarray, x: np.ndarray, m: np.ndarray, blocks: Blocks | None = None) -> GLSFit:
    """GLS of ``y`` on ``x`` with covariance ``m``; ``q`` is the weighted residual sum of squares."""
    w = inverse(m, blocks)
    xtw = x.T @ w
    vcov = np.linalg.inv(xtw @ x)
    beta = vcov @ (xtw @ y)
    r = y - x @ beta
    return GLSFit(beta=beta, vcov=vcov, q=float(r @ w @ r), df=len(y) - x.shape[1])


def _projection(x: np.ndarray, m: np.ndarray, blocks: Blocks | None) -> np.ndarray:
    w = inverse(m, blocks)
    wx = w @ x
    return w - wx @ np.linalg.solve(x.T @ wx, wx.T)


def estimate_tau2(
    y: np.ndarray,
    x: np.ndarray,
    s: np.ndarray,
    c: np.ndarray,
    *,
    method: str = "REML",
    blocks: Blocks | None = None,
    tol: float = 1e-13,
    maxiter: int = 500,
) -> float:
    """Common between-study variance tau^2 of the consistency model.

    ``"REML"`` maximises the restricted likelihood by Fisher scoring on tau^2 >= 0;
    ``"DL"`` is netmeta's method of moments (Jackson, White & Riley 2012; Rücker & Schwarzer
    2014): ``max(0, (Q - df) / tr(P C))`` with ``P`` the common-effect projection.
    """
    df = len(y) - x.shape[1]
    if df <= 0:
        return 0.0
    if method == "DL":
        p = _projection(x, s, blocks)
        q = float(y @ p @ y)
        return max(0.0, (q - df) / float(np.sum(p * c.T)))
    if method != "REML":
        raise InputError(
            "unknown tau^2 method", column="method", value=method, expected="FE, REML or DL"
        )
    tau2 = estimate_tau2(y, x, s, c, method="DL", blocks=blocks)
    for _ in range(maxiter):
        p = _projection(x, s + tau2 * c, blocks)
        pc = p @ c
        py = p @ y
        score = 0.5 * float(py @ c @ py) - 0.5 * float(np.trace(pc))
        info = 0.5 * float(np.sum(pc * pc.T))
        new = max(0.0, tau2 + score / info)
        if abs(new - tau2) <= tol * max(1.0, tau2):
            return new
        tau2 = new
    raise ConvergenceError(f"REML tau^2 did not converge in {maxiter} Fisher scoring steps")


def restricted_loglik(
    y: np.ndarray, x: np.ndarray, m: np.ndarray, blocks: Blocks | None = None
) -> float:
    """metafor's REML log-likelihood (including its ``+ log|X'X| / 2`` term)."""
    fit = gls(y, x, m, blocks)
    k, p = x.shape
    return float(
        -0.5 * (k - p) * np.log(2 * np.pi)
        + 0.5 * np.linalg.slogdet(x.T @ x)[1]
        - 0.5 * np.linalg.slogdet(m)[1]
        - 0.5 * np.linalg.slogdet(np.linalg.inv(fit.vcov))[1]
        - 0.5 * fit.q
    )


def within_design_q(data: Contrasts, m: np.ndarray) -> pd.DataFrame:
    """Q within each design (common-effect fit of the studies of one design), with df and p."""
    frame = pd.DataFrame(_design_q(data, m), columns=["design", "k", "q", "df"])
    frame["pval"] = chi2_pval(frame["q"].to_numpy(), frame["df"].to_numpy())
    return frame


def _design_q(data: Contrasts, m: np.ndarray) -> list[tuple[str, int, float, int]]:
    designs = data.designs()
    members: dict[str, list[str]] = {}
    for st, label in designs.items():
        members.setdefault(label, []).append(st)
    rows: dict[str, list[int]] = {}
    for i, st in enumerate(data.study):
        rows.setdefault(designs[st], []).append(i)
    out = []
    for label in sorted(members):
        k = len(members[label])
        q, df = 0.0, 0
        if k > 1:
            idx = np.array(rows[label])
            arms = label.split(":")
            pos = {t: j - 1 for j, t in enumerate(arms)}  # first arm of the label is dropped
            x = np.zeros((len(idx), len(arms) - 1))
            for r, i in enumerate(idx):
                a, b = pos[data.treat1[i]], pos[data.treat2[i]]
                if a >= 0:
                    x[r, a] = 1.0
                if b >= 0:
                    x[r, b] = -1.0
            fit = gls(
                data.yi[idx], x, m[np.ix_(idx, idx)], study_blocks([data.study[i] for i in idx])
            )
            q, df = fit.q, fit.df
        out.append((label, k, q, df))
    return out


def chi2_pval(q: Any, df: Any) -> Any:
    """Upper chi-square tail, NaN where df = 0 (scipy's ufunc: no per-call overhead)."""
    q, df = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
    p = np.where(df > 0, special.chdtrc(np.maximum(df, 1), q), np.nan)
    return float(p) if p.ndim == 0 else p


def _none_if_nan(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class NMAResult:
    """A fitted network meta-analysis (effects of every treatment against ``reference``).

    Arrays ``estimate``, ``se``, ``ci_*``, ``pi_*`` follow ``treatments`` (the reference row is 0);
    ``league_*[i, j]`` is treatment i vs treatment j. ``q*`` are the common-effect Q statistics:
    total, within designs (``q_het``) and between designs (``q_inc``).
    """

    measure: str
    method: str
    reference: str
    treatments: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    pi_lb: np.ndarray
    pi_ub: np.ndarray
    tau2: float
    tau: float
    q: float
    q_df: int
    q_pval: float
    q_het: float
    q_het_df: int
    q_het_pval: float
    q_inc: float
    q_inc_df: int
    q_inc_pval: float
    league_estimate: np.ndarray
    league_se: np.ndarray
    league_lb: np.ndarray
    league_ub: np.ndarray
    pscores: Mapping[str, float]
    small_values: str
    k: int
    n_designs: int
    n_contrasts: int
    level: float
    pi_df: float
    loglik: float
    log: tuple[str, ...] = ()
    data: Contrasts | None = field(default=None, repr=False, compare=False)

    def effects_frame(self) -> pd.DataFrame:
        """treatment, estimate, se, ci_lb, ci_ub, pi_lb, pi_ub against the reference."""
        return pd.DataFrame(
            {
                "treatment": list(self.treatments),
                "estimate": self.estimate,
                "se": self.se,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
                "pi_lb": self.pi_lb,
                "pi_ub": self.pi_ub,
            }
        )

    def league_frame(self) -> pd.DataFrame:
        """Long league table: treat1, treat2, estimate, se, ci_lb, ci_ub (treat1 vs treat2)."""
        rows = []
        for i, a in enumerate(self.treatments):
            for j, b in enumerate(self.treatments):
                if i != j:
                    rows.append(
                        (
                            a,
                            b,
                            self.league_estimate[i, j],
                            self.league_se[i, j],
                            self.league_lb[i, j],
                            self.league_ub[i, j],
                        )
                    )
        return pd.DataFrame(rows, columns=["treat1", "treat2", "estimate", "se", "ci_lb", "ci_ub"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary with the command line's keys (NaN becomes ``None``)."""
        effects = [
            {
                "treatment": t,
                "estimate": float(self.estimate[i]),
                "se": float(self.se[i]),
                "ci_lb": float(self.ci_lb[i]),
                "ci_ub": float(self.ci_ub[i]),
            }
            for i, t in enumerate(self.treatments)
            if t != self.reference
        ]
        prediction = [
            {
                "treatment": t,
                "pi_lb": _none_if_nan(self.pi_lb[i]),
                "pi_ub": _none_if_nan(self.pi_ub[i]),
            }
            for i, t in enumerate(self.treatments)
            if t != self.reference
        ]
        return {
            "measure": self.measure,
            "method": self.method,
            "reference": self.reference,
            "treatments": list(self.treatments),
            "effects": effects,
            "prediction": prediction,
            "tau2": self.tau2,
            "tau": self.tau,
            "q": self.q,
            "q_df": self.q_df,
            "q_pval": _none_if_nan(self.q_pval),
            "q_het": self.q_het,
            "q_het_df": self.q_het_df,
            "q_het_pval": _none_if_nan(self.q_het_pval),
            "q_inc": self.q_inc,
            "q_inc_df": self.q_inc_df,
            "q_inc_pval": _none_if_nan(self.q_inc_pval),
            "pscores": dict(self.pscores),
            "small_values": self.small_values,
            "k": self.k,
            "n_designs": self.n_designs,
            "n_contrasts": self.n_contrasts,
            "level": self.level,
            "league": self.league_frame().to_dict(orient="records"),
        }


def nma(
    data: Contrasts,
    *,
    reference: str,
    method: str = "REML",
    level: float = 95.0,
    small_values: str = "good",
) -> NMAResult:
    """Fit a contrast-based network meta-analysis.

    Parameters
    ----------
    data
        From :func:`pairwise` or :func:`contrasts`.
    reference
        Treatment the effects are expressed against.
    method
        ``"FE"`` (common effect), ``"REML"`` (random effects, REML tau^2) or ``"DL"`` (random
        effects, netmeta's method-of-moments tau^2).
    level
        Confidence level in percent (z intervals).
    small_values
        ``"good"`` if a low estimate favours treat1 (e.g. a log OR of an adverse outcome).

    Returns
    -------
    NMAResult

    Notes
    -----
    Prediction intervals (random effects) use ``t`` with ``df = Q_df - 1`` (netmeta:
    ``k_contrasts - (T - 1) - 1``) and ``se^2 + tau^2``, only when ``Q_df >= 2``; under the
    common-effect model they equal the confidence intervals (metafor's ``predict``).
    """
    method = str(method).upper()
    if method not in METHODS:
        raise InputError(
            "unknown method", column="method", value=method, expected=", ".join(METHODS)
        )
    check_small_values(small_values)
    if len(data.yi) == 0:
        raise InputError("no contrasts to analyse", column="study", expected="at least one study")
    treatments = data.treatments
    if reference not in treatments:
        raise InputError(
            "unknown reference treatment",
            column="reference",
            value=reference,
            expected="one of the network's treatments: " + ", ".join(treatments),
        )
    check_connected(data)
    others = tuple(t for t in treatments if t != reference)
    x = design_matrix(data, others)
    c = tau_structure(data)
    s = data.cov
    blocks = study_blocks(data.study)
    common = gls(data.yi, x, s, blocks)
    tau2 = 0.0 if method == "FE" else estimate_tau2(data.yi, x, s, c, method=method, blocks=blocks)
    m = s + tau2 * c
    fit = common if method == "FE" else gls(data.yi, x, m, blocks)

    # effects of all treatments vs reference (reference row/column zero)
    t_count = len(treatments)
    ref = treatments.index(reference)
    keep = [i for i in range(t_count) if i != ref]
    est = np.zeros(t_count)
    est[keep] = fit.beta
    vc = np.zeros((t_count, t_count))
    vc[np.ix_(keep, keep)] = fit.vcov
    se = np.sqrt(np.diag(vc))
    z = float(special.ndtri(0.5 + level / 200))
    league = est[:, None] - est[None, :]
    league_var = np.diag(vc)[:, None] + np.diag(vc)[None, :] - 2 * vc
    league_se = np.sqrt(np.clip(league_var, 0, None))

    df_q = common.df
    if method == "FE":
        pi_df, pi_half = float("inf"), z * se
    elif df_q >= 2:
        pi_df = float(df_q - 1)
        pi_half = float(special.stdtrit(pi_df, 0.5 + level / 200)) * np.sqrt(se**2 + tau2)
    else:
        pi_df, pi_half = float("nan"), np.full(t_count, np.nan)
    pi_lb, pi_ub = est - pi_half, est + pi_half
    pi_lb[ref] = pi_ub[ref] = 0.0

    within = _design_q(data, s)
    q_het, q_het_df = float(sum(r[2] for r in within)), int(sum(r[3] for r in within))
    q_inc, q_inc_df = common.q - q_het, df_q - q_het_df
    ps = pscores(league, league_se, small_values=small_values, treatments=treatments)
    log = list(data.log)
    if method != "FE":
        log.append(
            f"tau^2 = {tau2:.6g} ({method}), common to all comparisons, correlation 1/2 "
            f"between contrasts of a multi-arm study."
        )
    return NMAResult(
        measure=data.measure,
        method=method,
        reference=reference,
        treatments=treatments,
        estimate=est,
        se=se,
        ci_lb=est - z * se,
        ci_ub=est + z * se,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        tau2=float(tau2),
        tau=float(np.sqrt(tau2)),
        q=common.q,
        q_df=df_q,
        q_pval=chi2_pval(common.q, df_q),
        q_het=q_het,
        q_het_df=q_het_df,
        q_het_pval=chi2_pval(q_het, q_het_df),
        q_inc=q_inc,
        q_inc_df=q_inc_df,
        q_inc_pval=chi2_pval(q_inc, q_inc_df),
        league_estimate=league,
        league_se=league_se,
        league_lb=league - z * league_se,
        league_ub=league + z * league_se,
        pscores=ps,
        small_values=small_values,
        k=len(data.studies),
        n_designs=len(within),
        n_contrasts=len(data.yi),
        level=level,
        pi_df=pi_df,
        loglik=restricted_loglik(data.yi, x, m, blocks) if method == "REML" else float("nan"),
        log=tuple(log),
        data=data,
    )
