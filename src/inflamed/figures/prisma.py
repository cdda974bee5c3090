"""The PRISMA 2020 flow diagram for new systematic reviews, drawn from the review's own counts.

Boxes follow the PRISMA 2020 template (Page et al. 2021, BMJ 372:n71, Figure 1). A count the
review does not give is printed as "n = not reported": the diagram never invents a number.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from inflamed.figures._common import require_columns
from inflamed.figures.style import PALETTE, apply_style

# (stage key, box text) per box; the left column is the main flow, the right the exclusions.
MAIN = [
    ("identified", "Records identified"),
    ("records_screened", "Records screened"),
    ("reports_sought", "Reports sought for retrieval"),
    ("reports_assessed", "Reports assessed for eligibility"),
    ("studies_included", "Studies included in review"),
]
SIDE = [
    ("duplicates_removed", "Records removed before screening\n(duplicates)"),
    ("records_excluded", "Records excluded"),
    ("reports_not_retrieved", "Reports not retrieved"),
    ("reports_excluded", "Reports excluded"),
    ("reports_included", "Reports of included studies"),
]
SOURCES = [
    ("identified_databases", "databases"),
    ("identified_registers", "registers"),
    ("identified_other", "other sources"),
]


def _count(counts: dict[str, int], key: str) -> str:
    return f"n = {counts[key]}" if key in counts else "n = not reported"


def prisma_flow(counts: pd.DataFrame, *, title: str = "PRISMA 2020 flow diagram") -> Figure:
    """Draw the flow diagram.

    Parameters
    ----------
    counts
        Columns ``stage`` and ``count``. Stages: ``identified_databases``, ``identified_registers``,
        ``identified_other`` (any ``identified_<source>`` or ``records_identified_<source>`` is
        listed as a source; a total may be given as ``records_identified``), ``duplicates_removed``,
        ``records_screened``, ``records_excluded``, ``reports_sought``, ``reports_not_retrieved``,
        ``reports_assessed``, ``reports_excluded`` and its reasons as
        ``reports_excluded:<reason>``, ``studies_included``, ``reports_included``. Other stages
        are listed under the diagram so nothing the review recorded is dropped.
    """
    apply_style()
    require_columns(counts, ["stage", "count"], argument="counts")
    values = {
        str(s): int(c) for s, c in zip(counts["stage"], counts["count"], strict=True) if pd.notna(c)
    }
    fig, ax = plt.subplots(figsize=(8.2, 7.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10.4)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, fill: str = "white") -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0.02,rounding_size=0.08",
                facecolor=fill,
                edgecolor=PALETTE["black"],
                lw=0.8,
            )
        )
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8, wrap=True)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "lw": 0.8})

    used = set()
    identified_lines = ["Records identified from:"]
    # Sources: the template's three, or any `identified_<source>` / `records_identified_<source>`.
    source_keys = [key for key, _ in SOURCES if key in values] + sorted(
        key
        for key in values
        if key.startswith(("identified_", "records_identified_")) and key not in dict(SOURCES)
    )
    for key in source_keys:
        label = dict(SOURCES).get(key) or key.split("identified_", 1)[1].replace("_", " ")
        identified_lines.append(f"  {label} (n = {values[key]})")
        used.add(key)
    if "records_identified" in values:
        identified_lines.append(f"  total (n = {values['records_identified']})")
        used.add("records_identified")
    if len(identified_lines) == 1:
        identified_lines.append("  n = not reported")
    heights = [0.5 + 0.27 * len(identified_lines), 0.8, 0.8, 0.8, 0.8]
    ys = [9.9 - heights[0], 6.9, 5.3, 3.7, 1.6]
    texts = ["\n".join(identified_lines)]
    for key, label in MAIN[1:]:
        texts.append(f"{label}\n{_count(values, key)}")
        used.add(key)
    for y, h, text in zip(ys, heights, texts, strict=True):
        box(0.3, y, 4.4, h, text)
    for i in range(len(ys) - 1):
        arrow(2.5, ys[i], 2.5, ys[i + 1] + heights[i + 1])

    reasons = sorted(k for k in values if k.startswith("reports_excluded:"))
    side_texts = []
    for key, label in SIDE:
        text = f"{label}\n{_count(values, key)}"
        if key == "reports_excluded" and reasons:
            text += "".join(
                f"\n  {r.split(':', 1)[1].replace('_', ' ')} (n = {values[r]})" for r in reasons
            )
            used.update(reasons)
        side_texts.append(text)
        used.add(key)
    side_heights = [0.8, 0.8, 0.8, 0.8 + 0.22 * len(reasons), 0.8]
    side_ys = [ys[0] + 0.25, ys[1], ys[2], ys[3] - 0.22 * len(reasons) / 2, ys[4]]
    for y, h, text in zip(side_ys, side_heights, side_texts, strict=True):
        box(5.6, y, 4.1, h, text, fill="#F4F4F4")
    for y_main, h_main in zip(ys[:4], heights[:4], strict=True):
        arrow(4.7, y_main + h_main / 2, 5.6, y_main + h_main / 2)

    for label, y in (
        ("Identification", ys[0] + 0.6),
        ("Screening", (ys[1] + ys[3]) / 2 + 0.5),
        ("Included", ys[4] + 0.4),
    ):
        ax.text(
            0.05,
            y,
            label,
            rotation=90,
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color=PALETTE["blue"],
        )
    others = sorted(set(values) - used)
    if others:
        ax.text(
            0.3,
            0.35,
            "Also recorded: "
            + "; ".join(f"{k.replace('_', ' ')} (n = {values[k]})" for k in others),
            fontsize=7,
            wrap=True,
        )
    ax.set_title(title, loc="left", fontweight="bold")
    return fig
