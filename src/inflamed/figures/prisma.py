"""PRISMA 2020 flow diagram drawn from the review's own counts (never an invented number)."""

from __future__ import annotations

import math
import textwrap

import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from inflamed.figures.style import PALETTE, apply_style
from inflamed.ingest.prisma import (
    EXCLUSION_PREFIX,
    OTHER_STAGES,
    STAGES,
    PrismaCounts,
    read_prisma_counts,
)

NOT_REPORTED = "not reported"

_BOX_W = 2.7  # inches
_LINE_H = 0.145  # inches per text line at 8 pt
_WRAP = 40  # characters per line inside a box


def _n(value: float, status: str | None = None) -> str:
    if status == "not_searched":
        return "n = 0; not searched"
    if status == "not_counted":
        return "not counted"
    return f"n = {NOT_REPORTED}" if not math.isfinite(value) else f"n = {value:,.0f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _wrap(lines: list[str], width: int = _WRAP) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return out


def _route_cells(c: PrismaCounts) -> dict[str, list[list[str] | None]]:
    """Box texts per column (main, side, other, other side) and row (the template's five rows)."""

    def n(stage: str) -> str:
        return _n(c.value(stage), c.status.get(stage))

    db_given = any(s in c.known for s in ("identified_databases", "identified_registers"))
    db_searched = not db_given or any(
        c.status.get(s) != "not_searched"
        for s in ("identified_databases", "identified_registers")
        if s in c.known
    )
    excluded = [f"Reports excluded ({n('reports_excluded')})"]
    excluded += [f"{_cap(reason)} ({_n(value)})" for reason, value in c.reasons]
    main: list[list[str] | None] = [
        [
            "Records identified from:",
            f"Databases ({n('identified_databases')})",
            f"Registers ({n('identified_registers')})",
        ],
        ["Records screened", f"({n('records_screened')})"],
        ["Reports sought for retrieval", f"({n('reports_sought')})"],
        ["Reports assessed for eligibility", f"({n('reports_assessed')})"],
    ]
    side: list[list[str] | None] = [
        ["Records removed before screening:", f"Duplicate records ({n('duplicates_removed')})"],
        ["Records excluded", f"({n('records_excluded')})"],
        ["Reports not retrieved", f"({n('reports_not_retrieved')})"],
        excluded,
    ]
    if not db_searched:
        main = [main[0], None, None, None]
        side = [None, None, None, None]
    other: list[list[str] | None] = [None] * 4
    other_side: list[list[str] | None] = [None] * 4
    if "identified_other" in c.known:
        ident = ["Records identified via other methods:"]
        ident += [
            f"{_cap(s.removeprefix('identified_other_').removeprefix('records_identified_').replace('_', ' '))} ({_n(v, c.status.get(s))})"
            for s, v in c.channels
        ]
        ident.append(f"Total ({n('identified_other')})")
        other[0] = ident
        if any(s in c.known for s in OTHER_STAGES[1:]):
            other_side[0] = [
                "Records removed before screening",
                f"(duplicates and records not about a new trial, when collated into candidate "
                f"trials; {n('other_removed_before_screening')})",
            ]
            other[1:] = [
                ["Records (trials) screened", f"({n('other_screened')})"],
                ["Reports sought for retrieval", f"({n('other_reports_sought')})"],
                ["Reports assessed for eligibility", f"({n('other_reports_assessed')})"],
            ]
            other_side[1:] = [
                ["Records (trials) excluded", f"({n('other_excluded')})"],
                ["Reports not retrieved", f"({n('other_reports_not_retrieved')})"],
                ["Reports excluded", f"({n('other_reports_excluded')})"],
            ]
    included = [
        "Studies included in review",
        f"({n('studies_included')})",
        "Reports of included studies",
        f"({n('reports_included')})",
    ]
    return {
        "main": main,
        "side": side,
        "other": other,
        "other_side": other_side,
        "included": [included],
        "db_searched": [["yes"] if db_searched else None],
    }


def prisma_flow(counts: pd.DataFrame, *, title: str | None = "PRISMA 2020 flow diagram") -> Figure:
    """Draw the PRISMA 2020 flow diagram for a new systematic review.

    Parameters
    ----------
    counts
        The review's ``prisma.csv``: columns ``stage``, ``count`` and optional ``status``
        (``counted``, ``not_searched``, ``not_counted``). Stages of the databases-and-registers
        route: :data:`inflamed.ingest.prisma.STAGES` (exclusion reasons as extra rows
        ``reports_excluded:<reason>``); of the other-methods route:
        :data:`inflamed.ingest.prisma.OTHER_STAGES`, with channels ``identified_other_<name>``
        listed in its identification box. A stage that is absent or empty is drawn as
        "n = not reported", a ``not_searched`` one as "n = 0; not searched", a
        ``not_counted`` one as "not counted". Other stages are kept in a note under the diagram.
    title
        Figure title (``None`` for none).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        A column is missing, a stage is given twice, a count is not a non-negative integer or a
        status is unknown.

    Notes
    -----
    Box texts follow the PRISMA 2020 flow diagram template for new systematic reviews which
    included searches of databases, registers and other sources (Page et al. 2021, BMJ 372:n71,
    figure 1). When databases and registers were not searched, their column holds only the
    identification box (no arrow leaves it) and the included box sits under the other-methods
    route. With only ``identified_other`` given, that box joins the included box directly.
    """
    apply_style()
    c = read_prisma_counts(counts)
    cells = _route_cells(c)
    db_searched = cells["db_searched"][0] is not None
    main, side, other, other_side = (
        cells["main"],
        cells["side"],
        cells["other"],
        cells["other_side"],
    )
    included = cells["included"][0]
    assert included is not None
    has_other = other[0] is not None
    chain_other = has_other and other[1] is not None
    # The included box goes under the route that leads to it.
    inc_col = "main" if db_searched or not chain_other else "other"
    columns = {"main": 0.55, "side": 0.55 + _BOX_W + 0.4}
    if has_other:
        columns["other"] = columns["side"] + (_BOX_W + 0.6 if any(side) else 0.0)
        columns["other_side"] = columns["other"] + _BOX_W + 0.4
    used_right = max(
        x
        for name, x in columns.items()
        if any({"main": main, "side": side, "other": other, "other_side": other_side}[name])
    )
    width = used_right + _BOX_W + 0.15
    grid = {"main": main, "side": side, "other": other, "other_side": other_side}
    heights = []
    for r in range(5):
        texts = [grid[col][r] for col in grid if r < 4 and grid[col][r]]
        if r == 4:
            texts = [included]
        lines = max((len(_wrap(t)) for t in texts), default=1)
        heights.append(lines * _LINE_H + 0.22)
    heights[0] = max(heights[0], 0.9)  # the rotated phase label "Identification" needs ~0.9 in
    notes = list(c.others)
    note_lines = (
        _wrap(
            ["Other counts given by the review (outside the PRISMA 2020 template):"]
            + [f"{s.replace('_', ' ')}: {_n(v, c.status.get(s))}" for s, v in notes],
            width=110,
        )
        if notes
        else []
    )
    gap = 0.4
    note_h = (len(note_lines) * _LINE_H + 0.25) if notes else 0.0
    top_pad = 0.45 if title else 0.1
    total_h = top_pad + sum(heights) + gap * 4 + (note_h + 0.3 if notes else 0.0) + 0.1
    fig = plt.figure(figsize=(width, total_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total_h)
    ax.axis("off")

    def box(x: float, y_top: float, h: float, lines: list[str], *, face: str = "white") -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, y_top - h),
                _BOX_W,
                h,
                boxstyle="square,pad=0",
                facecolor=face,
                edgecolor=PALETTE["black"],
                lw=0.8,
            )
        )
        ax.text(
            x + 0.1,
            y_top - 0.11,
            "\n".join(_wrap(lines)),
            ha="left",
            va="top",
            fontsize=8,
            linespacing=1.25,
        )

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.add_patch(
            FancyArrowPatch(
                (x0, y0),
                (x1, y1),
                arrowstyle="-|>",
                mutation_scale=9,
                color=PALETTE["black"],
                lw=0.8,
                shrinkA=0,
                shrinkB=0,
            )
        )

    tops = []
    y = total_h - top_pad
    for h in heights:
        tops.append(y)
        y -= h + gap
    face = {"main": "white", "side": "white", "other": "#F2F2F2", "other_side": "#F2F2F2"}
    for col, x in columns.items():
        boxes = grid[col]
        for r in range(4):
            if boxes[r]:
                box(x, tops[r], heights[r], boxes[r], face=face[col])
        if col in ("main", "other"):
            side_col = "side" if col == "main" else "other_side"
            for r in range(4):
                if boxes[r] and grid[side_col][r]:
                    mid = tops[r] - heights[r] / 2
                    arrow(x + _BOX_W, mid, columns[side_col], mid)
                if r < 3 and boxes[r] and boxes[r + 1]:
                    arrow(x + _BOX_W / 2, tops[r] - heights[r], x + _BOX_W / 2, tops[r + 1])
    x_inc = columns[inc_col]
    box(x_inc, tops[4], heights[4], included)
    y_inc = tops[4] - heights[4] / 2
    for col in ("main", "other"):
        if col not in columns:
            continue
        last = max((r for r in range(4) if grid[col][r]), default=None)
        if last is None or (col == "main" and not db_searched):
            continue
        x_mid = columns[col] + _BOX_W / 2
        y_from = tops[last] - heights[last]
        if col == inc_col:
            arrow(x_mid, y_from, x_mid, tops[4])
        else:  # the other route joins the included box from the side
            ax.plot([x_mid, x_mid], [y_from, y_inc], color=PALETTE["black"], lw=0.8)
            arrow(x_mid, y_inc, x_inc + _BOX_W, y_inc)
    spans = (
        ("Identification", tops[0], tops[0] - heights[0]),
        ("Screening", tops[1], tops[3] - heights[3]),
        ("Included", tops[4], tops[4] - heights[4]),
    )
    for phase, top, bottom in spans:
        ax.add_patch(
            FancyBboxPatch(
                (0.1, bottom),
                0.28,
                top - bottom,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=PALETTE["sky"],
                edgecolor="none",
            )
        )
        ax.text(
            0.24,
            (top + bottom) / 2,
            phase,
            rotation=90,
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
    if notes:
        ax.text(
            columns["main"],
            tops[4] - heights[4] - 0.3,
            "\n".join(note_lines),
            ha="left",
            va="top",
            fontsize=7.5,
            linespacing=1.25,
            color="#333333",
        )
    if title:
        ax.text(0.1, total_h - 0.08, title, ha="left", va="top", fontsize=10, fontweight="bold")
    return fig


__all__ = ["EXCLUSION_PREFIX", "OTHER_STAGES", "STAGES", "prisma_flow"]
