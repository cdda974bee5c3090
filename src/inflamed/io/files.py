"""Reading whole input files: UTF-8 text, JSON and YAML (no aliases), and the workflow's own CSVs.

Every failure is an :class:`~inflamed.errors.InputError` naming the file (and the line where the
parser knows it), so the command line and the workflow print one line, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.errors import InputError


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


def read_artefact_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV artefact this workflow wrote with :func:`write_csv` (empty cell = missing).

    The one definition of the artefact read convention: only an empty cell is missing, so text
    such as ``NA`` or ``None`` (a study label, an instrument code) stays text.
    """
    return pd.read_csv(path, keep_default_na=False, na_values=[""])
