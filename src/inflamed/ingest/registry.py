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
from inflamed.ingest.between_arm import BETWEEN_ARM_COLUMNS, read_between_arm, title_key
from inflamed.ingest.ctgov import read_ctgov_record, read_mapping
from inflamed.ingest.mapping_schema import BETWEEN_ARM_SCHEMA, MAPPING_SCHEMA
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
                    "between_arm": BETWEEN_ARM_SCHEMA,
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
        pairs = read_between_arm(record, entry, path, ref, directions)
        between += [listed for listed, _ in pairs]
        if pairs:
            frames.append(pd.DataFrame([row for _, row in pairs], columns=CONTRAST_COLUMNS))
        used = {
            title_key(o["title"])
            for key in ("outcomes", "between_arm", "not_used")
            for o in entry.get(key, [])
        }
        for om in (
            record.get("resultsSection", {})
            .get("outcomeMeasuresModule", {})
            .get("outcomeMeasures", [])
        ):
            if title_key(om.get("title")) not in used:
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
