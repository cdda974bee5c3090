"""Read and validate a review folder of extraction sheets into the internal model.

A review folder (``data/reviews/<name>/``) holds ``studies.csv`` and ``outcomes.csv`` (required)
and ``risk_of_bias.csv``, ``published_estimates.csv``, ``prisma.csv`` (optional). Every sheet is
checked against its codebook (:mod:`inflamed.ingest.codebook`, JSON schemas in
``inflamed/schemas/``) and against the cross-sheet rules; the first problem stops the read with an
:class:`~inflamed.errors.InputError` that names the file, the spreadsheet row (header = row 1), the
column, the bad value and what was expected. Files are opened read-only and never modified.

Status: every bad-input case of issue 4 is covered by tests/test_ingest_sheets.py; the shipped
review data/reviews/anti-inflammatory-crp validates.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.codebook import ARM_FIELDS, DEFAULT_OUTCOMES, SHEETS, load_schema

__all__ = [
    "CONTRAST_COLUMNS",
    "Review",
    "Sheet",
    "decode_utf8",
    "empty_sheet",
    "read_instruments",
    "read_review",
    "read_sheet",
    "read_studies",
]

#: Columns of the internal contrasts table (outcomes.csv columns + review + row_ref).
CONTRAST_COLUMNS: list[str] = [c.name for c in SHEETS["outcomes"]["columns"]] + [
    "review",
    "row_ref",
]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_MGDL = re.compile(r"mg\s*/\s*dl", re.IGNORECASE)
_MGL = re.compile(r"mg\s*/\s*l\b", re.IGNORECASE)
CRP_COLUMNS = ("crp_cutoff", "baseline_crp")
OPTIONAL_SHEETS = ("risk_of_bias", "published_estimates", "prisma")


@dataclass(frozen=True)
class Sheet:
    """A validated sheet: typed values plus the spreadsheet row of every record.

    Attributes
    ----------
    frame
        One row per CSV record; numbers as float (NaN = empty), text as str ("" = empty).
    rows
        Spreadsheet row number of each record (header = 1).
    path
        The file read.
    """

    frame: pd.DataFrame
    rows: list[int]
    path: Path


@dataclass(frozen=True)
class Review:
    """A review folder in the internal model.

    Attributes
    ----------
    name
        Folder name (the review id).
    contrasts
        outcomes.csv in the internal model (:data:`CONTRAST_COLUMNS`).
    studies
        studies.csv plus ``crp_cutoff_mg_l``, ``baseline_crp_mg_l``, ``review``, ``row_ref``.
    risk_of_bias, published_estimates, prisma
        The optional sheets (empty frames with the codebook columns when absent).
    conversions
        Every unit conversion made at ingest (row_ref, column, value, unit, converted, note).
    instruments
        The validated instruments table (scoring direction decides sign flips at extraction).
    """

    name: str
    contrasts: pd.DataFrame
    studies: pd.DataFrame
    risk_of_bias: pd.DataFrame
    published_estimates: pd.DataFrame
    prisma: pd.DataFrame
    conversions: pd.DataFrame
    instruments: pd.DataFrame


def decode_utf8(data: bytes, file: str | Path) -> str:
    """Decode ``data`` as UTF-8 (a UTF-8 byte-order mark is allowed) or raise a helpful error.

    Notes
    -----
    On failure the error names the spreadsheet row of the first undecodable byte and the encoding
    the bytes look like: UTF-16 (byte-order mark or NUL bytes) or Windows-1252/Latin-1 (what
    Excel's "CSV" export writes on Windows).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]:
            seems = "UTF-16 (a byte-order mark or NUL bytes are present)"
        else:
            try:
                data.decode("cp1252")
                seems = "Windows-1252 / Latin-1 (e.g. Excel's plain 'CSV' export)"
            except UnicodeDecodeError:
                seems = "an unknown 8-bit encoding"
        row = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 4]
        raise InputError(
            f"the file is not valid UTF-8; it seems to be {seems}. Save it as 'CSV UTF-8'",
            file=file,
            row=row,
            value=bad,
            expected="a UTF-8 encoded file",
        ) from None


def _is_count(column: str) -> bool:
    return column.startswith(("events_", "n_")) or column in {"n", "count", "k", "n_participants"}


def _parse_number(text: str, column: str, typ: str, file: Path, row: int) -> float:
    """Parse one numeric cell; explain every way it can be wrong."""
    if _NUMBER.match(text):
        value = float(text)
    else:
        if text.endswith("%") and _is_count(column):
            raise InputError(
                "a percentage where a count is expected",
                file=file,
                row=row,
                column=column,
                value=text,
                expected="the number of participants (a whole number); convert the percentage with the arm's n and say so in notes",
            )
        if _DECIMAL_COMMA.match(text):
            raise InputError(
                "a decimal comma in a number",
                file=file,
                row=row,
                column=column,
                value=text,
                expected="a number with '.' as decimal mark",
            )
        if column in CRP_COLUMNS and (_MGDL.search(text) or _MGL.search(text)):
            raise InputError(
                "a unit written into a CRP number cell",
                file=file,
                row=row,
                column=column,
                value=text,
                expected="the number only, with its unit (mg/L or mg/dL) in column 'crp_unit'",
            )
        raise InputError(
            "text in a number column",
            file=file,
            row=row,
            column=column,
            value=text,
            expected=f"a {'whole ' if typ == 'integer' else ''}number or an empty cell",
        )
    if not math.isfinite(value):
        raise InputError(
            "not a finite number",
            file=file,
            row=row,
            column=column,
            value=text,
            expected="a finite number",
        )
    if typ == "integer" and value != int(value):
        if _is_count(column):
            raise InputError(
                "a fraction or proportion where a count is expected",
                file=file,
                row=row,
                column=column,
                value=text,
                expected="the number of participants (a whole number), not a proportion or percentage",
            )
        raise InputError(
            "not a whole number",
            file=file,
            row=row,
            column=column,
            value=text,
            expected="a whole number",
        )
    return value


def _schema_message(err: jsonschema.ValidationError, column: str) -> tuple[str, str]:
    """Plain-words message and expectation for a schema violation of one cell."""
    schema = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "enum":
        allowed = [v for v in err.validator_value if v is not None]
        return f"unknown value in '{column}'", "one of " + ", ".join(repr(v) for v in allowed)
    if err.validator == "pattern":
        return (
            f"value does not match the format of '{column}'",
            f"text matching {err.validator_value}",
        )
    if err.validator == "minimum":
        if column.startswith("sd_"):
            return "a negative standard deviation", "a standard deviation >= 0"
        return f"value below the minimum of '{column}'", f">= {err.validator_value:g}"
    if err.validator == "maximum":
        return f"value above the maximum of '{column}'", f"<= {err.validator_value:g}"
    if err.validator == "type" and err.instance is None:
        return f"a value is required in '{column}'", schema.get("description", "a non-empty cell")
    return err.message, schema.get("description", "")


def read_sheet(path: str | Path, sheet: str, *, display_name: str | None = None) -> Sheet:
    """Read one CSV sheet and validate it against its codebook schema.

    Parameters
    ----------
    path
        The CSV file (opened read-only).
    sheet
        Codebook name: studies, outcomes, risk_of_bias, published_estimates, prisma, instruments.
    display_name
        How the file is named in errors (default: the path as given).

    Returns
    -------
    Sheet
        Typed values and the spreadsheet row of every record.

    Raises
    ------
    InputError
        Wrong encoding, missing/unknown/duplicated columns, text in a number, a percentage or
        fraction where a count is expected, a value outside its allowed set or range.
    """
    path = Path(path)
    name = display_name or str(path)
    if not path.is_file():
        raise InputError("file not found", file=name, expected=f"the {sheet} sheet")
    text = decode_utf8(path.read_bytes(), name)
    reader = csv.reader(io.StringIO(text, newline=""))
    records = list(reader)
    if not records or not any(cell.strip() for cell in records[0]):
        raise InputError("the file is empty", file=name, row=1, expected="a header row")
    schema = load_schema(sheet)
    props: dict[str, Any] = schema["properties"]
    header = [h.strip() for h in records[0]]
    seen: set[str] = set()
    for h in header:
        if h in seen:
            raise InputError(
                "a column appears twice in the header",
                file=name,
                row=1,
                column=h,
                value=h,
                expected="each column once",
            )
        seen.add(h)
    if not schema.get("additionalProperties", False):
        for h in header:
            if h not in props:
                close = difflib.get_close_matches(h, list(props), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise InputError(
                    f"unknown column{hint}",
                    file=name,
                    row=1,
                    column=h,
                    value=h,
                    expected=f"only the codebook columns of {sheet}.csv (see docs/codebook.md)",
                )
    for col in schema["required"]:
        if col not in header:
            raise InputError(
                "a required column is missing",
                file=name,
                row=1,
                column=col,
                expected=f"the codebook columns of {sheet}.csv (see docs/codebook.md)",
            )
    validator = jsonschema.Draft202012Validator(schema)
    out: list[dict[str, Any]] = []
    rows: list[int] = []
    for index, rec in enumerate(records[1:]):
        row = index + 2
        if not any(cell.strip() for cell in rec):
            continue  # blank line
        if len(rec) != len(header):
            raise InputError(
                f"the row has {len(rec)} cells but the header has {len(header)}",
                file=name,
                row=row,
                expected="one cell per header column (quote cells that contain commas)",
            )
        item: dict[str, Any] = {}
        for col, cell in zip(header, rec, strict=True):
            cell = cell.strip()
            typ = props.get(col, {}).get("type", "string")
            typ = typ[0] if isinstance(typ, list) else typ
            if cell == "":
                item[col] = None
            elif cell.upper() in {"NA", "N/A", "NAN", "NULL", "NR", "-"} and typ in (
                "number",
                "integer",
            ):
                raise InputError(
                    "a missing-value code in a cell",
                    file=name,
                    row=row,
                    column=col,
                    value=cell,
                    expected="an empty cell for a missing value",
                )
            elif typ in ("number", "integer"):
                item[col] = _parse_number(cell, col, typ, name, row)
            else:
                item[col] = cell
        errors = sorted(
            validator.iter_errors(item),
            key=lambda e: header.index(e.path[0]) if e.path and e.path[0] in header else -1,
        )
        for err in errors:
            column = str(err.path[0]) if err.path else ""
            message, expected = _schema_message(err, column)
            raise InputError(
                message,
                file=name,
                row=row,
                column=column or None,
                value=item.get(column),
                expected=expected,
            )
        out.append(item)
        rows.append(row)
    columns = list(header) if schema.get("additionalProperties") else [c for c in props]
    frame = pd.DataFrame(out, columns=columns)
    for col in frame.columns:
        typ = props.get(col, {}).get("type", "string")
        typ = typ[0] if isinstance(typ, list) else typ
        if typ in ("number", "integer"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
        else:
            frame[col] = frame[col].where(frame[col].notna(), "").astype(str)
    return Sheet(frame=frame, rows=rows, path=path)


def _check_unique(sheet: Sheet, key: list[str], name: str) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    for rec, row in zip(sheet.frame[key].itertuples(index=False), sheet.rows, strict=True):
        k = tuple("" if (isinstance(v, float) and math.isnan(v)) else v for v in rec)
        if k in seen:
            label = ", ".join(f"{c}={v!r}" for c, v in zip(key, k, strict=True) if v != "")
            raise InputError(
                f"duplicated {'study id' if key == ['study_id'] else 'key row'} (same as row {seen[k]})",
                file=name,
                row=row,
                column=key[0] if len(key) == 1 else "+".join(key),
                value=label,
                expected=f"one row per {', '.join(key)}",
            )
        seen[k] = row


def read_instruments(path: str | Path) -> pd.DataFrame:
    """Read ``data/instruments.csv`` (validated; unique ``instrument`` keys)."""
    sheet = read_sheet(path, "instruments")
    _check_unique(sheet, ["instrument"], str(path))
    return sheet.frame


def _check_study_ids(sheet: Sheet, known: set[str], name: str, studies_name: str) -> None:
    for sid, row in zip(sheet.frame["study_id"], sheet.rows, strict=True):
        if sid not in known:
            close = difflib.get_close_matches(sid, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(
                f"study id not found in {studies_name}{hint}",
                file=name,
                row=row,
                column="study_id",
                value=sid,
                expected=f"a study_id listed in {studies_name}",
            )


#: Columns of :attr:`Review.conversions`.
CONVERSION_COLUMNS = ["row_ref", "column", "value", "unit", "converted", "converted_unit", "note"]


def empty_sheet(sheet: str) -> pd.DataFrame:
    """An empty frame with the codebook columns of ``sheet`` plus ``review`` and ``row_ref``."""
    return pd.DataFrame(columns=[c.name for c in SHEETS[sheet]["columns"]] + ["review", "row_ref"])


def read_studies(path: str | Path, *, review: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read studies.csv: validated, unique ids, CRP converted to mg/L.

    Returns
    -------
    (studies, conversions)
        The sheet plus ``crp_cutoff_mg_l``, ``baseline_crp_mg_l``, ``review`` and ``row_ref``
        (``<review>/studies.csv:<row>``); and one row per mg/dL -> mg/L conversion
        (:data:`CONVERSION_COLUMNS`).

    Raises
    ------
    InputError
        Everything :func:`read_sheet` checks, a duplicated study id, a CRP value without a unit.
    """
    path = Path(path)
    name = str(path)
    studies = read_sheet(path, "studies", display_name=name)
    _check_unique(studies, ["study_id"], name)
    sframe = studies.frame.copy()
    conversions: list[dict[str, Any]] = []
    for col in CRP_COLUMNS:
        sframe[f"{col}_mg_l"] = math.nan
    for i, row in enumerate(studies.rows):
        unit = sframe.at[i, "crp_unit"]
        for col in CRP_COLUMNS:
            value = sframe.at[i, col]
            if math.isnan(value):
                continue
            if unit == "":
                raise InputError(
                    "a CRP value without a unit",
                    file=name,
                    row=row,
                    column="crp_unit",
                    value=f"{col}={value:g}, crp_unit empty",
                    expected="crp_unit = 'mg/L' or 'mg/dL'",
                )
            factor = 10.0 if unit == "mg/dL" else 1.0
            sframe.at[i, f"{col}_mg_l"] = value * factor
            if factor != 1.0:
                conversions.append(
                    {
                        "row_ref": f"{review}/{path.name}:{row}",
                        "column": col,
                        "value": value,
                        "unit": unit,
                        "converted": value * factor,
                        "converted_unit": "mg/L",
                        "note": "mg/dL x 10 = mg/L",
                    }
                )
    sframe["review"] = review
    sframe["row_ref"] = [f"{review}/{path.name}:{r}" for r in studies.rows]
    return sframe, pd.DataFrame(conversions, columns=CONVERSION_COLUMNS)


def read_review(
    folder: str | Path,
    *,
    instruments_path: str | Path,
    outcomes: Collection[str] | None = None,
) -> Review:
    """Read, validate and convert a review folder into the internal model.

    Parameters
    ----------
    folder
        ``data/reviews/<name>/`` with studies.csv and outcomes.csv (risk_of_bias.csv,
        published_estimates.csv and prisma.csv are optional).
    instruments_path
        ``data/instruments.csv``: the rating scales outcomes.csv may name.
    outcomes
        Declared outcome names (default: :data:`~inflamed.ingest.codebook.DEFAULT_OUTCOMES`).

    Returns
    -------
    Review
        Contrasts (internal model, with ``review`` and ``row_ref`` = ``<review>/<file>:<row>``),
        studies (CRP in mg/L added as ``crp_cutoff_mg_l``/``baseline_crp_mg_l``), the optional
        sheets and the log of unit conversions.

    Raises
    ------
    InputError
        Naming file, row (header = 1), column, value and expectation for: wrong/missing column,
        text in a number, negative SD, events > n, duplicated study id or key row, unknown
        study id / outcome / subgroup / measure_kind / instrument, a CRP value without a unit or
        with an unknown unit, CRP in mg/dL in a study whose unit says mg/L, a percentage or
        fraction where a count is expected, a file that is not UTF-8.

    Notes
    -----
    Files are opened read-only; nothing in ``folder`` is ever written. CRP values given in mg/dL
    (``crp_unit`` = ``mg/dL``) are multiplied by 10 (1 mg/dL = 10 mg/L) and each conversion is
    listed in :attr:`Review.conversions`.
    """
    folder = Path(folder)
    review = folder.name
    declared = set(outcomes) if outcomes is not None else set(DEFAULT_OUTCOMES)
    if not folder.is_dir():
        raise InputError(
            "review folder not found",
            file=folder,
            expected="a folder with studies.csv and outcomes.csv",
        )
    instruments = read_instruments(instruments_path)
    known_instruments = set(instruments["instrument"])

    def fname(f: str) -> str:
        return str(folder / f)

    def ref(f: str, row: int) -> str:
        return f"{review}/{f}:{row}"

    sframe, conv = read_studies(folder / "studies.csv", review=review)
    crp_unit_of = dict(zip(sframe["study_id"], sframe["crp_unit"], strict=True))

    outcomes_sheet = read_sheet(
        folder / "outcomes.csv", "outcomes", display_name=fname("outcomes.csv")
    )
    _check_study_ids(outcomes_sheet, set(sframe["study_id"]), fname("outcomes.csv"), "studies.csv")
    _check_unique(outcomes_sheet, SHEETS["outcomes"]["key"], fname("outcomes.csv"))
    oframe = outcomes_sheet.frame
    ofile = fname("outcomes.csv")
    for i, row in enumerate(outcomes_sheet.rows):
        rec = oframe.iloc[i]
        if rec["outcome"] not in declared:
            raise InputError(
                "unknown outcome",
                file=ofile,
                row=row,
                column="outcome",
                value=rec["outcome"],
                expected="an outcome declared in config: " + ", ".join(sorted(declared)),
            )
        if rec["instrument"] and rec["instrument"] not in known_instruments:
            close = difflib.get_close_matches(rec["instrument"], sorted(known_instruments), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(
                f"unknown instrument{hint}",
                file=ofile,
                row=row,
                column="instrument",
                value=rec["instrument"],
                expected=f"a key of {instruments_path}",
            )
        has_mean = any(
            not math.isnan(rec[c])
            for c in ("mean_treat", "mean_ctrl", "median_treat", "median_ctrl")
        )
        if rec["measure_kind"] == "change" and has_mean and not rec["change_direction"]:
            raise InputError(
                "a change score without its direction",
                file=ofile,
                row=row,
                column="change_direction",
                expected="post_minus_pre or pre_minus_post",
            )
        for arm in ("treat", "ctrl"):
            ev, n = rec[f"events_{arm}"], rec[f"n_{arm}"]
            if not math.isnan(ev) and not math.isnan(n) and ev > n:
                raise InputError(
                    f"more events than participants (n_{arm} = {n:g})",
                    file=ofile,
                    row=row,
                    column=f"events_{arm}",
                    value=ev,
                    expected=f"events_{arm} <= n_{arm}",
                )
        definition = rec["subgroup_definition"]
        if definition and _MGDL.search(definition) and crp_unit_of.get(rec["study_id"]) != "mg/dL":
            raise InputError(
                "CRP given in mg/dL but studies.csv does not say so "
                f"(crp_unit of {rec['study_id']} is {crp_unit_of.get(rec['study_id']) or 'empty'!r})",
                file=ofile,
                row=row,
                column="subgroup_definition",
                value=definition,
                expected="CRP in mg/L (x 10 from mg/dL), or crp_unit = 'mg/dL' in studies.csv",
            )
        if rec["subgroup"] != "whole" and rec["subgroup"].startswith("crp_") and not definition:
            raise InputError(
                "a CRP subgroup without its definition",
                file=ofile,
                row=row,
                column="subgroup_definition",
                expected="the cut-off as reported, e.g. 'CRP >= 3 mg/L'",
            )
    contrasts = oframe.copy()
    contrasts["review"] = review
    contrasts["row_ref"] = [ref("outcomes.csv", r) for r in outcomes_sheet.rows]
    contrasts = contrasts[CONTRAST_COLUMNS]

    optional: dict[str, pd.DataFrame] = {}
    for sheet in OPTIONAL_SHEETS:
        path = folder / f"{sheet}.csv"
        if path.is_file():
            parsed = read_sheet(path, sheet, display_name=fname(f"{sheet}.csv"))
            _check_unique(parsed, SHEETS[sheet]["key"], fname(f"{sheet}.csv"))
            if "study_id" in parsed.frame:
                _check_study_ids(
                    parsed, set(sframe["study_id"]), fname(f"{sheet}.csv"), "studies.csv"
                )
            frame = parsed.frame.copy()
            frame["review"] = review
            frame["row_ref"] = [ref(f"{sheet}.csv", r) for r in parsed.rows]
        else:
            frame = empty_sheet(sheet)
        optional[sheet] = frame.reset_index(drop=True)
    return Review(
        name=review,
        contrasts=contrasts.reset_index(drop=True),
        studies=sframe.reset_index(drop=True),
        risk_of_bias=optional["risk_of_bias"],
        published_estimates=optional["published_estimates"],
        prisma=optional["prisma"],
        conversions=conv,
        instruments=instruments,
    )


#: Arm-level numeric columns of the contrasts table.
ARM_COLUMNS = [f"{f}_{arm}" for arm in ("treat", "ctrl") for f in ARM_FIELDS]
