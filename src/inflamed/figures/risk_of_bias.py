"""Risk-of-bias (RoB 2) figures: the traffic-light plot and the summary bar chart.

The look of the Cochrane robvis tool (McGuinness & Higgins 2021, Res Synth Methods 12:55):
one coloured circle with a symbol per study and domain, and per domain the share of studies at
each judgement. Drawn with matplotlib; colours from :data:`inflamed.figures.style.ROB_COLOURS`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from inflamed.errors import InputError
from inflamed.figures._common import require_columns
from inflamed.figures.style import ROB_COLOURS, apply_style

DOMAINS = [
    ("D1_randomisation", "D1", "Randomisation process"),
    ("D2_deviations", "D2", "Deviations from intended interventions"),
    ("D3_missing_data", "D3", "Missing outcome data"),
    ("D4_measurement", "D4", "Measurement of the outcome"),
    ("D5_selection_of_reported_result", "D5", "Selection of the reported result"),
    ("overall", "Overall", "Overall risk of bias"),
]
JUDGEMENTS = [
    ("low", "+", "Low"),
    ("some_concerns", "\u2212", "Some concerns"),
    ("high", "\u00d7", "High"),
    ("not_assessed", "?", "Not assessed"),
]
_SYMBOL = {key: symbol for key, symbol, _ in JUDGEMENTS}


def _validate(rob: pd.DataFrame) -> pd.DataFrame:
    require_columns(rob, ["study_id", "domain", "judgement"], argument="rob")
    known_domains = {d for d, _, _ in DOMAINS}
    known_judgements = set(_SYMBOL)
    for i, (domain, judgement) in enumerate(zip(rob["domain"], rob["judgement"], strict=True)):
        if domain not in known_domains:
            raise InputError(
                "unknown RoB 2 domain",
                row=i + 2,
                column="domain",
                value=domain,
                expected=", ".join(sorted(known_domains)),
            )
        if judgement not in known_judgements:
            raise InputError(
                "unknown judgement",
                row=i + 2,
                column="judgement",
                value=judgement,
                expected=", ".join(sorted(known_judgements)),
            )
    return rob


def _legend_handles() -> list[Patch]:
    return [
        Patch(facecolor=ROB_COLOURS[k], edgecolor="none", label=f"{s}  {label}")
        for k, s, label in JUDGEMENTS
    ]


def rob_traffic_light(rob: pd.DataFrame, *, title: str = "Risk of bias (RoB 2)") -> Figure:
    """One row per study, one column per RoB 2 domain; a missing judgement is drawn as not assessed.

    Parameters
    ----------
    rob
        Columns ``study_id``, ``domain`` (``D1_randomisation`` ... ``D5_selection_of_reported_result``,
        ``overall``) and ``judgement`` (``low``, ``some_concerns``, ``high``, ``not_assessed``).
    """
    apply_style()
    rob = _validate(rob)
    studies = sorted(rob["study_id"].astype(str).unique())
    table = rob.pivot_table(index="study_id", columns="domain", values="judgement", aggfunc="first")
    n = len(studies)
    fig, ax = plt.subplots(figsize=(7.6, 1.9 + 0.38 * n))
    for row, study in enumerate(studies):
        y = n - 1 - row
        for col, (domain, _, _) in enumerate(DOMAINS):
            judgement = (
                table.loc[study].get(domain, "not_assessed")
                if study in table.index
                else "not_assessed"
            )
            judgement = judgement if isinstance(judgement, str) else "not_assessed"
            ax.scatter(col, y, s=330, color=ROB_COLOURS[judgement], edgecolors="white", zorder=2)
            ax.text(
                col,
                y,
                _SYMBOL[judgement],
                ha="center",
                va="center",
                fontsize=10,
                color="white" if judgement != "some_concerns" else "black",
                fontweight="bold",
                zorder=3,
            )
    ax.set_xticks(range(len(DOMAINS)), [short for _, short, _ in DOMAINS])
    ax.xaxis.tick_top()
    ax.set_yticks(range(n), studies[::-1])
    ax.set_xlim(-0.6, len(DOMAINS) - 0.4)
    ax.set_ylim(-0.7, n - 0.3)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0)
    key = "   ".join(f"{short}: {name}" for _, short, name in DOMAINS[:-1])
    fig.text(0.01, 0.01, key, fontsize=6.5, wrap=True)
    ax.legend(
        handles=_legend_handles(),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        title="Judgement",
    )
    ax.set_title(title, loc="left", fontweight="bold", pad=22)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def rob_summary(rob: pd.DataFrame, *, title: str = "Risk of bias across studies (RoB 2)") -> Figure:
    """Per domain, the percentage of studies at each judgement (unweighted, as robvis draws it)."""
    apply_style()
    rob = _validate(rob)
    n_studies = rob["study_id"].nunique()
    fig, ax = plt.subplots(figsize=(7.6, 2.8))
    for row, (domain, _, _) in enumerate(DOMAINS):
        shares = rob.loc[rob["domain"] == domain, "judgement"].value_counts()
        missing = n_studies - int(shares.sum())
        left = 0.0
        y = len(DOMAINS) - 1 - row
        for key, _, _ in JUDGEMENTS:
            count = int(shares.get(key, 0)) + (missing if key == "not_assessed" else 0)
            width = 100.0 * count / n_studies if n_studies else 0.0
            if width:
                ax.barh(y, width, left=left, color=ROB_COLOURS[key], edgecolor="white", height=0.7)
                if width >= 8:
                    ax.text(
                        left + width / 2,
                        y,
                        f"{count}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if key in {"low", "high"} else "black",
                    )
            left += width
    ax.set_yticks(np.arange(len(DOMAINS))[::-1], [name for _, _, name in DOMAINS])
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"Studies (%), n = {n_studies}; numbers in the bars are study counts")
    ax.legend(
        handles=_legend_handles(),
        loc="upper center",
        bbox_to_anchor=(0.4, -0.3),
        ncol=4,
        frameon=False,
    )
    ax.set_title(title, loc="left", fontweight="bold")
    fig.tight_layout()
    return fig
