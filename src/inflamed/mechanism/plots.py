"""Figures of the mechanism stage (model diagram, fit vs targets, profiles, interventions, CRP bubbles).

Every function returns a matplotlib Figure drawn in the project style; the stage saves it with
:func:`inflamed.figures.style.save_figure` (deterministic bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import NullFormatter

from inflamed.figures.style import PALETTE, apply_style
from inflamed.mechanism.cascade import INTERVENTIONS, SPEC
from inflamed.mechanism.fitting import CHI2_95_1DF, FitResult, Objective, Profile
from inflamed.mechanism.who_benefits import MECHANISM_CLASSES, BetweenTrialResult

CLASS_COLOURS = {
    "cytokine_inhibitor": PALETTE["blue"],
    "nsaid_cox2": PALETTE["orange"],
    "minocycline": PALETTE["green"],
    "other": PALETTE["purple"],
}


def model_diagram() -> Figure:
    """Boxes-and-arrows diagram of the cascade, with where each intervention acts."""
    apply_style()
    fig, ax = plt.subplots(figsize=(11.5, 4.4))
    ax.set_xlim(-0.3, 10.6)
    ax.set_ylim(0, 4.4)
    ax.axis("off")
    nodes = {
        "stress": (0.6, 3.0, "stress\n(CSDS)  s"),
        "E": (2.3, 3.0, "extracellular\n'danger' ATP  E"),
        "P": (4.0, 3.0, "microglial P2X7\nactivation  P"),
        "M": (5.7, 3.0, "microglial\nactivation  M"),
        "L": (7.4, 3.0, "microglial\nIL-6  L"),
        "R": (9.1, 3.0, "astrocytic IL-6R\nsignalling  R"),
        "S": (9.1, 1.4, "surviving\nastrocytes  S"),
        "T": (7.1, 1.4, "tonic astrocytic\nATP release  T"),
        "B": (5.1, 1.4, "behavioural\ndeficit  B (SD)"),
    }
    for key, (x, y, text) in nodes.items():
        colour = PALETTE["sky"] if key in ("E", "T") else "#EEEEEE"
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.7, y - 0.38),
                1.4,
                0.76,
                boxstyle="round,pad=0.04",
                fc=colour,
                ec=PALETTE["black"],
                lw=0.8,
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5)
    edges = [
        ("stress", "E", "+"),
        ("E", "P", "+"),
        ("P", "M", "+"),
        ("M", "L", "+"),
        ("L", "R", "+"),
        ("R", "S", "−"),
        ("S", "T", "+"),
        ("T", "B", "−"),
    ]
    for a, b, sign in edges:
        xa, ya, _ = nodes[a]
        xb, yb, _ = nodes[b]
        if ya == yb:
            start, end = (xa + 0.74 * np.sign(xb - xa), ya), (xb - 0.74 * np.sign(xb - xa), yb)
        else:
            start, end = (xa, ya - 0.42), (xb, yb + 0.42)
        ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.0, color="k")
        )
        mx, my = 0.5 * (start[0] + end[0]), 0.5 * (start[1] + end[1])
        if ya == yb:
            ax.text(mx, my + 0.1, sign, fontsize=9, ha="center", va="bottom")
        else:
            ax.text(mx + 0.12, my, sign, fontsize=9, ha="left", va="center")
    # direct stress -> behaviour path (b_0)
    ax.add_patch(
        FancyArrowPatch(
            (0.6, 2.58),
            (4.42, 1.45),
            arrowstyle="-|>",
            mutation_scale=10,
            lw=0.9,
            ls="--",
            color=PALETTE["grey"],
            connectionstyle="arc3,rad=0.25",
        )
    )
    ax.text(
        1.2, 1.25, "other stress\npathways (b_0)", fontsize=7, color=PALETTE["grey"], ha="center"
    )
    interventions = [
        (4.0, 3.5, "P2X7 antagonist /\nmicroglial P2X7R knockdown"),
        (5.7, 3.5, "minocycline"),
        (7.4, 3.5, "microglial IL-6 kd;\nanti-IL-6 antibody"),
        (9.35, 3.5, "astrocytic IL-6R kd;\nanti-IL-6R antibody"),
    ]
    for x, y, text in interventions:
        ax.text(x, y, text, ha="center", va="bottom", fontsize=7, color=PALETTE["vermillion"])
    ax.text(
        0.1,
        0.25,
        "Blue: the two ATP quantities kept apart - high extracellular ATP opening low-affinity microglial P2X7 (E) "
        "and tonic astrocytic ATP acting on neurons (T).\nVermillion: where each simulated intervention acts. "
        "Normalised to basal levels; only steady-state gains can be informed by endpoint data.",
        fontsize=7,
        va="bottom",
    )
    return fig


def fit_vs_targets(obj: Objective, fit: FitResult) -> Figure:
    """Observed targets (with 95 % CI where the source gave one) against the best-fit model."""
    apply_style()
    mags = list(obj.targets.fitted)
    ineq = list(obj.targets.inequalities)
    n_panels = len(mags) + (1 if ineq else 0)
    widths = [1.0] * len(mags) + ([2.6] if ineq else [])
    fig, axes = plt.subplots(
        1,
        max(1, n_panels),
        figsize=(3.0 + 2.2 * n_panels, 3.8),
        gridspec_kw={"width_ratios": widths or [1]},
    )
    axes = np.atleast_1d(axes)
    for ax, (t, (se, assumed)) in zip(axes, zip(mags, obj.scales, strict=True), strict=False):
        ax.errorbar(
            [0],
            [t.value],
            yerr=[[1.96 * se], [1.96 * se]],
            fmt="o",
            color=PALETTE["black"],
            capsize=4,
            label="published" + (" (SE assumed)" if assumed else ""),
        )
        ax.plot(
            [0.35],
            [fit.predictions[t.target_id]],
            "D",
            color=PALETTE["vermillion"],
            label="model (best fit)",
        )
        ax.set_xlim(-0.6, 1.0)
        ax.set_xticks([])
        ax.set_title(f"{t.target_id}: {t.quantity}\n{t.intervention} vs {t.comparison}", fontsize=8)
        ax.set_ylabel("ratio" if t.unit == "ratio" else "SD units")
        ax.legend(loc="lower center", fontsize=6.5, frameon=False, bbox_to_anchor=(0.5, -0.28))
    if ineq:
        ax = axes[-1]
        labels, margins, colours = [], [], []
        for t in ineq:
            v = fit.predictions[t.target_id]
            margin = (v - t.value) if t.relation == ">" else (t.value - v)
            labels.append(f"{t.target_id} {t.quantity} {t.relation} {t.value:g}")
            margins.append(margin)
            colours.append(PALETTE["green"] if margin >= 0 else PALETTE["vermillion"])
        y = np.arange(len(ineq))[::-1]
        ax.barh(y, margins, color=colours, height=0.6)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=6.5)
        ax.set_xlabel(
            "margin by which the model satisfies the direction\n(ratio or SD units; > 0 = satisfied)"
        )
        ax.set_title("direction-only targets (Shen et al. 2025 abstract)", fontsize=8)
    fig.tight_layout()
    return fig


def profiles_figure(profiles: Sequence[Profile]) -> Figure:
    """Profile likelihood (delta chi2) of every parameter with the 95 % threshold."""
    apply_style()
    n = len(profiles)
    ncol = 4
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(10.5, 2.3 * nrow), squeeze=False)
    colours = {
        "identifiable": PALETTE["green"],
        "practically non-identifiable": PALETTE["orange"],
        "structurally non-identifiable": PALETTE["vermillion"],
    }
    for ax, prof in zip(axes.flat, profiles, strict=False):
        spec = SPEC[prof.name]
        ax.plot(prof.grid, prof.chi2, "-o", ms=2.5, color=colours.get(prof.verdict, "k"))
        ax.axhline(CHI2_95_1DF, color=PALETTE["grey"], ls="--", lw=0.8)
        if spec.log:
            ax.set_xscale("log")
        top = max(
            CHI2_95_1DF * 2.5,
            float(np.nanmax(prof.chi2)) * 1.05 if np.isfinite(prof.chi2).any() else 1,
        )
        ax.set_ylim(-0.3, min(top, 40))
        ax.set_xlabel(f"{prof.name} [{spec.unit}]", fontsize=7.5)
        ax.set_ylabel("Δχ²", fontsize=7.5)
        short = {
            "identifiable": "identifiable",
            "practically non-identifiable": "practically non-id.",
            "structurally non-identifiable": "structurally non-id.",
        }[prof.verdict]
        ax.set_title(f"{prof.name}: {short}", fontsize=8, color=colours.get(prof.verdict, "k"))
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(
        "Profile likelihood of every parameter (dashed: 95% threshold, χ²₁ = 3.84; clipped at 40)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def interventions_figure(table: pd.DataFrame) -> Figure:
    """Predicted behavioural rescue per intervention, before vs after stress, with region range."""
    apply_style()
    names = sorted(table["intervention"].unique())
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(names) + 1.6))
    offsets = {"before": 0.17, "after": -0.17}
    colours = {"before": PALETTE["blue"], "after": PALETTE["orange"]}
    for timing in ("before", "after"):
        sub = table[table["timing"] == timing].set_index("intervention").loc[names]
        y = np.arange(len(names))[::-1] + offsets[timing]
        lo = sub["rescue_sd_best"] - sub["rescue_sd_region_min"]
        hi = sub["rescue_sd_region_max"] - sub["rescue_sd_best"]
        ax.errorbar(
            sub["rescue_sd_best"],
            y,
            xerr=[lo.clip(lower=0), hi.clip(lower=0)],
            fmt="o",
            color=colours[timing],
            capsize=3,
            label=f"given {timing} stress onset"
            if timing == "before"
            else "given after stress is established",
        )
    ax.set_yticks(np.arange(len(names))[::-1])
    ax.set_yticklabels([INTERVENTIONS[n][1] for n in names], fontsize=7.5)
    lo_all = float(table["rescue_sd_region_min"].min()) if len(table) else 0.0
    if lo_all > 0:  # rescues span orders of magnitude: a log axis keeps the best fits readable
        ax.set_xscale("log")
        scale_note = " (log scale)"
    else:
        ax.axvline(0, color="k", lw=0.7)
        scale_note = ""
    ax.set_xlabel(
        "predicted behavioural rescue, B(stress) − B(stress + intervention) [SD units]" + scale_note
    )
    ax.set_title(
        "Point: best fit; bar: range over parameter sets inside the 95% likelihood region\n"
        "(parameters the targets do not identify, and scenario efficiencies, widen the bars)",
        fontsize=8,
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def crp_bubble(
    effects: pd.DataFrame, regression: BetweenTrialResult | None, outcome: str | None
) -> Figure:
    """Dose-response bubble plot: whole-trial effect vs the trial's CRP cut-off, by class."""
    apply_style()
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    eff = effects.copy() if effects is not None else pd.DataFrame()
    moderator = regression.moderator if regression is not None else "crp_cutoff_mg_l"
    ok = (
        len(eff)
        and {"subgroup", "yi", "vi", moderator}.issubset(eff.columns)
        and outcome is not None
    )
    if ok:
        eff = eff[(eff["subgroup"] == "whole") & (eff["outcome"] == outcome)]
        x = pd.to_numeric(eff[moderator], errors="coerce")
        eff = eff[np.isfinite(x) & (x > 0)]
        if moderator == "crp_cutoff_mg_l" and "inflammation_selection" in eff.columns:
            eff = eff[eff["inflammation_selection"].astype(str) == "selected"]
    if not ok or len(eff) == 0:
        ax.text(
            0.5,
            0.5,
            "No whole-trial effects with a usable CRP value for this outcome:\nnothing to plot (k = 0)."
            + (
                "\n(cut-off regression: only trials that enrolled by CRP count)"
                if moderator == "crp_cutoff_mg_l"
                else ""
            ),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_xscale("log")
        ax.set_xlim(0.5, 10)
        ax.set_yticks([])
    else:
        se = np.sqrt(eff["vi"].to_numpy(dtype=float))
        size = 400 * (1 / se) / (1 / se).max()
        ax.errorbar(
            pd.to_numeric(eff[moderator]),
            eff["yi"],
            yerr=1.959964 * se,
            fmt="none",
            ecolor=PALETTE["grey"],
            lw=0.8,
            capsize=2,
            zorder=0,
            label="95% CI of each trial",
        )
        classes = eff.get(
            "mechanism_class", pd.Series(["other"] * len(eff), index=eff.index)
        ).fillna("other")
        for cls in [*MECHANISM_CLASSES, *sorted(set(classes) - set(MECHANISM_CLASSES))]:
            m = (classes == cls).to_numpy()
            if m.any():
                ax.scatter(
                    pd.to_numeric(eff[moderator])[m],
                    eff["yi"][m],
                    s=size[m],
                    color=CLASS_COLOURS.get(cls, PALETTE["grey"]),
                    alpha=0.6,
                    edgecolor="k",
                    lw=0.5,
                    label=cls.replace("_", " "),
                )
        if regression is not None and regression.status == "estimated":
            xs = np.geomspace(regression.x_min, regression.x_max, 60)
            xn = np.log(xs) if regression.scale == "log" else xs
            pr = regression.model.predict(xn)
            ax.plot(xs, pr.pred, color="k", lw=1.2, label="meta-regression (observed range)")
            ax.fill_between(
                xs, pr.ci_lb, pr.ci_ub, color=PALETTE["grey"], alpha=0.25, lw=0, label="95% CI"
            )
        elif regression is not None:
            ax.text(
                0.02,
                0.97,
                "meta-regression " + regression.reason,
                transform=ax.transAxes,
                fontsize=8,
                va="top",
                bbox={"fc": "white", "ec": PALETTE["grey"], "lw": 0.5},
            )
        ax.margins(y=0.12)
        ax.set_xscale("log")
        lo = min(0.8, float(pd.to_numeric(eff[moderator]).min()) * 0.8)
        hi = max(6.5, float(pd.to_numeric(eff[moderator]).max()) * 1.25)
        ax.set_xlim(lo, hi)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, markerscale=0.5)
    for thr in (1, 2, 3, 5):
        ax.axvline(thr, color=PALETTE["grey"], ls=":", lw=0.8)
    ax.set_xticks([1, 2, 3, 5])
    ax.set_xticklabels(["1", "2", "3", "5"])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xlabel(f"{moderator.replace('_mg_l', '')} (mg/L, log scale)")
    ax.set_ylabel("effect (positive favours treatment)")
    simulated = (
        len(eff) > 0
        and "review" in eff.columns
        and (eff["review"].astype(str) == "simulated").all()
    )
    tag = "SIMULATED DATA - " if simulated else ""
    ax.set_title(
        f"{tag}Benefit vs inflammation, between trials: {outcome or 'no outcome'}\n(bubble area ∝ 1/SE; between-trial association, prone to ecological bias)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
