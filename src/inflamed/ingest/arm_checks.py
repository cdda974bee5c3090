"""Value checks on arm-level numbers that every reader makes at parse time.

A value that cannot give an effect size (an arm without participants, more events than
participants, a standard deviation of 0 in both arms) stops the read with the file, row and
column, so a bad sheet stops the run before any job starts instead of failing mid-run inside the
engine with an array position. Every reader (sheets, Metapsy, ClinicalTrials.gov) calls
:func:`arm_problem` with its own column names, so the rules are written once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from inflamed.errors import InputError

__all__ = ["ArmProblem", "arm_problem", "check_duplicate_arms"]

#: The roles the checks know, for treatment and control: participants, events, SD.
ROLES = ("n_treat", "n_ctrl", "events_treat", "events_ctrl", "sd_treat", "sd_ctrl")


@dataclass(frozen=True)
class ArmProblem:
    """What is wrong with one row's arm values, in the file's own column name."""

    column: str
    message: str
    value: Any
    expected: str


def _present(x: Any) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def arm_problem(values: Mapping[str, Any], names: Mapping[str, str]) -> ArmProblem | None:
    """The first impossible arm value of one row, or ``None``.

    Parameters
    ----------
    values
        Role (:data:`ROLES`, e.g. ``n_treat``) -> the row's value (NaN or ``None`` = missing).
    names
        Role -> the column's name in the file (default: the role).

    Returns
    -------
    ArmProblem or None
        n < 1, events < 0, events > n, SD < 0, or SD = 0 in both arms.
    """

    def get(role: str) -> Any:
        v = values.get(role)
        return v if _present(v) else None

    def name(role: str) -> str:
        return names.get(role, role)

    for arm in ("treat", "ctrl"):
        n, ev, sd = get(f"n_{arm}"), get(f"events_{arm}"), get(f"sd_{arm}")
        if n is not None and n < 1:
            return ArmProblem(
                name(f"n_{arm}"),
                "an arm without participants",
                n,
                "n >= 1 (leave the cell empty if the number is not reported)",
            )
        if ev is not None and ev < 0:
            return ArmProblem(name(f"events_{arm}"), "a negative count", ev, "events >= 0")
        if ev is not None and n is not None and ev > n:
            return ArmProblem(
                name(f"events_{arm}"),
                f"more events than participants ({name(f'n_{arm}')} = {n:g})",
                ev,
                f"{name(f'events_{arm}')} <= {name(f'n_{arm}')}",
            )
        if sd is not None and sd < 0:
            return ArmProblem(
                name(f"sd_{arm}"), "a negative standard deviation", sd, "a standard deviation >= 0"
            )
    sd_t, sd_c = get("sd_treat"), get("sd_ctrl")
    if sd_t == 0 and sd_c == 0:
        return ArmProblem(
            f"{name('sd_treat')}+{name('sd_ctrl')}",
            "a standard deviation of 0 in both arms: the effect would have no variance "
            "(a standardised difference is undefined)",
            0.0,
            "the SDs as reported (is a missing value entered as 0?)",
        )
    return None


def check_duplicate_arms(
    frame: pd.DataFrame, rows: list[int], file: str, arm_columns: list[str]
) -> None:
    """Refuse the same two arms entered twice under different contrast labels.

    Two rows of one study, outcome, instrument, time point, subgroup and measure kind whose
    arm-level numbers are all equal (for both arms) but whose ``contrast`` differs would be
    pooled twice (k and N inflated). That is an error unless both rows carry the same non-empty
    ``shared_ctrl`` label (a multi-arm trial's shared control, declared on purpose).
    """
    key = ["study_id", "outcome", "instrument", "timepoint_weeks", "subgroup", "measure_kind"]
    seen: dict[tuple[Any, ...], tuple[int, str, str]] = {}
    for i, rec in enumerate(frame.to_dict("records")):
        arms = tuple("" if not _present(rec[c]) else float(rec[c]) for c in arm_columns)
        if all(v == "" for v in arms):
            continue
        k = (*("" if not _present(rec[c]) else rec[c] for c in key), arms)
        if k in seen:
            first_row, contrast, shared = seen[k]
            if contrast != rec["contrast"] and not (shared and shared == rec["shared_ctrl"]):
                raise InputError(
                    f"the same arms as row {first_row} (contrast {contrast!r}) under another "
                    "contrast label: they would be pooled twice",
                    file=file,
                    row=rows[i],
                    column="contrast",
                    value=rec["contrast"],
                    expected="each comparison once, or the same shared_ctrl label on both rows "
                    "if they are two comparisons against one shared control arm",
                )
        else:
            seen[k] = (rows[i], rec["contrast"], rec["shared_ctrl"])
