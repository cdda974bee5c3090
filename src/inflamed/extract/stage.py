"""The extract stage: one analysis-ready effect per study, contrast, subgroup and outcome.

This module runs the pass over each study's rows (selection, multi-arm split, effect); the row
rules live beside it: :mod:`inflamed.extract.arms` (arm-level numbers and effects),
:mod:`inflamed.extract.contrast` (contrast-level rows), :mod:`inflamed.extract.tables` (columns,
rules, result).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.extract.arms import ArmNumbers, arm_effect, arm_usable, binary_effect
from inflamed.extract.contrast import contrast_effect, contrast_refusal, is_contrast
from inflamed.extract.tables import (
    COVARIATES,
    ExtractionResult,
    RowEffect,
    groups,
    is_missing,
    normalise,
    sort_tables,
    validated_rules,
    who_can_supply,
)
from inflamed.labels import study_label
from inflamed.stats.multi_arm import split_shared_control

__all__ = ["extract_effects"]


def _rank_instrument(instrument: str, priority: list[str]) -> tuple[int, str]:
    return (
        (priority.index(instrument), "") if instrument in priority else (len(priority), instrument)
    )


def _rank_time(t: float, rule: str, target: float) -> tuple[float, float]:
    if is_missing(t):
        return (math.inf, 0.0)
    if rule == "latest":
        return (-t, 0.0)
    return (abs(t - target), -t)  # ties go to the later time point


@dataclass(frozen=True)
class _Context:
    """What every outcome's pass needs besides its rows."""

    rules: dict[str, Any]
    allowed: set[str]
    studies: dict[str, dict[str, Any]]
    instruments: dict[str, str]


def _usable(row: Mapping[str, Any], otype: str, measure: str, allowed: set[str]) -> bool:
    if is_contrast(row):
        return contrast_refusal(row, otype, measure) is None
    return arm_usable(row, otype, allowed)


def _why_unusable(
    row: Mapping[str, Any], otype: str, measure: str, allowed: set[str]
) -> tuple[str, str]:
    """``(fields, why)`` of a row that cannot give the outcome's effect."""
    if is_contrast(row):
        refusal = contrast_refusal(row, otype, measure)
        assert refusal is not None
        return refusal
    if otype == "binary":
        fields = [
            c for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl") if is_missing(row[c])
        ]
        why = "event counts or denominators not reported"
        if not is_missing(row["n_treat"]) and is_missing(row["events_treat"]):
            why = "events not reported as counts (only n, or a percentage in the source)"
        return ", ".join(fields), why
    t, c = ArmNumbers(row, "treat", allowed), ArmNumbers(row, "ctrl", allowed)
    return ", ".join(t.missing + c.missing), "; ".join(t.why + c.why)


def _where(row: Mapping[str, Any]) -> str:
    what = row["instrument"] or "no instrument"
    if is_missing(row["timepoint_weeks"]):
        return f"({what})"
    return f"({what}, week {row['timepoint_weeks']:g})"


def _extract_outcome(
    outcome: str,
    spec: Mapping[str, Any],
    measure: str,
    rows: pd.DataFrame,
    ctx: _Context,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Effects, derivation-log rows and missing rows of one outcome on one measure."""
    r, allowed, studies = ctx.rules, ctx.allowed, ctx.studies
    otype = spec["type"]
    effects: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    priority = list(r["instrument_priority"].get(outcome, []))
    chosen: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for (sid, contrast, subgroup), group in groups(rows, ["study_id", "contrast", "subgroup"]):
        base = {"study_id": sid, "outcome": outcome, "subgroup": subgroup, "contrast": contrast}
        ranked_rows = sorted(
            group,
            key=lambda t: (
                _rank_instrument(t["instrument"], priority),
                _rank_time(t["timepoint_weeks"], r["timepoint_rule"], float(r["target_weeks"])),
                0 if t["measure_kind"] == "endpoint" else 1,
                1 if is_contrast(t) else 0,  # arm-level numbers before a reported difference
                t["row_ref"],
            ),
        )
        usable = [x for x in ranked_rows if _usable(x, otype, measure, allowed)]
        if not usable:
            for x in ranked_rows:
                fields, why = _why_unusable(x, otype, measure, allowed)
                missing.append(
                    {
                        **base,
                        "fields": fields,
                        "why": f"{why} {_where(x)}",
                        "who": who_can_supply(studies.get(sid), sid),
                        "row_ref": x["row_ref"],
                    }
                )
            continue
        pick = usable[0]
        others = [x["row_ref"] for x in ranked_rows if x["row_ref"] != pick["row_ref"]]
        how = (
            f"instrument priority {priority or '(none: alphabetical)'}, then time point "
            + (
                f"closest to {r['target_weeks']:g} weeks (ties to the later)"
                if r["timepoint_rule"] == "closest"
                else "latest"
            )
            + ", then endpoint before change, then arm-level before contrast-level"
        )
        kind = f"{pick['measure_kind']}{' (contrast-level)' if is_contrast(pick) else ''}"
        log.append(
            {
                **base,
                "row_ref": pick["row_ref"],
                "step": "select",
                "formula": f"chose {pick['instrument'] or 'no instrument'}, week {pick['timepoint_weeks']:g}, {kind} by {how}"
                + (f"; not used: {', '.join(others)}" if others else ""),
                "assumption": ""
                if len(usable) == len(ranked_rows)
                else "rows without usable numbers skipped: "
                + ", ".join(
                    x["row_ref"] for x in ranked_rows if not _usable(x, otype, measure, allowed)
                ),
            }
        )
        chosen.append((pick, base))

    # multi-arm: comparisons of one study/subgroup sharing a control arm
    shared: dict[tuple[str, str, str], list[int]] = {}
    for i, (pick, base) in enumerate(chosen):
        if pick["shared_ctrl"]:
            shared.setdefault((base["study_id"], base["subgroup"], pick["shared_ctrl"]), []).append(
                i
            )
    ctrl_n: dict[int, float] = {}
    ctrl_ev: dict[int, float] = {}
    drop: set[int] = set()
    for (_sid, _sub, label), members in shared.items():
        if len(members) < 2:
            continue
        members = sorted(members, key=lambda i: chosen[i][1]["contrast"])
        if r["multi_arm"] == "first":
            for i in members[1:]:
                drop.add(i)
                pick, base = chosen[i]
                log.append(
                    {
                        **base,
                        "row_ref": pick["row_ref"],
                        "step": "exclude",
                        "formula": f"multi-arm rule 'first': control arm '{label}' already used by {chosen[members[0]][1]['contrast']}",
                        "assumption": "",
                    }
                )
            continue
        first = chosen[members[0]][0]
        events = None if otype != "binary" else int(first["events_ctrl"])
        split = split_shared_control(int(first["n_ctrl"]), len(members), events)
        for j, i in enumerate(members):
            pick, base = chosen[i]
            ctrl_n[i] = split.n[j]
            if split.events is not None:
                ctrl_ev[i] = split.events[j]
            log.append(
                {
                    **base,
                    "row_ref": pick["row_ref"],
                    "step": "split_control",
                    "formula": f"{split.derivation}; this comparison: n_ctrl = {split.n[j]}"
                    + (f", events_ctrl = {split.events[j]}" if split.events is not None else ""),
                    "assumption": "comparisons share one control arm (shared_ctrl = "
                    + repr(label)
                    + ")",
                }
            )

    for i, (pick, base) in enumerate(chosen):
        if i in drop:
            continue
        ref = pick["row_ref"]
        study = studies.get(base["study_id"], {})
        n_ctrl = ctrl_n.get(i, pick["n_ctrl"])
        if is_contrast(pick):
            eff = contrast_effect(pick, measure, ctx.instruments.get(pick["instrument"]))
        elif otype == "binary":
            eff = binary_effect(
                pick,
                measure,
                n_ctrl,
                ctrl_ev.get(i, pick["events_ctrl"]),
                float(r["continuity_correction"]),
                spec.get("event_is", "unspecified"),
            )
        else:
            eff = arm_effect(
                pick, measure, n_ctrl, allowed, ctx.instruments.get(pick["instrument"])
            )
        if eff.excluded is not None:
            formula, assumption = eff.excluded
            log.append(
                {
                    **base,
                    "row_ref": ref,
                    "step": "exclude",
                    "formula": formula,
                    "assumption": assumption,
                }
            )
            continue
        if eff.refused is not None:
            fields, why = eff.refused
            missing.append(
                {
                    **base,
                    "fields": fields,
                    "why": why,
                    "who": "review team (data/instruments.csv)",
                    "row_ref": ref,
                }
            )
            continue
        log.extend(
            {**base, "row_ref": ref, "step": step, "formula": formula, "assumption": assumption}
            for step, formula, assumption in eff.steps
        )
        effects.append(_effect_row(pick, base, eff, measure, n_ctrl, ctrl_n.get(i), study))
    return effects, log, missing


def _effect_row(
    pick: Mapping[str, Any],
    base: dict[str, Any],
    eff: RowEffect,
    measure: str,
    n_ctrl: float,
    split_n: float | None,
    study: Mapping[str, Any],
) -> dict[str, Any]:
    derivation = list(eff.derivation)
    if split_n is not None:
        derivation.insert(0, f"shared control split: n_ctrl = {split_n}")
    contrast_level = is_contrast(pick)
    n_total = pick["diff_n"] if contrast_level else pick["n_treat"] + n_ctrl
    return {
        "review": pick["review"], **base, "instrument": pick["instrument"], "timepoint_weeks": pick["timepoint_weeks"],
        "measure": measure, "yi": eff.yi, "vi": eff.vi, "n_treat": pick["n_treat"], "n_ctrl": n_ctrl,
        "events_treat": eff.events[0], "events_ctrl": eff.events[1],
        "derivation": "; ".join(derivation), "row_ref": pick["row_ref"], "measure_kind": pick["measure_kind"],
        "study_label": study_label({**study, "study_id": base["study_id"]}),
        **{k: study.get(k, np.nan) for k in COVARIATES},
        "input_level": "contrast" if contrast_level else "arm", "n_total": n_total,
    }  # fmt: skip


def extract_effects(
    review: Any,
    outcomes_config: Mapping[str, Mapping[str, Any]],
    rules: Mapping[str, Any] | None = None,
) -> ExtractionResult:
    """Turn a review's contrasts table into one analysis-ready effect per study and outcome.

    Parameters
    ----------
    review
        A :class:`inflamed.ingest.sheets.Review` (needs ``contrasts``, ``studies`` and
        ``instruments``; ``name``).
    outcomes_config
        ``{outcome: {"type": "continuous"|"binary", "measure": "SMD"|"MD"|"RR"|"OR"|"RD",
        "event_is": "benefit"|"harm"}}`` (the review's ``outcomes`` in config). Rows of outcomes
        not declared here are ignored.
    rules
        The ``extraction`` section of config: ``timepoint_rule`` (``closest`` to
        ``target_weeks``, ties to the later; or ``latest``), ``instrument_priority``
        (``{outcome: [instrument, ...]}``; unlisted instruments after the listed ones,
        alphabetically), ``prepost_correlation`` (recorded; used only where a change-score SD must
        be derived from baseline and endpoint SDs, which the sheet format does not carry),
        ``sd_imputations`` (subset of ``se``, ``ci``, ``median_iqr``, ``median_range``),
        ``multi_arm`` (``split`` or ``first``), ``continuity_correction`` (added to 2x2 tables
        with a zero cell). Missing keys take :data:`DEFAULT_RULES`.

    Returns
    -------
    ExtractionResult
        ``effects``, ``derivation_log``, ``missing`` (all sorted) and the rules used.

    Notes
    -----
    Selection: within a study x contrast x subgroup x outcome, rows that carry usable numbers
    are ranked by instrument priority, then time point, then endpoint before change score; the
    first is used and the choice is logged with the alternatives. If no row is usable, each
    candidate's missing fields go to ``missing``.

    Sign convention (``docs/architecture.md``): ``escalc`` gives treatment minus control. For
    continuous outcomes on an instrument scored higher = worse (``data/instruments.csv``),
    endpoints and post - pre changes are flipped (``yi = -yi``) so that positive favours
    treatment; pre - post changes (improvement positive) are first turned into post - pre by
    negating both means (logged), so one rule covers both. Binary outcomes keep treatment vs
    control (RR > 1 = more events on treatment); ``event_is`` tells the report how to word it.

    Multi-arm trials (rows of one study sharing a non-empty ``shared_ctrl`` label): ``split``
    divides the control arm's n (and events, for binary outcomes) evenly over the comparisons
    (:func:`inflamed.stats.multi_arm.split_shared_control`, Cochrane Handbook 23.3.4); ``first``
    keeps only the alphabetically first contrast.

    Binary outcomes with no events (or only events) in both arms carry no information on a
    ratio scale; they are dropped from RR/OR effects and the drop is logged (Cochrane Handbook
    10.4.4.2).

    Contrast-level rows (a between-arm difference with its SE or CI; :mod:`inflamed.extract.contrast`)
    take part in the same selection (after an arm-level row of the same instrument, time point
    and kind) and give an MD, or an SMD only where a pooled SD and the total n are sourced;
    otherwise they are refused for the SMD analysis and the refusal is in ``missing``.
    For every continuous outcome whose measure is not MD, ``instrument_effects`` holds the mean
    difference in each instrument's own points (same selection, one instrument at a time).
    """
    r = validated_rules(rules)
    contrasts: pd.DataFrame = normalise(review.contrasts)
    ctx = _Context(
        rules=r,
        allowed=set(r["sd_imputations"]),
        studies={s["study_id"]: s for s in review.studies.to_dict("records")},
        instruments=review.instruments.set_index("instrument")["higher_is_worse"].to_dict(),
    )
    effects: list[dict[str, Any]] = []
    by_instrument: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for outcome, spec in outcomes_config.items():
        otype = spec.get("type")
        if otype not in ("continuous", "binary"):
            raise InputError(
                "unknown outcome type",
                column=f"outcomes.{outcome}.type",
                value=otype,
                expected="continuous or binary",
            )
        measure = spec.get("measure") or ("SMD" if otype == "continuous" else "RR")
        rows = contrasts[contrasts["outcome"] == outcome]
        found = _extract_outcome(outcome, {**spec, "type": otype}, measure, rows, ctx)
        effects += found[0]
        log += found[1]
        missing += found[2]
        if otype == "continuous" and measure != "MD":
            # The same selection within each instrument, on its own points: the MD analysis
            # that never mixes instruments. Its gaps are those of the main pass; its log is
            # kept for contrast-level rows, whose MD is otherwise derived nowhere.
            for instrument in sorted(set(rows["instrument"]) - {""}):
                part = rows[rows["instrument"] == instrument]
                md, md_log, _ = _extract_outcome(outcome, {**spec, "type": otype}, "MD", part, ctx)
                by_instrument += md
                own = {e["row_ref"] for e in md if e["input_level"] == "contrast"}
                log += [x for x in md_log if x["row_ref"] in own]
    eff, dlog, miss = sort_tables(effects, log, missing)
    return ExtractionResult(
        effects=eff,
        derivation_log=dlog,
        missing=miss,
        rules=r,
        instrument_effects=sort_tables(by_instrument, [], [])[0],
    )
