"""An automated GRADE *proposal* for the summary-of-findings table.

GRADE rates the certainty of a body of evidence per outcome. Evidence from randomised trials
starts at **high** and is rated down one level for each serious (two for each very serious)
concern in five domains: risk of bias, inconsistency, indirectness, imprecision and publication
bias (Cochrane Handbook ch. 14; GRADE handbook). GRADE is a judgement, not an algorithm; this
module applies explicit, documented rules to the pipeline's artefacts so that a review team starts
from a transparent proposal and can see, per domain, the number that drove it. Indirectness and
non-reporting bias are judged from the review's sheets by the rules of
:mod:`inflamed.report.grade_context` when a context is given. Every rule and threshold is in
:class:`GradeRules` and printed by :func:`grade_rules_text`.

Rules (defaults)
----------------
Risk of bias (Cochrane Handbook 5.1 Table 12.2.d: judge by the *share of information* from studies
at high risk, not by counting studies; GRADE: do not average, weight by contribution)
    Each study's overall RoB 2 judgement (by the published algorithm from its domains,
    :mod:`inflamed.report.rob2`; a post hoc subgroup result is high in domain 5) is
    weighted by the study's weight in the random-effects model. Rate down two levels when more
    than 50 % of the weight comes from studies at high risk; one level when more than 25 % comes
    from high-risk studies, or more than 50 % from studies at high risk or with some concerns.
    Studies without any judgement count as "some concerns" and are named.
Inconsistency (Cochrane Handbook 10.10.2 ranges for I^2; GRADE guidance 36 on prediction)
    Rate down one level when I^2 >= 50 % ("may represent substantial heterogeneity") or when the
    95 % prediction interval includes no effect although the confidence interval does not (the
    effect may reverse in a new setting); two levels when I^2 >= 75 % ("considerable") and the
    prediction interval includes no effect. Not assessable with one study.
Indirectness
    Not judged automatically (population, intervention, comparator and outcome need a reader);
    no rating down is proposed, and the table says so.
Imprecision (GRADE guidelines 6, Guyatt 2011; GRADE guidance 34)
    Rate down one level when the confidence interval includes no effect, or when the total number
    of participants is below the optimal information size (OIS: the size of a single trial with
    two-sided alpha 0.05 and power 0.80 to detect SMD 0.2 for continuous outcomes, or a 25 %
    relative risk reduction at the pooled control-arm risk for binary outcomes); two levels when
    both hold.
Publication bias (Cochrane Handbook 10.4.3.1; GRADE guidelines 5)
    With fewer studies than ``small_study_min_k`` (default 10) funnel-plot tests are not
    meaningful: "not assessable", no rating down. Otherwise rate down one level when Egger's
    regression test gives p < 0.10.

References
----------
Schünemann HJ, Higgins JPT, Vist GE, et al. Chapter 14: Completing 'Summary of findings' tables and
grading the certainty of the evidence. In: Cochrane Handbook for Systematic Reviews of
Interventions version 6.4, 2023. https://training.cochrane.org/handbook/current/chapter-14
Higgins JPT, Green S (eds). Cochrane Handbook 5.1.0 (2011), Table 12.2.d.
http://handbook-5-1.cochrane.org/chapter_12/table_12_2_d_further_guidelines_for_factor_1_of_5_in_a_grade.htm
Guyatt GH, et al. GRADE guidelines 6. Rating the quality of evidence - imprecision. J Clin
Epidemiol 2011;64:1283-93. https://www.jclinepi.com/article/S0895-4356(11)00206-X/fulltext
Zeng L, et al. GRADE Guidance 34: update on rating imprecision using a minimally contextualized
approach. J Clin Epidemiol 2022;150:216-224. https://pubmed.ncbi.nlm.nih.gov/35934265/
Guyatt GH, et al. GRADE guidelines 5. Rating the quality of evidence - publication bias. J Clin
Epidemiol 2011;64:1277-82.
Santesso N, et al. GRADE guidelines 26: informative statements to communicate the findings of
systematic reviews of interventions. J Clin Epidemiol 2020;119:126-135.
doi:10.1016/j.jclinepi.2019.10.014

Length (over 500 lines): one section per GRADE domain with its stated rule and threshold; split
further, one judgement would be spread over several files.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.analysis_sets import analysis_sets
from inflamed.report.artefacts import OutcomeArtefacts
from inflamed.report.grade_context import (
    AbsoluteEffect,
    GradeContext,
    absolute_effect,
    judge_indirectness,
    judge_non_reporting,
    name_list,
)
from inflamed.report.html import format_estimate, is_missing
from inflamed.report.rob2 import result_judgements, study_judgements
from inflamed.stats.distributions import norm_ppf
from inflamed.stats.measures import RATIO_MEASURES

__all__ = [
    "CERTAINTY_LEVELS",
    "DomainJudgement",
    "GradeAssessment",
    "GradeRules",
    "grade_outcome",
    "instrument_md_view",
    "optimal_information_size",
    "study_risk_of_bias",
]

CERTAINTY_LEVELS = ("high", "moderate", "low", "very low")
DOMAINS = ("risk of bias", "inconsistency", "indirectness", "imprecision", "publication bias")


@dataclass(frozen=True)
class GradeRules:
    """Thresholds of the automated proposal (see the module docstring for their sources)."""

    rob_high_very_serious: float = 0.50
    rob_high_serious: float = 0.25
    rob_not_low_serious: float = 0.50
    i2_serious: float = 50.0
    i2_very_serious: float = 75.0
    ois_smd: float = 0.2
    ois_rrr: float = 0.25
    alpha: float = 0.05
    power: float = 0.80
    small_study_min_k: int = 10
    egger_p: float = 0.10


@dataclass(frozen=True)
class DomainJudgement:
    """One GRADE domain: how many levels to rate down, and why (in words with the numbers)."""

    domain: str
    levels: int
    reason: str
    assessed: bool = True

    def text(self) -> str:
        """``"-1 (serious): reason"``, ``"no concern: reason"`` or ``"not assessed: reason"``."""
        if not self.assessed:
            return f"not assessed: {self.reason}"
        label = {0: "no concern", 1: "-1 (serious)", 2: "-2 (very serious)"}[self.levels]
        return f"{label}: {self.reason}"


@dataclass(frozen=True)
class GradeAssessment:
    """The proposal for one outcome and analysis set."""

    outcome: str
    label: str
    analysis_set: str
    k: int
    n_participants: int | None
    measure: str
    estimate: float | None
    ci_lb: float | None
    ci_ub: float | None
    certainty: str
    domains: tuple[DomainJudgement, ...]
    statement: str
    source: str
    estimate_locator: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    absolute: AbsoluteEffect | None = None

    @property
    def effect_text(self) -> str:
        """``measure estimate (lb to ub)`` on the reported scale (ratio scale for RR/OR)."""
        if self.estimate is None:
            return "not estimable"
        return f"{self.measure} {format_estimate(self.estimate, self.ci_lb, self.ci_ub)}"

    def domain(self, name: str) -> DomainJudgement:
        """The judgement for domain ``name``."""
        return next(d for d in self.domains if d.domain == name)


def optimal_information_size(
    measure_type: str,
    *,
    control_risk: float | None = None,
    smd: float = 0.2,
    rrr: float = 0.25,
    alpha: float = 0.05,
    power: float = 0.80,
) -> int | None:
    """Total participants of one adequately powered two-arm trial (1:1): the GRADE OIS.

    Parameters
    ----------
    measure_type
        ``continuous`` (two-sample z test of a standardised difference ``smd``) or ``binary``
        (two proportions: ``control_risk`` and ``control_risk * (1 - rrr)``).
    control_risk
        Control-arm event risk (binary only); ``None`` gives ``None`` (not computable).

    Returns
    -------
    int or None
        Total sample size (both arms), rounded up per arm.

    Notes
    -----
    Continuous: ``n = 2 (z_{1-alpha/2} + z_{power})^2 / smd^2`` per arm. Binary:
    ``n = (z_{1-alpha/2} + z_{power})^2 [p1(1-p1) + p2(1-p2)] / (p1 - p2)^2`` per arm. GRADE
    guidelines 6 (Guyatt 2011) defines the OIS as the sample size of a conventional calculation
    for a single adequately powered trial.
    """
    z = norm_ppf(1 - alpha / 2) + norm_ppf(power)
    if measure_type == "continuous":
        per_arm = 2 * z**2 / smd**2
    else:
        if control_risk is None or not 0 < control_risk < 1:
            return None
        p2 = control_risk
        p1 = p2 * (1 - rrr)
        per_arm = z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    return int(2 * math.ceil(per_arm))


def study_risk_of_bias(risk_of_bias: pd.DataFrame | None) -> dict[str, str]:
    """Overall RoB 2 judgement per study by the published algorithm (:mod:`~inflamed.report.rob2`)."""
    return {s: j for s, (j, _) in study_judgements(risk_of_bias).items()}


def instrument_md_view(
    outcome: OutcomeArtefacts, analysis_set: str, instrument_effects: pd.DataFrame | None
) -> tuple[OutcomeArtefacts, str] | None:
    """The outcome seen through its mean-difference analysis on one instrument, for a set whose
    only numbers are reported between-arm differences (no pooled SD, so no SMD).

    Returns the view (``summary`` with that set's MD block as the set, measure ``MD``, and the
    instrument's effect rows as ``studies``) and the block's JSON-pointer base in
    ``summary.json``, or ``None`` when the set has no such result. GRADE rates it like any
    other result (the same rules, on the instrument's own scale).
    """
    summary = outcome.summary or {}
    if instrument_effects is None or instrument_effects.empty:
        return None
    for instrument, block in (summary.get("instrument_md") or {}).items():
        md = block.get("sets", {}).get(analysis_set)
        if not md or not md.get("estimable") or not md.get("contrast_level_rows"):
            continue
        rows = instrument_effects[
            (instrument_effects["outcome"] == outcome.name)
            & (instrument_effects["instrument"] == instrument)
        ]
        rows = analysis_sets(rows)
        view = dataclasses.replace(
            outcome,
            summary={**summary, "measure": "MD", "primary_set": analysis_set,
                     "sets": {analysis_set: md}},
            studies=rows[rows["analysis_set"] == analysis_set],
            small_study=None,
        )  # fmt: skip
        return view, f"/instrument_md/{instrument}/sets/{analysis_set}"
    return None


def _set_rows(outcome: OutcomeArtefacts, analysis_set: str) -> pd.DataFrame:
    studies = outcome.studies
    if studies is None or studies.empty or "analysis_set" not in studies:
        return pd.DataFrame()
    return studies[studies["analysis_set"] == analysis_set]


def _judge_risk_of_bias(
    rows: pd.DataFrame,
    judgements: Mapping[str, str],
    rules: GradeRules,
    risk_of_bias: pd.DataFrame | None = None,
    analysis_set: str = "whole",
) -> DomainJudgement:
    if rows.empty:
        return DomainJudgement("risk of bias", 0, "no study rows to weigh", assessed=False)
    if analysis_set != "whole" and "inflammation_selection" in rows:
        # RoB 2 judges results: a post hoc subgroup result is high risk in domain 5.
        judgements = dict(judgements)
        for sid in rows.loc[rows["inflammation_selection"] == "post_hoc", "study_id"]:
            _, judgements[str(sid)], _ = result_judgements(
                risk_of_bias, str(sid), post_hoc_subgroup=True
            )
    weights = pd.to_numeric(rows.get("weight", pd.Series(np.nan, index=rows.index)), "coerce")
    basis = "random-effects weight"
    if weights.isna().all() or float(weights.sum()) <= 0:
        weights = rows[["n_treat", "n_ctrl"]].sum(axis=1, min_count=1).astype(float)
        if "n_total" in rows:  # a between-arm difference carries only the analysed total
            weights = weights.fillna(pd.to_numeric(rows["n_total"], errors="coerce"))
        basis = "participants"
    weights = weights.fillna(0.0).to_numpy(dtype=float)
    total = weights.sum()
    if total <= 0:
        return DomainJudgement("risk of bias", 0, "no weights to combine", assessed=False)
    ids = rows["study_id"].astype(str).to_numpy()
    labels = np.array([judgements.get(s, "not_assessed") for s in ids])
    share_high = weights[labels == "high"].sum() / total
    share_not_low = weights[labels != "low"].sum() / total
    unjudged = sorted(set(ids[labels == "not_assessed"]))
    detail = (
        f"{100 * share_high:.0f}% of the {basis} from studies at high risk, "
        f"{100 * share_not_low:.0f}% from studies at high risk or with some concerns"
    )
    if unjudged:
        detail += f" (no RoB 2 judgement, counted as some concerns: {name_list(unjudged)})"
    eps = 1e-9  # shares are sums of floats: 3 x (1/12) must not exceed 25%
    if share_high > rules.rob_high_very_serious + eps:
        return DomainJudgement("risk of bias", 2, detail)
    if share_high > rules.rob_high_serious + eps or share_not_low > rules.rob_not_low_serious + eps:
        return DomainJudgement("risk of bias", 1, detail)
    return DomainJudgement("risk of bias", 0, detail)


def _crosses(lb: Any, ub: Any) -> bool:
    return not (is_missing(lb) or is_missing(ub)) and float(lb) <= 0.0 <= float(ub)


def _judge_inconsistency(result: Mapping[str, Any], k: int, rules: GradeRules) -> DomainJudgement:
    if k < 2 or is_missing(result.get("i2")):
        return DomainJudgement("inconsistency", 0, "a single study: not assessable", assessed=False)
    i2 = float(result["i2"])
    pi_crosses = _crosses(result.get("pi_lb"), result.get("pi_ub"))
    ci_crosses = _crosses(result.get("ci_lb"), result.get("ci_ub"))
    pi_note = (
        "the prediction interval includes no effect"
        if pi_crosses
        else "the prediction interval excludes no effect"
    )
    detail = f"I\u00b2 = {i2:.0f}%; {pi_note}"
    if i2 >= rules.i2_very_serious and pi_crosses:
        return DomainJudgement("inconsistency", 2, detail)
    if i2 >= rules.i2_serious or (pi_crosses and not ci_crosses):
        return DomainJudgement("inconsistency", 1, detail)
    return DomainJudgement("inconsistency", 0, detail)


def _control_risk(rows: pd.DataFrame) -> float | None:
    if rows.empty or "events_ctrl" not in rows or "n_ctrl" not in rows:
        return None
    usable = rows.dropna(subset=["events_ctrl", "n_ctrl"])
    n = float(usable["n_ctrl"].sum())
    return float(usable["events_ctrl"].sum()) / n if n > 0 else None


def _judge_imprecision(
    result: Mapping[str, Any],
    n_total: int | None,
    measure_type: str,
    rows: pd.DataFrame,
    rules: GradeRules,
) -> DomainJudgement:
    crosses = _crosses(result.get("ci_lb"), result.get("ci_ub"))
    control = _control_risk(rows) if measure_type == "binary" else None
    ois = optimal_information_size(
        measure_type,
        control_risk=control,
        smd=rules.ois_smd,
        rrr=rules.ois_rrr,
        alpha=rules.alpha,
        power=rules.power,
    )
    parts = [
        "the confidence interval includes no effect"
        if crosses
        else "the confidence interval excludes no effect"
    ]
    below = False
    if ois is None:
        parts.append("optimal information size not computable (no control-arm event counts)")
    elif n_total is None:
        parts.append(f"total N unknown (OIS {ois})")
    else:
        below = n_total < ois
        assumption = (
            f"SMD {rules.ois_smd:g}"
            if measure_type == "continuous"
            else f"RRR {100 * rules.ois_rrr:.0f}% at control risk {100 * (control or 0):.0f}%"
        )
        parts.append(
            f"N = {n_total} {'<' if below else '>='} OIS {ois} "
            f"(alpha {rules.alpha:g}, power {rules.power:g}, {assumption})"
        )
    levels = int(crosses) + int(below)
    return DomainJudgement("imprecision", levels, "; ".join(parts))


def _judge_publication_bias(
    small_study: Mapping[str, Any] | None, k: int, rules: GradeRules
) -> DomainJudgement:
    if k < rules.small_study_min_k:
        return DomainJudgement(
            "publication bias",
            0,
            f"k = {k} < {rules.small_study_min_k}: funnel-plot tests not meaningful (Cochrane Handbook 10.4.3.1)",
            assessed=False,
        )
    if not small_study or not small_study.get("reported"):
        reason = (small_study or {}).get("reason", "small-study tests not reported")
        return DomainJudgement("publication bias", 0, str(reason), assessed=False)
    egger = small_study.get("egger") or {}
    p = egger.get("pval", egger.get("p"))
    if is_missing(p):
        return DomainJudgement("publication bias", 0, "Egger's test has no p value", assessed=False)
    p = float(p)
    detail = f"Egger's test p = {p:.3f}"
    return DomainJudgement("publication bias", int(p < rules.egger_p), detail)


def _statement(
    certainty: str,
    estimate: float,
    crosses: bool,
    label: str,
    outcome_type: str,
    event_is: str | None,
    intervention: str,
) -> str:
    label_lc = label[:1].lower() + label[1:]
    if certainty == "very low":
        return f"The evidence is very uncertain about the effect of {intervention} on {label_lc}."
    hedge = {"high": "", "moderate": "probably ", "low": "may "}[certainty]
    if crosses:
        verb = {"high": "results", "moderate": "results", "low": "result"}[certainty]
        return f"{intervention[:1].upper() + intervention[1:]} {hedge}{verb} in little or no difference in {label_lc}."
    positive = estimate > 0
    if outcome_type == "continuous":
        verb = "improves" if positive else "worsens"
        tail = ""
    else:
        verb = "increases" if positive else "reduces"
        good = positive == (event_is != "harm")
        tail = " (a benefit)" if good else " (a harm)"
    if hedge:
        verb = {
            "improves": "improve",
            "worsens": "worsen",
            "increases": "increase",
            "reduces": "reduce",
        }[verb]
    return f"{intervention[:1].upper() + intervention[1:]} {hedge}{verb} {label_lc}{tail}."


def grade_outcome(
    outcome: OutcomeArtefacts,
    risk_of_bias: pd.DataFrame | None,
    *,
    analysis_set: str | None = None,
    rules: GradeRules | None = None,
    intervention: str = "the treatment",
    context: GradeContext | None = None,
) -> GradeAssessment:
    """Propose a GRADE certainty rating for one outcome from its pool-stage artefacts.

    Parameters
    ----------
    outcome
        The outcome's artefacts (``summary`` and ``studies`` are used; ``small_study`` if present).
    risk_of_bias
        The ingest stage's ``risk_of_bias.csv`` (RoB 2 judgements per study and domain).
    analysis_set
        Which set to rate (default: the summary's ``primary_set``).
    rules
        Thresholds (default :class:`GradeRules`).
    intervention
        How the plain-language statement names the intervention.
    context
        The review's sheets (:func:`~inflamed.report.grade_context.grade_context`): with it,
        indirectness and non-reporting bias are judged by the rules of
        :mod:`inflamed.report.grade_context`; without it, indirectness is left to the team.

    Returns
    -------
    GradeAssessment
    """
    rules = rules or GradeRules()
    summary = outcome.summary or {}
    analysis_set = analysis_set or summary.get("primary_set", "crp_high")
    block = summary.get("sets", {}).get(analysis_set, {"k": 0, "estimable": False})
    measure = str(summary.get("measure") or outcome.spec.get("measure") or "")
    outcome_type = str(summary.get("type") or outcome.spec.get("type") or "continuous")
    event_is = summary.get("event_is") or outcome.spec.get("event_is")
    k = int(block.get("k") or 0)
    n_total = block.get("n_participants")
    n_total = None if is_missing(n_total) else int(n_total)
    source = outcome.paths.get("summary", "")
    if not block.get("estimable") or "result" not in block:
        reason = str(block.get("reason") or "no study reports this outcome for this set")
        domains = tuple(DomainJudgement(d, 0, "no data", assessed=False) for d in DOMAINS)
        return GradeAssessment(
            outcome=outcome.name,
            label=outcome.label,
            analysis_set=analysis_set,
            k=k,
            n_participants=n_total,
            measure=measure,
            estimate=None,
            ci_lb=None,
            ci_ub=None,
            certainty="no evidence",
            domains=domains,
            statement=f"No evidence: {reason}.",
            source=source,
        )
    result = block["result"]
    rows = _set_rows(outcome, analysis_set)
    judgements = study_risk_of_bias(risk_of_bias)
    indirectness = DomainJudgement(
        "indirectness",
        0,
        "not judged automatically: the review team must judge population, intervention, comparator and outcome",
        assessed=False,
    )
    publication = _judge_publication_bias(outcome.small_study, k, rules)
    if context is not None:
        levels, reason, assessed = judge_indirectness(rows, analysis_set, context)
        indirectness = DomainJudgement("indirectness", levels, reason, assessed)
        contributing = rows["study_id"].astype(str) if "study_id" in rows else ()
        verdict = judge_non_reporting(outcome.name, analysis_set, context, contributing)
        if verdict is not None:
            publication = DomainJudgement("publication bias", *verdict)
    domains = (
        _judge_risk_of_bias(rows, judgements, rules, risk_of_bias, analysis_set),
        _judge_inconsistency(result, k, rules),
        indirectness,
        _judge_imprecision(result, n_total, outcome_type, rows, rules),
        publication,
    )
    down = sum(d.levels for d in domains)
    certainty = CERTAINTY_LEVELS[min(down, len(CERTAINTY_LEVELS) - 1)]
    if measure in RATIO_MEASURES and block.get("ratio_scale"):
        scale, base = block["ratio_scale"], f"/sets/{analysis_set}/ratio_scale"
    else:
        scale, base = result, f"/sets/{analysis_set}/result"
    notes = (block["note"],) if block.get("note") else ()
    absolute = None
    if context is not None:
        absolute = absolute_effect(
            measure,
            float(scale["estimate"]),
            None if is_missing(scale.get("ci_lb")) else float(scale["ci_lb"]),
            None if is_missing(scale.get("ci_ub")) else float(scale["ci_ub"]),
            rows,
            outcome.name,
            context,
        )
    return GradeAssessment(
        outcome=outcome.name,
        label=outcome.label,
        analysis_set=analysis_set,
        k=k,
        n_participants=n_total,
        measure=measure,
        estimate=float(scale["estimate"]),
        ci_lb=None if is_missing(scale.get("ci_lb")) else float(scale["ci_lb"]),
        ci_ub=None if is_missing(scale.get("ci_ub")) else float(scale["ci_ub"]),
        certainty=certainty,
        domains=domains,
        statement=_statement(
            certainty,
            float(result["estimate"]),
            _crosses(result.get("ci_lb"), result.get("ci_ub")),
            outcome.label,
            outcome_type,
            event_is,
            intervention,
        ),
        source=source,
        estimate_locator=base,
        notes=notes,
        absolute=absolute,
    )
