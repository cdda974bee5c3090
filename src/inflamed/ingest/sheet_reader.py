"""Read one extraction sheet (a CSV file) and validate every cell against its codebook schema.

The file is read by the one strict reader of the project (:func:`inflamed.io.read_table`: no
ragged rows, trailing delimiters, repeated headers or open quotes), numbers by
:func:`inflamed.io.parse_number` ('.' decimal mark, no thousands separator, finite and of
plausible size), then each record against the JSON schema of :mod:`inflamed.ingest.codebook`.
The first problem stops the read with an :class:`~inflamed.errors.InputError` that names the
file, the spreadsheet row (header = row 1), the column, the bad value and what was expected.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.codebook import load_schema
from inflamed.io import parse_number, read_table

__all__ = ["CRP_COLUMNS", "MISSING_CODES", "Sheet", "check_unique", "parse_cell", "read_sheet"]

_MGDL = re.compile(r"mg\s*/\s*dl", re.IGNORECASE)
_MGL = re.compile(r"mg\s*/\s*l\b", re.IGNORECASE)
CRP_COLUMNS = ("crp_cutoff", "baseline_crp")
#: Codes for "missing" that a sheet must not use (a missing value is an empty cell).
MISSING_CODES = frozenset({"NA", "N/A", "NAN", "NULL", "NR", "-"})


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


def mentions_mg_dl(text: str) -> bool:
    """Whether ``text`` names the unit mg/dL (in any spacing or case)."""
    return bool(_MGDL.search(text))


def _is_count(column: str) -> bool:
    # events_treat / n_ctrl (outcomes.csv) and response_events / response_n (network sheets)
    return (
        column.startswith(("events_", "n_"))
        or column.endswith(("_events", "_n"))
        or column
        in {
            "n",
            "count",
            "k",
            "n_participants",
        }
    )


def parse_cell(text: str, column: str, typ: str, file: str | Path, row: int) -> float:
    """Parse one numeric cell of a sheet; explain every way it can be wrong."""
    if text.endswith("%") and _is_count(column):
        raise InputError(
            "a percentage where a count is expected",
            file=file,
            row=row,
            column=column,
            value=text,
            expected="the number of participants (a whole number); convert the percentage with the arm's n and say so in notes",
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
    value = parse_number(text, file=file, row=row, column=column)
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
        if column.startswith("n_") and err.validator_value == 1:
            return "an arm without participants", "n >= 1 (leave the cell empty if not reported)"
        return f"value below the minimum of '{column}'", f">= {err.validator_value:g}"
    if err.validator == "maximum":
        return f"value above the maximum of '{column}'", f"<= {err.validator_value:g}"
    if err.validator == "type" and err.instance is None:
        return f"a value is required in '{column}'", schema.get("description", "a non-empty cell")
    return err.message, schema.get("description", "")


def _check_columns(header: list[str], schema: dict[str, Any], sheet: str, name: str) -> None:
    props: dict[str, Any] = schema["properties"]
    if not schema.get("additionalProperties", False):
        for h in header:
            if column_schema(schema, h) is None:
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


def column_schema(schema: dict[str, Any], column: str) -> dict[str, Any] | None:
    """The schema of ``column``: its named property, else the first matching pattern property
    (network sheets name their outcome columns ``<outcome>_events`` etc.)."""
    if column in schema.get("properties", {}):
        return schema["properties"][column]
    for pattern, prop in schema.get("patternProperties", {}).items():
        if re.fullmatch(pattern, column):
            return prop
    return None


def _type_of(schema: dict[str, Any], col: str) -> str:
    typ = (column_schema(schema, col) or {}).get("type", "string")
    return typ[0] if isinstance(typ, list) else typ


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
        Everything :func:`inflamed.io.read_table` refuses (encoding, empty file, ragged row,
        trailing delimiter, repeated header, open quote, another separator), missing/unknown
        columns, text in a number, a decimal comma or thousands separator, a non-finite or
        implausibly large number, a percentage or fraction where a count is expected, a
        missing-value code, a value outside its allowed set or range.
    """
    path = Path(path)
    name = display_name or str(path)
    table = read_table(path, display_name=name, what=f"the {sheet} sheet, with a header row")
    schema = load_schema(sheet)
    props: dict[str, Any] = schema["properties"]
    header = table.header
    _check_columns(header, schema, sheet, name)
    validator = jsonschema.Draft202012Validator(schema)
    out: list[dict[str, Any]] = []
    for rec, row in zip(table.records, table.rows, strict=True):
        item: dict[str, Any] = {}
        for col, cell in zip(header, rec, strict=True):
            cell = cell.strip()
            typ = _type_of(schema, col)
            if cell == "":
                item[col] = None
            elif typ in ("number", "integer") and cell.upper() in MISSING_CODES:
                raise InputError(
                    "a missing-value code in a cell",
                    file=name,
                    row=row,
                    column=col,
                    value=cell,
                    expected="an empty cell for a missing value",
                )
            elif typ in ("number", "integer"):
                item[col] = parse_cell(cell, col, typ, name, row)
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
    columns = list(header) if schema.get("additionalProperties") else list(props)
    columns += [h for h in header if h not in props and column_schema(schema, h) is not None]
    frame = pd.DataFrame(out, columns=columns)
    for col in frame.columns:
        if _type_of(schema, col) in ("number", "integer"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
        else:
            frame[col] = frame[col].where(frame[col].notna(), "").astype(str)
    return Sheet(frame=frame, rows=list(table.rows), path=path)


def check_unique(sheet: Sheet, key: list[str], name: str) -> None:
    """Each ``key`` combination once; a repeat names both rows."""
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
