"""The one strict reader of delimited text (sheets, Metapsy, targets, the command line).

pandas' ``read_csv`` guesses: a first data row with one cell more than the header becomes the
index (every column shifts by one), a repeated header becomes ``m_t.1``, an unbalanced quote
swallows the rest of the file. :func:`read_table` never guesses; it stops with the row to fix.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.io.files import read_text
from inflamed.io.numbers import parse_number

#: Longest cell accepted, in characters (Python's csv default limit, stated once).
MAX_CELL_CHARS = 131_072

#: Cells the command line reads as a missing value: empty, and R's ``NA`` (``write.csv``'s default).
MISSING_CELLS = frozenset({"", "NA"})


@dataclass(frozen=True)
class CsvTable:
    """The records of a delimited text file, checked cell by cell but not yet typed.

    Attributes
    ----------
    file
        How the file is named in errors.
    header
        Column names as written (surrounding spaces removed); unique and non-empty.
    records
        One list of cells per data record (blank records left out), ``len(header)`` cells each.
    rows
        Spreadsheet row of each record (header = row 1; a quoted cell may span lines, so rows
        count records, not lines).
    """

    file: str
    header: list[str]
    records: list[list[str]]
    rows: list[int]

    def frame(self) -> pd.DataFrame:
        """The records as a frame of text cells, exactly as written (nothing parsed or guessed)."""
        return pd.DataFrame(self.records, columns=self.header, dtype=object).astype(str)

    def require(self, name: str, given_as: str) -> None:
        """Stop unless the file has column ``name`` (``given_as``: how the user named it)."""
        if name not in self.header:
            close = difflib.get_close_matches(name, self.header, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"no column named {name!r} (given as {given_as}){hint}",
                file=self.file,
                column=name,
                expected="one of the file's columns: " + ", ".join(self.header),
            )

    def column(self, name: str) -> list[str]:
        """The cells of column ``name``, surrounding spaces removed."""
        j = self.header.index(name)
        return [rec[j].strip() for rec in self.records]


def read_table(
    path: str | Path,
    *,
    delimiter: str = ",",
    display_name: str | None = None,
    what: str = "a CSV file with a header row",
    unnamed_first_column: bool = False,
) -> CsvTable:
    """Read a delimited UTF-8 file strictly: every record has exactly one cell per header column.

    Parameters
    ----------
    path
        The file (opened read-only).
    delimiter
        Cell separator (``,`` for sheets and the command line, ``;`` for Metapsy).
    display_name
        How the file is named in errors (default: the path as given).
    what
        What the file should be, for the error's "expected" part.
    unnamed_first_column
        Allow an empty name for the first column (R's ``write.csv`` row names, as Metapsy ships).

    Returns
    -------
    CsvTable

    Raises
    ------
    InputError
        Naming file and row: not found, a folder, not UTF-8, empty (or only blank lines), an
        unbalanced or stray quote, a cell over :data:`MAX_CELL_CHARS` characters, a header cell
        without a name or repeated, a record with more or fewer cells than the header (a trailing
        delimiter says so), and a header that looks separated by another delimiter.

    Notes
    -----
    pandas' ``read_csv`` guesses: a first data row with one cell more than the header becomes the
    index (every column shifts by one), a repeated header becomes ``m_t.1``, an unbalanced quote
    swallows the rest of the file. This reader never guesses; it stops with the row to fix.
    """
    name = display_name or str(path)
    text = read_text(path, display_name=name, what=what)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[list[str]] = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as error:
        row = len(records) + 1
        if "field larger than field limit" in str(error):
            raise InputError(
                f"a cell longer than {MAX_CELL_CHARS:,} characters",
                file=name,
                row=row,
                expected="cells of ordinary length (is a quote left open?)",
            ) from None
        raise InputError(
            f"unbalanced or stray quote ({error})",
            file=name,
            row=row,
            expected="quotes only around whole cells, each opened quote closed (a quote inside a quoted cell is written twice)",
        ) from None
    header = [h.strip() for h in records[0]]
    _check_header(header, name, delimiter, unnamed_first_column)
    body: list[list[str]] = []
    rows: list[int] = []
    for index, rec in enumerate(records[1:]):
        row = index + 2
        if not any(cell.strip() for cell in rec):
            continue  # a blank line
        if len(rec) != len(header):
            _ragged(rec, header, name, row, delimiter)
        body.append(rec)
        rows.append(row)
    return CsvTable(file=name, header=header, records=body, rows=rows)


def _other_delimiter(cells: list[str], delimiter: str) -> str | None:
    for other in (";", ",", "\t", "|"):
        if other != delimiter and any(other in c for c in cells):
            return other
    return None


def _check_header(header: list[str], name: str, delimiter: str, unnamed_first: bool) -> None:
    if len(header) == 1 and (other := _other_delimiter(header, delimiter)) is not None:
        shown = "tab" if other == "\t" else repr(other)
        raise InputError(
            f"the header is one single column containing {shown}: the file seems to be "
            f"{shown}-separated",
            file=name,
            row=1,
            value=header[0][:80],
            expected=f"cells separated by {delimiter!r} (in Excel: save as 'CSV UTF-8 (comma delimited)')"
            if delimiter == ","
            else f"cells separated by {delimiter!r}",
        )
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h == "" and not (j == 0 and unnamed_first):
            where = "the last" if j == len(header) - 1 and j > 0 else f"column {j + 1}"
            raise InputError(
                f"a header cell without a name ({where})"
                + (" - a trailing delimiter?" if j == len(header) - 1 and j > 0 else ""),
                file=name,
                row=1,
                expected="a name for every column and no delimiter after the last one",
            )
        if h in seen:
            raise InputError(
                f"a column appears twice in the header (columns {seen[h] + 1} and {j + 1})",
                file=name,
                row=1,
                column=h,
                value=h,
                expected="each column name once",
            )
        seen[h] = j


def _ragged(rec: list[str], header: list[str], name: str, row: int, delimiter: str) -> None:
    if len(rec) == len(header) + 1 and rec[-1].strip() == "":
        raise InputError(
            f"a trailing {delimiter!r}: the row has one cell more than the header, and it is empty",
            file=name,
            row=row,
            expected=f"{len(header)} cells, no {delimiter!r} after the last one "
            "(read as it stands, every column would shift by one)",
        )
    hint = "quote cells that contain the delimiter"
    if len(rec) == 1 and (other := _other_delimiter(rec, delimiter)) is not None:
        hint = f"cells separated by {delimiter!r}, not {other!r}"
    raise InputError(
        f"the row has {len(rec)} cells but the header has {len(header)}",
        file=name,
        row=row,
        expected=f"one cell per header column ({hint})",
    )


def table_columns(
    table: CsvTable,
    roles: Mapping[str, str],
    *,
    decimal: str = ".",
    thousands: str | None = None,
    missing: frozenset[str] = MISSING_CELLS,
    hint: str = "",
) -> dict[str, np.ndarray]:
    """The numbers of the columns the user named, one float array per role (NaN = missing cell).

    Parameters
    ----------
    table
        From :func:`read_table`.
    roles
        Role (an argument name such as ``sd1i``) -> the file's column the user gave for it.
    decimal, thousands
        The number convention (:func:`parse_number`).
    missing
        Cells that mean "missing".
    hint
        How the user declares another number convention (:func:`parse_number`).

    Raises
    ------
    InputError
        A column not in the file (naming the file's columns), or a cell that is not a number
        under the convention; errors name the user's column with the role in parentheses,
        e.g. ``column 'sd_t (sd1i)'``.
    """
    arrays: dict[str, np.ndarray] = {}
    for role, column in roles.items():
        table.require(column, f"--{role}")
        label = column if column == role else f"{column} ({role})"
        values = np.full(len(table.records), np.nan)
        for i, (cell, row) in enumerate(zip(table.column(column), table.rows, strict=True)):
            if cell not in missing:
                values[i] = parse_number(
                    cell,
                    file=table.file,
                    row=row,
                    column=label,
                    decimal=decimal,
                    thousands=thousands,
                    hint=hint,
                )
        arrays[role] = values
    return arrays


def read_frame(
    path: str | Path,
    *,
    what: str = "a CSV file with a header row",
    missing: frozenset[str] = MISSING_CELLS,
) -> pd.DataFrame:
    """A strictly read CSV (:func:`read_table`) as a typed frame.

    A column whose every non-missing cell is a number (``.`` decimal mark, no thousands
    separator: :func:`~inflamed.io.numbers.parse_number`) becomes numbers: integers when all
    cells are present and whole, floats otherwise (a missing cell is NaN). Any other column stays
    text exactly as written. Unlike pandas' inference, nothing shifts, and a number that could be
    read two ways (``1,040``) leaves its column as text, so the analysis refuses it by name
    instead of using a guess.
    """
    table = read_table(path, what=what)
    frame = table.frame()
    for j, name in enumerate(table.header):
        cells = [rec[j].strip() for rec in table.records]
        present = [c for c in cells if c not in missing]
        if not present:
            continue
        try:
            values = [math.nan if c in missing else parse_number(c) for c in cells]
        except InputError:
            continue  # text (or an ambiguous number): kept as written
        if len(present) == len(cells) and all(float(v).is_integer() for v in values):
            frame[name] = np.asarray(values, dtype=np.int64)
        else:
            frame[name] = np.asarray(values, dtype=float)
    return frame
