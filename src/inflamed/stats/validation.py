"""Shared checks on the arrays that every statistics function receives.

Each check raises :class:`inflamed.errors.InputError` naming the argument (as ``column``) and the
offending element. Where the caller knows how array positions map to spreadsheet rows it passes
``row_offset`` (the command line passes 2: the header is row 1, so element 0 is row 2) and the
error carries ``row = position + row_offset``; otherwise the message says
``element i (0-based)`` and ``row`` is left empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.errors import InputError

__all__ = [
    "as_float_array",
    "broadcast_arrays",
    "check_counts",
    "check_integer",
    "check_nonnegative",
    "check_ordered",
    "check_positive",
    "check_same_length",
    "locate",
    "scalar_or_array",
]


def locate(position: int, row_offset: int | None) -> tuple[int | None, str]:
    """Return ``(row, where)`` for an element: the spreadsheet row if known and a message prefix.

    Parameters
    ----------
    position
        0-based position in the array.
    row_offset
        Added to ``position`` to give a spreadsheet row, or ``None`` when there is no sheet.

    Returns
    -------
    tuple
        ``(row, where)``. With ``row_offset`` the row is ``position + row_offset`` and ``where`` is
        empty (:class:`InputError` already prints the row); without it ``row`` is ``None`` and
        ``where`` is the prefix ``"element i (0-based): "``.
    """
    if row_offset is None:
        return None, f"element {position} (0-based): "
    return position + row_offset, ""


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


def as_float_array(
    name: str,
    values: Any,
    *,
    row_offset: int | None = None,
    allow_missing: bool = False,
) -> np.ndarray:
    """Convert ``values`` to a 1-D float array, refusing non-numbers and (by default) missing values.

    Parameters
    ----------
    name
        Argument or column name, used in error messages.
    values
        A scalar, sequence, numpy array or pandas Series.
    row_offset
        See the module docstring.
    allow_missing
        If ``True``, missing values (``None``, ``NaN``, ``pd.NA``, empty strings) become ``NaN``;
        otherwise the first one is an error.

    Returns
    -------
    numpy.ndarray
        A new 1-D ``float64`` array.

    Raises
    ------
    InputError
        For a non-numeric element, an infinite element or (unless allowed) a missing element.
    """
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    fast = np.asarray(values) if isinstance(values, np.ndarray) else None
    if fast is not None and fast.dtype.kind in "biuf" and fast.ndim <= 1:
        # numeric arrays: vectorised checks (the per-element path below is for mixed input)
        out = np.atleast_1d(fast.astype(float))
        bad = np.flatnonzero(np.isnan(out)) if not allow_missing else np.array([], dtype=int)
        if bad.size:
            row, where = locate(int(bad[0]), row_offset)
            raise InputError(
                f"{where}required value is missing", row=row, column=name, expected="a number"
            )
        inf = np.flatnonzero(np.isinf(out))
        if inf.size:
            i = int(inf[0])
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}value is infinite",
                row=row,
                column=name,
                value=float(out[i]),
                expected="a finite number",
            )
        return out
    raw = np.atleast_1d(np.asarray(values, dtype=object))
    if raw.ndim != 1:
        raise InputError(
            f"must be one-dimensional, got shape {raw.shape}",
            column=name,
            expected="a 1-D sequence of numbers",
        )
    out = np.empty(raw.shape[0], dtype=float)
    for i, value in enumerate(raw):
        if _is_missing(value):
            if allow_missing:
                out[i] = np.nan
                continue
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}required value is missing",
                row=row,
                column=name,
                expected="a number",
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}not a number", row=row, column=name, value=value, expected="a number"
            ) from None
        if not math.isfinite(number):
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}value is infinite",
                row=row,
                column=name,
                value=value,
                expected="a finite number",
            )
        out[i] = number
    return out


def _first_bad(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _fail(
    name: str, arr: np.ndarray, i: int, row_offset: int | None, what: str, expected: str
) -> InputError:
    row, where = locate(i, row_offset)
    value = arr[i].item() if isinstance(arr[i], np.generic) else arr[i]
    return InputError(f"{where}{what}", row=row, column=name, value=value, expected=expected)


def check_positive(
    name: str, arr: np.ndarray, *, allow_zero: bool = False, row_offset: int | None = None
) -> np.ndarray:
    """Raise unless every non-missing element is > 0 (or >= 0 with ``allow_zero``); return ``arr``."""
    bad = arr < 0 if allow_zero else arr <= 0
    i = _first_bad(bad & ~np.isnan(arr))
    if i is not None:
        expected = "a value >= 0" if allow_zero else "a value > 0"
        what = "must not be negative" if allow_zero else "must be positive"
        raise _fail(name, arr, i, row_offset, what, expected)
    return arr


def check_nonnegative(name: str, arr: np.ndarray, *, row_offset: int | None = None) -> np.ndarray:
    """Raise unless every non-missing element is >= 0; return ``arr``."""
    return check_positive(name, arr, allow_zero=True, row_offset=row_offset)


def check_integer(name: str, arr: np.ndarray, *, row_offset: int | None = None) -> np.ndarray:
    """Raise unless every non-missing element is a whole number; return ``arr``."""
    i = _first_bad((arr != np.round(arr)) & ~np.isnan(arr))
    if i is not None:
        raise _fail(name, arr, i, row_offset, "must be a whole number (a count)", "an integer")
    return arr


def check_counts(
    events_name: str,
    events: np.ndarray,
    n_name: str,
    n: np.ndarray,
    *,
    row_offset: int | None = None,
) -> None:
    """Check that ``events`` and ``n`` are whole numbers with ``n > 0`` and ``0 <= events <= n``.

    Parameters
    ----------
    events_name, n_name
        Argument names for the messages (e.g. ``"ai"``, ``"n1i"``).
    events, n
        Float arrays of equal length (see :func:`as_float_array`).
    row_offset
        See the module docstring.

    Raises
    ------
    InputError
        Naming the first offending element and the column it belongs to.
    """
    check_same_length({events_name: events, n_name: n})
    check_integer(n_name, n, row_offset=row_offset)
    check_positive(n_name, n, row_offset=row_offset)
    check_integer(events_name, events, row_offset=row_offset)
    check_nonnegative(events_name, events, row_offset=row_offset)
    i = _first_bad(events > n)
    if i is not None:
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}more events than participants ({events_name} = {events[i]:g} > "
            f"{n_name} = {n[i]:g})",
            row=row,
            column=events_name,
            value=float(events[i]),
            expected=f"0 <= {events_name} <= {n_name}",
        )


def check_same_length(arrays: dict[str, Sequence[Any] | np.ndarray]) -> int:
    """Raise unless all arrays have the same length; return that length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    distinct = set(lengths.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise InputError(
            f"arguments have different lengths ({detail})",
            column=next(iter(lengths)),
            expected="one value per study in every argument",
        )
    return distinct.pop() if distinct else 0


def broadcast_arrays(
    args: dict[str, Any], row_offset: int | None
) -> tuple[dict[str, np.ndarray], bool]:
    """Named inputs as equal-length float arrays (length-1 inputs repeated); also: were all scalar?"""
    scalar = all(np.ndim(v) == 0 for v in args.values())
    arrays = {k: as_float_array(k, v, row_offset=row_offset) for k, v in args.items()}
    k = max(len(a) for a in arrays.values())
    arrays = {name: (np.repeat(a, k) if len(a) == 1 else a) for name, a in arrays.items()}
    check_same_length(arrays)
    return arrays, scalar


def scalar_or_array(x: np.ndarray, scalar: bool) -> Any:
    """A Python float where the inputs were scalars, else the array."""
    return float(x[0]) if scalar else x


def check_ordered(
    lo_name: str, lo: np.ndarray, hi_name: str, hi: np.ndarray, row_offset: int | None
) -> None:
    """Raise naming the first element where ``lo > hi`` (e.g. a CI's lower bound above its upper)."""
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}{lo_name} ({lo[i]:g}) is larger than {hi_name} ({hi[i]:g})",
            row=row,
            column=lo_name,
            value=float(lo[i]),
            expected=f"{lo_name} <= {hi_name}",
        )
