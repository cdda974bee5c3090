"""Risk-of-bias (RoB 2) traffic-light plot and summary bar chart, in the robvis look."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from inflamed.errors import InputError
from inflamed.figures._common import figure_title, require_columns, text_width_in
from inflamed.figures.style import ROB_COLOURS, apply_style
from inflamed.ingest.rob2 import overall_judgement

#: RoB 2 domains in display order, with the short column header and the full name for the key.
DOMAINS = {
    "D1_randomisation": ("D1", "Bias arising from the randomisation process"),
    "D2_deviations": ("D2", "Bias due to deviations from intended interventions"),
    "D3_missing_data": ("D3", "Bias due to missing outcome data"),
    "D4_measurement": ("D4", "Bias in measurement of the outcome"),
    "D5_selection_of_reported_result": ("D5", "Bias in selection of the reported result"),
    "overall": ("Overall", "Overall risk of bias"),
}

#: Judgements in display order: label and symbol (robvis: + low, - some concerns, X high).
JUDGEMENTS = {
    "low": ("Low", "+"),
    "some_concerns": ("Some concerns", "\u2212"),
    "high": ("High", "\u00d7"),
    "not_assessed": ("Not assessed", "?"),
}

ROB_COLUMNS = ("study_id", "domain", "judgement")


def _validated(rob: pd.DataFrame) -> pd.DataFrame:
    require_columns(rob, ROB_COLUMNS, argument="risk-of-bias table")
    if len(rob) == 0:
        raise InputError(
            "risk-of-bias table has no rows", expected="one row per study x RoB 2 domain"
        )
    rob = rob.reset_index(drop=True)
    for column, allowed in (("domain", DOMAINS), ("judgement", JUDGEMENTS)):
        values = rob[column].astype(str).str.strip()
        bad = ~values.isin(list(allowed))
        if bad.any():
            index = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"unknown RoB 2 {column}",
                row=index + 2,
                column=column,
                value=rob[column].iloc[index],
                expected=", ".join(allowed),
            )
        rob[column] = values
    rob["study_id"] = rob["study_id"].astype(str)
    duplicated = rob.duplicated(["study_id", "domain"])
    if duplicated.any():
        index = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise InputError(
            "a study has two judgements for one domain",
            row=index + 2,
            column="domain",
            value=f"{rob['study_id'].iloc[index]} / {rob['domain'].iloc[index]}",
            expected="one row per study x domain",
        )
    return rob


def _grid(rob: pd.DataFrame) -> tuple[list[str], list[str], pd.DataFrame]:
    """Studies (first-appearance order), domains present (canonical order), judgement grid."""
    studies = list(dict.fromkeys(rob["study_id"]))
    domains = [d for d in DOMAINS if d in set(rob["domain"])]
    grid = rob.pivot(index="study_id", columns="domain", values="judgement")
    grid = grid.reindex(index=studies, columns=domains).fillna("not_assessed")
    if "overall" in domains:  # the overall column follows RoB 2's algorithm, not a stale cell
        for study in studies:
            row = {d: str(grid.at[study, d]) for d in domains}
            grid.at[study, "overall"] = overall_judgement(row)[0]
    return studies, domains, grid


def rob_traffic_light(rob: pd.DataFrame, *, title: str | None = "Risk of bias (RoB 2)") -> Figure:
    """Traffic-light plot: one row per study, one column per RoB 2 domain.

    Parameters
    ----------
    rob
        The ingest stage's ``risk_of_bias.csv``: ``study_id``, ``domain`` (one of
        ``D1_randomisation``, ``D2_deviations``, ``D3_missing_data``, ``D4_measurement``,
        ``D5_selection_of_reported_result``, ``overall``) and ``judgement`` (``low``,
        ``some_concerns``, ``high``, ``not_assessed``). A domain with no row for a study is drawn
        as not assessed; domains with no row for any study are left out.
    title
        Figure title (``None`` for none).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    RoB 2 (Sterne et al. 2019, BMJ 366:l4898); the look follows robvis (McGuinness & Higgins
    2021, Res Synth Methods 12:55): coloured circles with a symbol, so the plot reads in grey
    scale too, a judgement legend and a key to the domain codes.
    """
    apply_style()
    rob = _validated(rob)
    studies, domains, grid = _grid(rob)
    n, m = len(studies), len(domains)
    # room for the tick pad too: a long label (a sponsor as author) otherwise touches the edge
    label_w = max(text_width_in(s) for s in studies) + 0.35
    cell = 0.36
    key_lines = [f"{DOMAINS[d][0]}: {DOMAINS[d][1]}" for d in domains if d != "overall"]
    key_h = 0.16 * (len(key_lines) + 1) + 0.2
    fig_w = max(label_w + m * cell + 1.9, 5.2)
    fig_h = 0.55 + n * cell + 0.35 + key_h
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((label_w / fig_w, (key_h + 0.1) / fig_h, m * cell / fig_w, n * cell / fig_h))
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    ax.set_xticks(range(m))
    ax.set_xticklabels([DOMAINS[d][0] for d in domains], fontweight="bold")
    ax.xaxis.tick_top()
    ax.set_yticks(range(n))
    ax.set_yticklabels(studies)
    for j in range(m):
        ax.axvline(j - 0.5, color="#DDDDDD", lw=0.6)
    for i in range(n + 1):
        ax.axhline(i - 0.5, color="#DDDDDD", lw=0.6)
    for i, study in enumerate(studies):
        for j, domain in enumerate(domains):
            judgement = grid.loc[study, domain]
            ax.scatter(
                j, i, s=190, color=ROB_COLOURS[judgement], edgecolor="#333333", lw=0.5, zorder=3
            )
            ax.text(
                j,
                i,
                JUDGEMENTS[judgement][1],
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                color="#000000",
                zorder=4,
            )
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=9,
            mfc=ROB_COLOURS[j],
            mec="#333333",
            mew=0.5,
            label=f"{sym}  {name}",
        )
        for j, (name, sym) in JUDGEMENTS.items()
    ]
    ax.legend(
        handles=handles,
        title="Judgement",
        loc="upper left",
        bbox_to_anchor=(1.0 + 0.2 / (m * cell), 1.0),
        frameon=False,
        alignment="left",
    )
    fig.text(
        0.02 / fig_w,
        key_h / fig_h,
        "Domains:\n" + "\n".join(key_lines),
        ha="left",
        va="top",
        fontsize=7.5,
        linespacing=1.35,
    )
    figure_title(fig, title, fig_w, fig_h)
    return fig


def rob_summary(rob: pd.DataFrame, *, title: str | None = "Risk of bias summary (RoB 2)") -> Figure:
    """Summary bar chart: per domain, the percentage of studies with each judgement.

    Parameters
    ----------
    rob
        As for :func:`rob_traffic_light`.
    title
        Figure title (``None`` for none).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Unweighted (each study counts once), as robvis' default summary plot (McGuinness & Higgins
    2021). The number of studies is in the axis label; domains missing for a study count as not
    assessed.
    """
    apply_style()
    rob = _validated(rob)
    studies, domains, grid = _grid(rob)
    n = len(studies)
    names = [DOMAINS[d][1] if d != "overall" else "Overall risk of bias" for d in domains]
    label_w = max(text_width_in(s, bold=False) for s in names) + 0.2
    fig_w = label_w + 4.2
    fig_h = 0.9 + 0.34 * len(domains) + 0.5
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((label_w / fig_w, 0.75 / fig_h, 4.0 / fig_w, 0.34 * len(domains) / fig_h))
    y = np.arange(len(domains))
    left = np.zeros(len(domains))
    for judgement, (name, _sym) in JUDGEMENTS.items():
        share = np.array([100.0 * (grid[d] == judgement).sum() / n for d in domains])
        if not share.any():
            continue
        ax.barh(
            y,
            share,
            left=left,
            color=ROB_COLOURS[judgement],
            edgecolor="#333333",
            lw=0.5,
            height=0.7,
            label=name,
        )
        for yy, lft, sh in zip(y, left, share, strict=True):
            if sh >= 8:
                ax.text(
                    lft + sh / 2,
                    yy,
                    f"{sh:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="#FFFFFF" if judgement == "high" else "#000000",
                )
        left += share
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    for tick, domain in zip(ax.get_yticklabels(), domains, strict=True):
        if domain == "overall":
            tick.set_fontweight("bold")
    ax.set_ylim(len(domains) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel(f"Studies (%, of k = {n}, unweighted)")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.legend(
        loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False, handlelength=1.2
    )
    figure_title(fig, title, fig_w, fig_h)
    return fig
