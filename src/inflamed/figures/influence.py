"""Sensitivity figures: leave-one-out estimates and influence diagnostics.

Layout after metafor's ``plot(leave1out(...))`` and ``plot(influence(...))`` (Viechtbauer &
Cheung 2010, Res Synth Methods 1:112): one row per omitted study against the full-data estimate,
and small multiples of the case diagnostics with metafor's cut-offs.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def leave_one_out_plot(
    frame: pd.DataFrame,
    *,
    full_estimate: float,
    full_ci: Sequence[float],
    measure: str,
    title: str = "Leave-one-out analysis",
) -> Figure:
    """Pooled estimate with each study omitted in turn.

    Parameters
    ----------
    frame
        Columns ``omitted`` (the study left out), ``estimate``, ``ci_lb``, ``ci_ub`` (the pooled
        result without it; log ratios for ratio measures).
    full_estimate, full_ci
        The estimate and CI with every study, drawn as a line and a band.
    measure
        Effect measure (sets the axis and, for ratios, the log scale).
    title
        Figure title.
    """
    apply_style()
    require_columns(frame, ["omitted", "estimate", "ci_lb", "ci_ub"], argument="frame")
    ratio = is_ratio(measure, None)
    tr = np.exp if ratio else (lambda a: np.asarray(a, dtype=float))
    est = tr(numeric_column(frame, "estimate", argument="frame"))
    lb = tr(numeric_column(frame, "ci_lb", argument="frame"))
    ub = tr(numeric_column(frame, "ci_ub", argument="frame"))
    full = float(tr(full_estimate))
    full_lb, full_ub = (float(v) for v in tr(np.asarray(full_ci, dtype=float)))
    k = len(frame)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.32 * k))
    y = np.arange(k)[::-1]
    ax.axvspan(
        full_lb, full_ub, color=PALETTE["sky"], alpha=0.18, lw=0, label="CI with all studies"
    )
    ax.axvline(
        full, color=PALETTE["blue"], lw=1.2, label=f"All studies: {fmt_ci(full, full_lb, full_ub)}"
    )
    ax.axvline(1.0 if ratio else 0.0, color=PALETTE["grey"], lw=0.8, ls=":")
    ax.errorbar(
        est, y, xerr=[est - lb, ub - est], fmt="s", color=PALETTE["black"], ms=4, lw=1, capsize=0
    )
    ax.set_yticks(y, [f"without {s}" for s in frame["omitted"].astype(str)])
    if ratio:
        set_ratio_axis(ax, *ratio_limits([*lb, *ub, full_lb, full_ub]))
    ax.set_xlabel(measure_label(measure, ratio))
    ax.set_title(title, loc="left", fontweight="bold")
    ax.set_ylim(-0.8, k - 0.2)
    fig.legend(loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.4 / (1.2 + 0.32 * k) + 0.02, 1, 1))
    return fig


#: Diagnostics drawn, with metafor's cut-offs for flagging a study as influential
#: (influence.rma.uni, "inf" column): |dffits| > 3 sqrt(p/(k-p)), Cook's d > chi2_p(0.5),
#: hat > 3p/k; studentized residuals beyond +-1.96 are marked for reading only.
PANELS = [
    ("rstudent", "Studentized residual"),
    ("dffits", "DFFITS"),
    ("cook_d", "Cook's distance"),
    ("hat", "Hat value (leverage)"),
]


def influence_plot(
    frame: pd.DataFrame, *, title: str = "Influence diagnostics", p: int = 1
) -> Figure:
    """Small multiples of case diagnostics, influential studies in vermillion.

    Parameters
    ----------
    frame
        Columns ``study``, ``rstudent``, ``dffits``, ``cook_d``, ``hat`` and ``influential``
        (boolean, metafor's rule) as :func:`inflamed.influence.influence_diagnostics` gives them.
    title
        Figure title.
    p
        Number of model coefficients (1 without moderators), for the cut-off lines.
    """
    from scipy import stats

    apply_style()
    require_columns(frame, ["study", *[c for c, _ in PANELS], "influential"], argument="frame")
    k = len(frame)
    flagged = frame["influential"].astype(str).str.lower().isin(["true", "1"]).to_numpy()
    colours = np.where(flagged, PALETTE["vermillion"], PALETTE["blue"])
    cutoffs = {
        "rstudent": [-1.96, 1.96],
        "dffits": [3 * np.sqrt(p / max(k - p, 1))],
        "cook_d": [float(stats.chi2.ppf(0.5, p))],
        "hat": [3 * p / k],
    }
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(7.0, 1.0 + 1.45 * len(PANELS)), sharex=True)
    x = np.arange(k)
    for ax, (column, label) in zip(axes, PANELS, strict=True):
        values = numeric_column(frame, column, argument="frame")
        ax.plot(x, values, color=PALETTE["grey"], lw=0.6, zorder=1)
        ax.scatter(x, values, c=colours, s=22, zorder=2, edgecolors="white", linewidths=0.4)
        for cut in cutoffs[column]:
            ax.axhline(cut, color=PALETTE["grey"], ls="--", lw=0.7)
        ax.set_ylabel(label, fontsize=8)
    if k <= 40:
        axes[-1].set_xticks(
            x,
            frame["study"].astype(str),
            rotation=60 if k > 8 else 0,
            ha="right" if k > 8 else "center",
        )
    else:
        # Too many studies to name them all: name only the flagged ones.
        axes[-1].set_xticks(
            x[flagged], frame["study"].astype(str)[flagged], rotation=90, fontsize=6
        )
        axes[-1].set_xlabel(f"{k} studies in input order; flagged studies named")
    axes[0].set_title(
        f"{title} ({int(flagged.sum())} of {k} studies flagged as influential by metafor's rule)",
        loc="left",
        fontweight="bold",
    )
    fig.tight_layout()
    return fig
