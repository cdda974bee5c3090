"""Registry results saved by ``inflamed fetch ctgov``, mapped into a sheets review.

A living review keeps its human-typed sheets and adds what the registry holds. One file per review,
``registry_mapping.yaml`` (named by ``reviews.<name>.registry_mapping`` in the config; JSON schema
:data:`REGISTRY_MAPPING_SCHEMA`, also ``inflamed/schemas/registry_mapping.schema.json``), says for
each trial which registry outcome measure, group and class (time frame) is which review outcome,
arm and time point::

    records:
      - nct_id: NCT00463580
        study_id: RAISON2013
        contrasts: [{contrast: infliximab_vs_placebo, treat: Infliximab, ctrl: Placebo}]
        outcomes: [...]                 # arm-level measures, as in a ctgov mapping
        serious_adverse_events: {outcome: serious_ae, timepoint_weeks: 12}
        between_arm:                    # measures whose groups are strata reporting differences
          - title: Change in Hamilton Depression Rating Scale 17 (HDRS-17) Scores Subgrouped ...
            outcome: depression_severity
            instrument: HAMD17
            contrast: infliximab_vs_placebo
            difference: treat_minus_ctrl
            measure_kind: change
            timepoint_weeks: 12
            groups:
              - {title: Baseline Hs-CRP of >5 mg/L, subgroup: crp_high, subgroup_definition: hs-CRP > 5 mg/L}
        not_used:                       # measures left out on purpose, with the reason
          - {title: Plasma Concentrations of CRP, reason: a biomarker, not a review outcome}

The arm-level part of each entry is read by :func:`inflamed.ingest.ctgov.read_ctgov_record`.

Only saved records are read (``<review>/registry/<NCT>.json``); a mapped trial without a saved
record is reported as not fetched, so a review without internet runs exactly as before. Merging
(:func:`merge_registry`): a registry row whose key (:data:`ROW_KEY`) matches a sheet row is
**not** added: the sheet, checked by people, wins, and every value on which the two differ is
listed. Registry rows with new keys are added with the record's URL and JSON location.

Between-arm measures become contrast-level rows of the contrasts table (``diff`` with its SE or
95 % CI, ``diff_n`` = the group's N analysed; generic inverse variance, see
:mod:`inflamed.extract.contrast`) and are merged like arm-level rows: the sheet wins on a matching
key. They are also listed (:data:`BETWEEN_ARM_COLUMNS`) in the ingest summary.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from inflamed.errors import InputError
from inflamed.ingest.codebook import DIFF_DIRECTIONS, SUBGROUPS
from inflamed.ingest.contrast_checks import contrast_problem
from inflamed.ingest.ctgov import read_ctgov_record, read_mapping
from inflamed.ingest.mapping_schema import MAPPING_SCHEMA
from inflamed.ingest.sheets import (
    CONTRAST_COLUMNS,
    NUMBER_COLUMNS,
    Review,
    decode_utf8,
    read_instruments,
)

__all__ = [
    "REGISTRY_MAPPING_SCHEMA",
    "RegistryData",
    "load_registry",
    "merge_registry",
    "read_registry_mapping",
    "registry_summary",
]

#: Sub-folder of a review that holds the saved records and the fetch log.
REGISTRY_DIR = "registry"
#: What makes a registry row "the same row" as a sheet row.
ROW_KEY = (
    "study_id",
    "contrast",
    "outcome",
    "subgroup",
    "timepoint_weeks",
    "instrument",
    "measure_kind",
)
#: Columns of a between-arm row (provisional names, until the sheets' contrast-level format lands).
BETWEEN_ARM_COLUMNS = (
    "study_id", "contrast", "subgroup", "subgroup_definition", "outcome", "instrument",
    "timepoint_weeks", "measure_kind", "measure", "estimate", "se", "ci_lb", "ci_ub", "n_total",
    "source", "source_location", "row_ref", "notes",
)  # fmt: skip
_ARM_KEYS = ("nct_id", "study_id", "review", "contrasts", "outcomes", "serious_adverse_events")
_SNAKE = "^[a-z][a-z0-9_]*$"

#: JSON schema of ``registry_mapping.yaml``; the arm-level keys are those of :data:`MAPPING_SCHEMA`.
REGISTRY_MAPPING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://inflamed.invalid/schemas/registry_mapping.schema.json",
    "title": "Per-review mapping of saved ClinicalTrials.gov records to the review's outcomes",
    "type": "object",
    "additionalProperties": False,
    "required": ["records"],
    "properties": {
        "records": {
            "description": "One entry per registered trial whose results the review uses.",
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["nct_id", "study_id"],
                "properties": {
                    **{k: MAPPING_SCHEMA["properties"][k] for k in _ARM_KEYS if k != "review"},
                    "contrasts": {**MAPPING_SCHEMA["properties"]["contrasts"], "minItems": 0},
                    "between_arm": {
                        "description": "Outcome measures whose groups are strata (e.g. CRP) and whose values are between-arm differences.",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["title", "outcome", "contrast", "difference", "measure_kind", "groups"],
                            "properties": {
                                "title": {"description": "Outcome-measure title as in the record.", "type": "string"},
                                "outcome": {"description": "Review outcome.", "type": "string", "pattern": _SNAKE},
                                "instrument": {"description": "Instrument key of data/instruments.csv.", "type": "string"},
                                "contrast": {"description": "Which comparison the differences are (a contrast name of the review).", "type": "string", "pattern": _SNAKE},
                                "difference": {"description": "Direction of the reported difference, as the record's description states it.", "enum": ["treat_minus_ctrl", "ctrl_minus_treat"]},
                                "measure_kind": {"description": "What was differenced: change scores or endpoint values.", "enum": ["change", "endpoint"]},
                                "diff_direction": {"description": "What a negative value of the record means, as its description states it (e.g. 'A negative change score favors infliximab' = negative_favours_treatment). Default: read from difference and the instrument's scoring direction.", "enum": list(DIFF_DIRECTIONS)},
                                "timepoint_weeks": {"description": "Weeks since randomisation.", "type": "number", "minimum": 0},
                                "groups": {
                                    "description": "Strata to read, by group title.",
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["title", "subgroup"],
                                        "properties": {
                                            "title": {"description": "Group title as in the record.", "type": "string"},
                                            "subgroup": {"description": "Review subgroup the stratum is (crp_high_other: a CRP-high stratum at another cut-off than the trial's own; listed, never pooled).", "enum": list(SUBGROUPS)},
                                            "subgroup_definition": {"description": "Definition as reported.", "type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "not_used": {
                        "description": "Outcome measures deliberately left out, each with the reason (they are not reported as unmapped).",
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["title", "reason"],
                            "properties": {
                                "title": {"description": "Outcome-measure title as in the record.", "type": "string"},
                                "reason": {"description": "Why the review does not use it.", "type": "string"},
                            },
                        },
                    },
                },
            },
        }
    },
}  # fmt: skip


@dataclass(frozen=True)
class RegistryData:
    """What the saved records give a review.

    Attributes
    ----------
    contrasts
        Arm-level and contrast-level rows (the contrasts table's columns) from every mapped,
        saved record.
    between_arm
        Contrast-level rows (:data:`BETWEEN_ARM_COLUMNS`).
    not_fetched
        Mapped NCT ids without a saved record.
    unmapped
        ``(nct_id, outcome-measure title)`` for every measure of a saved record that the mapping
        neither maps nor lists as not used; a saved record without a mapping entry has its id and
        ``'(whole record)'``.
    """

    contrasts: pd.DataFrame
    between_arm: pd.DataFrame
    not_fetched: tuple[str, ...]
    unmapped: tuple[tuple[str, str], ...]


def read_registry_mapping(path: str | Path) -> list[dict[str, Any]]:
    """Load and validate ``registry_mapping.yaml``; return its records."""
    name = str(path)
    data = yaml.safe_load(decode_utf8(Path(path).read_bytes(), name)) or {}
    validator = jsonschema.Draft202012Validator(REGISTRY_MAPPING_SCHEMA)
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        raise InputError(
            f"invalid registry mapping: {err.message}",
            file=name,
            column="/".join(str(p) for p in err.path) or "(top level)",
            expected=err.schema.get("description") if isinstance(err.schema, dict) else None,
        )
    records = data["records"]
    seen: set[str] = set()
    for i, rec in enumerate(records):
        if rec["nct_id"] in seen:
            raise InputError(
                "a trial mapped twice", file=name, column=f"records/{i}/nct_id",
                value=rec["nct_id"], expected="one entry per NCT id",
            )  # fmt: skip
        seen.add(rec["nct_id"])
    return records


def _norm(text: Any) -> str:
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


def _between_arm(
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
            (i, m) for i, m in enumerate(measures) if _norm(m.get("title")) == _norm(spec["title"])
        ]
        if len(hits) != 1:
            raise InputError(
                "outcome-measure title not found" if not hits else "outcome-measure title is ambiguous",
                file=str(path), column="resultsSection.outcomeMeasuresModule.outcomeMeasures[].title",
                value=spec["title"], expected=f"one of: {[m.get('title') for m in measures]}",
            )  # fmt: skip
        i, om = hits[0]
        disp = om.get("dispersionType", "")
        groups = {_norm(g.get("title")): g for g in om.get("groups", [])}
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
            group = groups.get(_norm(g["title"]))
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


def load_registry(
    folder: str | Path,
    mapping_path: str | Path,
    *,
    review: str,
    instruments_path: str | Path,
    outcomes: Collection[str] | None = None,
) -> RegistryData:
    """Read every saved record of ``<folder>/registry/`` that the mapping names.

    Raises
    ------
    InputError
        An invalid mapping, a title not in a saved record, an unknown outcome or instrument.
    """
    folder = Path(folder)
    entries = read_registry_mapping(mapping_path)
    table = read_instruments(instruments_path)
    known = set(table["instrument"])
    directions = dict(zip(table["instrument"], table["higher_is_worse"].astype(str), strict=True))
    registry = folder / REGISTRY_DIR
    frames, between, not_fetched, unmapped = [], [], [], []
    mapped_ids = {e["nct_id"] for e in entries}
    for path in sorted(registry.glob("NCT*.json")):
        if path.stem not in mapped_ids:
            unmapped.append((path.stem, "(whole record)"))
    for entry in entries:
        path = registry / f"{entry['nct_id']}.json"
        if not path.is_file():
            not_fetched.append(entry["nct_id"])
            continue
        ref = f"{folder.name}/{REGISTRY_DIR}/{path.name}"
        record = json.loads(decode_utf8(path.read_bytes(), str(path)))
        arm = {k: entry[k] for k in _ARM_KEYS if k in entry}
        arm.update(review=review, outcomes=arm.get("outcomes", []))
        if arm.get("contrasts") and (arm["outcomes"] or arm.get("serious_adverse_events")):
            frame = read_ctgov_record(path, read_mapping(arm))
            frame["row_ref"] = frame["row_ref"].str.replace(path.name, ref, n=1, regex=False)
            frames.append(frame)
        pairs = _between_arm(record, entry, path, ref, directions)
        between += [listed for listed, _ in pairs]
        if pairs:
            frames.append(pd.DataFrame([row for _, row in pairs], columns=CONTRAST_COLUMNS))
        used = {
            _norm(o["title"])
            for key in ("outcomes", "between_arm", "not_used")
            for o in entry.get(key, [])
        }
        for om in (
            record.get("resultsSection", {})
            .get("outcomeMeasuresModule", {})
            .get("outcomeMeasures", [])
        ):
            if _norm(om.get("title")) not in used:
                unmapped.append((entry["nct_id"], str(om.get("title", ""))))
    contrasts = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    rows = pd.DataFrame(between, columns=list(BETWEEN_ARM_COLUMNS))
    for frame, where in ((contrasts, "outcome"), (rows, "outcome")):
        for value in frame.get(where, pd.Series(dtype=str)):
            if outcomes is not None and value not in set(outcomes):
                raise InputError(
                    "unknown outcome", file=str(mapping_path), column="outcome", value=value,
                    expected="an outcome declared in config: " + ", ".join(sorted(outcomes)),
                )  # fmt: skip
        for value in frame.get("instrument", pd.Series(dtype=str)):
            if value and value not in known:
                raise InputError(
                    "unknown instrument", file=str(mapping_path), column="instrument",
                    value=value, expected=f"a key of {instruments_path}",
                )  # fmt: skip
    return RegistryData(contrasts, rows, tuple(not_fetched), tuple(unmapped))


def _key(frame: pd.DataFrame) -> pd.Series:
    parts = [
        frame[c].astype(str) if c != "timepoint_weeks" else frame[c].map("{:g}".format)
        for c in ROW_KEY
    ]
    return pd.Series(list(zip(*parts, strict=True)), index=frame.index, dtype=object)


def merge_registry(review: Review, registry: RegistryData) -> tuple[Review, pd.DataFrame]:
    """Add registry rows whose key the sheets lack; list where matching rows disagree.

    Returns
    -------
    (Review, pandas.DataFrame)
        The review with the new rows appended, and one row per disagreeing value
        (key columns, ``column``, ``sheet``, ``registry``, ``sheet_row``, ``registry_row``).
    """
    reg = registry.contrasts
    columns = [*ROW_KEY, "column", "sheet", "registry", "sheet_row", "registry_row"]
    if reg.empty:
        return review, pd.DataFrame(columns=columns)
    sheet = review.contrasts
    sheet_keys = dict(zip(_key(sheet), sheet.index, strict=True)) if not sheet.empty else {}
    reg_keys = _key(reg)
    new = reg[~reg_keys.isin(list(sheet_keys))]
    differ = []
    for idx, key in reg_keys.items():
        if key not in sheet_keys:
            continue
        s, r = sheet.loc[sheet_keys[key]], reg.loc[idx]
        for c in NUMBER_COLUMNS:
            if c == "timepoint_weeks":
                continue
            a, b = float(s[c]), float(r[c])
            if not (math.isnan(a) and math.isnan(b)) and not math.isclose(
                a, b, rel_tol=1e-9, abs_tol=1e-12
            ):
                differ.append([*key, c, a, b, s["row_ref"], r["row_ref"]])
    merged = pd.concat([sheet, new.astype({c: sheet[c].dtype for c in sheet.columns if c in new})], ignore_index=True)  # fmt: skip
    return replace(review, contrasts=merged), pd.DataFrame(differ, columns=columns)


def registry_summary(
    registry: RegistryData, disagreements: pd.DataFrame, added: pd.DataFrame | int
) -> dict[str, Any]:
    """The registry part of the ingest summary: what was added, differs, is unmapped or missing.

    ``added`` is the rows merged into the review (or, as before, their number: all arm-level).
    """

    def contrast_level(frame: pd.DataFrame) -> pd.Series:
        return frame["diff"].notna() if "diff" in frame else pd.Series(False, index=frame.index)

    read = registry.contrasts
    n_read = int((~contrast_level(read)).sum()) if len(read) else 0
    if isinstance(added, int):
        n_added, n_added_contrast = added, 0
    else:
        n_added_contrast = int(contrast_level(added).sum())
        n_added = len(added) - n_added_contrast
    return {
        "arm_level_rows_added": n_added,
        "arm_level_rows_read": n_read,
        "contrast_level_rows_added": n_added_contrast,
        "between_arm_rows": registry.between_arm.to_dict(orient="records"),
        "between_arm_note": "each is a contrast-level row (generic inverse variance) of the contrasts table, unless the sheets have a row with the same key (the sheets win)",
        "disagreements_with_sheets": disagreements.to_dict(orient="records"),
        "not_fetched": list(registry.not_fetched),
        "unmapped_measures": [{"nct_id": n, "title": t} for n, t in registry.unmapped],
    }  # fmt: skip


def review_registry(
    spec: Mapping[str, Any], review: Review, *, instruments: str | Path
) -> tuple[Review, dict[str, Any]]:
    """Merge a sheets review's saved registry records (config ``registry_mapping``) into it."""
    folder = Path(spec["path"])
    registry = load_registry(
        folder, folder / spec["registry_mapping"], review=review.name,
        instruments_path=instruments, outcomes=sorted(spec["outcomes"]),
    )  # fmt: skip
    merged, differ = merge_registry(review, registry)
    added = merged.contrasts.iloc[len(review.contrasts) :]
    return merged, registry_summary(registry, differ, added)


def write_registry_mapping_schema(directory: str | Path) -> Path:
    """Write ``registry_mapping.schema.json`` into ``directory`` (the package's ``schemas/``)."""
    path = Path(directory) / "registry_mapping.schema.json"
    path.write_text(
        json.dumps(REGISTRY_MAPPING_SCHEMA, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


if __name__ == "__main__":  # pragma: no cover - developer command
    write_registry_mapping_schema(Path(__file__).resolve().parents[1] / "schemas")
