"""Parsing one numeric cell under one explicit convention: never a guess between 1.04 and 1040."""

from __future__ import annotations

import math
import re
from pathlib import Path

from inflamed.errors import InputError

#: Largest magnitude accepted in a numeric input cell. No measured quantity of a trial comes near
#: it, and squares of larger values (variances, sums of squares) overflow double arithmetic soon
#: after (1e308 is the largest double), so a bigger number is an entry error, not data.
MAX_ABS_VALUE = 1e15

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_GROUPED = {sep: re.compile(rf"^[+-]?\d{{1,3}}({re.escape(sep)}\d{{3}})+$") for sep in ",. '"}


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
