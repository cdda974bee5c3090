"""PRISMA 2020 flow diagram drawn from the review's own counts (never an invented number)."""

from __future__ import annotations

import itertools
import math
import textwrap

import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from inflamed.errors import InputError
from inflamed.figures._common import require_columns
from inflamed.figures.style import PALETTE, apply_style

#: The boxes of the PRISMA 2020 flow diagram for new systematic reviews (Page et al. 2021).
STAGES = (
    "identified_databases",
    "identified_registers",
    "identified_other",
    "duplicates_removed",
    "records_screened",
    "records_excluded",
    "reports_sought",
    "reports_not_retrieved",
    "reports_assessed",
    "reports_excluded",
    "studies_included",
    "reports_included",
)
EXCLUSION_PREFIX = "reports_excluded:"
NOT_REPORTED = "not reported"

_BOX_W = 3.1  # inches
_LINE_H = 0.145  # inches per text line at 8 pt
_WRAP = 46  # characters per line inside a box


def _counts(
    counts: pd.DataFrame,
) -> tuple[dict[str, float], list[tuple[str, float]], list[tuple[str, float]]]:
    """Known stage counts, exclusion reasons (in order) and other stages (in order)."""
    require_columns(counts, ("stage", "count"), argument="PRISMA counts")
    counts = counts.reset_index(drop=True)
    known: dict[str, float] = {}
    reasons: list[tuple[str, float]] = []
    others: list[tuple[str, float]] = []
    seen: set[str] = set()
    for index, (stage, raw) in enumerate(zip(counts["stage"], counts["count"], strict=True)):
        row = index + 2
        if not isinstance(stage, str) or not stage.strip():
            raise InputError(
                "empty PRISMA stage", row=row, column="stage", value=stage, expected="a stage name"
            )
        stage = stage.strip()
        if stage in seen:
            raise InputError(
                "PRISMA stage given twice",
                row=row,
                column="stage",
                value=stage,
                expected="each stage once",
            )
        seen.add(stage)
        if (
            raw is None
            or (isinstance(raw, float) and math.isnan(raw))
            or (isinstance(raw, str) and not raw.strip())
        ):
            value = math.nan
        else:
            try:
                value = float(raw)
            except (TypeError, ValueError):
                value = -1.0
            if not (value >= 0 and float(value).is_integer()):
                raise InputError(
                    "PRISMA count is not a whole number",
                    row=row,
                    column="count",
                    value=raw,
                    expected="a non-negative integer or an empty cell",
                )
        if stage in STAGES:
            known[stage] = value
        elif stage.startswith(EXCLUSION_PREFIX):
            reasons.append((stage[len(EXCLUSION_PREFIX) :].replace("_", " ").strip(), value))
        else:
            others.append((stage, value))
    return known, reasons, others


def _n(value: float) -> str:
    return f"n = {NOT_REPORTED}" if not math.isfinite(value) else f"n = {value:,.0f}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _wrap(lines: list[str], width: int = _WRAP) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return out


def prisma_flow(counts: pd.DataFrame, *, title: str | None = "PRISMA 2020 flow diagram") -> Figure:
    """Draw the PRISMA 2020 flow diagram for a new systematic review.

    Parameters
    ----------
    counts
        The review's ``prisma.csv``: columns ``stage`` and ``count``. Stages of the template:
        ``identified_databases``, ``identified_registers``, ``identified_other``,
        ``duplicates_removed``, ``records_screened``, ``records_excluded``, ``reports_sought``,
        ``reports_not_retrieved``, ``reports_assessed``, ``reports_excluded`` (with reasons as
        extra rows ``reports_excluded:<reason>``), ``studies_included``, ``reports_included``.
        A stage that is absent or has an empty count is drawn as "n = not reported". Stages
        outside the template (e.g. a review's own search channels) are not dropped: those
        starting with ``records_identified_`` or ``identified_`` are listed in the identification
        box, the rest in a note under the diagram.
    title
        Figure title (``None`` for none).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        A column is missing, a stage is given twice or a count is not a non-negative integer.

    Notes
    -----
    Box texts follow the PRISMA 2020 flow diagram template for new systematic reviews which
    included searches of databases and registers (Page et al. 2021, BMJ 372:n71, figure 1). When
    ``identified_other`` is given, a box for "identification of studies via other methods" is
    drawn beside it and joins at the included box (the template's intermediate counts for that
    route are not part of the contract and are not drawn).
    """
    apply_style()
    known, reasons, others = _counts(counts)

    def n(stage: str) -> str:
        return _n(known.get(stage, math.nan))

    extra_ident = [
        (s, v) for s, v in others if s.startswith(("records_identified_", "identified_"))
    ]
    notes = [(s, v) for s, v in others if (s, v) not in extra_ident]
    ident = [
        "Records identified from:",
        f"Databases ({n('identified_databases')})",
        f"Registers ({n('identified_registers')})",
    ]
    for stage, value in extra_ident:
        name = (
            stage.removeprefix("records_identified_").removeprefix("identified_").replace("_", " ")
        )
        ident.append(f"{_cap(name)} ({_n(value)})")
    excluded = [f"Reports excluded ({n('reports_excluded')})"]
    excluded += [f"{_cap(reason)} ({_n(value)})" for reason, value in reasons]
    rows = [
        (
            "Identification",
            ident,
            [
                "Records removed before screening:",
                f"Duplicate records removed ({n('duplicates_removed')})",
            ],
        ),
        (
            "Screening",
            ["Records screened", f"({n('records_screened')})"],
            ["Records excluded", f"({n('records_excluded')})"],
        ),
        (
            None,
            ["Reports sought for retrieval", f"({n('reports_sought')})"],
            ["Reports not retrieved", f"({n('reports_not_retrieved')})"],
        ),
        (None, ["Reports assessed for eligibility", f"({n('reports_assessed')})"], excluded),
        (
            "Included",
            [
                "Studies included in review",
                f"({n('studies_included')})",
                "Reports of included studies",
                f"({n('reports_included')})",
            ],
            None,
        ),
    ]
    other_route = "identified_other" in known
    x_main, x_side, x_other = 0.55, 0.55 + _BOX_W + 0.5, 0.55 + 2 * (_BOX_W + 0.5)
    width = x_other + (_BOX_W if other_route else -0.5) + 0.1
    gap = 0.4
    heights = []
    for _phase, main, side in rows:
        lines = max(len(_wrap(main)), len(_wrap(side)) if side else 0)
        heights.append(lines * _LINE_H + 0.22)
    other_lines = [
        "Identification of studies via other methods:",
        "Records identified from websites, organisations, citation searching etc.",
        f"({n('identified_other')})",
    ]
    # The rotated phase label "Identification" needs about 0.9 in; the other-methods box 4 lines.
    heights[0] = max(
        heights[0], 0.9, len(_wrap(other_lines)) * _LINE_H + 0.22 if other_route else 0.0
    )
    note_lines = (
        _wrap(
            ["Other counts given by the review (outside the PRISMA 2020 template):"]
            + [f"{s.replace('_', ' ')}: {_n(v)}" for s, v in notes],
            width=100,
        )
        if notes
        else []
    )
    note_h = (len(note_lines) * _LINE_H + 0.25) if notes else 0.0
    top_pad = 0.45 if title else 0.1
    total_h = (
        top_pad + sum(heights) + gap * (len(rows) - 1) + (note_h + 0.3 if notes else 0.0) + 0.1
    )
    fig = plt.figure(figsize=(width, total_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total_h)
    ax.axis("off")

    def box(
        x: float, y_top: float, h: float, lines: list[str], *, face: str = "white"
    ) -> tuple[float, float, float, float]:
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
        return x, y_top - h, _BOX_W, h

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

    y = total_h - top_pad
    main_boxes = []
    phase_spans: list[tuple[str, float, float]] = []
    for (phase, main, side), h in zip(rows, heights, strict=True):
        mb = box(x_main, y, h, main)
        main_boxes.append(mb)
        if side:
            box(x_side, y, h, side)
            arrow(x_main + _BOX_W, y - h / 2, x_side, y - h / 2)
        if phase:
            phase_spans.append((phase, y, y - h))
        else:
            name, top, _bottom = phase_spans[-1]
            phase_spans[-1] = (name, top, y - h)
        y -= h + gap
    for upper, lower in itertools.pairwise(main_boxes):
        arrow(x_main + _BOX_W / 2, upper[1], x_main + _BOX_W / 2, lower[1] + lower[3])
    for phase, top, bottom in phase_spans:
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
    if other_route:
        top = total_h - top_pad
        ob = box(
            x_other,
            top,
            heights[0],
            other_lines,
            face="#F2F2F2",
        )
        inc = main_boxes[-1]
        x_mid = x_other + _BOX_W / 2
        y_inc = inc[1] + inc[3] / 2
        ax.plot([x_mid, x_mid], [ob[1], y_inc], color=PALETTE["black"], lw=0.8)
        arrow(x_mid, y_inc, x_main + _BOX_W, y_inc)
    if notes:
        y_note = y + gap - 0.3
        ax.text(
            x_main,
            y_note,
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


__all__ = ["EXCLUSION_PREFIX", "STAGES", "prisma_flow"]
