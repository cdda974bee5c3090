"""Forest plot: study rows, subgroup blocks, pooled diamonds, prediction intervals, heterogeneity.

The layout follows the forest plots of Cochrane reviews (RevMan) and metafor's ``forest()``: a
text table on the left (study, arm sizes or events), the interval plot in the middle, the effect
with its confidence interval and the weight on the right. Every row is one line of text at a fixed
height, so the figure grows with the number of rows and stays readable from 2 to 40+ studies.

Length (over 500 lines): one figure's layout (text table, interval panel, diamonds, weights);
the paged view of large reviews lives in :mod:`inflamed.figures.forest_pages`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib import transforms
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from inflamed.errors import InputError
from inflamed.figures._common import (
    fmt_ci,
    fmt_num,
    fmt_p,
    is_ratio,
    measure_label,
    measure_short,
    numeric_column,
    optional_numeric,
    padded_limits,
    ratio_limits,
    require_columns,
    set_ratio_axis,
    text_width_in,
)
from inflamed.figures.style import PALETTE, apply_style

STUDY_COLUMNS = ("label", "yi", "ci_lb", "ci_ub", "weight")
POOLED_COLUMNS = ("subgroup", "estimate", "ci_lb", "ci_ub", "k")
OVERALL = "overall"

ROW_IN = 0.21  # height of one text row, inches
PLOT_IN = 3.2  # width of the interval plot, inches
GAP_IN = 0.15  # gap between text columns, inches


@dataclass
class _Row:
    kind: str  # header | study | pooled | pi | het | spacer
    label: str = ""
    cells: tuple[str, ...] = ()
    est: float = math.nan
    lb: float = math.nan
    ub: float = math.nan
    weight: float = math.nan
    right: str = ""
    weight_text: str = ""
    bold: bool = False
    italic: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def _het_text(source: Mapping[str, object] | None) -> str:
    """``"Heterogeneity: tau^2 = ..; I^2 = ..%; Q = .., df = .., p = .."`` from whatever is finite."""
    if source is None:
        return ""

    def get(*keys: str) -> float:
        for key in keys:
            value = source.get(key)
            if value is not None:
                try:
                    number = float(value)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    continue
                if math.isfinite(number):
                    return number
        return math.nan

    tau2, i2 = get("tau2"), get("i2", "I2")
    q, q_df, q_p = get("q", "Q"), get("q_df", "df"), get("q_pval", "pval", "p")
    parts = []
    if math.isfinite(tau2):
        parts.append(f"\u03c4\u00b2 = {fmt_num(tau2, 3)}")
    if math.isfinite(i2):
        parts.append(f"I\u00b2 = {i2:.0f}%")
    if math.isfinite(q):
        qtext = f"Q = {fmt_num(q, 2)}"
        if math.isfinite(q_df):
            qtext += f", df = {q_df:g}"
        if math.isfinite(q_p):
            qtext += f", {fmt_p(q_p)}"
        parts.append(qtext)
    return ("Heterogeneity: " + "; ".join(parts)) if parts else ""


def _validate_studies(studies: pd.DataFrame) -> dict[str, np.ndarray]:
    require_columns(studies, STUDY_COLUMNS, argument="studies")
    if len(studies) == 0:
        raise InputError("studies has no rows", expected="at least one study")
    data = {
        col: numeric_column(studies, col, argument="studies", allow_missing=True)
        for col in ("yi", "ci_lb", "ci_ub", "weight")
    }
    for col in ("n_treat", "n_ctrl", "events_treat", "events_ctrl"):
        data[col] = optional_numeric(studies, col, argument="studies")
    return data


def forest_plot(
    studies: pd.DataFrame,
    pooled: pd.DataFrame,
    *,
    measure: str,
    outcome_label: str,
    favours: tuple[str, str] = ("favours control", "favours treatment"),
    heterogeneity: str | Mapping[str, object] | None = None,
    subgroup_test: Mapping[str, float] | None = None,
    log_scale: bool | None = None,
    model_label: str = "Random-effects model",
    subgroup_labels: Mapping[str, str] | None = None,
    level: float = 95,
    xlim: Sequence[float] | None = None,
    axis_label: str | None = None,
) -> Figure:
    """Draw a forest plot of one outcome.

    Parameters
    ----------
    studies
        One row per study (the pool stage's ``<outcome>/studies.csv``). Required columns:
        ``label`` (row text), ``yi`` (effect), ``ci_lb``, ``ci_ub`` (its confidence interval),
        ``weight`` (percent of the block's total). Optional: ``subgroup`` (rows are drawn in blocks
        in order of first appearance), ``n_treat``, ``n_ctrl`` (arm sizes) and, for binary
        outcomes, ``events_treat``, ``events_ctrl`` (then shown as events/n). An empty ``yi`` is
        drawn as "not estimable". For ratio measures ``yi``/CI are log ratios.
    pooled
        One row per subgroup with ``subgroup``, ``estimate``, ``ci_lb``, ``ci_ub``, ``k`` and,
        optionally, ``pi_lb``, ``pi_ub`` (prediction interval), ``tau2``, ``i2`` (percent, as
        metafor reports it), ``q``, ``q_df``, ``q_pval``; plus a row with
        ``subgroup == "overall"`` for the overall estimate. Empty cells are left out of the text.
        May be empty: single studies are then drawn without any diamond.
    measure
        Effect measure (``SMD``, ``MD``, ``RR``, ``OR``, ``RD``, ...); sets the axis label.
    outcome_label
        Title of the figure (the outcome, in words).
    favours
        Texts printed below the axis left and right of the null line.
    heterogeneity
        Text (printed verbatim) or mapping (``tau2``, ``i2``, ``q``, ``q_df``, ``q_pval``) for the
        overall heterogeneity line; by default taken from the overall pooled row.
    subgroup_test
        ``dict(q=..., df=..., pval=...)``: the test for subgroup differences, printed last.
    log_scale
        Whether ``yi``/CI are log ratios to plot exponentiated on a log axis; ``None`` decides by
        the measure (``RR``, ``OR``, ``HR``, ... are ratios).
    model_label
        Name of the pooling model on the overall row (e.g. ``"Random-effects model (REML)"``).
    subgroup_labels
        Display names of the subgroup codes (e.g. ``{"crp_high": "CRP \u2265 3 mg/L"}``).
    level
        Confidence level of the intervals, for the column header.
    xlim
        Axis limits (on the plotted scale: ratios, not logs). Intervals beyond them end in an
        arrow. By default the axis covers every interval.
    axis_label
        Overrides the x-axis label derived from ``measure``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        A required column is missing, a value is not a number, or ``pooled`` has no row to draw.

    Notes
    -----
    Squares have an area proportional to the study weight; diamonds span the pooled confidence
    interval; the prediction interval (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A
    172:137) is drawn as a bar on its own row. Layout after the Cochrane Handbook, chapter 10
    (Deeks, Higgins & Altman) and metafor's ``forest.rma`` (Viechtbauer 2010, J Stat Softw 36(3)).
    """
    apply_style()
    data = _validate_studies(studies)
    require_columns(pooled, POOLED_COLUMNS, argument="pooled")
    ratio = is_ratio(measure, log_scale)
    tr = np.exp if ratio else (lambda a: a)
    names = dict(subgroup_labels or {})

    pooled = pooled.reset_index(drop=True)
    p_est = numeric_column(pooled, "estimate", argument="pooled")
    p_lb = numeric_column(pooled, "ci_lb", argument="pooled")
    p_ub = numeric_column(pooled, "ci_ub", argument="pooled")
    p_k = numeric_column(pooled, "k", argument="pooled")
    p_pi_lb = optional_numeric(pooled, "pi_lb", argument="pooled")
    p_pi_ub = optional_numeric(pooled, "pi_ub", argument="pooled")
    het_cols = {
        c: optional_numeric(pooled, c, argument="pooled")
        for c in ("tau2", "i2", "q", "q_df", "q_pval")
    }
    pooled_index = {str(s): i for i, s in enumerate(pooled["subgroup"].astype(str))}

    binary = "events_treat" in studies.columns and "events_ctrl" in studies.columns
    has_n = "n_treat" in studies.columns and "n_ctrl" in studies.columns
    if binary:
        cell_headers: tuple[str, ...] = ("Treatment e/n", "Control e/n")
    elif has_n:
        cell_headers = ("Treatment n", "Control n")
    else:
        cell_headers = ()

    def cells(i: int) -> tuple[str, ...]:
        def count(x: float) -> str:
            return "\u2013" if not math.isfinite(x) else f"{x:.0f}"

        if binary:
            return (
                f"{count(data['events_treat'][i])}/{count(data['n_treat'][i])}",
                f"{count(data['events_ctrl'][i])}/{count(data['n_ctrl'][i])}",
            )
        if has_n:
            return (count(data["n_treat"][i]), count(data["n_ctrl"][i]))
        return ()

    def pooled_rows(index: int, label: str, bold: bool, het_override: object = None) -> list[_Row]:
        rows = [
            _Row(
                "pooled",
                label=f"{label} (k = {p_k[index]:.0f})",
                est=float(tr(p_est[index])),
                lb=float(tr(p_lb[index])),
                ub=float(tr(p_ub[index])),
                right=fmt_ci(tr(p_est[index]), tr(p_lb[index]), tr(p_ub[index])),
                bold=bold,
                extra={"overall": bold},
            )
        ]
        if math.isfinite(p_pi_lb[index]) and math.isfinite(p_pi_ub[index]):
            lo, hi = float(tr(p_pi_lb[index])), float(tr(p_pi_ub[index]))
            rows.append(
                _Row(
                    "pi",
                    label=f"{level:g}% prediction interval",
                    lb=lo,
                    ub=hi,
                    right=f"[{fmt_num(lo)}, {fmt_num(hi)}]",
                    italic=True,
                )
            )
        if isinstance(het_override, str):
            text = het_override
        elif isinstance(het_override, Mapping):
            text = _het_text(het_override)
        elif p_k[index] >= 2:  # one study has no between-study heterogeneity to report
            text = _het_text({c: v[index] for c, v in het_cols.items()})
        else:
            text = ""
        if text:
            rows.append(_Row("het", label=text, italic=True))
        return rows

    # ---- assemble rows ------------------------------------------------------------------------
    if "subgroup" in studies.columns:
        groups = studies["subgroup"].astype(object).where(studies["subgroup"].notna(), None)
        block_names = list(dict.fromkeys(groups.tolist()))
    else:
        groups = pd.Series([None] * len(studies))
        block_names = [None]
    multi = len(block_names) > 1

    rows: list[_Row] = []
    drawn_pooled = False
    for block in block_names:
        members = np.flatnonzero((groups == block).to_numpy()) if block is not None else None
        if members is None:
            members = np.flatnonzero(groups.isna().to_numpy())
        if multi and block is not None:
            rows.append(_Row("header", label=names.get(str(block), str(block)), bold=True))
        for i in members:
            yi = float(tr(data["yi"][i]))
            lb, ub = float(tr(data["ci_lb"][i])), float(tr(data["ci_ub"][i]))
            w = float(data["weight"][i])
            right = fmt_ci(yi, lb, ub) if math.isfinite(yi) else "not estimable"
            rows.append(
                _Row(
                    "study",
                    label=str(studies["label"].iloc[i]),
                    cells=cells(i),
                    est=yi,
                    lb=lb,
                    ub=ub,
                    weight=w,
                    right=right,
                    weight_text=f"{w:.1f}%" if math.isfinite(w) else "\u2013",
                )
            )
        key = str(block) if block is not None else None
        if multi and key in pooled_index and key != OVERALL:
            rows.extend(pooled_rows(pooled_index[key], "Subtotal", bold=False))
            drawn_pooled = True
        if multi:
            rows.append(_Row("spacer"))
    overall_index = pooled_index.get(OVERALL)
    if overall_index is None and not multi:
        only = block_names[0]
        overall_index = pooled_index.get(str(only)) if only is not None else None
        if overall_index is None and len(pooled) == 1:
            overall_index = 0
    if overall_index is not None:
        rows.extend(pooled_rows(overall_index, model_label, bold=True, het_override=heterogeneity))
        drawn_pooled = True
    elif isinstance(heterogeneity, str) and heterogeneity:
        rows.append(_Row("het", label=heterogeneity, italic=True))
    if subgroup_test is not None:
        q = float(subgroup_test.get("q", math.nan))
        df = float(subgroup_test.get("df", subgroup_test.get("q_df", math.nan)))
        p = float(subgroup_test.get("pval", subgroup_test.get("p", math.nan)))
        rows.append(
            _Row(
                "het",
                label=f"Test for subgroup differences: Q = {fmt_num(q)}, df = {df:g}, {fmt_p(p)}",
                italic=True,
            )
        )
    if not drawn_pooled and len(pooled):  # an empty ``pooled``: single studies, no diamond
        raise InputError(
            "pooled has no row matching the studies' subgroups or 'overall'",
            column="subgroup",
            value=sorted(pooled_index),
            expected="a row with subgroup == 'overall' or one per subgroup of studies",
        )
    while rows and rows[-1].kind == "spacer":
        rows.pop()

    # ---- widths (inches) ------------------------------------------------------------------------
    label_rows = [r for r in rows if r.kind in ("header", "study", "pooled", "pi")]
    label_w = (
        max(
            text_width_in(r.label, bold=r.bold or r.kind == "header", italic=r.italic)
            for r in label_rows
        )
        + GAP_IN
    )
    label_w = max(label_w, text_width_in("Study", bold=True) + GAP_IN)
    cell_ws = []
    for j, head in enumerate(cell_headers):
        values = [r.cells[j] for r in rows if r.kind == "study"]
        cell_ws.append(
            max(text_width_in(head, bold=True), *(text_width_in(v) for v in values)) + GAP_IN
        )
    left_w = label_w + sum(cell_ws)
    het_w = max(
        [text_width_in(r.label, size=7.5, italic=True) for r in rows if r.kind == "het"] or [0.0]
    )
    left_w = max(left_w, het_w + GAP_IN)
    short = measure_short(measure)
    est_head = f"{short} [{level:g}% CI]"
    est_w = (
        max(
            text_width_in(est_head, bold=True), *(text_width_in(r.right, bold=r.bold) for r in rows)
        )
        + GAP_IN
    )
    weight_w = text_width_in("Weight", bold=True) + GAP_IN
    right_w = GAP_IN + est_w + weight_w

    n_rows = len(rows) + 1  # + column headers
    top_in, bottom_in = 0.45, 0.75
    body_h = n_rows * ROW_IN
    fig_w = left_w + PLOT_IN + right_w
    fig_h = top_in + body_h + bottom_in
    fig = plt.figure(figsize=(fig_w, fig_h))
    rect_y, rect_h = bottom_in / fig_h, body_h / fig_h
    ax_left = fig.add_axes((0, rect_y, left_w / fig_w, rect_h))
    ax = fig.add_axes((left_w / fig_w, rect_y, PLOT_IN / fig_w, rect_h))
    ax_right = fig.add_axes(((left_w + PLOT_IN) / fig_w, rect_y, right_w / fig_w, rect_h))
    ylim = (-(n_rows - 1) - 0.5, 0.5)
    for a, width in ((ax_left, left_w), (ax_right, right_w)):
        a.set_xlim(0, width)
        a.set_ylim(*ylim)
        a.axis("off")
    ax.set_ylim(*ylim)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)

    # ---- column headers -------------------------------------------------------------------------
    head_kw = {"va": "center", "fontweight": "bold", "fontsize": 8}
    ax_left.text(0, 0, "Study", ha="left", **head_kw)
    x = label_w
    cell_x = []
    for head, width in zip(cell_headers, cell_ws, strict=True):
        x += width
        cell_x.append(x - GAP_IN)
        ax_left.text(x - GAP_IN, 0, head, ha="right", **head_kw)
    est_x = GAP_IN + est_w - GAP_IN
    ax_right.text(est_x, 0, est_head, ha="right", **head_kw)
    weight_x = right_w - GAP_IN / 2
    ax_right.text(weight_x, 0, "Weight", ha="right", **head_kw)
    for a in (ax_left, ax, ax_right):
        a.axhline(-0.5, color=PALETTE["black"], lw=0.6)
    ax_left.text(
        0,
        1.15,
        outcome_label,
        ha="left",
        va="bottom",
        fontsize=10,
        fontweight="bold",
        clip_on=False,
    )

    # ---- axis limits ----------------------------------------------------------------------------
    spans = [v for r in rows if r.kind in ("study", "pooled", "pi") for v in (r.lb, r.ub, r.est)]
    null = 1.0 if ratio else 0.0
    if xlim is not None:
        lo, hi = float(xlim[0]), float(xlim[1])
        if not lo < hi or (ratio and lo <= 0):
            raise InputError("xlim must be increasing (and positive for ratios)", value=tuple(xlim))
    elif ratio:
        lo, hi = ratio_limits([v for v in spans if math.isfinite(v)])
    else:
        lo, hi = padded_limits(spans, include=null)
    if ratio:
        set_ratio_axis(ax, lo, hi)
    else:
        ax.set_xlim(lo, hi)
    ax.plot([null, null], [-0.5, ylim[0]], color=PALETTE["grey"], lw=0.8, zorder=0)

    # ---- rows -----------------------------------------------------------------------------------
    weights = [r.weight for r in rows if r.kind == "study" and math.isfinite(r.weight)]
    max_w = max(weights) if weights else 1.0
    for index, row in enumerate(rows, start=1):
        y = -index
        style = "italic" if row.italic else "normal"
        weight = "bold" if row.bold or row.kind == "header" else "normal"
        size = 7.5 if row.kind == "het" else 8
        if row.label:
            ax_left.text(
                0,
                y,
                row.label,
                ha="left",
                va="center",
                fontstyle=style,
                fontweight=weight,
                fontsize=size,
            )
        for cx, cell in zip(cell_x, row.cells, strict=False):
            ax_left.text(cx, y, cell, ha="right", va="center", fontsize=8)
        if row.right:
            ax_right.text(
                est_x,
                y,
                row.right,
                ha="right",
                va="center",
                fontweight=weight,
                fontstyle=style,
                fontsize=8,
            )
        if row.weight_text:
            ax_right.text(weight_x, y, row.weight_text, ha="right", va="center", fontsize=8)
        if row.kind == "study" and math.isfinite(row.est):
            _interval(ax, row.lb, row.ub, y, lo, hi, color=PALETTE["black"], lw=1.0)
            if lo <= row.est <= hi:
                w = row.weight if math.isfinite(row.weight) else 0.0
                size_pt = max(2.5, 9.0 * math.sqrt(max(w, 0.0) / max_w)) if max_w > 0 else 4.0
                ax.plot(
                    row.est,
                    y,
                    marker="s",
                    ms=size_pt,
                    color=PALETTE["blue"],
                    mec=PALETTE["black"],
                    mew=0.4,
                    zorder=3,
                )
        elif row.kind == "pooled":
            colour = PALETTE["black"] if row.extra.get("overall") else PALETTE["grey"]
            a_lb, a_ub = max(row.lb, lo), min(row.ub, hi)
            est = min(max(row.est, lo), hi)
            diamond = Polygon(
                [(a_lb, y), (est, y + 0.34), (a_ub, y), (est, y - 0.34)],
                closed=True,
                facecolor=colour,
                edgecolor=colour,
                zorder=3,
            )
            ax.add_patch(diamond)
        elif row.kind == "pi":
            _interval(ax, row.lb, row.ub, y, lo, hi, color=PALETTE["vermillion"], lw=1.6, caps=True)

    # ---- x axis: label and favours --------------------------------------------------------------
    ax.set_xlabel(axis_label or measure_label(measure, ratio), labelpad=18)
    # The two labels stand a space's width (2.4 pt at 7.5 pt) either side of the null line, as an
    # offset and not as spaces in the text: SVG viewers collapse leading and trailing spaces, which
    # ran the labels together ("favours controlfavours treatment").
    left_text, right_text = favours
    for text, gap, align in ((left_text, -2.4, "right"), (right_text, 2.4, "left")):
        if not text:
            continue
        below = transforms.offset_copy(
            transforms.blended_transform_factory(ax.transData, ax.transAxes),
            fig=fig,
            x=gap,
            y=-17,
            units="points",
        )
        label = f"\u2190 {text}" if align == "right" else f"{text} \u2192"
        ax.text(null, 0, label, ha=align, va="top", transform=below, fontsize=7.5)
    return fig


def _interval(
    ax: object,
    lb: float,
    ub: float,
    y: float,
    lo: float,
    hi: float,
    *,
    color: str,
    lw: float,
    caps: bool = False,
) -> None:
    """Horizontal interval [lb, ub] at y, clipped to [lo, hi] with an arrow where it leaves the axis."""
    if not (math.isfinite(lb) and math.isfinite(ub)):
        return
    a, b = max(lb, lo), min(ub, hi)
    if a > b:
        return
    ax.plot([a, b], [y, y], color=color, lw=lw, solid_capstyle="butt", zorder=2)  # type: ignore[attr-defined]
    if lb < lo:
        ax.plot(a, y, marker="<", ms=4, color=color, zorder=2)  # type: ignore[attr-defined]
    elif caps:
        ax.plot([a, a], [y - 0.18, y + 0.18], color=color, lw=lw, zorder=2)  # type: ignore[attr-defined]
    if ub > hi:
        ax.plot(b, y, marker=">", ms=4, color=color, zorder=2)  # type: ignore[attr-defined]
    elif caps:
        ax.plot([b, b], [y - 0.18, y + 0.18], color=color, lw=lw, zorder=2)  # type: ignore[attr-defined]
