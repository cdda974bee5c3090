"""GRADE rules that need the review's sheets, not only the pooled artefact.

Indirectness and non-reporting bias are judged from columns the sheets carry, by stated rules
(GRADE guidelines 8 and 5; Cochrane Handbook 14.2.2):

* **Indirectness** (population, outcome definition): rate down one level for each kind of
  concern, two when there are two or more kinds.

  - *post hoc subgroup*: a CRP-selected result comes from a study whose
    ``inflammation_selection`` is ``post_hoc`` (a subgroup formed after the fact);
  - *population not CRP-selected*: a whole-sample result comes from studies that did not select
    their patients on CRP (``unselected``, ``post_hoc`` or ``stratified``), so it answers the
    review's CRP question only indirectly;
  - *outcome definition*: the outcome row's notes or subgroup definition say it was counted "at
    any (study) point" or "during treatment" rather than at the end of treatment.

* **Non-reporting bias**: rate down one level when studies in the review measured the outcome
  for this analysis set but their results are not public (rows of ``missing_data.csv``), naming
  them; funnel-plot tests (k >= 10) are used only when no result is known to be missing.

Absolute effects: for a ratio, the assumed control risk is the pooled control-arm risk of the
contributing studies (events / N), and the corresponding risk is that times the ratio and its
confidence limits, per 1,000. An SMD is re-expressed in the primary instrument's points by the
control-arm SD of the contributing rows of that instrument (N-weighted), naming the rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.tables import study_labels

__all__ = [
    "AbsoluteEffect",
    "GradeContext",
    "absolute_effect",
    "grade_context",
    "judge_indirectness",
    "judge_non_reporting",
    "name_list",
]

_ANY_TIME = re.compile(r"at any (?:study )?point|during treatment|at any time", re.IGNORECASE)
_NOT_SELECTED = ("unselected", "post_hoc", "stratified")


@dataclass(frozen=True)
class GradeContext:
    """What the sheets say beyond the pooled artefact, keyed for the rules above."""

    labels: dict[str, str]
    contrasts: pd.DataFrame | None
    missing: dict[tuple[str, str], tuple[str, ...]]
    instrument_priority: dict[str, tuple[str, ...]]
    contrasts_source: str = ""


def grade_context(
    review: ReviewArtefacts, run_config: Mapping[str, object] | None = None
) -> GradeContext:
    """Collect the context of the rules from one review's artefacts (and the run config)."""
    missing: dict[tuple[str, str], list[str]] = {}
    if review.missing_data is not None:
        for _, r in review.missing_data.iterrows():
            key = (str(r.get("outcome")), str(r.get("subgroup")))
            sid = str(r.get("study_id"))
            if sid not in missing.setdefault(key, []):
                missing[key].append(sid)
    extraction = (run_config or {}).get("extraction", {}) if run_config else {}
    priority = extraction.get("instrument_priority", {}) if isinstance(extraction, Mapping) else {}
    return GradeContext(
        labels=study_labels(review.studies),
        contrasts=review.contrasts,
        missing={k: tuple(v) for k, v in missing.items()},
        instrument_priority={k: tuple(v) for k, v in dict(priority).items()},
        contrasts_source=review.path("ingest", "contrasts.csv"),
    )


#: Studies named in one reason; a large review's reason says how many more instead of listing them.
NAMES_SHOWN = 8


def name_list(ids: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    """``"A 2001, B 2002 and 3 more"``: the first :data:`NAMES_SHOWN` studies by their labels."""
    labels = labels or {}
    shown = ", ".join(labels.get(str(i), str(i)) for i in ids[:NAMES_SHOWN])
    more = len(ids) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _row_texts(rows: pd.DataFrame, context: GradeContext) -> dict[str, str]:
    contrasts = context.contrasts
    if contrasts is None or "row_ref" not in rows or "row_ref" not in contrasts:
        return {}
    wanted = contrasts[contrasts["row_ref"].isin(rows["row_ref"])]
    return {
        str(r["study_id"]): f"{r.get('subgroup_definition', '')} {r.get('notes', '')}"
        for _, r in wanted.iterrows()
    }


#: A rule's verdict: (levels to rate down, reason in words, whether it was assessed).
Verdict = tuple[int, str, bool]


def judge_indirectness(rows: pd.DataFrame, analysis_set: str, context: GradeContext) -> Verdict:
    """Indirectness by the module's rules."""
    if rows.empty:
        return 0, "no study rows", False
    if "inflammation_selection" in rows:
        selection = dict(
            zip(rows["study_id"].astype(str), rows["inflammation_selection"], strict=True)
        )
    else:  # a pool table without the column (older runs): no population rule applies
        selection = {}
    kinds = []
    post_hoc = sorted(s for s, v in selection.items() if v == "post_hoc")
    if analysis_set != "whole" and post_hoc:
        kinds.append(f"post hoc CRP subgroup ({name_list(post_hoc, context.labels)})")
    if analysis_set == "whole":
        broad = sorted(s for s, v in selection.items() if v in _NOT_SELECTED)
        if broad:
            kinds.append(
                "whole samples not selected on CRP answer the CRP question indirectly "
                f"({name_list(broad, context.labels)})"
            )
    any_time = sorted(s for s, text in _row_texts(rows, context).items() if _ANY_TIME.search(text))
    if any_time:
        kinds.append(
            "outcome counted at any point during treatment, not at its end "
            f"({name_list(any_time, context.labels)})"
        )
    if not kinds:
        return 0, "CRP-selected population, end-of-treatment outcome", True
    return min(len(kinds), 2), "; ".join(kinds), True


def judge_non_reporting(
    outcome: str, analysis_set: str, context: GradeContext, contributing: Iterable[str] = ()
) -> Verdict | None:
    """Non-reporting bias from known-missing results (None: none known, use funnel-plot tests).

    A study in ``contributing`` has a result in the analysis (e.g. a reported between-arm
    difference while its per-arm numbers are still requested): its result is not unreported.
    """
    present = {str(s) for s in contributing}
    missing = [s for s in context.missing.get((outcome, analysis_set), ()) if s not in present]
    if not missing:
        return None
    return (
        1,
        f"results of {len(missing)} {'study' if len(missing) == 1 else 'studies'} that measured "
        f"this outcome are not public ({name_list(missing, context.labels)}): selective "
        "non-reporting cannot be excluded",
        True,
    )


@dataclass(frozen=True)
class AbsoluteEffect:
    """An absolute effect: per 1,000 for ratios, instrument points for SMDs."""

    text: str
    basis: str


def absolute_effect(
    measure: str,
    estimate: float | None,
    ci_lb: float | None,
    ci_ub: float | None,
    rows: pd.DataFrame,
    outcome: str,
    context: GradeContext,
) -> AbsoluteEffect | None:
    """The absolute effect of a row of the summary of findings (None when not computable)."""
    if estimate is None or rows.empty:
        return None
    if measure in ("RR", "OR") and {"events_ctrl", "n_ctrl"} <= set(rows.columns):
        usable = rows.dropna(subset=["events_ctrl", "n_ctrl"])
        n = float(usable["n_ctrl"].sum())
        if n <= 0:
            return None
        acr = float(usable["events_ctrl"].sum()) / n

        def risk(ratio: float) -> float:
            if measure == "RR":
                return acr * ratio
            odds = acr / (1 - acr) * ratio  # OR: convert through the odds
            return odds / (1 + odds)

        # A risk cannot exceed 1,000 per 1,000: a ratio's upper limit times a high control risk
        # can, so it is capped and the text says so (GRADE handbook 14.1.5).
        raw = [1000 * risk(x) for x in (estimate, ci_lb, ci_ub) if x is not None]
        per = [min(round(r), 1000) for r in raw]
        text = f"{round(1000 * acr)} per 1,000 with placebo; {per[0]} per 1,000 with treatment"
        if len(per) == 3:
            text += f" (95% CI {per[1]} to {per[2]}{', capped' if raw[2] > 1000 else ''})"
        basis = (
            f"assumed control risk = control-arm events / N of the contributing studies "
            f"({int(usable['events_ctrl'].sum())}/{int(n)})"
        )
        return AbsoluteEffect(text, basis)
    if measure == "MD" and "instrument" in rows:
        # Already in the instrument's points: the absolute effect is the difference itself.
        instrument = str(rows["instrument"].iloc[0])
        return AbsoluteEffect(
            _points_text((estimate, ci_lb, ci_ub), 1.0, instrument),
            f"mean difference in {instrument} points as reported between arms "
            f"({_row_sources(rows, context)}); no SMD, as no pooled SD is sourced",
        )
    if measure == "SMD" and context.contrasts is not None and "row_ref" in rows:
        priority = context.instrument_priority.get(outcome, ())
        instruments = [i for i in priority if i in set(rows.get("instrument", []))]
        if not instruments:
            return None
        instrument = instruments[0]
        refs = rows[rows["instrument"] == instrument]["row_ref"]
        arms = context.contrasts[context.contrasts["row_ref"].isin(refs)].dropna(
            subset=["sd_ctrl", "n_ctrl"]
        )
        if arms.empty:
            return None
        sd = float((arms["sd_ctrl"] * arms["n_ctrl"]).sum() / arms["n_ctrl"].sum())
        return AbsoluteEffect(
            _points_text((estimate, ci_lb, ci_ub), sd, instrument),
            f"SMD x control-arm SD {sd:.3g} of {instrument} from {_row_sources(arms, context)}",
        )
    return None


def _points_text(values: Sequence[float | None], scale: float, instrument: str) -> str:
    """ "-2.5 HAMD17 points (95% CI -6.6 to 1.6); positive favours treatment"."""
    pts = [x * scale for x in values if x is not None]
    text = f"{pts[0]:.1f} {instrument} points"
    if len(pts) == 3:
        text += f" (95% CI {pts[1]:.1f} to {pts[2]:.1f})"
    return text + "; positive favours treatment"


def _row_sources(rows: pd.DataFrame, context: GradeContext) -> str:
    """ "Raison 2013 (anti-inflammatory-crp/outcomes.csv:2)": each row's study and sheet row."""
    return ", ".join(
        f"{context.labels.get(str(r['study_id']), r['study_id'])} ({r['row_ref']})"
        for _, r in rows.iterrows()
    )
