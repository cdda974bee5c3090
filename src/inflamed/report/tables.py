"""The report's tables, built from the artefacts as plain DataFrames (rendered by ``html_table``).

Each function takes what a stage wrote and returns one small table; none computes a statistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from inflamed.labels import key_words, study_label
from inflamed.pipeline.published import align_published
from inflamed.report.html import fmt_int, fmt_number, format_estimate, is_missing
from inflamed.stats.measures import RATIO_MEASURES

__all__ = [
    "characteristics_counts",
    "characteristics_table",
    "comparison_table",
    "flatten_json",
    "missing_data_table",
    "risk_of_bias_table",
    "sets_table",
    "study_label",
    "study_labels",
]

SET_LABELS = {
    "crp_high": "CRP-selected (CRP-high)",
    "whole": "Whole sample",
    "crp_low": "CRP-low",
}
ROB_SYMBOLS = {"low": "low", "some_concerns": "some concerns", "high": "high"}


def study_labels(studies: pd.DataFrame | None) -> dict[str, str]:
    """``study_id`` -> the one label the report uses for it everywhere (``Author Year``)."""
    if studies is None or studies.empty:
        return {}
    # rows as plain mappings of the values iterrows would give (``studies.values``), without
    # building a Series per row: linear in the rows at a small constant (large reviews)
    columns = list(studies.columns)
    rows = (dict(zip(columns, values, strict=True)) for values in studies.values)
    return {str(r["study_id"]): study_label(r) for r in rows}


_COMPARISONS = {">=": "\u2265", "<=": "\u2264", ">": ">", "<": "<"}


def _cutoff_text(rule: Any, cutoff: str, unit: Any) -> str:
    """ "\u2265 3.0 mg/L": the rule's comparison with the cut-off in mg/L; a rule reported in
    another unit is quoted as reported ("\u2265 3.0 mg/L (reported: >=0.3 mg/dL)")."""
    if not cutoff:
        return ""
    if is_missing(rule):
        return cutoff
    rule = str(rule).strip()
    op = next((o for o in _COMPARISONS if rule.startswith(o)), "")
    text = f"{_COMPARISONS.get(op, '')} {cutoff}".strip()
    if not is_missing(unit) and str(unit) != "mg/L" and rule != op:
        text += f" (reported: {rule} {unit})"
    return text


def _crp(row: Mapping[str, Any], column: str) -> str:
    value = row.get(f"{column}_mg_l")
    if is_missing(value):
        value = row.get(column)
        unit = row.get("crp_unit")
        return (
            ""
            if is_missing(value)
            else f"{fmt_number(value, 1)} {'' if is_missing(unit) else unit}".strip()
        )
    return f"{fmt_number(value, 1)} mg/L"


def characteristics_table(studies: pd.DataFrame | None) -> pd.DataFrame:
    """Characteristics of included studies (one row per study, sorted by year then id).

    Columns: study, identifiers (registry id / DOI), drug and dose, class, add-on, weeks,
    population, inflammation selection, CRP cut-off, baseline CRP, randomised (treatment /
    control).
    """
    columns = [
        "study", "identifiers", "drug (dose)", "class", "add-on", "weeks", "population",
        "inflammation selection", "CRP cut-off", "baseline CRP", "randomised (T / C)",
    ]  # fmt: skip
    if studies is None or studies.empty:
        return pd.DataFrame(columns=columns)
    frame = studies.sort_values(["year", "study_id"], kind="mergesort")
    rows = []
    for _, s in frame.iterrows():
        ids = [str(s[c]) for c in ("registry_id", "doi") if c in s and not is_missing(s[c])]
        cutoff = _crp(s, "crp_cutoff")
        drug = str(s.get("drug", ""))
        if not is_missing(s.get("dose")):
            drug += f" ({s.get('dose')})"
        rows.append(
            {
                "study": study_label(s),
                "identifiers": "; ".join(ids),
                "drug (dose)": drug,
                "class": key_words(s.get("mechanism_class")),
                "add-on": key_words(s.get("add_on")),
                "weeks": fmt_int(s.get("duration_weeks")),
                "population": s.get("population", ""),
                "inflammation selection": key_words(s.get("inflammation_selection")),
                "CRP cut-off": _cutoff_text(s.get("crp_cutoff_rule"), cutoff, s.get("crp_unit")),
                "baseline CRP": _crp(s, "baseline_crp"),
                "randomised (T / C)": f"{fmt_int(s.get('n_randomised_treat'))} / {fmt_int(s.get('n_randomised_ctrl'))}",
            }
        )
    return pd.DataFrame(rows, columns=columns)


def characteristics_counts(studies: pd.DataFrame) -> pd.DataFrame:
    """Studies counted by drug class, inflammation selection and add-on design (in words).

    Columns ``characteristic``, ``value`` and ``studies``; a column the sheet lacks is left out.
    """
    parts = []
    for column, name in (
        ("mechanism_class", "class"),
        ("inflammation_selection", "inflammation selection"),
        ("add_on", "add-on"),
    ):
        if column not in studies:
            continue
        values = studies[column].map(key_words).replace("", "not reported")
        counts = values.value_counts(sort=False).sort_index()
        parts += [
            {"characteristic": name, "value": v, "studies": int(n)} for v, n in counts.items()
        ]
    return pd.DataFrame(parts, columns=["characteristic", "value", "studies"])


def missing_data_table(missing: pd.DataFrame | None) -> pd.DataFrame:
    """What an analysis needed and the sources do not give, and who could supply it."""
    columns = [
        "study",
        "outcome",
        "subgroup",
        "contrast",
        "missing values",
        "why",
        "could come from",
    ]
    if missing is None or missing.empty:
        return pd.DataFrame(columns=columns)
    frame = missing.sort_values(["study_id", "outcome", "subgroup"], kind="mergesort")
    return pd.DataFrame(
        {
            "study": frame["study_id"],
            "outcome": frame.get("outcome", ""),
            "subgroup": frame.get("subgroup", ""),
            "contrast": frame.get("contrast", ""),
            "missing values": frame.get("fields", ""),
            "why": frame.get("why", ""),
            "could come from": frame.get("who", ""),
        },
        columns=columns,
    ).reset_index(drop=True)


def risk_of_bias_table(risk_of_bias: pd.DataFrame | None) -> pd.DataFrame:
    """RoB 2 judgements: one row per study, one column per domain (words, not colours only)."""
    if risk_of_bias is None or risk_of_bias.empty:
        return pd.DataFrame(columns=["study"])
    pivot = risk_of_bias.pivot_table(
        index="study_id", columns="domain", values="judgement", aggfunc="first"
    )
    domains = sorted(c for c in pivot.columns if c != "overall") + (
        ["overall"] if "overall" in pivot.columns else []
    )
    pivot = pivot[domains].map(lambda j: ROB_SYMBOLS.get(j, "" if is_missing(j) else str(j)))
    pivot.columns = [c.replace("_", " ") for c in pivot.columns]
    if "overall" in pivot.columns:
        pivot = pivot.rename(columns={"overall": "overall (as recorded)"})
    return pivot.reset_index().rename(columns={"study_id": "study"})


def sets_table(summary: Mapping[str, Any] | None) -> pd.DataFrame:
    """The outcome's analysis sets side by side (plain text; the section adds source tags)."""
    columns = [
        "analysis set",
        "k",
        "N",
        "effect (95% CI)",
        "prediction interval",
        "tau²",
        "I²",
        "note",
    ]
    if not summary:
        return pd.DataFrame(columns=columns)
    ratio = summary.get("measure") in RATIO_MEASURES
    rows = []
    for name in ("crp_high", "whole", "crp_low"):
        block = summary.get("sets", {}).get(name)
        if block is None:
            continue
        result = block.get("result", {})
        scale = block.get("ratio_scale", result) if ratio else result
        rows.append(
            {
                "analysis set": SET_LABELS.get(name, name),
                "k": block.get("k", 0),
                "N": fmt_int(block.get("n_participants")),
                "effect (95% CI)": format_estimate(
                    scale.get("estimate"), scale.get("ci_lb"), scale.get("ci_ub")
                )
                if block.get("estimable")
                else "not estimable",
                "prediction interval": (
                    f"{fmt_number(scale.get('pi_lb'))} to {fmt_number(scale.get('pi_ub'))}"
                    if not is_missing(scale.get("pi_lb"))
                    else "n/a"
                ),
                "tau²": fmt_number(result.get("tau2"), 3),
                "I²": "n/a"
                if is_missing(result.get("i2"))
                else f"{fmt_number(result.get('i2'), 1)}%",
                "note": block.get("reason") or block.get("note") or "",
            }
        )
    return pd.DataFrame(rows, columns=columns)


def comparison_table(published: pd.DataFrame | None, pooled: pd.DataFrame | None) -> pd.DataFrame:
    """Published pooled estimates beside inflamed's estimate for the same outcome and set.

    Published values are shown as published (their own sign convention; the notes say which);
    inflamed's are on the ratio scale for RR/OR and positive-favours-treatment for continuous
    outcomes.
    """
    columns = [
        "publication",
        "outcome",
        "set",
        "measure",
        "published estimate (95% CI)",
        "benefit direction (as published)",
        "published, aligned to inflamed's convention",
        "published k; N",
        "inflamed estimate (95% CI)",
        "inflamed k; N",
        "source and notes",
    ]  # fmt: skip  (k and N share a cell, and source and notes, so the table fits 1366 px)
    if published is None or published.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, p in published.sort_values(["outcome", "publication"], kind="mergesort").iterrows():
        mine = None
        if pooled is not None and not pooled.empty:
            match = pooled[
                (pooled["outcome"] == p["outcome"]) & (pooled["analysis_set"] == p["subgroup"])
            ]
            mine = match.iloc[0] if len(match) else None
        if mine is not None and bool(mine.get("estimable")):
            if str(mine.get("measure")) in RATIO_MEASURES:
                ours = format_estimate(
                    mine["ratio_estimate"], mine["ratio_ci_lb"], mine["ratio_ci_ub"]
                )
            else:
                ours = format_estimate(mine["estimate"], mine["ci_lb"], mine["ci_ub"])
            ours_kn = f"{fmt_int(mine.get('k'))}; {fmt_int(mine.get('n_participants'))}"
        else:
            ours, ours_kn = "not estimable" if mine is not None else "not analysed", ""
        source = str(p.get("source", ""))
        if not is_missing(p.get("source_location")):
            source += f" ({p['source_location']})"
        if not is_missing(p.get("notes")):
            source += f". Notes: {p['notes']}"
        published_kn = "; ".join(
            fmt_int(p.get(c)) if not is_missing(p.get(c)) else "not reported"
            for c in ("k", "n_participants")
        )
        direction = "" if is_missing(p.get("benefit_direction")) else str(p["benefit_direction"])
        rows.append(
            {
                "publication": p["publication"],
                "outcome": p["outcome"],
                "set": SET_LABELS.get(p["subgroup"], p["subgroup"]),
                "measure": p["measure"],
                "published estimate (95% CI)": format_estimate(
                    p["estimate"], p["ci_lb"], p["ci_ub"]
                ),
                "benefit direction (as published)": direction or "not recorded",
                "published, aligned to inflamed's convention": _aligned(p, direction),
                "published k; N": published_kn,
                "inflamed estimate (95% CI)": ours,
                "inflamed k; N": ours_kn,
                "source and notes": source,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _aligned(row: Mapping[str, Any], direction: str) -> str:
    """A published estimate in inflamed's convention.

    Continuous effects (SMD, MD) are turned so that positive favours the treatment when the
    publication reports benefit as negative. Ratios are treatment vs control in both conventions
    (whether a ratio above 1 is good depends on the event), so they are shown as published. A row
    without a recorded direction is not turned, and says so.
    """
    values = [None if is_missing(row[c]) else float(row[c]) for c in ("estimate", "ci_lb", "ci_ub")]
    if any(v is None for v in values):
        return format_estimate(*values)
    aligned = align_published(str(row.get("measure")), *values, direction)
    if not aligned.direction_known:
        return "direction not recorded"
    return format_estimate(aligned.estimate, aligned.ci_lb, aligned.ci_ub)


def flatten_json(obj: Any, *, prefix: str = "", max_rows: int = 60) -> pd.DataFrame:
    """Scalar leaves of a JSON document as ``(key, value)`` rows (for artefacts without a
    dedicated table), numbers rounded to 4 significant digits, at most ``max_rows`` rows."""
    rows: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if len(rows) >= max_rows:
            return
        if isinstance(value, Mapping):
            for key in value:
                walk(value[key], f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and isinstance(value[0], (Mapping, list)):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")
        else:
            if isinstance(value, float):
                text = f"{value:.4g}"
            elif isinstance(value, list):
                text = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
            else:
                text = "" if value is None else str(value)
            rows.append((path, text))

    walk(obj, prefix)
    return pd.DataFrame(rows, columns=["key", "value"])
