"""Cumulative meta-analysis: the pooled estimate as each study was added (the living-review view).

As metafor's ``forest(cumul(...))`` (Viechtbauer 2010, J Stat Softw 36(3)); the rows are in the
order studies entered (publication year).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from inflamed.figures._common import (
    fmt_ci,
    is_ratio,
    measure_label,
    numeric_column,
    ratio_limits,
    require_columns,
    set_ratio_axis,
)
from inflamed.figures.style import PALETTE, apply_style


def cumulative_plot(
    frame: pd.DataFrame, *, measure: str = "SMD", title: str = "Cumulative meta-analysis"
) -> Figure:
    """One row per step: the estimate and CI with every study up to and including that row's.

    Parameters
    ----------
    frame
        Columns ``label`` (e.g. ``+ Raison 2013``), ``k``, ``estimate``, ``ci_lb``, ``ci_ub``
        (log ratios for ratio measures), in the order studies entered.
    measure
        Effect measure (axis label; log axis for ratios).
    title
        Figure title.
    """
    apply_style()
    require_columns(frame, ["label", "k", "estimate", "ci_lb", "ci_ub"], argument="frame")
    ratio = is_ratio(measure, None)
    tr = np.exp if ratio else (lambda a: np.asarray(a, dtype=float))
    est = tr(numeric_column(frame, "estimate", argument="frame"))
    lb = tr(numeric_column(frame, "ci_lb", argument="frame"))
    ub = tr(numeric_column(frame, "ci_ub", argument="frame"))
    n = len(frame)
    fig, ax = plt.subplots(figsize=(8.0, 1.3 + 0.34 * n))
    y = np.arange(n)[::-1]
    ax.axvline(1.0 if ratio else 0.0, color=PALETTE["grey"], lw=0.8, ls=":")
    ax.errorbar(est, y, xerr=[est - lb, ub - est], fmt="D", color=PALETTE["blue"], ms=4, lw=1.1)
    ax.set_yticks(y, frame["label"].astype(str))
    texts = [
        f"k = {int(k)}: {fmt_ci(e, lo, u)}"
        for k, e, lo, u in zip(frame["k"], est, lb, ub, strict=True)
    ]
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(y, texts)
    right.spines["right"].set_visible(False)
    right.tick_params(axis="y", length=0)
    if ratio:
        set_ratio_axis(ax, *ratio_limits([*lb, *ub]))
    ax.set_xlabel(measure_label(measure, ratio))
    ax.set_title(title, loc="left", fontweight="bold")
    for axis in (ax, right):
        axis.set_ylim(-0.7, n - 0.3)
    fig.tight_layout()
    return fig
