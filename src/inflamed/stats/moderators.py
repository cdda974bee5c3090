"""Inputs of a meta-analysis model: effect sizes, variances and the moderator design matrix.

:func:`design` builds the design matrix as metafor's ``rma.uni`` does and, like metafor, drops
moderators that are (nearly) linear combinations of the columns before them, saying which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.errors import InputError
from inflamed.stats.validation import as_float_array, check_positive

__all__ = ["REDUNDANCY_TOL", "Design", "check_inputs", "check_vector", "design"]

#: A moderator column is redundant when the part of it orthogonal to the columns before it is
#: smaller than this fraction of its length (the pivoting tolerance of R's ``lm()`` QR, 1e-7, which
#: metafor uses through ``lm(yi ~ X - 1)`` to find redundant predictors). For two columns this is
#: an angle below 1e-7 rad, i.e. a condition number of the scaled design above about 1e7.
REDUNDANCY_TOL = 1e-7


@dataclass(frozen=True)
class Design:
    """The design matrix actually fitted and what was dropped from it.

    Attributes
    ----------
    X, names
        Design matrix (k, p) and its column names (``intrcpt`` first with an intercept).
    all_names
        Column names before redundant columns were dropped.
    dropped
        Names of the dropped (redundant) columns, in order.
    warnings
        One message per dropped column, naming the columns it depends on.
    """

    X: np.ndarray
    names: tuple[str, ...]
    all_names: tuple[str, ...]
    dropped: tuple[str, ...]
    warnings: tuple[str, ...]


def check_vector(x: Any, name: str, *, row_offset: int | None) -> np.ndarray:
    """A finite 1-D float array (``inflamed.stats.validation.as_float_array``), fast for float arrays."""
    if isinstance(x, np.ndarray) and x.dtype == np.float64 and x.ndim == 1 and np.isfinite(x).all():
        return x.copy()
    return as_float_array(name, x, row_offset=row_offset)


def check_inputs(yi: Any, vi: Any, row_offset: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(y, v)``: finite, same length, k >= 1, ``v > 0``."""
    y = check_vector(yi, "yi", row_offset=row_offset)
    v = check_vector(vi, "vi", row_offset=row_offset)
    if y.shape != v.shape:
        raise InputError("yi and vi have different lengths", column="vi", value=(y.size, v.size))
    if y.size == 0:
        raise InputError("no studies to pool (k = 0)", column="yi", expected="at least one study")
    check_positive("vi", v, row_offset=row_offset)
    return y, v


def _columns(
    mods: Any, k: int, intercept: bool, row_offset: int | None
) -> tuple[list[np.ndarray], list[str]]:
    """Columns and names; DataFrame columns that are not numeric become treatment dummies."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    if intercept:
        cols.append(np.ones(k))
        names.append("intrcpt")
    if mods is None:
        return cols, names
    if isinstance(mods, pd.Series):
        mods = mods.to_frame()
    if isinstance(mods, pd.DataFrame):
        if len(mods) != k:
            raise InputError(
                "mods has a different number of rows than yi",
                column="mods",
                value=len(mods),
                expected=f"{k} rows",
            )
        for col in mods.columns:
            s = mods[col]
            if pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
                cols.append(check_vector(s.to_numpy(dtype=float), str(col), row_offset=row_offset))
                names.append(str(col))
                continue
            if s.isna().any():
                i = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise InputError(
                    "categorical moderator is missing",
                    column=str(col),
                    row=None if row_offset is None else i + row_offset,
                )
            levels = list(s.astype("category").cat.categories)
            drop_first = intercept or len(cols) > 0
            for lev in levels[1:] if drop_first else levels:
                cols.append((s == lev).to_numpy(dtype=float))
                names.append(f"{col}{lev}")
        return cols, names
    m = np.asarray(mods, dtype=float)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] != k:
        raise InputError(
            "mods must be a (k, m) array", column="mods", value=m.shape, expected=f"({k}, m)"
        )
    for j in range(m.shape[1]):
        cols.append(check_vector(m[:, j], f"mods[:, {j}]", row_offset=row_offset))
        names.append(f"mod{j + 1}" if m.shape[1] > 1 else "mods")
    return cols, names


def design(mods: Any, k: int, intercept: bool, row_offset: int | None) -> Design:
    """Build the design matrix, dropping redundant moderators as metafor does.

    Columns are taken in order; a column whose residual after projection on the kept columns is
    below :data:`REDUNDANCY_TOL` of its norm is dropped with a warning that names it, the columns
    it depends on and whether the dependence is exact (residual below 1e-12 relative) or near.

    Raises
    ------
    InputError
        Bad shapes or values, or no column left.
    """
    cols, names = _columns(mods, k, intercept, row_offset)
    if not cols:
        raise InputError(
            "the model has no coefficients",
            column="mods",
            expected="intercept=True or at least one moderator",
        )
    kept: list[int] = []
    basis = np.zeros((k, 0))
    dropped: list[str] = []
    msgs: list[str] = []
    for j, col in enumerate(cols):
        norm = float(np.linalg.norm(col))
        resid = col.copy()
        for _ in range(2):  # twice is enough (Gram-Schmidt with reorthogonalisation)
            resid -= basis @ (basis.T @ resid)
        rel = float(np.linalg.norm(resid)) / norm if norm > 0 else 0.0
        if rel >= REDUNDANCY_TOL:
            kept.append(j)
            basis = np.column_stack([basis, resid / np.linalg.norm(resid)])
            continue
        dropped.append(names[j])
        if kept:
            coef, *_ = np.linalg.lstsq(np.column_stack([cols[i] for i in kept]), col, rcond=None)
            scale = np.array([np.linalg.norm(cols[i]) for i in kept]) * np.abs(coef)
            on = [
                names[i] for i, c in zip(kept, scale, strict=True) if c > 1e-8 * max(norm, 1e-300)
            ]
        else:
            on = []
        kind = "exactly" if rel < 1e-12 else f"nearly (relative residual {rel:.2g})"
        msgs.append(
            f"moderator '{names[j]}' is {kind} "
            + (f"a linear combination of {', '.join(repr(n) for n in on)}" if on else "zero")
            + f" (redundancy tolerance {REDUNDANCY_TOL:g}, as metafor): dropped from the model"
        )
    if not kept:
        raise InputError(
            "the model has no coefficients left (every column is zero)",
            column="mods",
            expected="a moderator that is not all zero",
        )
    X = np.column_stack([cols[i] for i in kept])
    return Design(
        X=X,
        names=tuple(names[i] for i in kept),
        all_names=tuple(names),
        dropped=tuple(dropped),
        warnings=tuple(msgs),
    )
