"""Network meta-analysis figures: network graph, forest vs reference, league heat map.

The ranking, node-split and efficacy-vs-acceptability figures are in
:mod:`inflamed.figures.network_ranking`. Every function takes the network stage's own artefacts
(:mod:`inflamed.network.stage`) as :class:`pandas.DataFrame` and returns a
:class:`matplotlib.figure.Figure`; :func:`inflamed.figures.style.save_figure` writes it
deterministically. A missing or non-numeric column raises :class:`inflamed.errors.InputError`
naming it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures._common import (
    fmt_num,
    interval_rows_figure,
    numeric_column,
    require_columns,
)
from inflamed.figures.style import PALETTE, apply_style
from inflamed.stats.measures import is_ratio

__all__ = ["league_heatmap", "network_forest", "network_graph", "treatment_order"]


def treatment_order(rankings: pd.DataFrame) -> list[str]:
    """Treatments in the order of ``rankings.csv`` (best-ranked first, as the stage sorted it)."""
    require_columns(rankings, ["treatment"], argument="rankings")
    return [str(t) for t in rankings["treatment"]]


def _models(frame: pd.DataFrame, model: str, argument: str) -> pd.DataFrame:
    if "model" not in frame.columns:
        return frame
    chosen = frame[frame["model"] == model]
    if chosen.empty:
        raise InputError(
            f"{argument} has no rows for the model",
            column="model",
            value=model,
            expected="one of " + ", ".join(sorted(set(map(str, frame["model"])))),
        )
    return chosen.reset_index(drop=True)


def network_graph(arms: pd.DataFrame, *, title: str | None = None) -> Figure:
    """Draw the network: one node per treatment, one edge per directly compared pair.

    Parameters
    ----------
    arms
        ``arms.csv`` of the network stage: ``study``, ``treatment``, ``n`` (one row per arm).
    title
        Optional title.

    Notes
    -----
    Node area is proportional to the participants randomised to the treatment (summed over
    arms); edge width is proportional to the number of trials comparing the pair directly (a
    three-arm trial counts for each of its three pairs), and the count is written on the edge.
    Nodes sit on a circle in alphabetical order, so the layout does not depend on the data's
    row order.
    """
    require_columns(arms, ["study", "treatment", "n"], argument="arms")
    n = numeric_column(arms, "n", argument="arms")
    frame = pd.DataFrame(
        {"study": arms["study"].astype(str), "treatment": arms["treatment"].astype(str), "n": n}
    )
    nodes = sorted(set(frame["treatment"]))
    if len(nodes) < 2:
        raise InputError(
            "arms has fewer than two treatments",
            column="treatment",
            expected="a network of at least two treatments",
        )
    participants = frame.groupby("treatment")["n"].sum()
    edges: dict[tuple[str, str], int] = {}
    for _study, group in frame.groupby("study", sort=True):
        treatments = sorted(set(group["treatment"]))
        for i, a in enumerate(treatments):
            for b in treatments[i + 1 :]:
                edges[(a, b)] = edges.get((a, b), 0) + 1
    apply_style()
    size = 6.4
    fig = plt.figure(figsize=(size, size))
    # A fixed axes box with an equal-aspect range of 3.5 x 3.5 data units: 1 unit is then a
    # known number of points, so labels can be placed just outside each node's disc.
    ax = fig.add_axes((0.02, 0.07, 0.96, 0.86))
    points_per_unit = 0.96 * size * 72 / 3.5
    angles = {t: math.pi / 2 - 2 * math.pi * i / len(nodes) for i, t in enumerate(nodes)}
    pos = {t: (math.cos(a), math.sin(a)) for t, a in angles.items()}
    most = max(edges.values())
    # Trial counts sit on their edge, a little off the middle so counts of edges crossing at the
    # centre do not stack; a count that would touch one already placed slides along its edge.
    half_w, half_h = 8 / points_per_unit, 6 / points_per_unit
    placed: list[tuple[float, float]] = []
    for (a, b), k in sorted(edges.items()):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.plot(
            [x0, x1],
            [y0, y1],
            color=PALETTE["grey"],
            lw=0.8 + 5.2 * k / most,
            zorder=1,
            solid_capstyle="round",
            alpha=0.8,
        )
        for f in (0.42, 0.34, 0.5, 0.26, 0.58, 0.2, 0.66):
            mx, my = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            if all(abs(mx - qx) > 2 * half_w or abs(my - qy) > 2 * half_h for qx, qy in placed):
                break
        placed.append((mx, my))
        ax.text(
            mx,
            my,
            str(k),
            fontsize=7,
            ha="center",
            va="center",
            zorder=3,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    biggest = float(participants.max())
    for t in nodes:
        x, y = pos[t]
        area = 80 + 1400 * float(participants[t]) / biggest  # marker area in points^2
        ax.scatter(
            [x], [y], s=area, color=PALETTE["blue"], zorder=2, edgecolors="white", linewidths=1.0
        )
        # Labels outside the circle, beyond the node's own radius, aligned away from the centre.
        radius = math.sqrt(area) / 2 / points_per_unit
        lx, ly = (1.06 + radius) * x, (1.06 + radius) * y
        ha = "center" if abs(x) < 0.2 else ("left" if x > 0 else "right")
        va = "center" if abs(x) >= 0.2 else ("bottom" if y > 0 else "top")
        ax.text(lx, ly, f"{t}\n(n = {participants[t]:,.0f})", ha=ha, va=va, fontsize=8, zorder=4)
    ax.set_xlim(-1.75, 1.75)
    ax.set_ylim(-1.55, 1.55)
    ax.set_aspect("equal")
    ax.axis("off")
    note = (
        f"{frame['study'].nunique()} studies, {len(frame)} arms, {len(nodes)} treatments. "
        "Node area: participants; edge width and number: trials comparing the pair directly."
    )
    fig.text(0.5, 0.02, note, ha="center", va="bottom", fontsize=7, wrap=True)
    if title:
        fig.text(0.02, 0.98, title, ha="left", va="top", fontsize=10, fontweight="bold")
    return fig


def network_forest(
    effects: pd.DataFrame,
    *,
    reference: str,
    measure: str,
    model: str = "REML",
    order: Sequence[str] | None = None,
    pscores: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Forest plot of every treatment against the reference.

    Parameters
    ----------
    effects
        ``effects.csv``: ``model``, ``treatment``, ``estimate``, ``ci_lb``, ``ci_ub`` on the
        analysis scale (log for ratio measures).
    reference
        The reference treatment (left out of the rows; named in the axis label).
    measure
        OR, RR, RD, MD or SMD; ratios are drawn on a log axis as ratios.
    model
        Which model's rows to draw.
    order
        Row order (e.g. :func:`treatment_order`); default: by estimate.
    pscores
        Optional ``treatment`` + ``pscore`` columns, written in a right-hand column.
    title
        Optional title.
    """
    require_columns(effects, ["treatment", "estimate", "ci_lb", "ci_ub"], argument="effects")
    rows = _models(effects, model, "effects")
    rows = rows[rows["treatment"].astype(str) != reference]
    if rows.empty:
        raise InputError(
            "effects has no treatment other than the reference",
            column="treatment",
            value=reference,
            expected="rows for the treatments compared with the reference",
        )
    est = numeric_column(rows, "estimate", argument="effects")
    lb = numeric_column(rows, "ci_lb", argument="effects", allow_missing=True)
    ub = numeric_column(rows, "ci_ub", argument="effects", allow_missing=True)
    labels = [str(t) for t in rows["treatment"]]
    if order is not None:
        index = [labels.index(t) for t in order if t in labels]
    else:
        index = list(np.argsort(-est, kind="mergesort"))
    ratio = is_ratio(measure)
    transform = np.exp if ratio else (lambda v: v)
    labels = [labels[i] for i in index]
    extra = None
    if pscores is not None:
        require_columns(pscores, ["treatment", "pscore"], argument="pscores")
        lookup = dict(zip(pscores["treatment"].astype(str), pscores["pscore"], strict=True))
        extra = [fmt_num(float(lookup.get(t, math.nan))) for t in labels]
    apply_style()
    fig, _ax = interval_rows_figure(
        labels,
        transform(est[index]),
        transform(lb[index]),
        transform(ub[index]),
        ratio=ratio,
        xlabel=f"{measure} vs {reference} ({model} model{', log scale' if ratio else ''})",
        title=title,
        header="Treatment",
        right_header=f"{measure} [95% CI]",
        extra_right=extra,
        extra_header="P-score" if extra is not None else "",
    )
    return fig


def league_heatmap(
    league: pd.DataFrame,
    *,
    measure: str,
    small_values: str,
    order: Sequence[str],
    model: str = "REML",
    title: str | None = None,
) -> Figure:
    """League table as a heat map: cell (row i, column j) is treatment i vs treatment j.

    Parameters
    ----------
    league
        ``league.csv``: ``model``, ``treat1``, ``treat2``, ``estimate``, ``ci_lb``, ``ci_ub``.
    measure
        Effect measure (ratios are shown exponentiated).
    small_values
        ``"good"`` or ``"bad"``: cells where the row treatment is better are blue, worse are
        orange, whatever the sign convention of the outcome.
    order
        Treatments along both axes, best-ranked first.
    model
        Which model's rows to draw.
    title
        Optional title.

    Notes
    -----
    Each cell prints the estimate and its 95 % CI; a bold cell's CI excludes the null (1 for ratios, 0 for differences).
    Colour saturation follows the estimate on the analysis scale (log for ratios).
    """
    if small_values not in ("good", "bad"):
        raise InputError("unknown small_values", value=small_values, expected="'good' or 'bad'")
    require_columns(league, ["treat1", "treat2", "estimate", "ci_lb", "ci_ub"], argument="league")
    rows = _models(league, model, "league")
    est = numeric_column(rows, "estimate", argument="league")
    lb = numeric_column(rows, "ci_lb", argument="league", allow_missing=True)
    ub = numeric_column(rows, "ci_ub", argument="league", allow_missing=True)
    names = list(order)
    index = {t: i for i, t in enumerate(names)}
    k = len(names)
    grid = np.full((k, k), np.nan)
    text = [["" for _ in range(k)] for _ in range(k)]
    sure = np.zeros((k, k), dtype=bool)
    ratio = is_ratio(measure)
    transform = np.exp if ratio else (lambda v: v)
    for t1, t2, e, lo, hi in zip(
        rows["treat1"].astype(str), rows["treat2"].astype(str), est, lb, ub, strict=True
    ):
        if t1 not in index or t2 not in index:
            continue
        i, j = index[t1], index[t2]
        grid[i, j] = e
        text[i][j] = (
            f"{fmt_num(transform(e))}\n({fmt_num(transform(lo))}, {fmt_num(transform(hi))})"
        )
        sure[i, j] = (lo > 0 or hi < 0) if math.isfinite(lo) and math.isfinite(hi) else False
    # Blue = the row treatment is better: a low estimate when small values are good.
    signed = -grid if small_values == "good" else grid
    limit = float(np.nanmax(np.abs(signed))) if np.isfinite(signed).any() else 1.0
    limit = limit or 1.0
    apply_style()
    cell = 0.78 if k > 8 else 0.95
    fig_w = 1.6 + cell * k
    fig, ax = plt.subplots(figsize=(fig_w, 1.1 + cell * k))
    ax.imshow(signed, cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit), aspect="equal")
    font = 5.6 if k > 9 else 6.5
    for i in range(k):
        for j in range(k):
            if i == j:
                # The name on the diagonal, wrapped so a long one stays inside its cell.
                name = textwrap.fill(names[i], width=10, break_long_words=False)
                ax.text(j, i, name, ha="center", va="center", fontsize=font, fontweight="bold")
                continue
            strong = abs(signed[i, j]) > 0.6 * limit if math.isfinite(signed[i, j]) else False
            ax.text(
                j,
                i,
                text[i][j],
                ha="center",
                va="center",
                fontsize=font,
                fontweight="bold" if sure[i, j] else "normal",
                color="white" if strong else "black",
            )
    ax.set_xticks(range(k), names, rotation=45, ha="left", fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    better = "lower" if small_values == "good" else "higher"
    ax.set_xlabel(
        f"{measure} of the row treatment vs the column treatment [95% CI] ({model}); blue: row "
        f"treatment better ({better} {measure}); bold: the 95% CI excludes "
        f"{1 if ratio else 0} (no difference)",
        fontsize=7,
    )
    if title:
        fig.suptitle(title, x=0.02, ha="left", fontsize=10, fontweight="bold")
    return fig
