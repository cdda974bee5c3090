"""Three-level meta-analysis: effect sizes nested in studies.

Status: intercept-only model, REML or ML, Wald-z or t inference; agrees with metafor 3.8-1
``rma.mv(yi, vi, random = ~ 1 | study/es_id)`` to 1e-6 on the committed reference datasets
(``tests/reference/fixtures/diagnostics_threelevel.json``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from inflamed.stats.distributions import chi2_sf, norm_ppf, norm_sf, t_ppf, t_sf
from inflamed.stats.errors import InputError
from inflamed.stats.validation import as_float_array, check_positive, check_same_length

__all__ = ["ThreeLevelResult", "rma_three_level"]


@dataclass(frozen=True)
class ThreeLevelResult:
    """Result of :func:`rma_three_level`.

    Attributes
    ----------
    k, n_studies
        Number of effect sizes and of studies (level-3 clusters).
    method, test, level
        Estimator (``"REML"`` or ``"ML"``), inference (``"z"`` or ``"t"``), confidence level (%).
    estimate, se, zval, pval, ci_lb, ci_ub, df
        Pooled estimate with its standard error, test statistic (z or t), p-value and confidence
        interval; ``df`` is ``k - 1`` for ``test="t"`` and ``None`` for ``test="z"``.
    sigma2_study, sigma2_within
        Variance between studies (level 3) and between effect sizes within a study (level 2).
    q, q_df, q_pval
        Cochran's Q of the equal-effects model (sampling variances only) and its chi-square test.
    i2_total, i2_study, i2_within
        Multilevel I^2 (percent): share of total variance due to each variance component.
    typical_v
        The "typical" sampling variance used in the I^2 denominator.
    loglik
        Maximised (restricted) log-likelihood, on metafor's scale.
    converged, n_iter, grad_norm, rel_step
        Whether the optimiser met its tolerance, its iteration count, the norm of the projected
        score at the solution and the last Fisher step relative to the variance scale (what
        ``tol`` bounds).
    """

    k: int
    n_studies: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    df: int | None
    sigma2_study: float
    sigma2_within: float
    q: float
    q_df: int
    q_pval: float
    i2_total: float
    i2_study: float
    i2_within: float
    typical_v: float
    loglik: float
    converged: bool
    n_iter: int
    grad_norm: float
    rel_step: float

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dictionary."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """Return a one-row data frame of the fields."""
        return pd.DataFrame([self.to_dict()])


def _blocks(study: np.ndarray, es_id: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per study: the row indices and the within-study cell structure ``C C'`` (level 2)."""
    _, s_idx = np.unique(study, return_inverse=True)
    out = []
    for j in range(int(s_idx.max()) + 1):
        rows = np.flatnonzero(s_idx == j)
        if es_id is None:
            g2 = np.eye(rows.size)
        else:
            _, c_idx = np.unique(es_id[rows], return_inverse=True)
            g2 = (c_idx[:, None] == c_idx[None, :]).astype(float)
        out.append((rows, g2))
    return out


class _Likelihood:
    """(Restricted) log-likelihood of y ~ N(X b, V), V = blockdiag(diag(v_i) + s3 J + s2 C C').

    Studies are independent blocks, so every quantity is accumulated block by block (no k x k
    matrix is ever formed; the cost is linear in the number of studies).
    """

    def __init__(
        self,
        y: np.ndarray,
        v: np.ndarray,
        x: np.ndarray,
        blocks: list[tuple[np.ndarray, np.ndarray]],
        reml: bool,
    ) -> None:
        self.reml = reml
        self.v = v
        self.k, self.p = x.shape
        # per block: y_i, v_i, X_i, [G3_i, G2_i]
        self.blocks = [(y[r], v[r], x[r], [np.ones((r.size, r.size)), g2]) for r, g2 in blocks]
        self.const = -0.5 * (self.k - (self.p if reml else 0)) * math.log(2 * math.pi)
        if reml:  # metafor adds 1/2 log|X'X| to the REML log-likelihood
            self.const += 0.5 * np.linalg.slogdet(x.T @ x)[1]

    def _inverses(self, theta: np.ndarray) -> tuple[list[np.ndarray], float]:
        vinvs = []
        logdet = 0.0
        for _, vb_, _, gs in self.blocks:
            vmat = np.diag(vb_) + theta[0] * gs[0] + theta[1] * gs[1]
            chol = np.linalg.cholesky(vmat)
            logdet += 2.0 * float(np.sum(np.log(np.diag(chol))))
            inv = np.linalg.inv(vmat)
            vinvs.append(0.5 * (inv + inv.T))
        return vinvs, logdet

    def parts(self, theta: np.ndarray) -> dict[str, Any]:
        """Log-likelihood, GLS estimate, its covariance and per-block working arrays."""
        vinvs, logdet_v = self._inverses(theta)
        us = [vi @ xb for vi, (_, _, xb, _) in zip(vinvs, self.blocks, strict=True)]
        xtvx = sum(xb.T @ u for u, (_, _, xb, _) in zip(us, self.blocks, strict=True))
        xtvy = sum(u.T @ yb for u, (yb, _, _, _) in zip(us, self.blocks, strict=True))
        vb = np.linalg.inv(np.atleast_2d(xtvx))
        beta = vb @ np.atleast_1d(xtvy)
        # P y = V^-1 (y - X beta), block by block
        pys = [vi @ (yb - xb @ beta) for vi, (yb, _, xb, _) in zip(vinvs, self.blocks, strict=True)]
        rss = sum(
            float((yb - xb @ beta) @ py)
            for py, (yb, _, xb, _) in zip(pys, self.blocks, strict=True)
        )
        ll = self.const - 0.5 * logdet_v - 0.5 * rss
        if self.reml:
            ll -= 0.5 * np.linalg.slogdet(np.atleast_2d(xtvx))[1]
        return {"ll": ll, "beta": beta, "vb": vb, "vinvs": vinvs, "us": us, "pys": pys}

    def score_info(self, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, score and expected information at ``theta``.

        With ``B = V^-1`` (block diagonal), ``U = B X`` and ``P = B - U vb U'`` (REML; ML uses
        ``B``): score ``-tr(A G_j)/2 + (Py)' G_j (Py)/2`` and information ``tr(A G_j A G_l)/2``,
        where ``tr(P G_j) = tr(B G_j) - tr(vb N_j)`` and
        ``tr(P G_j P G_l) = tr(B G_j B G_l) - tr(vb M_lj) - tr(vb M_jl) + tr(vb N_j vb N_l)``,
        ``N_j = U' G_j U``, ``M_jl = U' G_j B G_l U``, all sums over blocks.
        """
        pt = self.parts(theta)
        vb = pt["vb"]
        m = 2
        tr_bg = np.zeros(m)
        tr_bgbg = np.zeros((m, m))
        quad = np.zeros(m)
        n_mats = [np.zeros((self.p, self.p)) for _ in range(m)]
        m_mats = [[np.zeros((self.p, self.p)) for _ in range(m)] for _ in range(m)]
        for vinv, u, py, (_, _, _, gs) in zip(
            pt["vinvs"], pt["us"], pt["pys"], self.blocks, strict=True
        ):
            bg = [vinv @ g for g in gs]
            gu = [g @ u for g in gs]
            for j in range(m):
                tr_bg[j] += float(np.trace(bg[j]))
                quad[j] += float(py @ gs[j] @ py)
                n_mats[j] += u.T @ gu[j]
                for l_ in range(m):
                    tr_bgbg[j, l_] += float(np.sum(bg[j] * bg[l_].T))
                    m_mats[j][l_] += gu[j].T @ vinv @ gu[l_]
        score = np.empty(m)
        info = np.empty((m, m))
        for j in range(m):
            tr_a = tr_bg[j] - (float(np.trace(vb @ n_mats[j])) if self.reml else 0.0)
            score[j] = -0.5 * tr_a + 0.5 * quad[j]
            for l_ in range(m):
                t = tr_bgbg[j, l_]
                if self.reml:
                    t -= float(np.trace(vb @ m_mats[l_][j])) + float(np.trace(vb @ m_mats[j][l_]))
                    t += float(np.trace(vb @ n_mats[j] @ vb @ n_mats[l_]))
                info[j, l_] = 0.5 * t
        return pt["ll"], score, info


def _fisher(lik: _Likelihood, theta: np.ndarray, tol: float, maxiter: int) -> tuple[Any, ...]:
    """Safeguarded Fisher scoring on the profiled likelihood from ``theta`` (components >= 0).

    Each step solves the expected-information system on the free components (a component at 0
    whose score points outwards stays there), is projected onto theta >= 0 and halved until the
    log-likelihood does not fall by more than its rounding noise. Converged when the step is below
    ``tol`` times the variance scale ``max(max(theta), mean(v))`` (scale-relative, so it does
    not depend on the units of the effects).
    """
    ll, score, info = lik.score_info(theta)
    rel = np.inf
    for it in range(1, maxiter + 1):
        free = ~((theta <= 0.0) & (score <= 0.0))
        step = np.zeros_like(theta)
        if free.any():
            sub = info[np.ix_(free, free)]
            step[free] = np.linalg.lstsq(sub, score[free], rcond=None)[0]
        scale = max(float(np.max(theta)), float(np.mean(lik.v)))
        rel = float(np.max(np.abs(step))) / scale
        if rel <= tol:
            return theta, True, it, score, rel
        noise = 64 * np.finfo(float).eps * (abs(ll) + lik.k)
        lam = 1.0
        while True:
            cand = np.maximum(theta + lam * step, 0.0)
            ll_c = lik.parts(cand)["ll"]
            if ll_c >= ll - noise or lam < 1e-12:
                break
            lam /= 2.0
        if ll_c < ll - noise:  # no step increases the likelihood: stop where we are
            return theta, False, it, score, rel
        theta = cand
        ll, score, info = lik.score_info(theta)
    return theta, False, maxiter, score, rel


def _fit(lik: _Likelihood, starts: list[np.ndarray], tol: float) -> tuple[Any, ...]:
    """Best of safeguarded Fisher scoring from several starts (the profile may not be concave).

    Returns ``theta, converged, n_iter, grad_norm, rel_step``: ``grad_norm`` is the norm of the
    projected score (components at 0 with an outward score count as 0) at the solution, and
    ``rel_step`` the last Fisher step relative to the variance scale.
    """
    best = None
    n_iter = 0
    for start in starts:
        theta, conv, it, score, rel = _fisher(lik, np.asarray(start, dtype=float), tol, 500)
        n_iter += it
        ll = lik.parts(theta)["ll"]
        if best is None or ll > best[0] + 1e-12 * abs(ll):
            best = (ll, theta, conv, score, rel)
    assert best is not None
    _, theta, conv, score, rel = best
    proj = np.where((theta <= 0.0) & (score <= 0.0), 0.0, score)
    return theta, conv, n_iter, float(np.linalg.norm(proj)), rel


def rma_three_level(
    yi: Any,
    vi: Any,
    study: Any,
    *,
    es_id: Any = None,
    method: Literal["REML", "ML"] = "REML",
    test: Literal["z", "t"] = "z",
    level: float = 95.0,
    tol: float = 1e-9,
) -> ThreeLevelResult:
    """Fit a three-level random-effects model (effect sizes nested in studies).

    Parameters
    ----------
    yi, vi
        Effect sizes and their sampling variances (1-D, same length, ``vi > 0``).
    study
        Study label of each effect size (level-3 cluster).
    es_id
        Optional label of the effect size within its study; rows sharing ``(study, es_id)`` share
        one level-2 effect. Default: every row is its own level-2 unit (metafor's
        ``~ 1 | study/es_id`` with a unique ``es_id`` per row).
    method
        ``"REML"`` (default) or ``"ML"``.
    test
        ``"z"`` (Wald-z, metafor's default) or ``"t"`` (t distribution with ``k - 1`` df,
        metafor's ``test="t"`` with ``dfs="residual"``).
    level
        Confidence level in percent.
    tol
        Convergence tolerance: the last Fisher-scoring step relative to the variance scale
        ``max(sigma2, mean(vi))``. The default 1e-9 is attainable: the log-likelihood and score are
        computed to about 1e-13 relative, and a summation order that depends on the BLAS threads
        moves the step by about 1e-10 relative near the optimum.

    Returns
    -------
    ThreeLevelResult

    Raises
    ------
    InputError
        Fewer than 2 effect sizes, mismatched lengths, missing values or non-positive variances.

    Warns
    -----
    UserWarning
        When the two variance components are not separately identifiable (one effect per
        study, or a single study).
    RuntimeWarning
        When the optimiser does not reach ``tol`` (``converged`` is then ``False``).

    Notes
    -----
    Model: ``y_ij = mu + u_i + w_ij + e_ij`` with ``u_i ~ N(0, sigma2_study)``,
    ``w_ij ~ N(0, sigma2_within)`` and ``e_ij ~ N(0, v_ij)`` (Konstantopoulos 2011; Cheung 2014).
    The fixed effect is profiled out by generalised least squares; the variance components are
    found by maximising the (restricted) log-likelihood over ``sigma2 >= 0`` by safeguarded Fisher
    scoring (expected information; steps projected onto sigma2 >= 0 and halved until the
    likelihood does not fall) from three starting values, keeping the best; components on the
    boundary stay at 0 while their score points outwards. ``converged`` is ``False`` (and a
    ``RuntimeWarning`` is issued) if the final step is not below ``tol`` times the variance scale. metafor
    optimises log(sigma2) with nlminb, so where a component is truly 0 it reports a tiny positive
    value (e.g. 6e-12) where this function reports 0.

    The log-likelihood follows metafor: REML adds ``1/2 log|X'X|`` and uses ``k - p`` in the
    constant. Cochran's Q uses the sampling variances only (equal-effects weights), df ``k - 1``.
    Multilevel I^2 (Cheung 2014, eq. 8-9; metafor FAQ "I^2 for multilevel and multivariate
    models", https://www.metafor-project.org/doku.php/tips:i2_multilevel_multivariate):
    ``I2_j = 100 sigma2_j / (sum(sigma2) + v~)`` with the typical sampling variance
    ``v~ = (k - p) / tr(P)``, ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1/v)``.

    References
    ----------
    Konstantopoulos S (2011). Fixed effects and variance components estimation in three-level
    meta-analysis. Research Synthesis Methods 2:61-76. doi:10.1002/jrsm.35
    Cheung MWL (2014). Modeling dependent effect sizes with three-level meta-analyses: a structural
    equation modeling approach. Psychological Methods 19:211-229. doi:10.1037/a0032968
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3). doi:10.18637/jss.v036.i03
    """
    if method not in ("REML", "ML"):
        raise InputError("unknown estimator", column="method", value=method, expected="REML or ML")
    if test not in ("z", "t"):
        raise InputError("unknown test", column="test", value=test, expected="z or t")
    if not 0.0 < level < 100.0:
        raise InputError(
            "confidence level out of range",
            column="level",
            value=level,
            expected="a percentage between 0 and 100",
        )
    y = as_float_array("yi", yi)
    v = as_float_array("vi", vi)
    s = np.asarray(study, dtype=object).ravel()
    lengths = {"yi": y, "vi": v, "study": s}
    e = None
    if es_id is not None:
        e = np.asarray(es_id, dtype=object).ravel()
        lengths["es_id"] = e
    k = check_same_length(lengths)
    check_positive("vi", v)
    for name, arr in (("study", s), ("es_id", e)):
        if arr is None:
            continue
        for i, val in enumerate(arr):
            if val is None or (isinstance(val, float) and math.isnan(val)) or str(val) == "":
                raise InputError(
                    f"element {i} (0-based): label is missing",
                    column=name,
                    expected="a study / effect-size label",
                )
    if k < 2:
        raise InputError(
            "a three-level model needs at least 2 effect sizes",
            column="yi",
            value=k,
            expected="k >= 2",
        )
    s = s.astype(str)
    blocks = _blocks(s, None if e is None else e.astype(str))
    n_studies = len(blocks)
    n_cells = sum(int(np.linalg.matrix_rank(g2)) for _, g2 in blocks)
    if n_studies == n_cells or n_studies == 1:
        warnings.warn(
            "rma_three_level: "
            + (
                "every study contributes a single effect size"
                if n_studies == n_cells
                else "all effect sizes come from one study"
            )
            + ", so the study-level and within-study variances are not separately identifiable"
            " (only their sum is); use a two-level model",
            UserWarning,
            stacklevel=2,
        )
    x = np.ones((k, 1))
    lik = _Likelihood(y, v, x, blocks, reml=method == "REML")

    # Equal-effects quantities (Q, I^2 denominator).
    w = 1.0 / v
    b_fe = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - b_fe) ** 2))
    q_df = k - 1
    q_pval = float(chi2_sf(q, q_df)) if q_df > 0 else float("nan")
    tr_p = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    typical_v = (k - 1) / tr_p if tr_p > 0 else float("nan")

    # Starting values: a method-of-moments total tau^2 split evenly, and the two extremes.
    tau2_dl = max(0.0, (q - q_df) / tr_p) if tr_p > 0 else 0.0
    base = max(tau2_dl, 0.1 * float(np.mean(v)))
    starts = [
        np.array([base / 2, base / 2]),
        np.array([base, 1e-3 * base]),
        np.array([1e-3 * base, base]),
    ]
    theta, converged, n_iter, grad_norm, rel_step = _fit(lik, starts, tol)
    if not converged:
        warnings.warn(
            f"rma_three_level: optimiser did not reach tolerance {tol} (relative step "
            f"{rel_step:.3g}, score norm {grad_norm:.3g})",
            RuntimeWarning,
            stacklevel=2,
        )
    pt = lik.parts(theta)
    est = float(pt["beta"][0])
    se = float(math.sqrt(pt["vb"][0, 0]))
    zval = est / se
    alpha = 1.0 - level / 100.0
    if test == "t":
        df: int | None = k - 1
        crit = float(t_ppf(1.0 - alpha / 2.0, df))
        pval = float(2.0 * t_sf(abs(zval), df))
    else:
        df = None
        crit = float(norm_ppf(1.0 - alpha / 2.0))
        pval = float(2.0 * norm_sf(abs(zval)))
    total = float(theta.sum()) + typical_v
    return ThreeLevelResult(
        k=k,
        n_studies=n_studies,
        method=method,
        test=test,
        level=float(level),
        estimate=est,
        se=se,
        zval=zval,
        pval=pval,
        ci_lb=est - crit * se,
        ci_ub=est + crit * se,
        df=df,
        sigma2_study=float(theta[0]),
        sigma2_within=float(theta[1]),
        q=q,
        q_df=q_df,
        q_pval=q_pval,
        i2_total=100.0 * float(theta.sum()) / total,
        i2_study=100.0 * float(theta[0]) / total,
        i2_within=100.0 * float(theta[1]) / total,
        typical_v=typical_v,
        loglik=float(pt["ll"]),
        converged=converged,
        n_iter=n_iter,
        grad_norm=grad_norm,
        rel_step=rel_step,
    )
