"""Shared helpers of the figure modules: input validation, measure scales and number formatting.

Private to :mod:`inflamed.figures`; the public figure functions validate their tidy frames here so
every figure reports a missing or non-numeric column the same way (an
:class:`inflamed.errors.InputError` naming the argument, the column and, for bad values, the
spreadsheet row).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from inflamed.errors import InputError
from inflamed.stats.measures import RATIO_MEASURES, short_name

#: Axis labels per measure. Continuous measures follow the project's sign convention (positive
#: favours treatment); ratios are treatment vs control as is (see docs/architecture.md).
MEASURE_LABELS = {
    "SMD": "Hedges' g (positive favours treatment)",
    "SMCC": "Standardised mean change, Hedges' g (positive favours treatment)",
    "SMCR": "Standardised mean change, Hedges' g (positive favours treatment)",
    "MD": "Mean difference (instrument units; positive favours treatment)",
    "RD": "Risk difference (treatment \u2212 control)",
    "RR": "Risk ratio, treatment vs control (log scale)",
    "OR": "Odds ratio, treatment vs control (log scale)",
    "PETO": "Peto odds ratio, treatment vs control (log scale)",
    "PETO_OR": "Peto odds ratio, treatment vs control (log scale)",
    "HR": "Hazard ratio, treatment vs control (log scale)",
    "IRR": "Incidence rate ratio, treatment vs control (log scale)",
    "ROM": "Ratio of means, treatment vs control (log scale)",
}

_TEXT_TO_PATH = TextToPath()


def require_columns(frame: object, columns: Iterable[str], *, argument: str) -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame holding ``columns``; raise InputError naming the first missing."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{argument} must be a pandas DataFrame",
            value=type(frame).__name__,
            expected="pandas.DataFrame",
        )
    for column in columns:
        if column not in frame.columns:
            raise InputError(
                f"{argument} is missing a required column",
                column=column,
                expected=f"columns {', '.join(columns)}",
            )
    return frame


def numeric_column(
    frame: pd.DataFrame, column: str, *, argument: str, allow_missing: bool = False
) -> np.ndarray:
    """Return ``frame[column]`` as float; non-numbers (or empty cells unless allowed) raise InputError.

    Rows in the error are spreadsheet rows (header = row 1), as everywhere in inflamed.
    """
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & raw.notna().to_numpy()
    if not allow_missing:
        bad |= np.isnan(values)
    bad |= np.isinf(values)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{argument} has a value that is not a finite number",
            row=index + 2,
            column=column,
            value=raw.iloc[index],
            expected="a finite number" + ("" if not allow_missing else " or an empty cell"),
        )
    return values


def numeric_vector(values: Sequence[float] | np.ndarray | pd.Series, name: str) -> np.ndarray:
    """A plain sequence as float, checked like :func:`numeric_column` (``name`` in the error)."""
    frame = pd.DataFrame({name: pd.Series(np.asarray(values, dtype=object))})
    return numeric_column(frame, name, argument=name)


def optional_numeric(frame: pd.DataFrame, column: str, *, argument: str) -> np.ndarray:
    """``numeric_column`` with empty cells allowed; an absent column is all NaN."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return numeric_column(frame, column, argument=argument, allow_missing=True)


def is_ratio(measure: str, log_scale: bool | None) -> bool:
    """Whether values are log ratios to exponentiate (``log_scale=None``: decided by the measure)."""
    if log_scale is None:
        return measure.upper() in RATIO_MEASURES
    return bool(log_scale)


def measure_label(measure: str, ratio: bool) -> str:
    """The axis label for ``measure`` (with the scale)."""
    label = MEASURE_LABELS.get(measure.upper(), measure)
    if ratio and "log scale" not in label:
        label += " (log scale)"
    return label


def measure_short(measure: str) -> str:
    """A short column header for ``measure``."""
    return short_name(measure)


def fmt_num(value: float, digits: int = 2) -> str:
    """Format a number for a figure; NaN becomes an en dash, negative signs are true minus signs."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    text = f"{value:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "\u2212")


def fmt_ci(estimate: float, lb: float, ub: float, digits: int = 2) -> str:
    """``"0.35 [0.10, 0.60]"`` with true minus signs."""
    return f"{fmt_num(estimate, digits)} [{fmt_num(lb, digits)}, {fmt_num(ub, digits)}]"


def figure_title(fig: Figure, title: str | None, fig_w: float, fig_h: float) -> None:
    """Put ``title`` at the top-left corner of a ``fig_w`` x ``fig_h`` inch figure (0.02/0.05 in inset)."""
    if title:
        fig.text(
            0.02 / fig_w,
            1 - 0.05 / fig_h,
            title,
            ha="left",
            va="top",
            fontsize=10,
            fontweight="bold",
        )


def fmt_p(p: float) -> str:
    """A p value as journals print it: ``p = 0.032``, ``p < 0.001``."""
    if p is None or not math.isfinite(p):
        return "p = \u2013"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def text_width_in(
    text: str, *, size: float = 8.0, bold: bool = False, italic: bool = False
) -> float:
    """Width in inches of a one-line ``text`` at ``size`` points in the project font.

    Measured from the glyph outlines (:class:`matplotlib.textpath.TextToPath`), so it does not
    depend on a renderer or on the screen and is the same on every machine with the same font.
    """
    if not text:
        return 0.0
    props = FontProperties(
        family=plt.rcParams["font.family"],
        size=size,
        weight="bold" if bold else "normal",
        style="italic" if italic else "normal",
    )
    width, _height, _descent = _TEXT_TO_PATH.get_text_width_height_descent(
        text, props, ismath=False
    )
    return float(width) / 72.0


def nice_ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ticks covering [lo, hi] on the ratio scale (1-2-5 per decade, finer when narrow), at most 9."""
    ticks: list[float] = []
    # 1-2-5 per decade; over a narrow range (fewer than 3 such ticks) a finer 1-1.5-2-3-5-7 set.
    for bases in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = []
        for exponent in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 2):
            for base in bases:
                tick = round(base * 10.0**exponent, 12)
                if lo <= tick <= hi:
                    ticks.append(tick)
        if len(ticks) >= 3:
            break
    if len(ticks) < 3:  # a very narrow range (e.g. 0.9 to 1.2): evenly spaced round numbers
        ticks = [
            round(float(t), 12)
            for t in MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
            if lo <= t <= hi
        ]
    if 1.0 >= lo and 1.0 <= hi and 1.0 not in ticks:
        ticks.append(1.0)
    ticks = sorted(ticks)
    while len(ticks) > 9:
        ticks = [t for t in ticks if not math.isclose(t / 10 ** math.floor(math.log10(t)), 2.0)]
        if len(ticks) > 9:
            ticks = [t for i, t in enumerate(ticks) if i % 2 == 0 or math.isclose(t, 1.0)]
    return ticks


def set_ratio_axis(ax: Axes, lo: float, hi: float) -> None:
    """Log-scaled x axis between ``lo`` and ``hi`` (ratios) with plain-number 1-2-5 ticks."""
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ticks = nice_ratio_ticks(lo, hi)
    if len(ticks) < 2:
        ticks = [lo, hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def padded_limits(
    values: Sequence[float], *, include: float, pad: float = 0.06
) -> tuple[float, float]:
    """Axis limits covering the finite ``values`` and ``include`` with a relative ``pad``."""
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)] + [include])
    lo, hi = float(arr.min()), float(arr.max())
    span = hi - lo if hi > lo else 1.0
    return lo - pad * span, hi + pad * span


def ratio_limits(values: Sequence[float], *, pad: float = 0.06) -> tuple[float, float]:
    """Limits on the ratio scale covering positive ``values`` and 1, padded on the log scale."""
    lo, hi = padded_limits(np.log([v for v in values if v > 0]), include=0.0, pad=pad)
    return math.exp(lo), math.exp(hi)


#: Beyond this many rows a row-per-study figure with a text table is no longer readable; the
#: interval plots switch to a compact view (no text columns, only notable rows named).
MAX_TEXT_ROWS = 40


def _compact_intervals_figure(
    labels: Sequence[str],
    est: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    ratio: bool,
    xlabel: str,
    title: str | None,
    reference: tuple[float, float, float] | None,
) -> tuple[Figure, Axes]:
    """Many rows: thin intervals in input order, rows outside the reference CI named (if few)."""
    from matplotlib import pyplot as plt

    n = len(labels)
    y = -np.arange(n, dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 7.5))
    values = [v for v in (*lb, *ub, *est, *(reference or ())) if math.isfinite(v)]
    if ratio:
        lo, hi = ratio_limits([v for v in values if v > 0])
        set_ratio_axis(ax, lo, hi)
    else:
        lo, hi = padded_limits(values, include=0.0)
        ax.set_xlim(lo, hi)
    ax.axvline(1.0 if ratio else 0.0, color="#7F7F7F", lw=0.8, zorder=0)
    named = np.zeros(n, dtype=bool)
    if reference is not None:
        r_est, r_lb, r_ub = reference
        if math.isfinite(r_lb) and math.isfinite(r_ub):
            ax.axvspan(r_lb, r_ub, color="#56B4E9", alpha=0.25, lw=0, zorder=0)
            named = (np.asarray(est) < r_lb) | (np.asarray(est) > r_ub)
        ax.axvline(r_est, color="#0072B2", lw=1.0, ls="--", zorder=1)
    ax.hlines(y, lb, ub, color="#000000", lw=0.4, zorder=2)
    ax.plot(est, y, ls="", marker="o", ms=1.8, color="#000000", zorder=3)
    ax.set_ylim(-n + 0.5, 0.5)
    if 0 < named.sum() <= MAX_TEXT_ROWS:
        ax.set_yticks(y[named])
        ax.set_yticklabels([labels[i] for i in np.flatnonzero(named)], fontsize=6)
        note = f"{n} rows in input order; rows whose estimate leaves the full-data CI are named"
    else:
        ax.set_yticks([])
        note = f"{n} rows in input order (too many to name; see the CSV artefact)"
    ax.set_ylabel(note, fontsize=7.5)
    ax.set_xlabel(xlabel)
    if reference is not None:
        ax.set_title(
            f"Dashed line and band: all studies, {fmt_ci(*reference)}", loc="left", fontsize=8
        )
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
    return fig, ax


def interval_rows_figure(
    labels: Sequence[str],
    est: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    ratio: bool,
    xlabel: str,
    title: str | None,
    header: str,
    right_header: str,
    reference: tuple[float, float, float] | None = None,
    reference_label: str = "",
    extra_right: Sequence[str] | None = None,
    extra_header: str = "",
) -> tuple[Figure, Axes]:
    """A column of labelled point estimates with intervals and an estimate [CI] text column.

    ``est``/``lb``/``ub`` are on the plotted scale (ratios, not logs, when ``ratio``).
    ``reference`` = (estimate, ci_lb, ci_ub) draws a shaded band and a dashed line (e.g. the
    full-data estimate).
    """
    from matplotlib import pyplot as plt

    if len(labels) > MAX_TEXT_ROWS:
        return _compact_intervals_figure(
            labels, est, lb, ub, ratio=ratio, xlabel=xlabel, title=title, reference=reference
        )
    row_in, gap = 0.21, 0.15
    n = len(labels)
    n_rows = n + (1 if reference is not None else 0)
    texts = [fmt_ci(e, lo, hi) for e, lo, hi in zip(est, lb, ub, strict=True)]
    label_w = (
        max(
            [text_width_in(s) for s in labels]
            + [text_width_in(header, bold=True), text_width_in(reference_label, bold=True)]
        )
        + gap
    )
    right_w = (
        max([text_width_in(s, bold=True) for s in texts] + [text_width_in(right_header, bold=True)])
        + gap
    )
    extra_w = 0.0
    if extra_right is not None:
        extra_w = (
            max([text_width_in(s) for s in extra_right] + [text_width_in(extra_header, bold=True)])
            + gap
        )
    plot_w = 3.0
    top, bottom = 0.45 if title else 0.2, 0.6
    body = (n_rows + 1) * row_in
    fig_w = label_w + plot_w + gap + right_w + extra_w
    fig_h = top + body + bottom
    fig = plt.figure(figsize=(fig_w, fig_h))
    ry, rh = bottom / fig_h, body / fig_h
    ax_l = fig.add_axes((0, ry, label_w / fig_w, rh))
    ax = fig.add_axes((label_w / fig_w, ry, plot_w / fig_w, rh))
    ax_r = fig.add_axes(((label_w + plot_w) / fig_w, ry, (gap + right_w + extra_w) / fig_w, rh))
    ylim = (-n_rows - 0.5, 0.5)
    for a, w in ((ax_l, label_w), (ax_r, gap + right_w + extra_w)):
        a.set_xlim(0, w)
        a.set_ylim(*ylim)
        a.axis("off")
    ax.set_ylim(*ylim)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax_l.text(0, 0, header, ha="left", va="center", fontweight="bold", fontsize=8)
    ax_r.text(
        gap + right_w - gap, 0, right_header, ha="right", va="center", fontweight="bold", fontsize=8
    )
    if extra_right is not None:
        ax_r.text(
            gap + right_w + extra_w - gap / 2,
            0,
            extra_header,
            ha="right",
            va="center",
            fontweight="bold",
            fontsize=8,
        )
    for a in (ax_l, ax, ax_r):
        a.axhline(-0.5, color="#000000", lw=0.6)
    if title:
        ax_l.text(
            0, 1.15, title, ha="left", va="bottom", fontsize=10, fontweight="bold", clip_on=False
        )
    values = [*lb, *ub, *est]
    if reference is not None:
        values += list(reference)
    finite = [v for v in values if math.isfinite(v)]
    if ratio:
        lo, hi = ratio_limits([v for v in finite if v > 0])
        set_ratio_axis(ax, lo, hi)
    else:
        lo, hi = padded_limits(finite, include=0.0)
        ax.set_xlim(lo, hi)
    null = 1.0 if ratio else 0.0
    ax.plot([null, null], [-0.5, ylim[0]], color="#7F7F7F", lw=0.8, zorder=0)
    if reference is not None:
        r_est, r_lb, r_ub = reference
        if math.isfinite(r_lb) and math.isfinite(r_ub):
            ax.axvspan(
                r_lb,
                r_ub,
                ymin=0,
                ymax=n_rows / (n_rows + 1.0),
                color="#56B4E9",
                alpha=0.25,
                lw=0,
                zorder=0,
            )
        ax.plot([r_est, r_est], [-0.5, ylim[0]], color="#0072B2", lw=1.0, ls="--", zorder=1)
    for i in range(n):
        y = -(i + 1)
        ax_l.text(0, y, labels[i], ha="left", va="center", fontsize=8)
        ax_r.text(gap + right_w - gap, y, texts[i], ha="right", va="center", fontsize=8)
        if extra_right is not None:
            ax_r.text(
                gap + right_w + extra_w - gap / 2,
                y,
                extra_right[i],
                ha="right",
                va="center",
                fontsize=8,
            )
        if math.isfinite(lb[i]) and math.isfinite(ub[i]):
            ax.plot([lb[i], ub[i]], [y, y], color="#000000", lw=1.0, zorder=2)
        if math.isfinite(est[i]):
            ax.plot(est[i], y, marker="o", ms=4.5, color="#000000", zorder=3)
    if reference is not None:
        y = -(n + 1)
        r_est, r_lb, r_ub = reference
        ax_l.text(0, y, reference_label, ha="left", va="center", fontsize=8, fontweight="bold")
        ax_r.text(
            gap + right_w - gap,
            y,
            fmt_ci(r_est, r_lb, r_ub),
            ha="right",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
        if math.isfinite(r_lb) and math.isfinite(r_ub):
            from matplotlib.patches import Polygon

            ax.add_patch(
                Polygon(
                    [(r_lb, y), (r_est, y + 0.34), (r_ub, y), (r_est, y - 0.34)],
                    closed=True,
                    color="#000000",
                    zorder=3,
                )
            )
    ax.set_xlabel(xlabel)
    return fig, ax
