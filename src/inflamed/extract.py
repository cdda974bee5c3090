"""Trial extraction: from the contrasts table to one analysis-ready effect per study and outcome.

For every outcome declared in config and every study x contrast x subgroup, :func:`extract_effects`

1. picks one row by the configured priority rule (instrument priority, then time point, then
   endpoint before change scores), among the rows that carry usable numbers;
2. recovers what the effect size needs and the source does not give directly, but only in the
   ways the rules allow (SD from SE or CI, mean and SD from median + IQR or range);
3. splits a control arm shared by several contrasts of a multi-arm trial (or keeps only the first
   contrast), so that no participant is counted twice;
4. computes the effect with :func:`inflamed.stats.effect_sizes.escalc` (arm 1 = treatment) and applies
   the sign convention: for continuous outcomes positive favours treatment, so effects on
   instruments scored higher = worse are flipped; binary effects stay treatment vs control;
5. writes every step to the derivation log and every value it needed and did not get to the
   missing table, with who could supply it.

Nothing is estimated that the rules did not allow.

Status: tested on the simulated fixture review (tests/test_extract.py). ``prepost_correlation`` is
recorded but not used: the sheet format carries no baseline SDs from which a change-score SD
could be derived, so no row needs it yet.

Length (over 500 lines): the priority rule, the conversions and the multi-arm split are one pass
over each study's rows; splitting it by step (selection, recovery, effect) is the next
refactor, left for when contrast-level rows are added.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.labels import study_label
from inflamed.stats import conversions, medians
from inflamed.stats.effect_sizes import escalc
from inflamed.stats.multi_arm import split_shared_control

__all__ = [
    "DEFAULT_RULES",
    "DERIVATION_COLUMNS",
    "EFFECT_COLUMNS",
    "MISSING_COLUMNS",
    "ExtractionResult",
    "extract_effects",
]

#: Defaults, identical to the ``extraction`` section of ``workflow/schemas/config.schema.yaml``.
DEFAULT_RULES: dict[str, Any] = {
    "timepoint_rule": "closest",
    "target_weeks": 8,
    "instrument_priority": {},
    "prepost_correlation": 0.5,
    "sd_imputations": ["se", "ci"],
    "multi_arm": "split",
    "continuity_correction": 0.5,
}
COVARIATES = [
    "year",
    "mechanism_class",
    "drug",
    "crp_cutoff_mg_l",
    "baseline_crp_mg_l",
    "inflammation_selection",
    "add_on",
]
EFFECT_COLUMNS = [
    "review", "study_id", "contrast", "subgroup", "outcome", "instrument", "timepoint_weeks",
    "measure", "yi", "vi", "n_treat", "n_ctrl", "events_treat", "events_ctrl", "derivation",
    "row_ref", "measure_kind", "study_label", *COVARIATES,
]  # fmt: skip
DERIVATION_COLUMNS = [
    "row_ref",
    "study_id",
    "outcome",
    "subgroup",
    "contrast",
    "step",
    "formula",
    "assumption",
]
MISSING_COLUMNS = ["study_id", "outcome", "subgroup", "contrast", "fields", "why", "who", "row_ref"]
_STEPS = ["select", "direction", "mean", "sd", "split_control", "effect_size", "sign", "exclude"]


@dataclass(frozen=True)
class ExtractionResult:
    """What the extract stage produces.

    Attributes
    ----------
    effects
        One row per study x contrast x subgroup x outcome (:data:`EFFECT_COLUMNS`), sorted by
        outcome, subgroup, study_id, contrast. ``yi`` is on the analysis scale (log for RR/OR).
    derivation_log
        One row per derivation step (:data:`DERIVATION_COLUMNS`).
    missing
        One row per value an analysis needed and did not get (:data:`MISSING_COLUMNS`).
    rules
        The rules used (defaults filled in), for the record.
    """

    effects: pd.DataFrame
    derivation_log: pd.DataFrame
    missing: pd.DataFrame
    rules: dict[str, Any] = field(default_factory=dict)


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _who(study: Mapping[str, Any] | None, study_id: str) -> str:
    if study is None:
        return f"trial investigators ({study_id})"
    author = study.get("first_author")
    out = f"trial investigators ({study_id if _nan(author) or not author else author} et al.)"
    reg = study.get("registry_id")
    reg = "" if _nan(reg) else str(reg)
    if reg.startswith("NCT"):
        out += f"; sponsor, via ClinicalTrials.gov results for {reg}"
    elif reg:
        out += f"; sponsor, via the registry record {reg}"
    return out


def _rank_instrument(instrument: str, priority: list[str]) -> tuple[int, str]:
    return (
        (priority.index(instrument), "") if instrument in priority else (len(priority), instrument)
    )


def _rank_time(t: float, rule: str, target: float) -> tuple[float, float]:
    if _nan(t):
        return (math.inf, 0.0)
    if rule == "latest":
        return (-t, 0.0)
    return (abs(t - target), -t)  # ties go to the later time point


class _Arm:
    """Mean/SD/n of one arm, filled by the allowed rules, with the steps taken."""

    def __init__(self, row: pd.Series, arm: str, allowed: set[str]) -> None:
        self.n = row[f"n_{arm}"]
        self.mean = row[f"mean_{arm}"]
        self.sd = row[f"sd_{arm}"]
        self.steps: list[tuple[str, str, str]] = []
        self.missing: list[str] = []
        self.why: list[str] = []
        g = {
            k: row[f"{k}_{arm}"]
            for k in ("se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max")
        }
        if _nan(self.n):
            self.missing.append(f"n_{arm}")
            self.why.append(f"no analysed n for the {arm} arm")
            allowed = set()  # every imputation needs n
        if _nan(self.mean) and not _nan(g["median"]):
            if not _nan(g["q1"]) and not _nan(g["q3"]) and "median_iqr" in allowed:
                r = medians.mean_sd_from_median_iqr(g["median"], g["q1"], g["q3"], self.n)
                self.mean = r.mean
                if _nan(self.sd):
                    self.sd = r.sd
                self.steps.append(
                    ("mean", f"{arm}: {r.derivation}", "approximately normal distribution")
                )
            elif not _nan(g["min"]) and not _nan(g["max"]) and "median_range" in allowed:
                r = medians.mean_sd_from_median_range(g["median"], g["min"], g["max"], self.n)
                self.mean = r.mean
                if _nan(self.sd):
                    self.sd = r.sd
                self.steps.append(
                    ("mean", f"{arm}: {r.derivation}", "approximately normal distribution")
                )
        if _nan(self.sd):
            if not _nan(g["se"]) and "se" in allowed:
                r = conversions.sd_from_se(g["se"], self.n)
                self.sd = r.value
                self.steps.append(
                    (
                        "sd",
                        f"{arm}: {r.derivation} with n = {self.n:g}",
                        "SE refers to the arm mean and the analysed n",
                    )
                )
            elif not _nan(g["ci_lb"]) and not _nan(g["ci_ub"]) and "ci" in allowed:
                r = conversions.sd_from_ci(g["ci_lb"], g["ci_ub"], self.n)
                self.sd = r.value
                self.steps.append(
                    (
                        "sd",
                        f"{arm}: {r.derivation} with n = {self.n:g}",
                        "95% CI of the arm mean, t-based",
                    )
                )
        if _nan(self.mean):
            self.missing.append(f"mean_{arm}")
            if not _nan(g["median"]):
                self.why.append(
                    f"{arm} arm gives a median but no mean, and the rules (or a missing n) do not allow imputing it"
                )
            else:
                self.why.append(f"no mean for the {arm} arm")
        if _nan(self.sd):
            self.missing.append(f"sd_{arm}")
            given = [k for k in ("se", "ci_lb", "q1", "min") if not _nan(g[k])]
            if given:
                self.why.append(
                    f"no SD for the {arm} arm; {'/'.join(given)} given but imputing from it is not allowed "
                    f"(rules: {sorted(allowed) or 'none usable'})"
                )
            else:
                self.why.append(f"no SD, SE, CI, IQR or range for the {arm} arm")

    @property
    def usable(self) -> bool:
        return not self.missing


def _usable(row: pd.Series, otype: str, allowed: set[str]) -> bool:
    if otype == "binary":
        return not any(_nan(row[c]) for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl"))
    return _Arm(row, "treat", allowed).usable and _Arm(row, "ctrl", allowed).usable


_TEXT = ["study_id", "contrast", "treat_arm", "ctrl_arm", "shared_ctrl", "subgroup", "subgroup_definition", "outcome", "instrument", "measure_kind", "change_direction", "source", "source_location", "extractor", "notes", "review", "row_ref"]  # fmt: skip


def _groups(
    rows: pd.DataFrame, keys: list[str]
) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    """``rows.groupby(keys, sort=True)`` as (key, rows as dicts) pairs, in the same order.

    One ``to_dict`` for the whole table instead of a data frame and a Series per group and row:
    pandas' per-object overhead made extraction grow to minutes at 5,000 comparisons (profiled).
    """
    if rows.empty:
        return []
    records = rows.to_dict("records")
    number = rows.groupby(keys, sort=True).ngroup().to_numpy()
    order = np.argsort(number, kind="stable")
    order = order[number[order] >= 0]  # -1: a key is missing (groupby drops those rows)
    starts = np.flatnonzero(np.diff(number[order], prepend=-1))
    out: list[tuple[tuple[Any, ...], list[dict[str, Any]]]] = []
    for part in np.split(order, starts[1:]):
        members = [records[i] for i in part]
        out.append((tuple(members[0][k] for k in keys), members))
    return out


def _normalise(contrasts: pd.DataFrame) -> pd.DataFrame:
    """Text cells as str ("" = empty) and numbers as float, also after a CSV round trip."""
    out = contrasts.copy()
    for c in out.columns:
        if c in _TEXT:
            out[c] = out[c].where(out[c].notna(), "").astype(str)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def _rules(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = {**DEFAULT_RULES, **dict(rules or {})}
    if merged["timepoint_rule"] not in ("closest", "latest"):
        raise InputError(
            "unknown time-point rule",
            column="timepoint_rule",
            value=merged["timepoint_rule"],
            expected="'closest' or 'latest'",
        )
    if merged["multi_arm"] not in ("split", "first"):
        raise InputError(
            "unknown multi-arm rule",
            column="multi_arm",
            value=merged["multi_arm"],
            expected="'split' or 'first'",
        )
    bad = set(merged["sd_imputations"]) - {"se", "ci", "median_iqr", "median_range"}
    if bad:
        raise InputError(
            "unknown SD imputation",
            column="sd_imputations",
            value=sorted(bad),
            expected="se, ci, median_iqr, median_range",
        )
    return merged


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
    """
    r = _rules(rules)
    allowed = set(r["sd_imputations"])
    contrasts: pd.DataFrame = _normalise(review.contrasts)
    studies = {s["study_id"]: s for s in review.studies.to_dict("records")}
    instruments = review.instruments.set_index("instrument")["higher_is_worse"].to_dict()
    effects: list[dict[str, Any]] = []
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
        priority = list(r["instrument_priority"].get(outcome, []))
        chosen: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
        for (sid, contrast, subgroup), group in _groups(rows, ["study_id", "contrast", "subgroup"]):
            base = {"study_id": sid, "outcome": outcome, "subgroup": subgroup, "contrast": contrast}
            ranked_rows = sorted(
                group,
                key=lambda t: (
                    _rank_instrument(t["instrument"], priority),
                    _rank_time(t["timepoint_weeks"], r["timepoint_rule"], float(r["target_weeks"])),
                    0 if t["measure_kind"] == "endpoint" else 1,
                    t["row_ref"],
                ),
            )
            usable = [x for x in ranked_rows if _usable(x, otype, allowed)]
            if not usable:
                for x in ranked_rows:
                    if otype == "binary":
                        fields = [
                            c
                            for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
                            if _nan(x[c])
                        ]
                        why = "event counts or denominators not reported"
                        if not _nan(x["n_treat"]) and _nan(x["events_treat"]):
                            why = "events not reported as counts (only n, or a percentage in the source)"
                    else:
                        t, c = _Arm(x, "treat", allowed), _Arm(x, "ctrl", allowed)
                        fields, why = t.missing + c.missing, "; ".join(t.why + c.why)
                    missing.append(
                        {
                            **base,
                            "fields": ", ".join(fields),
                            "why": f"{why} ({x['instrument'] or 'no instrument'}, week {x['timepoint_weeks']:g})"
                            if not _nan(x["timepoint_weeks"])
                            else f"{why} ({x['instrument'] or 'no instrument'})",
                            "who": _who(studies.get(sid), sid),
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
                + ", then endpoint before change"
            )
            log.append(
                {
                    **base,
                    "row_ref": pick["row_ref"],
                    "step": "select",
                    "formula": f"chose {pick['instrument'] or 'no instrument'}, week {pick['timepoint_weeks']:g}, {pick['measure_kind']} by {how}"
                    + (f"; not used: {', '.join(others)}" if others else ""),
                    "assumption": ""
                    if len(usable) == len(ranked_rows)
                    else "rows without usable numbers skipped: "
                    + ", ".join(
                        x["row_ref"] for x in ranked_rows if not _usable(x, otype, allowed)
                    ),
                }
            )
            chosen.append((pick, base))

        # multi-arm: comparisons of one study/subgroup sharing a control arm
        shared: dict[tuple[str, str, str], list[int]] = {}
        for i, (pick, base) in enumerate(chosen):
            if pick["shared_ctrl"]:
                shared.setdefault(
                    (base["study_id"], base["subgroup"], pick["shared_ctrl"]), []
                ).append(i)
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
                        + (
                            f", events_ctrl = {split.events[j]}" if split.events is not None else ""
                        ),
                        "assumption": "comparisons share one control arm (shared_ctrl = "
                        + repr(label)
                        + ")",
                    }
                )

        for i, (pick, base) in enumerate(chosen):
            if i in drop:
                continue
            entry_log: list[dict[str, Any]] = []
            ref = pick["row_ref"]
            study = studies.get(base["study_id"], {})
            n_ctrl = ctrl_n.get(i, pick["n_ctrl"])
            if otype == "binary":
                e_ctrl = ctrl_ev.get(i, pick["events_ctrl"])
                es = escalc(
                    measure,
                    ai=[pick["events_treat"]],
                    n1i=[pick["n_treat"]],
                    ci=[e_ctrl],
                    n2i=[n_ctrl],
                    add=float(r["continuity_correction"]),
                    drop00=measure in ("RR", "OR"),
                )
                yi, vi = float(es.yi[0]), float(es.vi[0])
                if math.isnan(yi):
                    log.append(
                        {
                            **base,
                            "row_ref": ref,
                            "step": "exclude",
                            "formula": es.derivation[0],
                            "assumption": "no events (or only events) in both arms: no information on the ratio scale (Cochrane Handbook 10.4.4.2)",
                        }
                    )
                    continue
                entry_log.append(
                    {
                        **base,
                        "row_ref": ref,
                        "step": "effect_size",
                        "formula": f"{es.derivation[0]}; treatment vs control (events: {spec.get('event_is', 'unspecified')})",
                        "assumption": "",
                    }
                )
                values = {"events_treat": pick["events_treat"], "events_ctrl": e_ctrl}
                derivation = [es.derivation[0]]
            else:
                t, c = _Arm(pick, "treat", allowed), _Arm(pick, "ctrl", allowed)
                for step, formula, assumption in t.steps + c.steps:
                    entry_log.append(
                        {
                            **base,
                            "row_ref": ref,
                            "step": step,
                            "formula": formula,
                            "assumption": assumption,
                        }
                    )
                m1, m2 = t.mean, c.mean
                if (
                    pick["measure_kind"] == "change"
                    and pick["change_direction"] == "pre_minus_post"
                ):
                    m1, m2 = -m1, -m2
                    entry_log.append(
                        {
                            **base,
                            "row_ref": ref,
                            "step": "direction",
                            "formula": "change reported as pre - post; both means negated to post - pre",
                            "assumption": "",
                        }
                    )
                es = escalc(
                    measure, m1i=[m1], sd1i=[t.sd], n1i=[t.n], m2i=[m2], sd2i=[c.sd], n2i=[n_ctrl]
                )
                yi, vi = float(es.yi[0]), float(es.vi[0])
                entry_log.append(
                    {
                        **base,
                        "row_ref": ref,
                        "step": "effect_size",
                        "formula": f"{es.derivation[0]}; treatment - control",
                        "assumption": "",
                    }
                )
                direction = instruments.get(pick["instrument"])
                if direction is None:
                    missing.append(
                        {
                            **base,
                            "fields": "instrument",
                            "why": f"instrument {pick['instrument']!r} not in the instruments table: scoring direction unknown",
                            "who": "review team (data/instruments.csv)",
                            "row_ref": ref,
                        }
                    )
                    continue
                if direction == "true":
                    yi = -yi
                    entry_log.append(
                        {
                            **base,
                            "row_ref": ref,
                            "step": "sign",
                            "formula": f"yi = -yi: {pick['instrument']} is scored higher = worse, so positive favours treatment",
                            "assumption": "",
                        }
                    )
                else:
                    entry_log.append(
                        {
                            **base,
                            "row_ref": ref,
                            "step": "sign",
                            "formula": f"kept: {pick['instrument']} is scored higher = better, so positive already favours treatment",
                            "assumption": "",
                        }
                    )
                values = {"events_treat": math.nan, "events_ctrl": math.nan}
                derivation = (
                    [x["formula"] for x in entry_log if x["step"] in ("mean", "sd", "direction")]
                    + [es.derivation[0]]
                    + [entry_log[-1]["formula"]]
                )
            if i in ctrl_n:
                derivation.insert(0, f"shared control split: n_ctrl = {ctrl_n[i]}")
            log.extend(entry_log)
            effects.append(
                {
                    "review": pick["review"], **base, "instrument": pick["instrument"], "timepoint_weeks": pick["timepoint_weeks"],
                    "measure": measure, "yi": yi, "vi": vi, "n_treat": pick["n_treat"], "n_ctrl": n_ctrl, **values,
                    "derivation": "; ".join(derivation), "row_ref": ref, "measure_kind": pick["measure_kind"],
                    "study_label": study_label({**study, "study_id": base["study_id"]}),
                    **{k: study.get(k, np.nan) for k in COVARIATES},
                }
            )  # fmt: skip

    eff = pd.DataFrame(effects, columns=EFFECT_COLUMNS)
    eff = eff.sort_values(
        ["outcome", "subgroup", "study_id", "contrast"], kind="mergesort"
    ).reset_index(drop=True)
    dlog = pd.DataFrame(log, columns=DERIVATION_COLUMNS)
    if not dlog.empty:
        dlog["_o"] = dlog["step"].map(_STEPS.index)
        dlog = (
            dlog.sort_values(
                ["study_id", "outcome", "subgroup", "contrast", "row_ref", "_o"], kind="mergesort"
            )
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    miss = pd.DataFrame(missing, columns=MISSING_COLUMNS)
    miss = miss.sort_values(
        ["study_id", "outcome", "subgroup", "contrast", "row_ref"], kind="mergesort"
    ).reset_index(drop=True)
    return ExtractionResult(effects=eff, derivation_log=dlog, missing=miss, rules=r)
