"""Registry outcome measures whose groups are strata reporting between-arm differences.

Some registry records report a subgroup analysis as one outcome measure whose *groups* are strata
(e.g. NCT00463580: "Change in HDRS-17 Scores Subgrouped by Baseline Hs-CRP", least-squares mean
difference infliximab minus placebo with its SE, for all participants and hs-CRP > 1, > 3, > 5
mg/L). Such a measure cannot become arm-level rows. A mapping entry ``between_arm``
(:data:`inflamed.ingest.mapping_schema.BETWEEN_ARM_SCHEMA`; in a review's
``registry_mapping.yaml`` or in a ClinicalTrials.gov mapping) names the measure, the comparison,
the direction of the difference and which group is which subgroup; :func:`read_between_arm`
turns each mapped group into

* a listed row (:data:`BETWEEN_ARM_COLUMNS`, the ingest summary's ``between_arm_rows``), and
* a contrast-level row of the contrasts table (``diff``, ``diff_se`` or the 95 % CI, ``diff_n`` =
  the group's N analysed, ``diff_direction``; checked by
  :func:`inflamed.ingest.contrast_checks.contrast_problem`), with the record's results URL as
  ``source`` and measure, group, parameter, dispersion and time frame as ``source_location``.

The difference is stored as treatment minus control (a ``ctrl_minus_treat`` measure is negated,
its CI turned); ``diff_direction`` says what a negative value means: as the mapping states it for
the record's own sign (turned with the sign), else from the instrument's scoring direction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inflamed.errors import InputError
from inflamed.ingest.codebook import DIFF_DIRECTIONS
from inflamed.ingest.contrast_checks import contrast_problem
from inflamed.ingest.sheets import CONTRAST_COLUMNS, NUMBER_COLUMNS

__all__ = ["BETWEEN_ARM_COLUMNS", "read_between_arm", "title_key"]

#: Columns of the listing of between-arm differences (the ingest summary's ``between_arm_rows``).
BETWEEN_ARM_COLUMNS = (
    "study_id", "contrast", "subgroup", "subgroup_definition", "outcome", "instrument",
    "timepoint_weeks", "measure_kind", "measure", "estimate", "se", "ci_lb", "ci_ub", "n_total",
    "source", "source_location", "row_ref", "notes",
)  # fmt: skip


def title_key(text: Any) -> str:
    """A title as matched against a record: spaces collapsed, case folded."""
    return " ".join(str(text or "").split()).casefold()


def _number(value: Any) -> float:
    try:
        return float(str(value).replace(",", "")) if value not in (None, "", "NA") else math.nan
    except ValueError:
        return math.nan


def _readable(code: str) -> str:
    """``LEAST_SQUARES_MEAN`` -> ``Least Squares Mean`` (the record's enum as its page prints it)."""
    return code.replace("_", " ").title()


def _contrast_row(
    listed: dict[str, Any], entry: dict[str, Any], spec: dict[str, Any], direction: str, path: Path
) -> dict[str, Any]:
    """One listed between-arm difference as a contrast-level row of the contrasts table."""
    arms = {c["contrast"]: c for c in entry.get("contrasts", [])}.get(spec["contrast"], {})
    row: dict[str, Any] = dict.fromkeys(CONTRAST_COLUMNS, "")
    row.update(dict.fromkeys(NUMBER_COLUMNS, math.nan))
    row.update(
        {k: listed[k] for k in ("study_id", "contrast", "subgroup", "subgroup_definition", "outcome",
                                "instrument", "timepoint_weeks", "measure_kind", "source", "row_ref")},
        treat_arm=arms.get("treat", spec["contrast"]), ctrl_arm=arms.get("ctrl", spec["contrast"]),
        diff=listed["estimate"], diff_se=listed["se"], diff_ci_lb=listed["ci_lb"], diff_ci_ub=listed["ci_ub"],
        diff_ci_level=95.0 if not math.isnan(listed["ci_lb"]) else math.nan, diff_measure="MD",
        diff_direction=direction, diff_n=listed["n_total"], source_location=listed["source_location"],
        extractor="ClinicalTrials.gov v2 reader", notes=listed["notes"] + "; per-arm n in the stratum not reported",
    )  # fmt: skip
    problem = contrast_problem(row)
    if problem is not None:
        raise InputError(
            problem.message, file=str(path), column=f"between_arm {spec['title']!r}: {problem.column}",
            value=problem.value, expected=problem.expected,
        )  # fmt: skip
    return row


def _direction(spec: dict[str, Any], sign: float, higher_is_worse: str | None) -> str:
    """What a negative treatment-minus-control value means for this measure."""
    if "diff_direction" in spec:  # stated for the record's own sign; the row is treat - ctrl
        negative = spec["diff_direction"] == "negative_favours_treatment"
        return DIFF_DIRECTIONS[0] if negative == (sign > 0) else DIFF_DIRECTIONS[1]
    return DIFF_DIRECTIONS[0] if higher_is_worse == "true" else DIFF_DIRECTIONS[1]


def read_between_arm(
    record: dict[str, Any],
    entry: dict[str, Any],
    path: Path,
    ref: str,
    directions: Mapping[str, str] | None = None,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(listed row, contrast-level row)`` for every mapped stratum of every between-arm measure."""
    measures = record["resultsSection"].get("outcomeMeasuresModule", {}).get("outcomeMeasures", [])
    rows = []
    for spec in entry.get("between_arm", []):
        hits = [
            (i, m)
            for i, m in enumerate(measures)
            if title_key(m.get("title")) == title_key(spec["title"])
        ]
        if len(hits) != 1:
            raise InputError(
                "outcome-measure title not found" if not hits else "outcome-measure title is ambiguous",
                file=str(path), column="resultsSection.outcomeMeasuresModule.outcomeMeasures[].title",
                value=spec["title"], expected=f"one of: {[m.get('title') for m in measures]}",
            )  # fmt: skip
        i, om = hits[0]
        disp = om.get("dispersionType", "")
        groups = {title_key(g.get("title")): g for g in om.get("groups", [])}
        classes = om.get("classes", [])
        if len(classes) != 1 or len(classes[0].get("categories", [])) != 1:
            raise InputError(
                "a between-arm measure must have one class and one category",
                file=str(path), column=f"outcomeMeasures[{i}].classes", value=len(classes),
                expected="one value per stratum",
            )  # fmt: skip
        values = {m["groupId"]: m for m in classes[0]["categories"][0].get("measurements", [])}
        denoms = {
            c["groupId"]: c.get("value") for c in (om.get("denoms") or [{}])[0].get("counts", [])
        }
        sign = 1.0 if spec["difference"] == "treat_minus_ctrl" else -1.0
        for g in spec["groups"]:
            group = groups.get(title_key(g["title"]))
            if group is None or group["id"] not in values:
                raise InputError(
                    "between-arm group not found", file=str(path), column=f"outcomeMeasures[{i}].groups[].title",
                    value=g["title"], expected=f"one of: {[x.get('title') for x in om.get('groups', [])]}",
                )  # fmt: skip
            m = values[group["id"]]
            lo, hi = _number(m.get("lowerLimit")), _number(m.get("upperLimit"))
            se = _number(m.get("spread")) if disp == "STANDARD_ERROR" else math.nan
            if disp not in ("STANDARD_ERROR", "CONFIDENCE_INTERVAL_95"):
                raise InputError(
                    "a between-arm difference needs its standard error or 95% CI",
                    file=str(path), column=f"outcomeMeasures[{i}].dispersionType", value=disp,
                    expected="STANDARD_ERROR or CONFIDENCE_INTERVAL_95",
                )  # fmt: skip
            ci = (sign * lo, sign * hi) if sign > 0 else (sign * hi, sign * lo)
            listed = {
                "study_id": entry["study_id"], "contrast": spec["contrast"], "subgroup": g["subgroup"],
                "subgroup_definition": g.get("subgroup_definition", ""), "outcome": spec["outcome"],
                "instrument": spec.get("instrument", ""), "timepoint_weeks": float(spec.get("timepoint_weeks", math.nan)),
                "measure_kind": spec["measure_kind"], "measure": "MD", "estimate": sign * _number(m.get("value")),
                "se": se, "ci_lb": ci[0] if disp == "CONFIDENCE_INTERVAL_95" else math.nan,
                "ci_ub": ci[1] if disp == "CONFIDENCE_INTERVAL_95" else math.nan,
                "n_total": _number(denoms.get(group["id"])),
                "source": f"https://clinicaltrials.gov/study/{entry['nct_id']}?tab=results",
                "source_location": f"resultsSection.outcomeMeasuresModule: '{om.get('title')}', group '{group['title']}'; {om.get('paramType', '')} ({disp}), {om.get('unitOfMeasure', '')}; time frame '{om.get('timeFrame', '')}'",
                "row_ref": f"{ref}:outcomeMeasures[{i}].groups[{group['id']}]",
                "notes": "between-arm difference as reported" + ("" if sign > 0 else "; sign flipped to treatment minus control"),
            }  # fmt: skip
            listed["source_location"] = (
                f"Results, outcome measure '{om.get('title')}', group '{group['title']}', "
                f"{_readable(om.get('paramType', ''))} ({_readable(disp)}), {om.get('unitOfMeasure', '')}; "
                f"time frame '{om.get('timeFrame', '')}' ({listed['row_ref']})"
            )
            hiw = (directions or {}).get(listed["instrument"])
            direction = _direction(spec, sign, hiw)
            rows.append((listed, _contrast_row(listed, entry, spec, direction, path)))
    return rows
