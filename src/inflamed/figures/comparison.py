"""Comparison plot: inflamed's pooled estimates beside published pooled estimates, per outcome."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures._common import (
    figure_title,
    fmt_ci,
    is_ratio,
    measure_label,
    numeric_column,
    padded_limits,
    ratio_limits,
    require_columns,
    set_ratio_axis,
    text_width_in,
)
from inflamed.figures.style import PALETTE, apply_style

COMPARISON_COLUMNS = ("source", "outcome", "measure", "estimate", "ci_lb", "ci_ub")
_COLOURS = ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")


def comparison_plot(
    frame: pd.DataFrame,
    *,
    title: str | None = "Pooled estimates: this run and published meta-analyses",
) -> Figure:
    """Plot pooled estimates side by side: one panel per outcome and measure, one row per source.

    Parameters
    ----------
    frame
        Columns ``source`` (e.g. ``"inflamed (this run)"``, ``"Mac Giollabhui 2026"``),
        ``outcome`` (display name), ``measure``, ``estimate``, ``ci_lb``, ``ci_ub``. Values are on
        inflamed's analysis scale: log ratios for ratio measures (drawn exponentiated on a log
        axis) and continuous effects signed so that positive favours treatment. An empty CI is
        drawn as a point without an interval. Optional ``printed``: the estimate and CI
        as the source printed them, shown instead of a rounded text (published precision). Name each source with its population and source
        type, e.g. ``"Mac Giollabhui 2026 (CRP-selected; news digest, secondary)"``.
    title
        Figure title (``None`` for none).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Sources keep one colour across panels, in order of first appearance. Estimates of one
    outcome on different measures get separate panels (never one axis for g and RR).
    """
    apply_style()
    require_columns(frame, COMPARISON_COLUMNS, argument="comparison frame")
    if len(frame) == 0:
        raise InputError("comparison frame has no rows", expected="one row per source x outcome")
    frame = frame.reset_index(drop=True)
    est = numeric_column(frame, "estimate", argument="comparison frame")
    lb = numeric_column(frame, "ci_lb", argument="comparison frame", allow_missing=True)
    ub = numeric_column(frame, "ci_ub", argument="comparison frame", allow_missing=True)
    sources = list(dict.fromkeys(frame["source"].astype(str)))
    # One colour per source name; "inflamed (this run, k = 5)" and "(k = 3)" are one source.
    families = list(dict.fromkeys(s.split(" (")[0] for s in sources))
    family_colour = {f: PALETTE[_COLOURS[i % len(_COLOURS)]] for i, f in enumerate(families)}
    colour = {s: family_colour[s.split(" (")[0]] for s in sources}
    keys = list(
        dict.fromkeys(zip(frame["outcome"].astype(str), frame["measure"].astype(str), strict=True))
    )
    label_w = max(text_width_in(s) for s in sources) + 0.2
    printed = frame["printed"] if "printed" in frame else pd.Series([None] * len(frame))
    texts = [
        str(text)
        if isinstance(text, str) and text
        else fmt_ci(
            *(math.exp(v) if is_ratio(m, None) and math.isfinite(v) else v for v in (e, lo, hi))
        )
        for e, lo, hi, m, text in zip(
            est, lb, ub, frame["measure"].astype(str), printed, strict=True
        )
    ]
    right_w = max(text_width_in(t) for t in texts) + 0.25
    plot_w = 3.2
    row_h = 0.24
    panel_rows = [
        int(((frame["outcome"].astype(str) == o) & (frame["measure"].astype(str) == m)).sum())
        for o, m in keys
    ]
    panel_h = [r * row_h + 0.25 for r in panel_rows]
    gap_h = 0.85  # x-axis, its label and the next panel's title
    top = 0.5 if title else 0.2
    fig_h = top + sum(panel_h) + gap_h * len(keys)
    fig_w = label_w + plot_w + right_w
    fig = plt.figure(figsize=(fig_w, fig_h))
    y_top = fig_h - top
    for (outcome, measure), h in zip(keys, panel_h, strict=True):
        rows = np.flatnonzero(
            (
                (frame["outcome"].astype(str) == outcome)
                & (frame["measure"].astype(str) == measure)
            ).to_numpy()
        )
        ax = fig.add_axes((label_w / fig_w, (y_top - h) / fig_h, plot_w / fig_w, h / fig_h))
        ratio = is_ratio(measure, None)
        tr = np.exp if ratio else (lambda a: a)
        e, lo_, hi_ = tr(est[rows]), tr(lb[rows]), tr(ub[rows])
        values = [v for v in np.concatenate([e, lo_, hi_]) if math.isfinite(v)]
        if ratio:
            lo, hi = ratio_limits(values, pad=0.1)
            set_ratio_axis(ax, lo, hi)
        else:
            lo, hi = padded_limits(values, include=0.0, pad=0.1)
            ax.set_xlim(lo, hi)
        n = len(rows)
        ax.set_ylim(n - 0.5, -0.5)
        ax.axvline(1.0 if ratio else 0.0, color=PALETTE["grey"], lw=0.8, zorder=0)
        for i, r in enumerate(rows):
            c = colour[str(frame["source"].iloc[r])]
            if math.isfinite(lo_[i]) and math.isfinite(hi_[i]):
                ax.plot([lo_[i], hi_[i]], [i, i], color=c, lw=1.6, zorder=2)
            ax.plot(e[i], i, marker="D", ms=6, color=c, mec=PALETTE["black"], mew=0.5, zorder=3)
            ax.text(
                hi + (hi - lo) * 0.0,
                i,
                "  " + texts[r],
                ha="left",
                va="center",
                fontsize=8,
                transform=ax.transData,
            )
        ax.set_yticks(range(n))
        ax.set_yticklabels([str(frame["source"].iloc[r]) for r in rows])
        for tick, r in zip(ax.get_yticklabels(), rows, strict=True):
            tick.set_color(
                colour[str(frame["source"].iloc[r])]
                if colour[str(frame["source"].iloc[r])] != PALETTE["yellow"]
                else PALETTE["black"]
            )
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(outcome, loc="left", fontweight="bold", fontsize=9)
        ax.set_xlabel(measure_label(measure, ratio), fontsize=8)
        y_top -= h + gap_h
    figure_title(fig, title, fig_w, fig_h)
    return fig
