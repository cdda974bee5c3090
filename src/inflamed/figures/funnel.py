"""Contour-enhanced funnel plot, with Egger's test in the legend and an optional trim-and-fill view."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from inflamed.errors import InputError
from inflamed.figures._common import (
    fmt_num,
    fmt_p,
    is_ratio,
    measure_label,
    numeric_column,
    numeric_vector,
    require_columns,
    set_ratio_axis,
)
from inflamed.figures.style import PALETTE, apply_style
from inflamed.stats.distributions import norm_ppf

#: Shades of the significance contours, from the outermost (p < 1 - max level) inwards.
_CONTOUR_SHADES = ("#FFFFFF", "#E6E6E6", "#C8C8C8", "#A0A0A0")


def funnel_plot(
    yi: Sequence[float] | np.ndarray | pd.Series,
    vi: Sequence[float] | np.ndarray | pd.Series,
    *,
    estimate: float,
    measure: str,
    contours: Sequence[float] = (0.90, 0.95, 0.99),
    egger: Mapping[str, object] | None = None,
    filled: pd.DataFrame | None = None,
    filled_estimate: float | None = None,
    log_scale: bool | None = None,
    title: str | None = None,
    axis_label: str | None = None,
) -> Figure:
    """Draw a contour-enhanced funnel plot (effect against standard error).

    Parameters
    ----------
    yi, vi
        Observed effects and their sampling variances (log ratios for ratio measures).
    estimate
        Pooled estimate (same scale as ``yi``): the centre of the pseudo-confidence funnel.
    measure
        Effect measure; sets the axis label and, for ratios, the log axis.
    contours
        Confidence levels of the significance contours around the null (0, or 1 for ratios).
    egger
        Egger's regression test: ``stat`` (test statistic), ``pval`` and, optionally,
        ``stat_name`` (e.g. ``"t"`` or ``"z"``) and ``method`` (text, e.g. ``"weighted regression
        with multiplicative dispersion"``); shown in the legend.
    filled
        Trim-and-fill imputed studies, a DataFrame with columns ``yi``, ``vi``; drawn as open
        circles (the trim-and-fill variant).
    filled_estimate
        The trim-and-fill adjusted estimate, drawn as a dashed line when given.
    log_scale
        Whether ``yi`` are log ratios to plot exponentiated on a log axis (``None``: by measure).
    title, axis_label
        Optional title; override of the x-axis label.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Contour enhancement after Peters et al. (2008, J Clin Epidemiol 61:991): shaded regions mark
    where a study's two-sided Wald test against the null would have p between the contour levels
    (white: p > 1 - min(contours)). Studies missing from the "significant" regions suggest
    publication bias; studies missing from non-significant ones suggest another cause of
    asymmetry. The dashed funnel is the pseudo 95% confidence region around ``estimate``
    (Sterne & Egger 2001, J Clin Epidemiol 54:1046). Egger et al. (1997, BMJ 315:629) for the test;
    Duval & Tweedie (2000, Biometrics 56:455) for trim and fill.
    """
    apply_style()
    y = numeric_vector(yi, "yi")
    v = numeric_vector(vi, "vi")
    if len(y) != len(v):
        raise InputError(
            "yi and vi differ in length", value=(len(y), len(v)), expected="equal lengths"
        )
    if len(y) == 0:
        raise InputError("funnel_plot needs at least one study", column="yi")
    if (v <= 0).any():
        index = int(np.flatnonzero(v <= 0)[0])
        raise InputError(
            "a sampling variance is not positive",
            row=index + 2,
            column="vi",
            value=float(v[index]),
            expected="vi > 0",
        )
    levels = sorted(float(c) for c in contours)
    if any(not 0 < c < 1 for c in levels):
        raise InputError("contour levels must lie in (0, 1)", value=tuple(contours))
    fy = fv = np.array([])
    if filled is not None:
        require_columns(filled, ("yi", "vi"), argument="filled")
        fy = numeric_column(filled, "yi", argument="filled")
        fv = numeric_column(filled, "vi", argument="filled")
    ratio = is_ratio(measure, log_scale)
    tr = np.exp if ratio else (lambda a: a)

    se = np.sqrt(v)
    fse = np.sqrt(fv)
    se_max = float(max(se.max(), fse.max() if len(fse) else 0.0)) * 1.08
    se_grid = np.linspace(0, se_max, 200)
    z_max = norm_ppf(1 - (1 - levels[-1]) / 2)

    fig, ax = plt.subplots(figsize=(6.2, 4.6))
    all_y = np.concatenate([y, fy, [estimate, 0.0]])
    span_lo = min(all_y.min(), -z_max * se_max * 1.05, estimate - 1.96 * se_max)
    span_hi = max(all_y.max(), z_max * se_max * 1.05, estimate + 1.96 * se_max)
    pad = 0.04 * (span_hi - span_lo)
    lo, hi = span_lo - pad, span_hi + pad

    # Contours: fill the whole plane with the darkest shade, then paint lighter funnels inwards.
    handles: list[object] = []
    ax.fill_between(
        tr(np.array([lo, hi])), 0, se_max, color=_CONTOUR_SHADES[len(levels)], lw=0, zorder=0
    )
    outer = [f"p < {1 - levels[-1]:.2g}"]
    for idx, level in enumerate(reversed(levels)):
        z = norm_ppf(1 - (1 - level) / 2)
        shade = _CONTOUR_SHADES[len(levels) - 1 - idx]
        ax.fill_betweenx(se_grid, tr(-z * se_grid), tr(z * se_grid), color=shade, lw=0, zorder=0)
    bounds = [1 - c for c in levels]  # e.g. 0.10, 0.05, 0.01
    labels = []
    labels.append(f"p > {bounds[0]:.2g}")
    for upper, lower in itertools.pairwise(bounds):
        labels.append(f"{lower:.2g} < p < {upper:.2g}")
    labels.append(outer[0])
    for label, shade in zip(labels, _CONTOUR_SHADES, strict=False):
        handles.append(Patch(facecolor=shade, edgecolor=PALETTE["grey"], lw=0.5, label=label))

    # Pseudo-confidence funnel around the estimate.
    ax.plot(
        tr(estimate - 1.96 * se_grid), se_grid, color=PALETTE["black"], lw=0.8, ls="--", zorder=2
    )
    ax.plot(
        tr(estimate + 1.96 * se_grid), se_grid, color=PALETTE["black"], lw=0.8, ls="--", zorder=2
    )
    ax.plot([tr(estimate)] * 2, [0, se_max], color=PALETTE["black"], lw=1.0, zorder=2)
    handles.append(
        Line2D(
            [],
            [],
            color=PALETTE["black"],
            lw=1.0,
            label=f"Pooled estimate ({fmt_num(float(tr(estimate)))})",
        )
    )
    handles.append(Line2D([], [], color=PALETTE["black"], lw=0.8, ls="--", label="Pseudo 95% CI"))
    ax.plot([tr(0.0)] * 2, [0, se_max], color=PALETTE["grey"], lw=0.6, ls=":", zorder=1)

    ax.scatter(tr(y), se, s=26, color=PALETTE["blue"], edgecolor=PALETTE["black"], lw=0.5, zorder=4)
    handles.append(
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=5,
            mfc=PALETTE["blue"],
            mec=PALETTE["black"],
            mew=0.5,
            label=f"Studies (k = {len(y)})",
        )
    )
    if len(fy):
        ax.scatter(
            tr(fy), fse, s=26, facecolor="white", edgecolor=PALETTE["vermillion"], lw=1.0, zorder=4
        )
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=5,
                mfc="white",
                mec=PALETTE["vermillion"],
                mew=1.0,
                label=f"Imputed by trim and fill ({len(fy)})",
            )
        )
    if filled_estimate is not None and math.isfinite(filled_estimate):
        ax.plot(
            [tr(filled_estimate)] * 2,
            [0, se_max],
            color=PALETTE["vermillion"],
            lw=1.0,
            ls="-.",
            zorder=3,
        )
        handles.append(
            Line2D(
                [],
                [],
                color=PALETTE["vermillion"],
                lw=1.0,
                ls="-.",
                label=f"Trim-and-fill estimate ({fmt_num(float(tr(filled_estimate)))})",
            )
        )
    if egger is not None:
        stat = egger.get("stat", egger.get("statistic", egger.get("zval", egger.get("tval"))))
        pval = egger.get("pval", egger.get("p"))
        if stat is None or pval is None:
            raise InputError(
                "egger needs 'stat' and 'pval'",
                value=sorted(egger),
                expected="keys stat, pval[, stat_name, method]",
            )
        name = str(egger.get("stat_name", "statistic"))
        text = f"Egger's test: {name} = {fmt_num(float(stat))}, {fmt_p(float(pval))}"  # type: ignore[arg-type]
        method = egger.get("method")
        if method:
            text += f"\n({method})"
        handles.append(Line2D([], [], ls="", label=text))

    ax.set_ylim(se_max, 0)
    if ratio:
        set_ratio_axis(ax, float(np.exp(lo)), float(np.exp(hi)))
    else:
        ax.set_xlim(lo, hi)
    ax.set_ylabel("Standard error")
    ax.set_xlabel(axis_label or measure_label(measure, ratio))
    if title:
        ax.set_title(title, loc="left", fontweight="bold")
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        title="Contours (two-sided p vs null)",
        title_fontsize=8,
        alignment="left",
    )
    return fig
