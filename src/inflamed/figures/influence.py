"""Leave-one-out and influence-diagnostics plots (sensitivity of the pooled estimate to each study)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures._common import (
    MAX_TEXT_ROWS,
    interval_rows_figure,
    is_ratio,
    measure_label,
    measure_short,
    numeric_column,
    optional_numeric,
    require_columns,
    text_width_in,
)
from inflamed.figures.style import PALETTE, apply_style
from inflamed.stats.distributions import chi2_ppf

LOO_COLUMNS = ("omitted", "estimate", "ci_lb", "ci_ub")
INFLUENCE_COLUMNS = ("study", "rstudent", "cook_d", "hat", "dffits")
_TRUE = {"true", "1", "yes", "*", "y", "t"}


def leave_one_out_plot(
    frame: pd.DataFrame,
    *,
    full_estimate: float | None = None,
    full_ci: Sequence[float] | None = None,
    measure: str = "SMD",
    log_scale: bool | None = None,
    title: str | None = None,
    axis_label: str | None = None,
) -> Figure:
    """Plot the pooled estimate with each study omitted in turn, against the full-data estimate.

    Parameters
    ----------
    frame
        One row per omitted study (the pool stage's ``<outcome>/leave_one_out.csv``): ``omitted``
        (the study left out), ``estimate``, ``ci_lb``, ``ci_ub`` (the pooled estimate without it;
        log ratios for ratio measures). Optional ``tau2``, ``i2`` (percent) are printed. The
        full-data estimate comes from ``full_estimate``/``full_ci`` or, failing those, from
        columns ``full_estimate``, ``full_ci_lb``, ``full_ci_ub`` of ``frame``.
    full_estimate, full_ci
        The estimate (and CI) with every study included.
    measure, log_scale
        Effect measure; ratio measures are exponentiated and drawn on a log axis.
    title, axis_label
        Optional title; override of the x-axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Leave-one-out analysis as metafor's ``leave1out`` (Viechtbauer 2010): each row refits the
    model without one study. The full-data estimate is the bottom diamond, with a dashed line and
    a band for its CI so that rows leaving the band stand out.
    """
    apply_style()
    require_columns(frame, LOO_COLUMNS, argument="leave-one-out frame")
    if len(frame) == 0:
        raise InputError("leave-one-out frame has no rows", expected="one row per omitted study")
    frame = frame.reset_index(drop=True)
    est = numeric_column(frame, "estimate", argument="leave-one-out frame")
    lb = numeric_column(frame, "ci_lb", argument="leave-one-out frame", allow_missing=True)
    ub = numeric_column(frame, "ci_ub", argument="leave-one-out frame", allow_missing=True)
    if full_estimate is None:
        if "full_estimate" not in frame.columns:
            raise InputError(
                "the full-data estimate is missing: pass full_estimate= or a column",
                column="full_estimate",
                expected="full_estimate (and full_ci) keyword or columns full_estimate, full_ci_lb, full_ci_ub",
            )
        full_estimate = float(
            numeric_column(frame, "full_estimate", argument="leave-one-out frame")[0]
        )
        f_lb = optional_numeric(frame, "full_ci_lb", argument="leave-one-out frame")[0]
        f_ub = optional_numeric(frame, "full_ci_ub", argument="leave-one-out frame")[0]
    else:
        f_lb, f_ub = (
            (float(full_ci[0]), float(full_ci[1])) if full_ci is not None else (math.nan, math.nan)
        )
    ratio = is_ratio(measure, log_scale)
    tr = np.exp if ratio else (lambda a: a)
    tau2 = optional_numeric(frame, "tau2", argument="leave-one-out frame")
    i2 = optional_numeric(frame, "i2", argument="leave-one-out frame")
    extra = None
    if np.isfinite(i2).any():
        extra = [f"{v:.0f}%" if math.isfinite(v) else "\u2013" for v in i2]
    elif np.isfinite(tau2).any():
        extra = [f"{v:.3f}" if math.isfinite(v) else "\u2013" for v in tau2]
    extra_header = "I\u00b2" if np.isfinite(i2).any() else "\u03c4\u00b2"
    labels = [f"Omitting {s}" for s in frame["omitted"].astype(str)]
    fig, _ax = interval_rows_figure(
        labels,
        tr(est),
        tr(lb),
        tr(ub),
        ratio=ratio,
        xlabel=axis_label or measure_label(measure, ratio),
        title=title,
        header="Study omitted",
        right_header=f"{measure_short(measure)} [95% CI]",
        reference=(float(tr(full_estimate)), float(tr(f_lb)), float(tr(f_ub))),
        reference_label=f"All studies (k = {len(frame)})",
        extra_right=extra,
        extra_header=extra_header,
    )
    return fig


def _flags(frame: pd.DataFrame) -> np.ndarray:
    """The influential flag from ``inf`` or ``influential`` (the pool stage's name); else none."""
    column = next((c for c in ("inf", "influential") if c in frame.columns), None)
    if column is None:
        return np.zeros(len(frame), dtype=bool)
    return np.array([str(v).strip().lower() in _TRUE for v in frame[column]], dtype=bool)


def influence_plot(frame: pd.DataFrame, *, title: str | None = None, n_coef: int = 1) -> Figure:
    """Small multiples of the influence diagnostics of each study.

    Parameters
    ----------
    frame
        One row per study (the pool stage's ``<outcome>/influence.csv``): ``study``,
        ``rstudent`` (externally studentised residual), ``cook_d`` (Cook's distance), ``hat``
        (leverage), ``dffits`` and optionally ``inf`` or ``influential`` (flag: true/false, 1/0 or ``*``).
    title
        Optional title.
    n_coef
        Number of model coefficients ``p`` (1 for an intercept-only model), for the cut-offs.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Panels share the study axis. Dotted lines mark metafor's cut-offs for an influential case
    (``influence.rma.uni``; Viechtbauer & Cheung 2010, Res Synth Methods 1:112):
    |DFFITS| > 3 sqrt(p / (k - p)), Cook's distance above the median of a chi-square with p
    degrees of freedom, hat > 3 p / k; for the studentised residuals the lines are +/- 1.96.
    Studies flagged influential are drawn in vermillion and starred.
    """
    apply_style()
    require_columns(frame, INFLUENCE_COLUMNS, argument="influence frame")
    if len(frame) == 0:
        raise InputError("influence frame has no rows", expected="one row per study")
    frame = frame.reset_index(drop=True)
    k = len(frame)
    flags = _flags(frame)
    labels = [
        f"{s} *" if f else str(s) for s, f in zip(frame["study"].astype(str), flags, strict=True)
    ]
    p = n_coef
    panels = [
        ("rstudent", "Studentised residual", (-1.96, 1.96)),
        (
            "dffits",
            "DFFITS",
            (-3 * math.sqrt(p / (k - p)), 3 * math.sqrt(p / (k - p))) if k > p else (),
        ),
        ("cook_d", "Cook's distance", (float(chi2_ppf(0.5, p)),)),
        ("hat", "Hat value (leverage)", (3 * p / k,)),
    ]
    compact = k > MAX_TEXT_ROWS  # too many rows to name: name the flagged studies only
    shown = [labels[i] for i in np.flatnonzero(flags)] if compact else labels
    if compact and flags.sum() > MAX_TEXT_ROWS:
        shown = []
    label_w = max([text_width_in(s) for s in shown] + [0.3]) + 0.15
    panel_w = 1.55
    height = 0.75 + 0.2 * min(k, MAX_TEXT_ROWS) + (0.35 if title else 0.0)
    fig, axes = plt.subplots(
        1,
        4,
        figsize=(label_w + 4 * panel_w + 0.5, height),
        sharey=True,
        gridspec_kw={"wspace": 0.12, "bottom": 0.55 / height, "top": 1 - 0.45 / height},
    )
    y = -np.arange(k, dtype=float)
    colours = np.where(flags, PALETTE["vermillion"], PALETTE["blue"])
    for ax, (column, name, cuts) in zip(axes, panels, strict=True):
        values = numeric_column(frame, column, argument="influence frame", allow_missing=True)
        for cut in cuts:
            ax.axvline(cut, color=PALETTE["grey"], lw=0.8, ls=":", zorder=0)
        if column in ("rstudent", "dffits"):
            ax.axvline(0, color=PALETTE["grey"], lw=0.6, zorder=0)
        if not compact:
            for yy in y:
                ax.axhline(yy, color="#EEEEEE", lw=0.5, zorder=0)
        ok = np.isfinite(values)
        ax.scatter(
            values[ok],
            y[ok],
            c=colours[ok],
            s=8 if compact else 22,
            edgecolor=PALETTE["black"],
            lw=0.4,
            zorder=3,
        )
        ax.set_title(name, fontsize=8.5)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.set_ylim(-k + 0.5, 0.5)
        finite = list(values[ok]) + list(cuts)
        if finite:
            lo, hi = min(finite), max(finite)
            span = hi - lo if hi > lo else 1.0
            ax.set_xlim(lo - 0.12 * span, hi + 0.12 * span)
    if compact:
        axes[0].set_yticks(y[flags] if shown else [])
        axes[0].set_yticklabels(shown, fontsize=6)
        for tick in axes[0].get_yticklabels():
            tick.set_color(PALETTE["vermillion"])
        axes[0].set_ylabel(
            f"{k} studies in input order; flagged studies named"
            if shown
            else f"{k} studies in input order",
            fontsize=7.5,
        )
    else:
        axes[0].set_yticks(y)
        axes[0].set_yticklabels(labels)
        for tick, flag in zip(axes[0].get_yticklabels(), flags, strict=True):
            if flag:
                tick.set_color(PALETTE["vermillion"])
    for ax in axes[1:]:
        ax.tick_params(axis="y", left=False)
        ax.spines["left"].set_visible(False)
    note = (
        "* influential by metafor's criteria"
        if flags.any()
        else "no study meets metafor's criteria for an influential case"
    )
    fig.text(
        0.01,
        max(0.0, fig.subplotpars.bottom - 0.32 / height),  # just under the tick labels
        f"Dotted lines: cut-offs (see caption); {note}.",
        fontsize=7.5,
        ha="left",
        va="top",
    )
    if title:
        # Above the panel titles: bottom of the title 0.3 in over the top of the axes (clear of the panel titles).
        top = fig.subplotpars.top
        fig.text(
            0.01, top + 0.3 / height, title, ha="left", va="bottom", fontweight="bold", fontsize=10
        )
    return fig
