"""Inconsistency: the design-by-treatment Q decomposition and node-splitting (back-calculation).

Design decomposition (Krahn, König & Binder 2013, netmeta's ``decomp.design``): the total Q of
the common-effect network model splits into heterogeneity *within* designs (the sum of the Q of a
common-effect fit to the studies of each design, df = sum of (studies - 1) x (arms - 1)) and
inconsistency *between* designs (the remainder, with the remaining df).

Node-splitting by back-calculation (SIDE; Dias et al. 2010, König et al. 2013, netmeta's
``netsplit`` default): for each comparison with direct evidence, ``direct`` is the inverse-variance
pool of every study's contrast of the two treatments (variance + tau^2 under random effects),
``P = V_network / V_direct`` the direct evidence proportion, and the indirect estimate is
``(network - P * direct) / (1 - P)`` with variance ``V_network / (1 - P)``. The difference
direct - indirect is tested with a z test. Comparisons informed only by direct evidence
(``P = 1``) get no indirect estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from inflamed.stats.network.data import Contrasts, check_connected
from inflamed.stats.network.model import (
    NMAResult,
    chi2_pval,
    design_matrix,
    estimate_tau2,
    gls,
    nma,
    study_blocks,
    tau_structure,
    within_design_q,
)

__all__ = ["DesignDecomposition", "NodeSplitResult", "decomp_design", "node_split"]

#: P within this distance of 1 (or 0) counts as only direct (only indirect) evidence, as netmeta.
TOL_DIRECT = 5e-4


@dataclass(frozen=True)
class DesignDecomposition:
    """Q total = Q within designs + Q between designs, each with df and p; one row per design."""

    q_total: float
    df_total: int
    pval_total: float
    q_within: float
    df_within: int
    pval_within: float
    q_between: float
    df_between: int
    pval_between: float
    tau2: float
    designs: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """The three rows total / within designs / between designs with q, df, pval."""
        return pd.DataFrame(
            {
                "part": ["total", "within designs", "between designs"],
                "q": [self.q_total, self.q_within, self.q_between],
                "df": [self.df_total, self.df_within, self.df_between],
                "pval": [self.pval_total, self.pval_within, self.pval_between],
            }
        )


def decomp_design(
    data: Contrasts, *, method: str = "FE", tau2: float | None = None
) -> DesignDecomposition:
    """Design-by-treatment decomposition of Q.

    Parameters
    ----------
    data
        Network contrasts.
    method
        ``"FE"`` (weights from the sampling covariance, netmeta's decomposition), or ``"REML"`` /
        ``"DL"`` to add the network's tau^2 to every weight.
    tau2
        A preset tau^2 to add to the weights (overrides ``method``).
    """
    check_connected(data)
    treatments = data.treatments
    x = design_matrix(data, treatments[1:])
    c = tau_structure(data)
    blocks = study_blocks(data.study)
    if tau2 is None:
        tau2 = (
            0.0
            if method.upper() == "FE"
            else estimate_tau2(data.yi, x, data.cov, c, method=method.upper(), blocks=blocks)
        )
    m = data.cov + tau2 * c
    total = gls(data.yi, x, m, blocks)
    designs = within_design_q(data, m)
    q_w, df_w = float(designs["q"].sum()), int(designs["df"].sum())
    q_b, df_b = total.q - q_w, total.df - df_w
    return DesignDecomposition(
        q_total=total.q,
        df_total=total.df,
        pval_total=chi2_pval(total.q, total.df),
        q_within=q_w,
        df_within=df_w,
        pval_within=chi2_pval(q_w, df_w),
        q_between=q_b,
        df_between=df_b,
        pval_between=chi2_pval(q_b, df_b),
        tau2=float(tau2),
        designs=designs,
    )


@dataclass(frozen=True)
class NodeSplitResult:
    """Direct, indirect and network estimates per comparison with direct evidence."""

    method: str
    tau2: float
    level: float
    table: pd.DataFrame

    def frame(self) -> pd.DataFrame:
        """comparison, treat1, treat2, k_direct, direct, direct_se, indirect, indirect_se,
        network, diff, diff_se, z, pval (plus direct_prop, the direct evidence proportion)."""
        return self.table.copy()


def _study_pair_contrasts(data: Contrasts) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Every study's (estimate, variance) of each pair of its arms, keyed (a, b) with a < b."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    rows: dict[str, list[int]] = {}
    for i, s in enumerate(data.study):
        rows.setdefault(s, []).append(i)
    yi = data.yi.tolist()
    for idx in rows.values():
        # arm effects relative to the study's baseline, and their covariance (baseline: 0)
        arms = [data.treat2[idx[0]]] + [data.treat1[i] for i in idx]
        eff = [0.0] + [yi[i] for i in idx]
        cov = np.zeros((len(arms), len(arms)))
        cov[1:, 1:] = data.cov[np.ix_(idx, idx)]
        cov_l = cov.tolist()
        for p in range(len(arms)):
            for q in range(p + 1, len(arms)):
                a, b, y = arms[p], arms[q], eff[p] - eff[q]
                v = cov_l[p][p] + cov_l[q][q] - 2 * cov_l[p][q]
                if a > b:
                    a, b, y = b, a, -y
                out.setdefault((a, b), []).append((y, v))
    return out


def node_split(
    data: Contrasts,
    *,
    reference: str | None = None,
    method: str = "REML",
    level: float = 95.0,
    fit: NMAResult | None = None,
) -> NodeSplitResult:
    """Split every comparison with direct evidence into direct and indirect (back-calculation).

    Parameters
    ----------
    data
        Network contrasts.
    reference
        If given, comparisons with the reference list it second (as netmeta does); otherwise
        the pair is in alphabetical order.
    method
        ``"FE"``, ``"REML"`` or ``"DL"``: the network model (its tau^2 also widens the direct
        estimates, as in netmeta).
    level
        Not used for the table's tests (z); kept for the interval columns of callers.
    fit
        An already fitted :func:`nma` on the same data and method (saves a refit).
    """
    method = method.upper()
    if fit is None or fit.method != method:
        ref = reference if reference is not None else data.treatments[0]
        fit = nma(data, reference=ref, method=method, level=level)
    tau2 = fit.tau2
    pos = {t: i for i, t in enumerate(fit.treatments)}
    rows = []
    for (a, b), items in sorted(_study_pair_contrasts(data).items()):
        if reference is not None and a == reference:
            a, b = b, a
            items = [(-y, v) for y, v in items]
        w = np.array([1 / (v + tau2) for _, v in items])
        y = np.array([y for y, _ in items])
        direct = float(np.sum(w * y) / np.sum(w))
        v_dir = float(1 / np.sum(w))
        net = float(fit.league_estimate[pos[a], pos[b]])
        v_net = float(fit.league_se[pos[a], pos[b]] ** 2)
        prop = v_net / v_dir
        if abs(prop - 1) < TOL_DIRECT or prop > 1:
            indirect = ind_se = diff = diff_se = zval = pval = float("nan")
        else:
            indirect = (net - prop * direct) / (1 - prop)
            ind_se = float(np.sqrt(v_net / (1 - prop)))
            diff = direct - indirect
            diff_se = float(np.sqrt(v_dir + ind_se**2))
            zval = diff / diff_se
            pval = float(2 * special.ndtr(-abs(zval)))
        rows.append(
            {
                "comparison": f"{a}:{b}",
                "treat1": a,
                "treat2": b,
                "k_direct": len(items),
                "direct": direct,
                "direct_se": float(np.sqrt(v_dir)),
                "indirect": indirect,
                "indirect_se": ind_se,
                "network": net,
                "network_se": float(np.sqrt(v_net)),
                "diff": diff,
                "diff_se": diff_se,
                "z": zval,
                "pval": pval,
                "direct_prop": prop,
            }
        )
    table = pd.DataFrame(rows)
    return NodeSplitResult(method=method, tau2=tau2, level=level, table=table)
