"""Checks on contrast-level rows of outcomes.csv (generic inverse-variance input).

A contrast-level row gives a between-arm difference (``diff``) with its standard error or
confidence interval instead of arm means, as RevMan's and metafor's generic inverse-variance input
does. The checks here run when the sheet is read, so that a row the extract stage could not
use, or could only use by guessing, stops the run with its file, row and column:

* a row is either arm-level or contrast-level, never both;
* ``diff``, ``diff_measure`` and ``diff_direction`` are all given;
* ``diff_se`` or both confidence limits are given, and the interval contains ``diff``;
* ``sd_pooled`` comes with its source (and the other way round);
* a contrast-level row names its instrument (an MD is in the instrument's points), is not an
  ``events`` row, and does not share a control arm (its standard error already uses the whole
  control arm, which cannot be split between comparisons).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from inflamed.ingest.arm_checks import ArmProblem
from inflamed.ingest.codebook import ARM_FIELDS, CONTRAST_FIELDS

__all__ = ["contrast_problem", "is_contrast_row"]

_ARM_COLUMNS = tuple(f"{f}_{arm}" for arm in ("treat", "ctrl") for f in ARM_FIELDS)


def _given(x: Any) -> bool:
    if x is None:
        return False
    if isinstance(x, float):
        return not math.isnan(x)
    return str(x) != ""


def is_contrast_row(row: Mapping[str, Any]) -> bool:
    """Whether any contrast-level column of the row is filled."""
    return any(_given(row.get(c)) for c in CONTRAST_FIELDS)


def contrast_problem(row: Mapping[str, Any]) -> ArmProblem | None:
    """The first rule a contrast-level row breaks, or ``None`` (also for arm-level rows).

    Parameters
    ----------
    row
        One outcomes.csv record (column -> value; NaN, ``None`` or ``""`` = empty).

    Returns
    -------
    ArmProblem or None
        The column, message, bad value and what was expected.
    """
    if not is_contrast_row(row):
        return None
    for col in _ARM_COLUMNS:
        if _given(row.get(col)):
            return ArmProblem(
                col,
                "a row with both arm-level and contrast-level numbers",
                row.get(col),
                "either arm-level columns or diff columns on one row, never both "
                "(give the other as its own row)",
            )
    for col, expected in (
        ("diff", "the between-arm difference as reported"),
        ("diff_measure", "MD"),
        ("diff_direction", "negative_favours_treatment or positive_favours_treatment"),
        ("instrument", "the instrument whose points diff is in (a key of data/instruments.csv)"),
    ):
        if not _given(row.get(col)):
            return ArmProblem(col, "a contrast-level row without " + col, row.get(col), expected)
    if row.get("measure_kind") == "events":
        return ArmProblem(
            "measure_kind",
            "a contrast-level row for an events outcome",
            row.get("measure_kind"),
            "endpoint or change (contrast-level rows are mean differences)",
        )
    if _given(row.get("shared_ctrl")):
        return ArmProblem(
            "shared_ctrl",
            "a contrast-level row sharing a control arm",
            row.get("shared_ctrl"),
            "empty: the difference's SE already uses the whole control arm, which cannot be "
            "split between comparisons; give arm-level numbers for multi-arm trials",
        )
    lb, ub, se, d = (row.get(c) for c in ("diff_ci_lb", "diff_ci_ub", "diff_se", "diff"))
    if _given(lb) != _given(ub):
        col = "diff_ci_ub" if _given(lb) else "diff_ci_lb"
        return ArmProblem(
            col, "one confidence limit without the other", row.get(col), "both limits"
        )
    if not _given(se) and not _given(lb):
        return ArmProblem(
            "diff_se",
            "a contrast-level row without its standard error or confidence interval",
            se,
            "diff_se, or diff_ci_lb and diff_ci_ub",
        )
    if _given(se) and se <= 0:
        return ArmProblem("diff_se", "a standard error that is not positive", se, "> 0")
    if _given(lb) and not lb <= d <= ub:
        return ArmProblem(
            "diff_ci_lb" if d < lb else "diff_ci_ub",
            f"the confidence interval [{lb:g}, {ub:g}] does not contain diff = {d:g}",
            lb if d < lb else ub,
            "diff_ci_lb <= diff <= diff_ci_ub",
        )
    if _given(lb) and not lb < ub:
        return ArmProblem(
            "diff_ci_ub", "an empty confidence interval", ub, "diff_ci_lb < diff_ci_ub"
        )
    if _given(row.get("sd_pooled")) != _given(row.get("sd_pooled_source")):
        col = "sd_pooled_source" if _given(row.get("sd_pooled")) else "sd_pooled"
        return ArmProblem(
            col,
            "a pooled SD without its source"
            if col == "sd_pooled_source"
            else "a source without a pooled SD",
            row.get(col),
            "sd_pooled and sd_pooled_source together (URL or DOI and location)",
        )
    if _given(row.get("sd_pooled")) and row["sd_pooled"] <= 0:
        return ArmProblem("sd_pooled", "a pooled SD that is not positive", row["sd_pooled"], "> 0")
    return None
