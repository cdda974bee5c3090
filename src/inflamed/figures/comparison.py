"""This run's pooled estimates beside published meta-analyses, one panel per outcome."""

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


def comparison_plot(
    frame: pd.DataFrame, *, title: str = "inflamed beside published meta-analyses"
) -> Figure:
    """Estimates with CIs, grouped by outcome; this run's rows in vermillion.

    Parameters
    ----------
    frame
        Columns ``source``, ``outcome``, ``measure``, ``estimate``, ``ci_lb``, ``ci_ub``, all on
        inflamed's scale (log ratios for RR/OR; continuous effects signed so that positive favours
        treatment). Rows whose ``source`` starts with "inflamed" are this run's.
    """
    apply_style()
    require_columns(
        frame, ["source", "outcome", "measure", "estimate", "ci_lb", "ci_ub"], argument="frame"
    )
    outcomes = list(dict.fromkeys(frame["outcome"]))
    rows = [frame[frame["outcome"] == o] for o in outcomes]
    heights = [0.6 + 0.34 * len(r) for r in rows]
    fig, axes = plt.subplots(
        len(outcomes),
        1,
        figsize=(8.4, 0.8 + sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, outcome, part in zip(axes[:, 0], outcomes, rows, strict=True):
        measure = str(part["measure"].iloc[0])
        ratio = is_ratio(measure, None)
        tr = np.exp if ratio else (lambda a: np.asarray(a, dtype=float))
        est = tr(numeric_column(part, "estimate", argument="frame"))
        lb = tr(numeric_column(part, "ci_lb", argument="frame"))
        ub = tr(numeric_column(part, "ci_ub", argument="frame"))
        ours = part["source"].astype(str).str.startswith("inflamed").to_numpy()
        y = np.arange(len(part))[::-1]
        ax.axvline(1.0 if ratio else 0.0, color=PALETTE["grey"], lw=0.8, ls=":")
        for i in range(len(part)):
            colour = PALETTE["vermillion"] if ours[i] else PALETTE["blue"]
            ax.errorbar(
                est[i],
                y[i],
                xerr=[[est[i] - lb[i]], [ub[i] - est[i]]],
                fmt="o",
                color=colour,
                ms=5,
                lw=1.2,
            )
        labels = [
            f"{s}   {fmt_ci(e, lo, u)}"
            for s, e, lo, u in zip(part["source"], est, lb, ub, strict=True)
        ]
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.7, len(part) - 0.3)
        if ratio:
            set_ratio_axis(ax, *ratio_limits([*lb, *ub]))
        ax.set_xlabel(measure_label(measure, ratio), fontsize=8)
        ax.set_title(str(outcome), loc="left", fontsize=9, fontweight="bold")
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    fig.tight_layout()
    return fig
