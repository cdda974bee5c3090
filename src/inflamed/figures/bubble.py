"""Meta-regression bubble plot: study effects against a moderator, bubble area proportional to weight."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from inflamed.errors import InputError
from inflamed.figures._common import numeric_column, numeric_vector, require_columns
from inflamed.figures.style import PALETTE, apply_style

LINE_COLUMNS = ("x", "pred", "ci_lb", "ci_ub")


def bubble_plot(
    x: Sequence[float] | np.ndarray | pd.Series,
    yi: Sequence[float] | np.ndarray | pd.Series,
    vi: Sequence[float] | np.ndarray | pd.Series,
    *,
    line: pd.DataFrame | None = None,
    xlabel: str,
    ylabel: str,
    labels: Sequence[str] | None = None,
    tau2: float = 0.0,
    title: str | None = None,
) -> Figure:
    """Draw a meta-regression bubble plot.

    Parameters
    ----------
    x
        The moderator per study (e.g. baseline CRP in mg/L).
    yi, vi
        Study effects and sampling variances (on the scale the regression used).
    line
        The fitted line: DataFrame with ``x``, ``pred`` and its confidence band ``ci_lb``,
        ``ci_ub`` (e.g. metafor's ``predict(res, newmods=...)`` over a grid).
    xlabel, ylabel
        Axis labels, with units and the sign convention.
    labels
        Optional study labels written beside the bubbles.
    tau2
        Residual heterogeneity of the model; weights are ``1 / (vi + tau2)`` as in the
        random-effects meta-regression (0 gives inverse-variance weights).
    title
        Optional title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Bubble area is proportional to the model weight, as in metafor's ``regplot`` (Viechtbauer
    2010); the horizontal dotted line marks no effect. Thompson & Higgins (2002, Stat Med 21:1559)
    on meta-regression.
    """
    apply_style()
    xs, ys, vs = numeric_vector(x, "x"), numeric_vector(yi, "yi"), numeric_vector(vi, "vi")
    if not len(xs) == len(ys) == len(vs):
        raise InputError(
            "x, yi and vi differ in length",
            value=(len(xs), len(ys), len(vs)),
            expected="equal lengths",
        )
    if len(xs) == 0:
        raise InputError("bubble_plot needs at least one study", column="yi")
    if (vs <= 0).any():
        index = int(np.flatnonzero(vs <= 0)[0])
        raise InputError(
            "a sampling variance is not positive",
            row=index + 2,
            column="vi",
            value=float(vs[index]),
            expected="vi > 0",
        )
    if labels is not None and len(labels) != len(xs):
        raise InputError("labels differ in length from x", value=len(labels), expected=str(len(xs)))
    weights = 1.0 / (vs + max(float(tau2), 0.0))
    area = 400.0 * weights / weights.max()
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    ax.axhline(0, color=PALETTE["grey"], lw=0.8, ls=":", zorder=0)
    handles = []
    if line is not None:
        require_columns(line, LINE_COLUMNS, argument="line")
        line = line.sort_values("x", kind="mergesort")
        lx = numeric_column(line, "x", argument="line")
        pred = numeric_column(line, "pred", argument="line")
        lb = numeric_column(line, "ci_lb", argument="line", allow_missing=True)
        ub = numeric_column(line, "ci_ub", argument="line", allow_missing=True)
        ax.fill_between(lx, lb, ub, color=PALETTE["sky"], alpha=0.3, lw=0, zorder=1)
        ax.plot(lx, pred, color=PALETTE["blue"], lw=1.5, zorder=2)
        handles.append(
            Line2D([], [], color=PALETTE["blue"], lw=1.5, label="Fitted meta-regression")
        )
        handles.append(
            Line2D([], [], color=PALETTE["sky"], lw=6, alpha=0.5, label="95% CI of the fit")
        )
    order = np.argsort(-area, kind="mergesort")  # big bubbles first so small ones stay visible
    ax.scatter(
        xs[order],
        ys[order],
        s=area[order],
        color=PALETTE["orange"],
        alpha=0.75,
        edgecolor=PALETTE["black"],
        lw=0.6,
        zorder=3,
    )
    handles.append(
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=8,
            mfc=PALETTE["orange"],
            mec=PALETTE["black"],
            alpha=0.75,
            label="Study (area \u221d weight)",
        )
    )
    if labels is not None:
        for xx, yy, text, size in zip(xs, ys, labels, area, strict=True):
            r = float(np.sqrt(size / np.pi))  # bubble radius in points: label just outside it
            ax.annotate(
                str(text),
                (xx, yy),
                xytext=(0.75 * r + 2, 0.75 * r + 1),
                textcoords="offset points",
                fontsize=7,
                zorder=4,
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(x=0.08, y=0.12)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        ax.set_title(title, loc="left", fontweight="bold")
    return fig
