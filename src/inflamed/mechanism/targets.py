"""Calibration targets for the cascade model: reading, validating and mapping onto the model.

Every row of ``data/mechanism/targets.csv`` is a published number (or a published direction) with
its source. A row with no source, a quantity the model does not declare, a unit that does not fit
the quantity, an unknown arm or a negative uncertainty stops the run with an
:class:`~inflamed.errors.InputError` naming the file, the spreadsheet row and the column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.io import read_table
from inflamed.mechanism.cascade import NODES, parse_arm

COLUMNS: tuple[str, ...] = (
    "target_id",
    "quantity",
    "kind",
    "relation",
    "value",
    "uncertainty",
    "uncertainty_type",
    "unit",
    "n",
    "species_model",
    "intervention",
    "comparison",
    "source",
    "source_location",
    "mapping",
    "extraction_method",
    "notes",
)
REQUIRED_TEXT = (
    "target_id",
    "quantity",
    "kind",
    "unit",
    "intervention",
    "source",
    "source_location",
)

#: Declared model quantities -> the one unit each accepts. Ratios are node(arm) / node(comparison);
#: behaviour quantities are differences in SD units of the control population:
#: ``behaviour_deficit`` = B(arm) - B(comparison), ``behaviour_rescue`` = B(comparison) - B(arm).
QUANTITY_UNITS: dict[str, str] = {node: "ratio" for node in NODES if node != "behaviour_deficit"}
QUANTITY_UNITS["behaviour_deficit"] = "SD"
QUANTITY_UNITS["behaviour_rescue"] = "SD"

KINDS = ("value", "ratio", "inequality")
RELATIONS = ("=", "<", ">")
UNCERTAINTY_TYPES = ("SD", "SEM", "CI95")


@dataclass(frozen=True)
class Target:
    """One calibration target (validated)."""

    target_id: str
    quantity: str
    kind: str
    relation: str
    value: float
    uncertainty: float | None
    uncertainty_type: str | None
    unit: str
    n: float | None
    intervention: str
    comparison: str
    source: str
    source_location: str
    row: int

    @property
    def standard_error(self) -> float | None:
        """Standard error of the reported value, if the source gave an uncertainty.

        SEM is used as is; SD is divided by sqrt(n) (needs n); a CI95 uncertainty is the CI
        half-width and is divided by 1.959964.
        """
        if self.uncertainty is None:
            return None
        if self.uncertainty_type == "SEM":
            return self.uncertainty
        if self.uncertainty_type == "CI95":
            return self.uncertainty / 1.959963984540054
        if self.uncertainty_type == "SD" and self.n:
            return self.uncertainty / math.sqrt(self.n)
        return None


@dataclass(frozen=True)
class TargetSet:
    """All targets from one file."""

    targets: tuple[Target, ...]
    path: str

    def to_frame(self) -> pd.DataFrame:
        rows = [t.__dict__ | {"standard_error": t.standard_error} for t in self.targets]
        return pd.DataFrame(rows)

    @property
    def fitted(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind != "inequality")

    @property
    def inequalities(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind == "inequality")


def _num(value: object, *, file: str, row: int, column: str) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text == "":
        return None
    try:
        out = float(text)
    except ValueError:
        raise InputError(
            "not a number", file=file, row=row, column=column, value=text, expected="a number"
        ) from None
    if not math.isfinite(out):
        raise InputError(
            "not a finite number", file=file, row=row, column=column, value=text, expected="finite"
        )
    return out


def validate_targets(frame: pd.DataFrame, *, file: str = "targets.csv") -> TargetSet:
    """Validate a targets table and return a :class:`TargetSet`.

    Parameters
    ----------
    frame
        The table as read (all columns as strings; empty cells as empty strings or NaN).
    file
        Name used in error messages.

    Returns
    -------
    TargetSet

    Raises
    ------
    InputError
        Naming the spreadsheet row (header = row 1) and column of the first problem found.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError("missing column(s)", file=file, value=missing, expected=", ".join(COLUMNS))
    seen: set[str] = set()
    out: list[Target] = []
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2
        text = {
            k: ("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v).strip())
            for k, v in rec.items()
        }
        for col in REQUIRED_TEXT:
            if not text.get(col):
                what = "target has no source" if col == "source" else "required value is empty"
                raise InputError(what, file=file, row=row, column=col, expected="non-empty")
        if not (
            text["source"].startswith(("http://", "https://")) or text["source"].startswith("10.")
        ):
            raise InputError(
                "source must be a URL or DOI",
                file=file,
                row=row,
                column="source",
                value=text["source"],
                expected="https://... or 10.xxxx/...",
            )
        tid = text["target_id"]
        if tid in seen:
            raise InputError(
                "duplicate target_id", file=file, row=row, column="target_id", value=tid
            )
        seen.add(tid)
        quantity = text["quantity"]
        if quantity not in QUANTITY_UNITS:
            raise InputError(
                "unknown model quantity",
                file=file,
                row=row,
                column="quantity",
                value=quantity,
                expected=", ".join(sorted(QUANTITY_UNITS)),
            )
        kind = text["kind"]
        if kind not in KINDS:
            raise InputError(
                "unknown kind",
                file=file,
                row=row,
                column="kind",
                value=kind,
                expected=" | ".join(KINDS),
            )
        unit = text["unit"]
        if unit != QUANTITY_UNITS[quantity]:
            raise InputError(
                f"unit does not match quantity '{quantity}'",
                file=file,
                row=row,
                column="unit",
                value=unit,
                expected=QUANTITY_UNITS[quantity],
            )
        if kind == "ratio" and QUANTITY_UNITS[quantity] != "ratio":
            raise InputError(
                f"quantity '{quantity}' is a difference in SD, not a ratio",
                file=file,
                row=row,
                column="kind",
                value=kind,
                expected="value | inequality",
            )
        relation = text.get("relation") or "="
        if relation not in RELATIONS:
            raise InputError(
                "unknown relation",
                file=file,
                row=row,
                column="relation",
                value=relation,
                expected="= | < | >",
            )
        if (kind == "inequality") != (relation in ("<", ">")):
            raise InputError(
                "inequality targets need relation < or >, value/ratio targets need =",
                file=file,
                row=row,
                column="relation",
                value=relation,
            )
        value = _num(text["value"], file=file, row=row, column="value")
        if value is None:
            raise InputError(
                "value is empty", file=file, row=row, column="value", expected="a number"
            )
        unc = _num(text["uncertainty"], file=file, row=row, column="uncertainty")
        if unc is not None and unc < 0:
            raise InputError(
                "negative uncertainty",
                file=file,
                row=row,
                column="uncertainty",
                value=unc,
                expected=">= 0",
            )
        utype = text["uncertainty_type"] or None
        if unc is not None and utype not in UNCERTAINTY_TYPES:
            raise InputError(
                "uncertainty needs its type",
                file=file,
                row=row,
                column="uncertainty_type",
                value=utype,
                expected=" | ".join(UNCERTAINTY_TYPES),
            )
        n = _num(text["n"], file=file, row=row, column="n")
        if n is not None and n <= 0:
            raise InputError("n must be positive", file=file, row=row, column="n", value=n)
        for col in ("intervention", "comparison"):
            if col == "comparison" and not text[col]:
                continue
            try:
                parse_arm(text[col])
            except InputError as err:
                raise InputError(
                    err.message,
                    file=file,
                    row=row,
                    column=col,
                    value=text[col],
                    expected=err.expected,
                ) from None
        if kind != "value" and quantity in QUANTITY_UNITS and not text["comparison"]:
            raise InputError(
                "ratio and inequality targets need a comparison arm",
                file=file,
                row=row,
                column="comparison",
            )
        if quantity in ("behaviour_rescue", "behaviour_deficit") and not text["comparison"]:
            raise InputError(
                "behaviour targets need a comparison arm", file=file, row=row, column="comparison"
            )
        out.append(
            Target(
                target_id=tid,
                quantity=quantity,
                kind=kind,
                relation=relation,
                value=value,
                uncertainty=unc,
                uncertainty_type=utype,
                unit=unit,
                n=n,
                intervention=text["intervention"],
                comparison=text["comparison"],
                source=text["source"],
                source_location=text["source_location"],
                row=row,
            )
        )
    return TargetSet(targets=tuple(out), path=str(file))


def load_targets(path: str | Path) -> TargetSet:
    """Read and validate ``targets.csv`` (see :func:`validate_targets`)."""
    path = Path(path)
    if not path.exists():
        raise InputError("targets file not found", file=path)
    table = read_table(path, display_name=path.name, what="the targets sheet, with a header row")
    return validate_targets(table.frame(), file=path.name)


def predict_target(
    target: Target, params: Mapping[str, np.ndarray], efficiencies: Mapping[str, float]
) -> np.ndarray:
    """The model's value of one target's quantity (vectorised over parameter arrays)."""
    from inflamed.mechanism.cascade import steady_state

    arm = parse_arm(target.intervention, efficiencies)
    here = steady_state(params, arm.stress, arm.knobs)
    if target.comparison:
        ref_arm = parse_arm(target.comparison, efficiencies)
        ref = steady_state(params, ref_arm.stress, ref_arm.knobs)
    else:
        ref = None
    if target.quantity == "behaviour_rescue":
        return ref["behaviour_deficit"] - here["behaviour_deficit"]
    if target.quantity == "behaviour_deficit":
        base = ref["behaviour_deficit"] if ref is not None else 0.0
        return here["behaviour_deficit"] - base
    if ref is None:
        return here[target.quantity]
    return here[target.quantity] / ref[target.quantity]
