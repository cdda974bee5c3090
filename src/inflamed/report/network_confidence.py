"""A CINeMA-style confidence *proposal* for each comparison of a network meta-analysis.

CINeMA (Confidence in Network Meta-Analysis; Nikolakopoulou et al., PLoS Med 2020;17:e1003082)
judges six domains per comparison: within-study bias, reporting bias, indirectness, imprecision,
heterogeneity and incoherence, each as "no concerns", "some concerns" or "major concerns", and
summarises them into high, moderate, low or very low confidence. Like the pairwise GRADE proposal
(:mod:`inflamed.report.grade`), this module applies explicit rules to the pipeline's artefacts so
that a review team starts from a transparent proposal; it is not a CINeMA assessment, and the
report labels it as a proposal. Every rule is in :class:`ConfidenceRules` and printed by
:func:`confidence_rules_text`.

Rules (defaults)
----------------
Zones
    On the ratio scale, effects between ``1 / margin`` and ``margin`` (default 1.25 for odds
    ratios) are "not clinically important"; beyond them, important benefit or harm.
Within-study bias, reporting bias
    Not assessed: the network sheets carry no risk-of-bias judgements and no reporting-bias
    assessment; no rating down is proposed, and the table says "not assessed".
Indirectness
    Not judged automatically (population, interventions and outcomes need a reader).
Imprecision (CINeMA: the CI against the zones)
    No concerns when the 95 % CI excludes no effect and lies on one side of it; some concerns
    when it includes no effect but not both important benefit and important harm; major
    concerns when it reaches both (below ``1 / margin`` and above ``margin``).
Heterogeneity (CINeMA: the prediction interval against the zones)
    No concerns when the 95 % prediction interval reaches no zone the CI does not reach; some
    concerns when it adds zones but not both important benefit and harm; major concerns when it
    reaches both although the CI does not. Not assessable without a random-effects model.
Incoherence (CINeMA: local and global)
    Major concerns when node-splitting of the comparison gives p < 0.05; some concerns when
    p < 0.10, or when the comparison cannot be split and the between-designs Q gives p < 0.05;
    no concerns otherwise.
Summary
    Start at high; "some concerns" in a domain rates down one level, "major concerns" two, to at
    most very low. Domains not assessed do not rate down, so the proposal is an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "LEVELS",
    "ConfidenceRules",
    "comparison_confidence",
    "confidence_rules_text",
    "confidence_table",
]

LEVELS = ("high", "moderate", "low", "very low")
DOMAINS = (
    "within-study bias",
    "reporting bias",
    "indirectness",
    "imprecision",
    "heterogeneity",
    "incoherence",
)
NOT_ASSESSED = "not assessed"
CONCERN_LEVELS = {"no concerns": 0, "some concerns": 1, "major concerns": 2}


@dataclass(frozen=True)
class ConfidenceRules:
    """Thresholds of the proposal (see the module docstring)."""

    margin: float = 1.25
    split_major_p: float = 0.05
    split_some_p: float = 0.10
    global_p: float = 0.05


def _zones(lo: float, hi: float, margin: float, ratio: bool) -> set[str]:
    """The zones an interval reaches: important benefit side, trivial, important other side."""
    low_cut, high_cut = (-math.log(margin), math.log(margin)) if ratio else (-margin, margin)
    zones = set()
    if lo < low_cut:
        zones.add("low")
    if hi > high_cut:
        zones.add("high")
    if lo <= high_cut and hi >= low_cut:
        zones.add("trivial")
    return zones


def _imprecision(lb: float, ub: float, rules: ConfidenceRules, ratio: bool) -> str:
    if not (math.isfinite(lb) and math.isfinite(ub)):
        return NOT_ASSESSED
    if {"low", "high"} <= _zones(lb, ub, rules.margin, ratio):
        return "major concerns"
    if lb <= 0 <= ub:
        return "some concerns"
    return "no concerns"


def _heterogeneity(
    lb: float, ub: float, pi_lb: float, pi_ub: float, rules: ConfidenceRules, ratio: bool
) -> str:
    if not all(math.isfinite(v) for v in (lb, ub, pi_lb, pi_ub)):
        return NOT_ASSESSED
    ci = _zones(lb, ub, rules.margin, ratio)
    pi = _zones(pi_lb, pi_ub, rules.margin, ratio)
    if pi <= ci:
        return "no concerns"
    if {"low", "high"} <= pi and not {"low", "high"} <= ci:
        return "major concerns"
    return "some concerns"


def _incoherence(split_p: float | None, global_p: float | None, rules: ConfidenceRules) -> str:
    if split_p is not None and math.isfinite(split_p):
        if split_p < rules.split_major_p:
            return "major concerns"
        if split_p < rules.split_some_p:
            return "some concerns"
        return "no concerns"
    if global_p is not None and math.isfinite(global_p) and global_p < rules.global_p:
        return "some concerns"
    if global_p is None or not math.isfinite(global_p):
        return NOT_ASSESSED
    return "no concerns"


def comparison_confidence(
    effect: Mapping[str, float],
    *,
    ratio: bool,
    split_p: float | None,
    global_p: float | None,
    rules: ConfidenceRules | None = None,
) -> dict[str, str]:
    """The six domain judgements and the proposed confidence for one comparison.

    Parameters
    ----------
    effect
        ``ci_lb``, ``ci_ub``, ``pi_lb``, ``pi_ub`` of the comparison on the analysis scale.
    ratio
        Whether the scale is a log ratio (zones at +-log(margin)) or a difference.
    split_p
        Node-split p-value of the comparison (None or NaN when it has no direct and indirect
        evidence to compare).
    global_p
        p-value of Q between designs for the network.
    rules
        Thresholds (default :class:`ConfidenceRules`).

    Returns
    -------
    dict
        One entry per domain of :data:`DOMAINS` and ``"confidence"`` (one of :data:`LEVELS`).
    """
    rules = rules or ConfidenceRules()
    get = {k: float(effect.get(k, math.nan)) for k in ("ci_lb", "ci_ub", "pi_lb", "pi_ub")}
    judged = {
        "within-study bias": NOT_ASSESSED,
        "reporting bias": NOT_ASSESSED,
        "indirectness": "not judged",
        "imprecision": _imprecision(get["ci_lb"], get["ci_ub"], rules, ratio),
        "heterogeneity": _heterogeneity(
            get["ci_lb"], get["ci_ub"], get["pi_lb"], get["pi_ub"], rules, ratio
        ),
        "incoherence": _incoherence(split_p, global_p, rules),
    }
    down = sum(CONCERN_LEVELS.get(v, 0) for v in judged.values())
    judged["confidence"] = LEVELS[min(down, len(LEVELS) - 1)]
    return judged


def confidence_table(
    effects: pd.DataFrame,
    node_split: pd.DataFrame,
    *,
    reference: str,
    ratio: bool,
    global_p: float | None,
    rules: ConfidenceRules | None = None,
) -> pd.DataFrame:
    """The proposal for every treatment vs the reference (one model's rows of ``effects.csv``).

    ``node_split`` is ``node_split.csv``; a comparison is matched to its row whichever way round
    the two treatments are named there.
    """
    split = {}
    for _, row in node_split.iterrows():
        pair = frozenset((str(row["treat1"]), str(row["treat2"])))
        split[pair] = float(row["pval"]) if pd.notna(row["pval"]) else None
    rows: list[dict[str, Any]] = []
    for _, effect in effects.iterrows():
        treatment = str(effect["treatment"])
        if treatment == reference:
            continue
        judged = comparison_confidence(
            effect.to_dict(),
            ratio=ratio,
            split_p=split.get(frozenset((treatment, reference))),
            global_p=global_p,
            rules=rules,
        )
        rows.append({"comparison": f"{treatment} vs {reference}", **judged})
    return pd.DataFrame(rows, columns=["comparison", *DOMAINS, "confidence"])


def confidence_rules_text(rules: ConfidenceRules | None = None) -> str:
    """The rules of the proposal in plain words (printed under the table)."""
    rules = rules or ConfidenceRules()
    return (
        "Rules of this proposal (in the spirit of CINeMA, Nikolakopoulou et al. 2020; not a CINeMA "
        f"assessment). Clinically important: a ratio below {1 / rules.margin:.2f} or above "
        f"{rules.margin:.2f}. Imprecision: no concerns when the 95% CI excludes no effect; some "
        "concerns when it includes no effect; major concerns when it reaches both important "
        "benefit and important harm. Heterogeneity: some concerns when the 95% prediction "
        "interval reaches a zone the CI does not; major concerns when it reaches both important "
        "benefit and harm and the CI does not. Incoherence: major concerns when node-splitting "
        f"of the comparison gives p < {rules.split_major_p:g}, some concerns when p < "
        f"{rules.split_some_p:g} (or, for a comparison that cannot be split, when Q between "
        f"designs gives p < {rules.global_p:g}). Within-study bias and reporting bias are not "
        "assessed (the network sheets carry no risk-of-bias judgements) and indirectness is not "
        "judged automatically: none of them rates down, so each proposal is an upper bound. "
        "Confidence starts at high and goes down one level per 'some concerns' and two per "
        "'major concerns'."
    )
