"""Who benefits: treatment effect as a function of inflammation (CRP), from the effects table.

Two kinds of evidence are kept apart, because they answer different questions:

* **within-trial** interactions: a trial that reports its effect separately in a high- and a
  low-CRP stratum gives ``d = y_high - y_low`` with ``var(d) = v_high + v_low`` (the strata are
  independent patients). These compare like with like (same drug, protocol, rater) and are the
  better evidence that CRP modifies the effect.
* **between-trial** meta-regression of the whole-trial effect on the trial's CRP cut-off, its
  baseline CRP or the drug's mechanism class (mixed-effects, REML, Knapp-Hartung). Associations
  across trials are open to ecological bias (aggregation bias; trial-level confounding, e.g. the
  cytokine-inhibitor trials are also the ones that enrich for high CRP).

Sign convention: positive ``yi`` favours treatment (docs/architecture.md), so a positive
interaction means a larger benefit in the high-CRP stratum.

Status: small-k honest. Where the data cannot support a model (k = 0, 1, too few distinct
moderator values) the result says "not estimable" with the reason instead of a number.

References: Berlin et al. 2002, Stat Med 21:371 (individual- vs group-level moderators);
Fisher et al. 2017, BMJ 356:j573 (within-trial interactions, "deft" approach);
Knapp & Hartung 2003, Stat Med 22:2693.

Length (over 500 lines): the within-trial, between-trial and by-class analyses share the input
checks and one path to the pooling engine, and the stage reads them as one result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError

CRP_MODERATORS = ("crp_cutoff_mg_l", "baseline_crp_mg_l")
MODERATORS = (*CRP_MODERATORS, "mechanism_class")
MECHANISM_CLASSES = ("cytokine_inhibitor", "nsaid_cox2", "minocycline", "other")
REQUIRED = ("study_id", "subgroup", "outcome", "measure", "yi", "vi")


def _rma(*args: Any, **kwargs: Any) -> Any:
    from inflamed.stats.pooling import rma  # the project's single meta-analysis engine

    return rma(*args, **kwargs)


def _check(effects: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in effects.columns]
    if missing:
        raise InputError(
            "effects table lacks column(s)", value=missing, expected=", ".join(REQUIRED)
        )
    out = effects.copy()
    if "contrast" not in out.columns:
        out["contrast"] = ""
    out["contrast"] = out["contrast"].fillna("")
    for col in ("yi", "vi"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out[np.isfinite(out["yi"]) & np.isfinite(out["vi"]) & (out["vi"] > 0)]


@dataclass(frozen=True)
class Estimate:
    """A pooled estimate, or the reason there is none."""

    status: str  # "estimated" | "not estimable"
    reason: str
    k: int
    estimate: float | None = None
    se: float | None = None
    ci_lb: float | None = None
    ci_ub: float | None = None
    pval: float | None = None
    tau2: float | None = None
    pi_lb: float | None = None
    pi_ub: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pool(yi: np.ndarray, vi: np.ndarray, *, method: str, test: str) -> Estimate:
    k = len(yi)
    if k < 2:
        return Estimate("not estimable", f"not estimable: k = {k}", k)
    res = _rma(yi, vi, method=method, test=test)
    pr = res.predict()
    return Estimate(
        "estimated",
        f"k = {k}; {method}, test = {test}"
        + ("; very wide: t with k - 1 = 1 df" if k == 2 and test == "knha" else ""),
        k,
        float(res.beta[0]),
        float(res.se[0]),
        float(res.ci_lb[0]),
        float(res.ci_ub[0]),
        float(res.pval[0]),
        float(res.tau2),
        float(pr.pi_lb[0]),
        float(pr.pi_ub[0]),
    )


@dataclass(frozen=True)
class WithinTrialResult:
    """Per-trial high-minus-low CRP interactions and their pooled value per outcome."""

    per_trial: pd.DataFrame
    pooled: dict[tuple[str, str], Estimate]

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_trial": self.per_trial.to_dict("records"),
            "pooled": [
                {"outcome": o, "measure": m, **est.to_dict()}
                for (o, m), est in sorted(self.pooled.items())
            ],
        }


def within_trial_interactions(
    effects: pd.DataFrame, *, method: str = "REML", test: str = "knha"
) -> WithinTrialResult:
    """Within-trial CRP interactions (high minus low stratum), pooled by random effects.

    Parameters
    ----------
    effects
        The extraction stage's effects table (one row per study x contrast x subgroup x outcome).
    method, test
        Passed to :func:`inflamed.stats.pooling.rma`.

    Returns
    -------
    WithinTrialResult
        ``per_trial``: study_id, contrast, outcome, measure, crp_cutoff_mg_l, yi/vi of each stratum,
        ``interaction = yi_high - yi_low`` and ``var = vi_high + vi_low``; ``pooled``: one
        :class:`Estimate` per (outcome, measure), "not estimable: k = 0/1" where it must be.

    Notes
    -----
    The strata of a trial hold different patients, so their estimates are independent and the
    variance of the difference is the sum. A trial enters once per outcome; if it has several
    contrasts (multi-arm), each contrast is its own row.
    """
    eff = _check(effects)
    keys = ["study_id", "contrast", "outcome", "measure"]
    high = eff[eff["subgroup"] == "crp_high"]
    low = eff[eff["subgroup"] == "crp_low"]
    cols = [*keys, "yi", "vi"]
    extra = [c for c in ("crp_cutoff_mg_l", "review") if c in eff.columns]
    merged = high[cols + extra].merge(low[cols], on=keys, suffixes=("_high", "_low"))
    merged["interaction"] = merged["yi_high"] - merged["yi_low"]
    merged["var"] = merged["vi_high"] + merged["vi_low"]
    merged = merged.sort_values(keys, kind="mergesort").reset_index(drop=True)
    pooled: dict[tuple[str, str], Estimate] = {}
    outcomes = sorted({(o, m) for o, m in zip(eff["outcome"], eff["measure"], strict=True)})
    for o, m in outcomes:
        sub = merged[(merged["outcome"] == o) & (merged["measure"] == m)]
        pooled[(o, m)] = _pool(
            sub["interaction"].to_numpy(), sub["var"].to_numpy(), method=method, test=test
        )
    if not pooled:
        pooled[("", "")] = Estimate("not estimable", "not estimable: k = 0", 0)
    return WithinTrialResult(merged, pooled)


@dataclass(frozen=True)
class BetweenTrialResult:
    """A between-trial meta-regression (or the reason it could not be fitted)."""

    outcome: str
    measure: str
    moderator: str
    status: str
    reason: str
    k: int
    scale: str  # "log" (natural log of mg/L), "linear" or "categorical"
    x_min: float | None = None
    x_max: float | None = None
    coefficients: list[dict[str, Any]] = field(default_factory=list)
    tau2: float | None = None
    qm: float | None = None
    qm_pval: float | None = None
    studies: tuple[str, ...] = ()
    x_values: tuple[float, ...] = ()
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("model",)}
        d["studies"] = list(self.studies)
        d["x_values"] = list(self.x_values)
        return d

    @property
    def slope(self) -> dict[str, Any] | None:
        return (
            self.coefficients[1]
            if self.status == "estimated" and self.scale != "categorical"
            else None
        )


def between_trial_regression(
    effects: pd.DataFrame,
    moderator: str = "crp_cutoff_mg_l",
    *,
    outcome: str | None = None,
    crp_scale: str = "log",
    method: str = "REML",
    test: str = "knha",
) -> list[BetweenTrialResult]:
    """Mixed-effects meta-regression of whole-trial effects on one trial-level moderator.

    Parameters
    ----------
    effects
        Effects table; rows with ``subgroup == "whole"`` are used (one per trial x contrast).
    moderator
        ``crp_cutoff_mg_l``, ``baseline_crp_mg_l`` (CRP in mg/L; regressed on ``ln(CRP)`` when
        ``crp_scale="log"``) or ``mechanism_class`` (treatment-coded dummies). For the cut-off,
        only trials that enrolled by it (``inflammation_selection == "selected"``, where that
        column exists) enter: a post hoc or stratified trial's whole-sample effect is not an
        effect "at" its cut-off; the excluded trials are named in ``reason``.
    outcome
        Restrict to one outcome; None = every outcome in the table.
    crp_scale
        ``log`` (default: ln mg/L, as CRP is right-skewed and effects are usually modelled per
        doubling/log unit) or ``linear``.
    method, test
        Passed to :func:`inflamed.stats.pooling.rma` (REML, Knapp-Hartung by default).

    Returns
    -------
    list of BetweenTrialResult, one per (outcome, measure).

    Notes
    -----
    Not estimable when k < p + 1 (no residual df for tau^2 and the Knapp-Hartung scale) or when
    the moderator takes fewer than two distinct values.
    """
    if moderator not in MODERATORS:
        raise InputError(
            "unknown moderator",
            column="moderator",
            value=moderator,
            expected=" | ".join(MODERATORS),
        )
    if crp_scale not in ("log", "linear"):
        raise InputError("unknown crp_scale", value=crp_scale, expected="log | linear")
    eff = _check(effects)
    eff = eff[eff["subgroup"] == "whole"]
    if outcome is not None:
        eff = eff[eff["outcome"] == outcome]
    results = []
    pairs = sorted({(o, m) for o, m in zip(eff["outcome"], eff["measure"], strict=True)})
    if not pairs:
        pairs = [(outcome or "", "")]
    for o, m in pairs:
        sub = eff[(eff["outcome"] == o) & (eff["measure"] == m)] if m else eff.iloc[0:0]
        note = ""
        if moderator not in sub.columns:
            results.append(
                BetweenTrialResult(
                    o,
                    m,
                    moderator,
                    "not estimable",
                    f"not estimable: column {moderator} absent",
                    0,
                    "none",
                )
            )
            continue
        if moderator == "mechanism_class":
            sub = sub[sub[moderator].notna() & (sub[moderator].astype(str) != "")]
            scale = "categorical"
        else:
            x = pd.to_numeric(sub[moderator], errors="coerce")
            sub = sub[np.isfinite(x) & (x > 0)]
            scale = crp_scale
            if moderator == "crp_cutoff_mg_l" and "inflammation_selection" in sub.columns:
                # a whole-trial effect sits at the cut-off only if the trial enrolled by it
                sel = sub["inflammation_selection"].astype(str)
                dropped = sorted(set(sub.loc[sel != "selected", "study_id"].astype(str)))
                sub = sub[sel == "selected"]
                if dropped:
                    note = "; excluded (cut-off not an inclusion criterion): " + ", ".join(dropped)
        sub = sub.sort_values(["study_id", "contrast"], kind="mergesort")
        k = len(sub)
        studies = tuple(sub["study_id"].astype(str))
        if moderator == "mechanism_class":
            levels = sorted(sub[moderator].astype(str).unique())
            p = len(levels)
            if len(levels) < 2 or k < p + 1:
                why = f"not estimable: k = {k}" + (
                    f", {len(levels)} class(es)"
                    if len(levels) < 2
                    else f" < {p + 1} needed for {p} coefficients"
                )
                results.append(
                    BetweenTrialResult(
                        o, m, moderator, "not estimable", why, k, scale, studies=studies
                    )
                )
                continue
            mods = pd.DataFrame({"mechanism_class": sub[moderator].astype(str).to_numpy()})
            res = _rma(
                sub["yi"].to_numpy(), sub["vi"].to_numpy(), mods=mods, method=method, test=test
            )
            xs: tuple[float, ...] = ()
            xmin = xmax = None
        else:
            xraw = pd.to_numeric(sub[moderator]).to_numpy(dtype=float)
            xv = np.log(xraw) if crp_scale == "log" else xraw
            distinct = len(np.unique(xraw))
            if k < 3 or distinct < 2:
                why = (
                    f"not estimable: k = {k}"
                    + (
                        f", {distinct} distinct {moderator} value(s)"
                        if distinct < 2
                        else " < 3 needed for intercept + slope"
                    )
                    + note
                )
                results.append(
                    BetweenTrialResult(
                        o,
                        m,
                        moderator,
                        "not estimable",
                        why,
                        k,
                        scale,
                        studies=studies,
                        x_values=tuple(xraw),
                    )
                )
                continue
            res = _rma(
                sub["yi"].to_numpy(), sub["vi"].to_numpy(), mods=xv, method=method, test=test
            )
            xs = tuple(float(v) for v in xraw)
            xmin, xmax = float(xraw.min()), float(xraw.max())
        coefs = res.coefficients()
        if moderator != "mechanism_class":
            coefs[1]["name"] = f"ln({moderator})" if crp_scale == "log" else moderator
        results.append(
            BetweenTrialResult(
                o,
                m,
                moderator,
                "estimated",
                f"k = {k}; {method}, test = {test}{note}",
                k,
                scale,
                xmin,
                xmax,
                coefs,
                float(res.tau2),
                float(res.qm),
                float(res.qm_pval),
                studies,
                xs,
                res,
            )
        )
    return results


def predict_at_crp(
    regression: BetweenTrialResult, thresholds: Sequence[float] = (1, 2, 3, 5)
) -> pd.DataFrame:
    """Predicted effect at CRP values (mg/L) from a CRP meta-regression, with CI and PI.

    Each row says how many trials the model rests on (``k_trials``), how many have a moderator
    value at or above / below the threshold, and whether the threshold lies outside the observed
    range (``extrapolation``). A model that could not be fitted gives rows with its reason.
    """
    rows = []
    for thr in thresholds:
        row: dict[str, Any] = {
            "outcome": regression.outcome,
            "measure": regression.measure,
            "moderator": regression.moderator,
            "crp_mg_l": float(thr),
            "k_trials": regression.k,
            "k_at_or_above": int(sum(x >= thr for x in regression.x_values)),
            "k_below": int(sum(x < thr for x in regression.x_values)),
            "status": regression.status,
            "reason": regression.reason,
        }
        if regression.status == "estimated" and regression.scale != "categorical":
            xn = np.log(thr) if regression.scale == "log" else float(thr)
            pr = regression.model.predict(np.array([xn]))
            row.update(
                pred=float(pr.pred[0]),
                se=float(pr.se[0]),
                ci_lb=float(pr.ci_lb[0]),
                ci_ub=float(pr.ci_ub[0]),
                pi_lb=float(pr.pi_lb[0]),
                pi_ub=float(pr.pi_ub[0]),
                extrapolation=bool(thr < regression.x_min or thr > regression.x_max),
            )
        else:
            row.update(
                pred=np.nan,
                se=np.nan,
                ci_lb=np.nan,
                ci_ub=np.nan,
                pi_lb=np.nan,
                pi_ub=np.nan,
                extrapolation=None,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def compare_within_between(within: Estimate, between: BetweenTrialResult) -> dict[str, Any]:
    """Say whether the within-trial interaction and the between-trial CRP slope agree in direction.

    Both are oriented so that a positive value means more benefit at higher CRP. Disagreement is
    flagged when the signs differ, and called *clear* when each interval excludes zero.
    """
    slope = between.slope
    if within.status != "estimated" or slope is None:
        missing = []
        if within.status != "estimated":
            missing.append(f"within-trial: {within.reason}")
        if slope is None:
            missing.append(f"between-trial: {between.reason}")
        return {"status": "not comparable", "explanation": "; ".join(missing)}
    w, b = within.estimate, slope["estimate"]
    w_clear = within.ci_lb > 0 or within.ci_ub < 0
    b_clear = slope["ci_lb"] > 0 or slope["ci_ub"] < 0
    if np.sign(w) == np.sign(b):
        status = "agree in direction"
        text = "Within-trial and between-trial evidence point the same way."
    else:
        status = (
            "disagree (clear)"
            if (w_clear and b_clear)
            else "disagree in direction (intervals include zero)"
        )
        text = (
            "Within-trial and between-trial evidence point in opposite directions. Prefer the "
            "within-trial contrast: between-trial associations are open to ecological bias "
            "(trial-level confounders such as drug class, population and rating scale)."
        )
    return {
        "status": status,
        "within_interaction": w,
        "within_ci": [within.ci_lb, within.ci_ub],
        "between_slope_per_ln_crp": b if between.scale == "log" else None,
        "between_slope": b,
        "between_ci": [slope["ci_lb"], slope["ci_ub"]],
        "explanation": text,
    }


@dataclass(frozen=True)
class WhoBenefitsResult:
    """Part A in one object: within-trial, between-trial (per moderator), predictions, agreement."""

    within: WithinTrialResult
    between: dict[str, list[BetweenTrialResult]]
    predictions: pd.DataFrame
    agreement: list[dict[str, Any]]
    by_class: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "within_trial": self.within.to_dict(),
            "between_trial": {
                m: [r.to_dict() for r in rs] for m, rs in sorted(self.between.items())
            },
            "agreement_within_vs_between": self.agreement,
            "pooled_by_mechanism_class": self.by_class.to_dict("records"),
            "note": (
                "Within-trial interactions (high minus low CRP stratum) and between-trial "
                "meta-regressions are reported separately; between-trial associations are prone "
                "to ecological bias. Continuous outcomes: positive effects favour treatment. "
                "Binary outcomes: yi is the log risk ratio, treatment vs control; whether a "
                "positive value is good depends on the event (benefit or harm, see config). "
                "single_trial_* values are yi +/- 1.96 sqrt(vi) of a class with one trial."
            ),
        }

    def to_frame(self) -> pd.DataFrame:
        """The CRP predictions (``crp_predictions.csv``)."""
        return self.predictions


def pooled_by_class(
    effects: pd.DataFrame, *, method: str = "REML", test: str = "knha"
) -> pd.DataFrame:
    """Random-effects pooled whole-trial effect per outcome x mechanism class ("not estimable" k < 2)."""
    eff = _check(effects)
    eff = eff[eff["subgroup"] == "whole"]
    rows = []
    if "mechanism_class" not in eff.columns:
        return pd.DataFrame(
            columns=["outcome", "measure", "mechanism_class", "status", "reason", "k"]
        )
    for (o, m, c), sub in eff.groupby(["outcome", "measure", "mechanism_class"], sort=True):
        est = _pool(sub["yi"].to_numpy(), sub["vi"].to_numpy(), method=method, test=test)
        row = {"outcome": o, "measure": m, "mechanism_class": c, **est.to_dict()}
        if est.k == 1:
            y, v = float(sub["yi"].iloc[0]), float(sub["vi"].iloc[0])
            row.update(
                single_trial_yi=y,
                single_trial_ci_lb=y - 1.959964 * v**0.5,
                single_trial_ci_ub=y + 1.959964 * v**0.5,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def who_benefits(
    effects: pd.DataFrame,
    *,
    moderators: Sequence[str] = MODERATORS,
    thresholds: Sequence[float] = (1, 2, 3, 5),
    crp_scale: str = "log",
    method: str = "REML",
    test: str = "knha",
    config: Mapping[str, Any] | None = None,
) -> WhoBenefitsResult:
    """Run Part A: within-trial interactions, between-trial regressions, CRP predictions."""
    within = within_trial_interactions(effects, method=method, test=test)
    between = {
        mod: between_trial_regression(effects, mod, crp_scale=crp_scale, method=method, test=test)
        for mod in moderators
    }
    preds = []
    for mod in moderators:
        if mod in CRP_MODERATORS:
            for reg in between[mod]:
                preds.append(predict_at_crp(reg, thresholds))
    predictions = (
        pd.concat(preds, ignore_index=True)
        if preds
        else pd.DataFrame(columns=["outcome", "measure", "moderator", "crp_mg_l"])
    )
    if len(predictions):
        predictions = predictions.sort_values(
            ["outcome", "measure", "moderator", "crp_mg_l"], kind="mergesort"
        ).reset_index(drop=True)
    agreement = []
    for mod in moderators:
        if mod not in CRP_MODERATORS:
            continue
        for reg in between[mod]:
            est = within.pooled.get(
                (reg.outcome, reg.measure), Estimate("not estimable", "not estimable: k = 0", 0)
            )
            agreement.append(
                {
                    "outcome": reg.outcome,
                    "measure": reg.measure,
                    "moderator": mod,
                    **compare_within_between(est, reg),
                }
            )
    return WhoBenefitsResult(
        within, between, predictions, agreement, pooled_by_class(effects, method=method, test=test)
    )
