"""Deterministic, atomic writing of artefacts, and the one strict way inputs are read.

Every artefact the workflow writes goes through these helpers so that

* a crash never leaves a half-written file behind (write to a temporary file in the same
  directory, then ``os.replace``, which is atomic on POSIX), and
* two runs on the same inputs give byte-identical files (fixed float format, sorted keys,
  ``\\n`` line endings, no timestamps or absolute paths).

Every input is read through the read side below, so that no reader guesses: :func:`read_table`
(delimited text: a ragged row, a trailing delimiter, a repeated or unnamed header cell, an
unbalanced quote stop with file and row), :func:`parse_number` (one explicit decimal/thousands
convention; an ambiguous ``1,040`` is an error), :func:`load_json` / :func:`load_yaml` (malformed
files and YAML aliases are errors naming the file) and :func:`read_artefact_csv` (artefacts this
workflow wrote).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError

#: Significant digits kept in every float written to a CSV or JSON artefact. Enough to round-trip
#: the 1e-10 relative agreement the reference tests ask for, few enough to be stable across BLAS.
FLOAT_DIGITS = 12
FLOAT_FORMAT = f"%.{FLOAT_DIGITS}g"


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing and move it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
            kwargs.setdefault("newline", "\n")
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` atomically."""
    with atomic_open(path) as handle:
        handle.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_csv(path: str | Path, frame: pd.DataFrame, *, sort_by: list[str] | None = None) -> None:
    """Write ``frame`` as a deterministic CSV (no index, fixed float format, optional row sort)."""
    if sort_by:
        frame = frame.sort_values(sort_by, kind="mergesort").reset_index(drop=True)
    with atomic_open(path) as handle:
        handle.write(csv_text(frame))


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as deterministic CSV text (no index, :data:`FLOAT_FORMAT`, ``\\n`` line ends)."""
    floats = frame.select_dtypes(include="float").columns
    if len(floats):
        # -0.0 + 0.0 == +0.0: a sign flip of a zero effect must not print as "-0".
        frame = frame.assign(**{c: frame[c] + 0.0 for c in floats})
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def to_jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON values; NaN/inf become ``None``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(FLOAT_FORMAT % value) + 0.0  # no "-0.0"
    if isinstance(value, Path):
        return value.as_posix()
    if value is pd.NA or value is None:
        return None
    return value


def dumps_json(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, fixed floats, trailing newline)."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as deterministic JSON, atomically."""
    write_text(path, dumps_json(obj))


# --------------------------------------------------------------------------------------------
# The read side: one strict CSV reading path for every input (sheets, Metapsy, the command line)
# --------------------------------------------------------------------------------------------

#: Longest cell accepted, in characters (Python's csv default limit, stated once).
MAX_CELL_CHARS = 131_072

#: Largest magnitude accepted in a numeric input cell. No measured quantity of a trial comes near
#: it, and squares of larger values (variances, sums of squares) overflow double arithmetic soon
#: after (1e308 is the largest double), so a bigger number is an entry error, not data.
MAX_ABS_VALUE = 1e15

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_GROUPED = {sep: re.compile(rf"^[+-]?\d{{1,3}}({re.escape(sep)}\d{{3}})+$") for sep in ",. '"}


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


def read_text(path: str | Path, *, display_name: str | None = None, what: str = "a file") -> str:
    """Read a UTF-8 text input; a missing file, a folder or an empty file is an :class:`InputError`."""
    path = Path(path)
    name = display_name or str(path)
    if path.is_dir():
        raise InputError("a folder where a file is expected", file=name, expected=what)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=name, expected=what) from None
    except OSError as error:
        raise InputError(f"cannot read the file ({error.strerror})", file=name) from None
    text = decode_utf8(data, name)
    if not text.strip():
        raise InputError("the file is empty", file=name, row=1, expected=what)
    return text


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


def parse_number(
    text: str,
    *,
    file: str | Path | None = None,
    row: int | None = None,
    column: str | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    integer: bool = False,
    column_label: str | None = None,
    hint: str = "",
) -> float:
    """Parse one numeric cell under an explicit convention; never guess.

    Parameters
    ----------
    text
        The cell, surrounding spaces removed; must not be empty (missing values are the caller's).
    file, row, column
        Where the cell is, for the error.
    decimal
        The decimal mark: ``.`` (default) or ``,``.
    thousands
        The thousands separator, if the file uses one (``,``, ``.``, `` `` or ``'``); groups of
        three digits are then required, so ``1,04`` is still an error.
    integer
        A whole number is required (a count).
    column_label
        How the column is named in errors, if not ``column`` (e.g. ``sd_t (sd1i)``).
    hint
        How the reader lets the user declare another convention, added to the error's
        expectation for a decimal comma or an ambiguous separator (e.g. the command line's
        ``--decimal ,``).

    Returns
    -------
    float

    Raises
    ------
    InputError
        Text, a decimal comma or a thousands separator the convention does not declare (the
        two cannot be told apart: ``1,040`` is 1.04 or 1040), a non-finite value, a magnitude
        over :data:`MAX_ABS_VALUE`, a fraction where a whole number is required.
    """
    label = column_label or column

    def fail(message: str, expected: str) -> InputError:
        return InputError(message, file=file, row=row, column=label, value=text, expected=expected)

    if thousands is not None and thousands == decimal:
        raise InputError(
            "the same character is declared as decimal mark and thousands separator",
            value=decimal,
            expected="different characters",
        )
    body = text
    if thousands is not None and thousands in body:
        sign = body[0] if body[:1] in "+-" else ""
        whole, has_decimal, frac = body[len(sign) :].partition(decimal)
        if not _GROUPED[thousands].match(whole):
            raise fail(
                f"thousands separator {thousands!r} not between groups of three digits",
                "digits grouped in threes, e.g. 1" + thousands + "040",
            )
        body = sign + whole.replace(thousands, "") + (decimal + frac if has_decimal else "")
    if decimal != ".":
        if "." in body:
            raise fail(
                f"a '.' in a number whose decimal mark is {decimal!r}",
                f"a number written with {decimal!r} as decimal mark"
                + (f" and {thousands!r} between thousands" if thousands else ""),
            )
        body = body.replace(decimal, ".")
    if not _PLAIN_NUMBER.match(body):
        if decimal == "." and thousands is None:
            for sep, pattern in _GROUPED.items():
                if sep in ",." and pattern.match(body):
                    raise fail(
                        f"ambiguous number: {sep!r} may separate thousands or mark decimals",
                        "a plain number (1040 or 1.04)" + hint,
                    )
            if _DECIMAL_COMMA.match(body):
                raise fail(
                    "a decimal comma in a number", "a number with '.' as decimal mark" + hint
                )
        raise fail("text in a number column", "a number")
    value = float(body)
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise fail(
            "not a finite number of plausible size",
            f"a finite number of magnitude at most {MAX_ABS_VALUE:g}",
        )
    if integer and value != int(value):
        raise fail("a fraction where a whole number is expected", "a whole number (a count)")
    return value


def read_artefact_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV artefact this workflow wrote with :func:`write_csv` (empty cell = missing).

    The one definition of the artefact read convention: only an empty cell is missing, so text
    such as ``NA`` or ``None`` (a study label, an instrument code) stays text.
    """
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def load_json(path: str | Path, *, what: str = "a JSON file") -> Any:
    """Parse a UTF-8 JSON file; malformed JSON is an :class:`InputError` naming file, line and column."""
    name = str(path)
    text = read_text(path, what=what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"not valid JSON ({error.msg}, line {error.lineno}, character {error.colno})",
            file=name,
            row=error.lineno,
            expected=what,
        ) from None


def load_yaml_text(text: str, *, file: str | Path, what: str = "a YAML file") -> Any:
    """Parse YAML with the safe loader and no aliases; errors name the file and line.

    Notes
    -----
    Aliases (``*name``) are refused: nested aliases expand exponentially (the "billion laughs"
    file: a few hundred bytes that take minutes and gigabytes to validate) and inflamed's mapping
    and config files never need them.
    """
    import yaml  # only the readers of YAML files pay for it

    class _NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise InputError(
                    f"a YAML alias ('*{event.anchor}'), line {event.start_mark.line + 1}",
                    file=file,
                    row=event.start_mark.line + 1,
                    expected=f"{what} without anchors and aliases: write each value out",
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # a SafeLoader subclass: no Python tags
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(
            f"not valid YAML ({problem}" + (f", line {line})" if line else ")"),
            file=file,
            row=line,
            expected=what,
        ) from None


def load_yaml(path: str | Path, *, what: str = "a YAML file") -> Any:
    """Read and parse a UTF-8 YAML file with :func:`load_yaml_text`; an empty file is an error."""
    return load_yaml_text(read_text(path, what=what), file=str(path), what=what)


#: Cells the command line reads as a missing value: empty, and R's ``NA`` (``write.csv``'s default).
MISSING_CELLS = frozenset({"", "NA"})


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
