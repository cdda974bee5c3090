"""Cumulative meta-analysis plot: the pooled estimate as studies accrue (the living-review view)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures._common import (
    interval_rows_figure,
    is_ratio,
    measure_label,
    measure_short,
    numeric_column,
    require_columns,
)
from inflamed.figures.style import apply_style

CUMULATIVE_COLUMNS = ("estimate", "ci_lb", "ci_ub", "k")


def cumulative_plot(
    frame: pd.DataFrame,
    *,
    measure: str = "SMD",
    log_scale: bool | None = None,
    title: str | None = None,
    axis_label: str | None = None,
) -> Figure:
    """Plot a cumulative meta-analysis, one row per step, in the order of ``frame``.

    Parameters
    ----------
    frame
        One row per cumulative step (the pool stage's ``<outcome>/cumulative.csv``, sorted by
        year): ``label`` or ``year`` (row text; ``label`` wins), ``estimate``, ``ci_lb``,
        ``ci_ub`` (pooled over the studies up to this row; log ratios for ratio measures) and
        ``k`` (studies pooled so far).
    measure, log_scale
        Effect measure; ratio measures are exponentiated and drawn on a log axis.
    title, axis_label
        Optional title; override of the x-axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Cumulative meta-analysis (Lau et al. 1992, N Engl J Med 327:248; metafor's ``cumul``): each
    row pools every study up to and including that row, so the last row is the full analysis.
    """
    apply_style()
    require_columns(frame, CUMULATIVE_COLUMNS, argument="cumulative frame")
    if "label" not in frame.columns and "year" not in frame.columns:
        raise InputError(
            "cumulative frame is missing a required column",
            column="label",
            expected="a label or a year column",
        )
    if len(frame) == 0:
        raise InputError("cumulative frame has no rows", expected="one row per cumulative step")
    frame = frame.reset_index(drop=True)
    est = numeric_column(frame, "estimate", argument="cumulative frame")
    lb = numeric_column(frame, "ci_lb", argument="cumulative frame", allow_missing=True)
    ub = numeric_column(frame, "ci_ub", argument="cumulative frame", allow_missing=True)
    k = numeric_column(frame, "k", argument="cumulative frame")
    if "label" in frame.columns:
        labels = frame["label"].astype(str).tolist()
    else:
        labels = [f"up to {v}" for v in frame["year"].astype(str)]
    ratio = is_ratio(measure, log_scale)
    tr = np.exp if ratio else (lambda a: a)
    fig, _ax = interval_rows_figure(
        labels,
        tr(est),
        tr(lb),
        tr(ub),
        ratio=ratio,
        xlabel=axis_label or measure_label(measure, ratio),
        title=title,
        header="Studies added (year)",
        right_header=f"{measure_short(measure)} [95% CI]",
        extra_right=[f"{v:.0f}" for v in k],
        extra_header="k",
    )
    return fig
