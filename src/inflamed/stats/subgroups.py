"""Subgroup analysis and the test for subgroup differences, in the two ways the field does it.

Status: reproduces metafor 3.8-1 on the committed fixtures
``tests/reference/fixtures/diagnostics_subgroups.json`` (separate per-subgroup models with the
Q-between test, and the meta-regression QM test with a common tau^2) to 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.distributions import chi2_sf
from inflamed.stats.errors import InputError
from inflamed.stats.pooling import rma
from inflamed.stats.refits import fit_quietly

__all__ = ["SubgroupResult", "subgroup_analysis"]

_SUB_COLUMNS = (
    "k",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "tau2",
    "i2",
    "h2",
    "q",
    "q_pval",
    "pi_lb",
    "pi_ub",
)


@dataclass(frozen=True)
class SubgroupResult:
    """Result of :func:`subgroup_analysis`.

    Attributes
    ----------
    levels
        Subgroup labels, sorted.
    subgroups
        One row per level: the separate random-effects model fitted within that subgroup
        (``k, estimate, se, zval, pval, ci_lb, ci_ub, tau2, i2, h2, q, q_pval, pi_lb, pi_ub``).
    q_between, q_between_df, q_between_pval
        Test for subgroup differences from the separate models (Cochrane / RevMan): Cochran's Q of
        the subgroup estimates with weights ``1/se_g^2``, chi-square with ``g - 1`` df.
    qm, qm_df, qm_pval
        The meta-regression alternative (metafor's ``rma(yi, vi, mods = ~ factor(group))``):
        omnibus test of the group contrasts under one common tau^2; chi-square with ``g - 1`` df
        under z, F with ``(g - 1, k - g)`` df under t/knha/adhoc tests (``qm_df`` is then a pair).
    tau2_common
        The common (residual) tau^2 of the meta-regression.
    mr_estimates, mr_se
        Per-level estimates and standard errors from the meta-regression (common tau^2).
    method, test
        How the models were fitted.
    """

    levels: tuple[str, ...]
    subgroups: pd.DataFrame = field(repr=False)
    q_between: float
    q_between_df: int
    q_between_pval: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_pval: float
    tau2_common: float
    mr_estimates: np.ndarray
    mr_se: np.ndarray
    method: str
    test: str

    def to_frame(self) -> pd.DataFrame:
        """The per-subgroup table, with the meta-regression estimates alongside."""
        frame = self.subgroups.copy()
        frame["mr_estimate"] = self.mr_estimates
        frame["mr_se"] = self.mr_se
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary: the tests and a list of per-subgroup records."""
        return {
            "levels": list(self.levels),
            "subgroups": self.to_frame().to_dict(orient="records"),
            "test_for_subgroup_differences": {
                "approach": "separate random-effects model per subgroup; Q between subgroups",
                "q": self.q_between,
                "df": self.q_between_df,
                "pval": self.q_between_pval,
            },
            "meta_regression": {
                "approach": "group as categorical moderator; common tau^2; omnibus QM test",
                "qm": self.qm,
                "df": list(self.qm_df),
                "pval": self.qm_pval,
                "tau2": self.tau2_common,
            },
            "method": self.method,
            "test": self.test,
        }


def subgroup_analysis(yi: Any, vi: Any, groups: Any, **rma_kwargs: Any) -> SubgroupResult:
    """Pool within each subgroup and test whether the subgroups differ.

    Parameters
    ----------
    yi, vi
        Effect sizes and sampling variances.
    groups
        Subgroup label of every study (converted to ``str``; missing labels are an error).
    **rma_kwargs
        Passed to :func:`inflamed.stats.pooling.rma` for every fit (``method``, ``test``, ``level``,
        ``pi``, ``i2_def``, ``control``); ``mods`` and ``intercept`` are not allowed.

    Returns
    -------
    SubgroupResult

    Raises
    ------
    InputError
        Fewer than two subgroups, a missing label, a length mismatch, or any input error
        :func:`~inflamed.stats.pooling.rma` raises.

    Notes
    -----
    Two approaches are reported, because the tools differ:

    1. *Separate models* (Cochrane Handbook 10.11.3.1; RevMan; Borenstein et al. 2009 ch. 19
       "separate estimates of tau^2"): a random-effects model within each subgroup, then
       ``Q_between = sum_g w_g (b_g - b_bar)^2`` with ``w_g = 1/se_g^2`` and ``b_bar`` the
       ``w``-weighted mean, against chi-square(g - 1). The ``se_g`` are those of the subgroup
       models (Knapp-Hartung-scaled under ``test="knha"``; RevMan uses Wald-z ones). metafor
       equivalent: ``rma(b_g, sei = se_g, method = "FE")$QE``.
    2. *Meta-regression* (Borenstein et al. 2009 ch. 19 "pooled estimate of tau^2"; metafor
       ``rma(yi, vi, mods = ~ factor(group))``): the QM test of the group dummies under one common
       tau^2.

    A subgroup with a single study gets that study's estimate with Wald-z inference and NaN
    tau^2 (inflamed's k = 1 rule); its ``se`` still enters Q between.

    References
    ----------
    Higgins JPT et al. (eds) (2023). Cochrane Handbook for Systematic Reviews of Interventions,
    version 6.4, section 10.11.3.1. www.training.cochrane.org/handbook
    Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
    Wiley, chapter 19. doi:10.1002/9780470743386
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3). doi:10.18637/jss.v036.i03
    """
    for bad in ("mods", "intercept"):
        if bad in rma_kwargs:
            raise InputError(
                f"'{bad}' cannot be combined with a subgroup analysis",
                column=bad,
                expected="no moderators (the grouping is the moderator)",
            )
    full = rma(yi, vi, **rma_kwargs)  # validates yi / vi with row numbers
    y, v = full.yi, full.vi
    k = full.k
    raw = np.asarray(groups, dtype=object).ravel()
    if raw.size != k:
        raise InputError(
            "groups must have one label per study",
            column="groups",
            value=int(raw.size),
            expected=f"{k} labels",
        )
    labels = []
    for i, g in enumerate(raw):
        if g is None or (isinstance(g, float) and np.isnan(g)) or str(g).strip() == "":
            raise InputError(
                f"element {i} (0-based): subgroup label is missing",
                column="groups",
                expected="a subgroup label for every study",
            )
        labels.append(str(g))
    lab = np.asarray(labels)
    levels = tuple(sorted(set(labels)))
    g = len(levels)
    if g < 2:
        raise InputError(
            "a subgroup analysis needs at least two subgroups",
            column="groups",
            value=g,
            expected=">= 2 distinct labels",
        )
    kw = {key: val for key, val in rma_kwargs.items() if key != "row_offset"}

    rows = []
    for level in levels:
        sel = lab == level
        res = fit_quietly(y[sel], v[sel], **kw)
        rows.append(
            {
                "subgroup": level,
                "k": int(res.k),
                "estimate": float(res.beta[0]),
                "se": float(res.se[0]),
                "zval": float(res.zval[0]),
                "pval": float(res.pval[0]),
                "ci_lb": float(res.ci_lb[0]),
                "ci_ub": float(res.ci_ub[0]),
                "tau2": float(res.tau2),
                "i2": float(res.i2),
                "h2": float(res.h2),
                "q": float(res.q),
                "q_pval": float(res.q_pval),
                "pi_lb": float(res.pi_lb),
                "pi_ub": float(res.pi_ub),
            }
        )
    sub = pd.DataFrame(rows, columns=["subgroup", *_SUB_COLUMNS])
    est = sub["estimate"].to_numpy()
    w = 1.0 / sub["se"].to_numpy() ** 2
    bbar = float(np.sum(w * est) / np.sum(w))
    q_between = float(np.sum(w * (est - bbar) ** 2))
    q_between_pval = float(chi2_sf(q_between, g - 1))

    dummies = (lab[:, None] == np.asarray(levels)[None, :]).astype(float)
    with np.errstate(all="ignore"):
        mr = rma(y, v, mods=dummies[:, 1:], **kw)
        mr0 = rma(y, v, mods=dummies, intercept=False, **kw)
    return SubgroupResult(
        levels=levels,
        subgroups=sub,
        q_between=q_between,
        q_between_df=g - 1,
        q_between_pval=q_between_pval,
        qm=float(mr.qm),
        qm_df=tuple(mr.qm_df),
        qm_pval=float(mr.qm_pval),
        tau2_common=float(mr.tau2),
        mr_estimates=np.asarray(mr0.beta, dtype=float),
        mr_se=np.asarray(mr0.se, dtype=float),
        method=full.method,
        test=full.test,
    )
