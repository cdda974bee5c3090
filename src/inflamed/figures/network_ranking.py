"""Network meta-analysis figures: rankings, node-splitting, efficacy vs acceptability.

Inputs are the network stage's artefacts (:mod:`inflamed.network.stage`); each function returns a
:class:`matplotlib.figure.Figure` for :func:`inflamed.figures.style.save_figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from inflamed.errors import InputError
from inflamed.figures._common import (
    figure_title,
    fmt_num,
    fmt_p,
    nice_ratio_ticks,
    numeric_column,
    ratio_limits,
    require_columns,
    set_ratio_axis,
    text_width_in,
)
from inflamed.figures.style import PALETTE, apply_style
from inflamed.stats.measures import is_ratio

__all__ = ["efficacy_acceptability_plot", "node_split_plot", "ranking_plot"]


def ranking_plot(
    rankings: pd.DataFrame,
    rank_probabilities: pd.DataFrame | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Rankogram and cumulative ranking curves (Bayesian), or P-scores when there are no draws.

    Parameters
    ----------
    rankings
        ``rankings.csv``: ``treatment`` and ``pscore_<model>`` columns, ``sucra`` when the
        Bayesian model ran; its row order (best first) is the panel order.
    rank_probabilities
        ``rank_probabilities.csv``: ``treatment`` and ``rank_1`` ... ``rank_T`` (rank 1 = best).
        When given, one panel per treatment shows the probability of each rank (bars) and the
        cumulative probability (line, whose area is the SUCRA).
    title
        Optional title.
    """
    require_columns(rankings, ["treatment"], argument="rankings")
    order = [str(t) for t in rankings["treatment"]]
    apply_style()
    if rank_probabilities is None:
        columns = [c for c in rankings.columns if c.startswith("pscore_") or c == "sucra"]
        if not columns:
            raise InputError(
                "rankings has no P-score or SUCRA column",
                column="pscore_REML",
                expected="columns pscore_<model> and/or sucra",
            )
        fig, ax = plt.subplots(figsize=(6.0, 0.9 + 0.32 * len(order)))
        height = 0.8 / len(columns)
        colours = [PALETTE["blue"], PALETTE["orange"], PALETTE["green"]]
        for c, column in enumerate(columns):
            values = numeric_column(rankings, column, argument="rankings", allow_missing=True)
            ys = np.arange(len(order)) + (c - (len(columns) - 1) / 2) * height
            ax.barh(
                ys,
                values,
                height=height,
                color=colours[c % 3],
                label=column.replace("pscore_", "P-score "),
            )
        ax.set_yticks(range(len(order)), order)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("P-score (probability-like: 1 = certainly best, 0 = certainly worst)")
        ax.legend(loc="lower right", frameon=False)
        if title:
            ax.set_title(title, loc="left", fontweight="bold")
        return fig
    require_columns(rank_probabilities, ["treatment"], argument="rank_probabilities")
    rank_cols = sorted(
        (c for c in rank_probabilities.columns if c.startswith("rank_")),
        key=lambda c: int(c.split("_")[1]),
    )
    probs = rank_probabilities.set_index(rank_probabilities["treatment"].astype(str))
    missing = [t for t in order if t not in probs.index]
    if missing or not rank_cols:
        raise InputError(
            "rank_probabilities does not match rankings",
            column="treatment" if missing else "rank_1",
            value=missing[0] if missing else None,
            expected="one row per treatment of rankings.csv and columns rank_1 ... rank_T",
        )
    sucra = dict(zip(order, rankings["sucra"], strict=True)) if "sucra" in rankings else {}
    n = len(order)
    ncol = 4 if n > 6 else 3
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(2.1 * ncol, 1.75 * nrow + 0.7), sharex=True, sharey=True, squeeze=False
    )
    ranks = np.arange(1, len(rank_cols) + 1)
    for index, treatment in enumerate(order):
        ax = axes[index // ncol][index % ncol]
        p = np.array([float(probs.loc[treatment, c]) for c in rank_cols])
        ax.bar(ranks, p, color=PALETTE["sky"], width=0.8)
        ax.plot(ranks, np.cumsum(p), color=PALETTE["blue"], lw=1.3, marker="o", ms=2)
        label = (
            treatment
            if treatment not in sucra
            else f"{treatment}\nSUCRA {fmt_num(float(sucra[treatment]))}"
        )
        ax.set_title(label, fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.set_xticks(ranks if len(ranks) <= 8 else ranks[::2])
    for index in range(n, nrow * ncol):
        axes[index // ncol][index % ncol].axis("off")
    fig.supxlabel("Rank (1 = best)", fontsize=8)
    fig.supylabel("Probability (bars); cumulative (line)", fontsize=8)
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    fig.tight_layout()
    return fig


def node_split_plot(node_split: pd.DataFrame, *, measure: str, title: str | None = None) -> Figure:
    """Direct, indirect and network estimates of every comparison with direct evidence.

    Parameters
    ----------
    node_split
        ``node_split.csv``: ``comparison``, ``k_direct``, ``direct``, ``direct_se``,
        ``indirect``, ``indirect_se``, ``network``, ``network_se`` and ``pval`` (test of
        direct = indirect), on the analysis scale.
    measure
        Effect measure (ratios drawn as ratios on a log axis).
    title
        Optional title.

    Notes
    -----
    Intervals are 95 % Wald intervals from the estimates and SEs. Comparisons are sorted by the
    p-value of the difference, smallest first, so possible incoherence is at the top; p < 0.10
    is printed in bold.
    """
    columns = [
        "comparison",
        "k_direct",
        "direct",
        "direct_se",
        "indirect",
        "indirect_se",
        "network",
        "network_se",
        "pval",
    ]
    require_columns(node_split, columns, argument="node_split")
    table = node_split.copy()
    values = {
        c: numeric_column(table, c, argument="node_split", allow_missing=True) for c in columns[1:]
    }
    order = np.lexsort(
        (table["comparison"].astype(str).to_numpy(), np.nan_to_num(values["pval"], nan=2.0))
    )
    ratio = is_ratio(measure)
    z = 1.959963984540054
    transform = np.exp if ratio else (lambda v: v)
    n = len(order)
    apply_style()
    labels = [str(table["comparison"].iloc[i]).replace(":", " vs ") for i in order]
    label_w = max(text_width_in(s) for s in labels) + 0.2
    plot_w, right_w = 3.4, 1.3
    row = 0.42
    fig_w = label_w + plot_w + right_w
    fig_h = 1.3 + row * n
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((label_w / fig_w, 0.6 / fig_h, plot_w / fig_w, (row * n) / fig_h))
    kinds = (
        ("direct", PALETTE["vermillion"], "o"),
        ("indirect", PALETTE["blue"], "s"),
        ("network", PALETTE["black"], "D"),
    )
    finite: list[float] = []
    for r, i in enumerate(order):
        y = -r
        for offset, (kind, colour, marker) in zip((0.22, 0.0, -0.22), kinds, strict=True):
            e, se = values[kind][i], values[f"{kind}_se"][i]
            if not (math.isfinite(e) and math.isfinite(se)):
                continue
            lo, hi = transform(e - z * se), transform(e + z * se)
            finite += [float(lo), float(hi)]
            ax.plot([lo, hi], [y + offset] * 2, color=colour, lw=1.0)
            ax.plot(
                transform(e),
                y + offset,
                marker=marker,
                ms=3.2,
                color=colour,
                lw=0,
                label=kind if r == 0 else None,
            )
        p = values["pval"][i]
        ax.text(
            1.02,
            y,
            f"k = {values['k_direct'][i]:.0f}, {fmt_p(p)}",
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=7,
            fontweight="bold" if math.isfinite(p) and p < 0.10 else "normal",
            clip_on=False,
        )
    ax.set_yticks(-np.arange(n), labels, fontsize=7.5)
    ax.set_ylim(-n + 0.5, 0.5)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    null = 1.0 if ratio else 0.0
    ax.axvline(null, color=PALETTE["grey"], lw=0.8, zorder=0)
    if ratio:
        lo, hi = ratio_limits([v for v in finite if v > 0])
        set_ratio_axis(ax, lo, hi)
    ax.set_xlabel(f"{measure}, first vs second treatment (95% CI)")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False, fontsize=7)
    figure_title(fig, title, fig_w, fig_h)
    return fig


def efficacy_acceptability_plot(
    efficacy: pd.DataFrame,
    acceptability: pd.DataFrame,
    *,
    reference: str,
    measures: Sequence[str] = ("OR", "OR"),
    labels: Sequence[str] = ("Efficacy", "Acceptability"),
    small_values: Sequence[str] = ("bad", "good"),
    title: str | None = None,
) -> Figure:
    """One point per treatment: efficacy (x) and acceptability (y), both vs the reference.

    Parameters
    ----------
    efficacy, acceptability
        Rows of one model of ``effects.csv`` (``treatment``, ``estimate``, ``ci_lb``,
        ``ci_ub``; analysis scale) for the two outcomes.
    reference
        The common reference treatment (drawn at the null of both axes).
    measures
        Measures of the two outcomes (ratios are drawn as ratios on log axes).
    labels
        Axis labels of the two outcomes.
    small_values
        Per outcome, whether a low estimate is good or bad; the shaded quadrant is the one where
        a treatment is better than the reference on both.
    title
        Optional title.

    Notes
    -----
    Only treatments estimated for both outcomes are drawn; error bars are 95 % CIs. As in the
    large antidepressant NMAs (e.g. Cipriani 2018), the plot shows both dimensions at once; it
    does not combine them into one score.
    """
    cols = ["treatment", "estimate", "ci_lb", "ci_ub"]
    require_columns(efficacy, cols, argument="efficacy")
    require_columns(acceptability, cols, argument="acceptability")
    e = efficacy.set_index(efficacy["treatment"].astype(str))
    a = acceptability.set_index(acceptability["treatment"].astype(str))
    both = sorted((set(e.index) & set(a.index)) - {reference})
    if not both:
        raise InputError(
            "no treatment is estimated for both outcomes",
            column="treatment",
            expected="the same treatment names in the efficacy and acceptability effects",
        )
    ratios = [is_ratio(m) for m in measures]
    fx = np.exp if ratios[0] else (lambda v: v)
    fy = np.exp if ratios[1] else (lambda v: v)
    x = {
        c: fx(
            numeric_column(
                e.loc[both].reset_index(drop=True), c, argument="efficacy", allow_missing=True
            )
        )
        for c in cols[1:]
    }
    y = {
        c: fy(
            numeric_column(
                a.loc[both].reset_index(drop=True), c, argument="acceptability", allow_missing=True
            )
        )
        for c in cols[1:]
    }
    apply_style()
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax.errorbar(
        x["estimate"],
        y["estimate"],
        xerr=[x["estimate"] - x["ci_lb"], x["ci_ub"] - x["estimate"]],
        yerr=[y["estimate"] - y["ci_lb"], y["ci_ub"] - y["estimate"]],
        fmt="none",
        ecolor=PALETTE["grey"],
        elinewidth=0.7,
        alpha=0.7,
        zorder=1,
    )
    ax.scatter(x["estimate"], y["estimate"], color=PALETTE["blue"], s=28, zorder=3)
    null_x, null_y = (1.0 if ratios[0] else 0.0), (1.0 if ratios[1] else 0.0)
    if ratios[0]:
        lo, hi = ratio_limits([*x["ci_lb"], *x["ci_ub"]])
        set_ratio_axis(ax, lo, hi)
    if ratios[1]:
        lo_y, hi_y = ratio_limits([*y["ci_lb"], *y["ci_ub"]])
        ax.set_yscale("log")
        ax.set_ylim(lo_y, hi_y)
        ax.yaxis.set_major_locator(FixedLocator(nice_ratio_ticks(lo_y, hi_y)))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.axvline(null_x, color=PALETTE["grey"], lw=0.8, ls="--", zorder=0)
    ax.axhline(null_y, color=PALETTE["grey"], lw=0.8, ls="--", zorder=0)
    xlo, xhi = ax.get_xlim()
    ylo, yhi = ax.get_ylim()
    good_x = (null_x, xhi) if small_values[0] == "bad" else (xlo, null_x)
    good_y = (null_y, yhi) if small_values[1] == "bad" else (ylo, null_y)
    ax.fill_between(
        good_x, good_y[0], good_y[1], color=PALETTE["green"], alpha=0.08, zorder=0, lw=0
    )
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    # Labels beside the points; where two would overlap, the later one moves up or down (in
    # steps of one line) and a thin leader line joins it to its point.
    to_points = 72.0 / fig.dpi
    placed: list[tuple[float, float, float]] = []  # x, y (points) and width of placed labels
    for i in np.argsort(-y["estimate"], kind="mergesort"):
        t = both[i]
        px, py = (
            v * to_points for v in ax.transData.transform((x["estimate"][i], y["estimate"][i]))
        )
        width = text_width_in(t, size=7.5) * 72
        shift = 0.0
        for step in (0, -1, 1, -2, 2, -3, 3, -4, 4):
            shift = 11.0 * step
            lx, ly = px + 5, py + 4 + shift
            if not any(
                lx < qx + qw + 2 and qx < lx + width + 2 and abs(ly - qy) < 11
                for qx, qy, qw in placed
            ):
                break
        placed.append((px + 5, py + 4 + shift, width))
        ax.annotate(
            t,
            (x["estimate"][i], y["estimate"][i]),
            xytext=(5, 4 + shift),
            textcoords="offset points",
            fontsize=7.5,
            zorder=4,
            va="center",
        )
        if shift:  # a leader line from the moved label back to its point (no text of its own)
            ax.annotate(
                "",
                (x["estimate"][i], y["estimate"][i]),
                xytext=(5, 4 + shift),
                textcoords="offset points",
                arrowprops={
                    "arrowstyle": "-",
                    "lw": 0.6,
                    "color": PALETTE["black"],
                    "shrinkA": 0,
                    "shrinkB": 3,
                },
            )
    ax.set_xlabel(f"{labels[0]}: {measures[0]} vs {reference} (95% CI)")
    ax.set_ylabel(f"{labels[1]}: {measures[1]} vs {reference} (95% CI)")
    ax.text(
        0.99,
        0.01,
        "shaded: better than the reference on both",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=7,
        color=PALETTE["green"],
    )
    if title:
        ax.set_title(title, loc="left", fontweight="bold")
    return fig
