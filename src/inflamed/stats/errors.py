"""Errors that tell the user exactly what is wrong and where (one definition for the engine and the stages).

Every problem with a user's input is raised as :class:`InputError`, which names the file, the row
(1-based, counting the header as row 1, as a spreadsheet shows it), the column, the bad value and
what was expected. The workflow prints ``str(error)`` verbatim, so the message is the interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class InflamedError(Exception):
    """Base class for every error inflamed raises on purpose."""


@dataclass(eq=False)
class InputError(InflamedError, ValueError):
    """A value in an input file (or an argument) is not what inflamed can use.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The file the value came from, if any.
    row
        Spreadsheet row number (header = row 1, first data row = row 2), if any.
    column
        Column or key name, if any.
    value
        The offending value, if any.
    expected
        What would have been accepted.
    key
        Key path in a configuration or mapping file (e.g. ``pooling.method``), if any.
    """

    message: str
    file: str | Path | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    expected: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.key is not None:
            where.append(f"key '{self.key}'")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where)
        text = f"{text}: {self.message}" if text else self.message
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class ConvergenceError(InflamedError, RuntimeError):
    """An iterative estimator did not converge; never a silent wrong number."""
