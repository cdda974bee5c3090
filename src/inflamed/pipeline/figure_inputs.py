"""From stage artefacts to the tidy frames the figure functions draw.

The figure functions in :mod:`inflamed.figures` know nothing about the pipeline; the pool stage's
artefacts know nothing about plotting. This module is the seam: each function reads artefacts
and returns exactly what one figure function takes, or a reason why there is nothing to draw
(then :func:`placeholder` draws a figure that says so, so a report never silently lacks one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from inflamed.analysis_sets import SET_SHORT, review_results
from inflamed.ingest.rob2 import domain_index, is_post_hoc_subgroup, judge_result
from inflamed.io import read_artefact_csv
from inflamed.labels import study_label
from inflamed.pipeline.published import align_published
from inflamed.stats.measures import is_ratio

if TYPE_CHECKING:  # the report reads this module's tables without drawing: no matplotlib there
    from matplotlib.figure import Figure

#: Beyond this many studies the cumulative plot shows one row per year instead of per study.
MAX_CUMULATIVE_ROWS = 40

SET_LABELS = {
    "crp_high": "Inflammation-selected (CRP-high) results",
    "whole": "Whole-sample results",
    "crp_low": "CRP-low results",
}


def read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_csv(path: str | Path) -> pd.DataFrame:
    """An artefact CSV, read by the project's one artefact convention (empty cell = missing)."""
    return read_artefact_csv(path)


@dataclass(frozen=True)
class FigureInput:
    """What to draw, or why nothing can be drawn (``reason``)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @property
    def drawable(self) -> bool:
        return not self.reason


def placeholder(title: str, reason: str) -> Figure:
    """A small figure that states why the real one could not be drawn."""
    import matplotlib.pyplot as plt

    from inflamed.figures.style import apply_style

    apply_style()
    fig, ax = plt.subplots(figsize=(6.5, 1.6))
    ax.axis("off")
    ax.text(0.0, 0.75, title, fontsize=10, fontweight="bold", transform=ax.transAxes)
    ax.text(0.0, 0.3, f"Not drawn: {reason}", fontsize=9, transform=ax.transAxes, wrap=True)
    return fig


def _model_label(summary: Mapping[str, Any]) -> str:
    settings = summary["settings"]
    test = {"knha": "Hartung-Knapp", "adhoc": "Hartung-Knapp (ad hoc)", "z": "Wald z", "t": "t"}
    return f"Random-effects model ({settings['method']}, {test.get(settings['test'], settings['test'])} CI)"


_POOLED_KEYS = (
    "subgroup", "estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "k", "tau2", "i2", "q", "q_df",
    "q_pval",
)  # fmt: skip


def forest_input(
    studies_csv: str | Path, summary_json: str | Path, subgroups_json: str | Path
) -> FigureInput:
    """Forest plot blocks: the inflammation-selected results, then the whole-sample results."""
    summary = read_json(summary_json)
    subgroups = read_json(subgroups_json)
    studies = read_csv(studies_csv)
    pooled_rows = []
    for name in ("crp_high", "whole", "crp_low"):
        block = summary["sets"].get(name, {})
        result = block.get("result")
        if not result:
            continue
        pooled_rows.append(
            {
                "subgroup": name,
                "estimate": result["estimate"],
                "ci_lb": result["ci_lb"],
                "ci_ub": result["ci_ub"],
                "pi_lb": result.get("pi_lb"),
                "pi_ub": result.get("pi_ub"),
                "k": block["k"],
                "tau2": result.get("tau2"),
                "i2": result.get("i2"),
                "q": result.get("q"),
                "q_df": result.get("q_df"),
                "q_pval": result.get("q_pval"),
            }
        )
    if not pooled_rows:
        return FigureInput(
            reason=f"no study reports {summary['label'].lower()} with usable numbers"
        )
    shown = {row["subgroup"] for row in pooled_rows}
    # A single study is its own estimate: draw it without a pooled diamond (nothing was pooled).
    pooled_rows = [row for row in pooled_rows if row["k"] >= 2]
    studies = studies[studies["analysis_set"].isin(shown)].copy()
    studies["subgroup"] = studies["analysis_set"]
    if summary["type"] == "continuous":
        # Event columns exist (empty) for every outcome; a continuous forest shows n, not e/n.
        studies = studies.drop(columns=["events_treat", "events_ctrl"], errors="ignore")
    test = subgroups.get("inflammation", {})
    options: dict[str, Any] = {
        "measure": summary["measure"],
        "outcome_label": summary["label"],
        "model_label": _model_label(summary),
        "subgroup_labels": SET_LABELS,
        "level": summary["settings"]["level"],
    }
    between = test.get("test_for_subgroup_differences") if test.get("reported") else None
    if between:
        options["subgroup_test"] = {
            "q": between["q"],
            "df": between["df"],
            "pval": between["pval"],
        }
    if summary["type"] == "binary":
        event = summary.get("event_is")
        options["favours"] = (
            ("favours control", "favours treatment")
            if event == "benefit"
            else ("favours treatment", "favours control")
        )
    return FigureInput(
        frames={
            "studies": studies,
            "pooled": pd.DataFrame(pooled_rows, columns=list(_POOLED_KEYS)),
        },
        options=options,
    )


def funnel_input(
    studies_csv: str | Path, summary_json: str | Path, small_study_json: str | Path
) -> FigureInput:
    """Funnel plot of the primary set, with Egger's test and trim-and-fill when reported."""
    summary = read_json(summary_json)
    small = read_json(small_study_json)
    primary = summary["primary_set"]
    studies = read_csv(studies_csv)
    studies = studies[studies["analysis_set"] == primary]
    result = summary["sets"].get(primary, {}).get("result")
    if result is None or len(studies) < 2:
        return FigureInput(
            reason=f"k = {len(studies)} in the {SET_SHORT.get(primary, primary)} set; "
            "a funnel needs at least 2 studies"
        )
    options: dict[str, Any] = {
        "estimate": result["estimate"],
        "measure": summary["measure"],
        "title": f"{summary['label']}: {SET_LABELS.get(primary, primary)}",
    }
    if small.get("reported"):
        egger = small["egger"]
        options["egger"] = {
            "stat": egger["statistic"],
            "stat_name": egger["dist"],
            "pval": egger["pval"],
            "method": "meta-regression on the standard error (metafor regtest)",
        }
        tf = small.get("trim_and_fill", {})
        if tf.get("k0"):
            options["filled"] = pd.DataFrame({"yi": tf["yi_fill"], "vi": tf["vi_fill"]})
            options["filled_estimate"] = tf.get("estimate")
    return FigureInput(frames={"yi": studies["yi"], "vi": studies["vi"]}, options=options)


def _not_run(frame: pd.DataFrame) -> str:
    if "not_run_because" in frame.columns and frame["not_run_because"].notna().any():
        return str(frame["not_run_because"].dropna().iloc[0])
    return ""


def leave_one_out_input(loo_csv: str | Path, summary_json: str | Path) -> FigureInput:
    """Leave-one-out estimates of the primary set, with the full-data estimate."""
    frame = read_csv(loo_csv)
    reason = _not_run(frame)
    if reason or frame.empty:
        return FigureInput(reason=reason or "no leave-one-out results")
    summary = read_json(summary_json)
    result = summary["sets"][summary["primary_set"]]["result"]
    frame = frame.rename(columns={"study_id": "omitted"})
    return FigureInput(
        frames={"frame": frame},
        options={
            "full_estimate": result["estimate"],
            "full_ci": (result["ci_lb"], result["ci_ub"]),
            "measure": summary["measure"],
            "title": f"{summary['label']}: leave-one-out ({SET_LABELS.get(summary['primary_set'])})",
        },
    )


def influence_input(influence_csv: str | Path) -> FigureInput:
    frame = read_csv(influence_csv)
    reason = _not_run(frame)
    if reason or frame.empty:
        return FigureInput(reason=reason or "no influence diagnostics")
    return FigureInput(frames={"frame": frame.rename(columns={"study_id": "study"})})


def cumulative_input(cumulative_csv: str | Path, summary_json: str | Path) -> FigureInput:
    frame = read_csv(cumulative_csv)
    reason = _not_run(frame)
    if reason or frame.empty:
        return FigureInput(reason=reason or "no cumulative results")
    summary = read_json(summary_json)
    frame = frame.assign(
        label=[f"+ {s} ({int(y)})" for s, y in zip(frame["study_id"], frame["year"], strict=True)]
    )
    if len(frame) > MAX_CUMULATIVE_ROWS:
        # A large review shows the state at the end of each year, as a living review reports it.
        frame = frame.groupby("year", sort=True).tail(1).copy()
        frame["label"] = [f"up to {int(y)}" for y in frame["year"]]
    return FigureInput(
        frames={"frame": frame},
        options={
            "measure": summary["measure"],
            "title": f"{summary['label']}: cumulative meta-analysis by year "
            f"({SET_LABELS.get(summary['primary_set'], summary['primary_set'])})",
        },
    )


_POPULATION = {"crp_high": "CRP-selected", "whole": "whole samples", "crp_low": "CRP-low"}


def _printed(printed: pd.DataFrame, index: int, flip: bool) -> str:
    """The estimate and CI as the source printed them ("1.28 [0.997, 1.64]"), sign aligned."""

    def keep(text: str) -> str:
        # At least two decimals (a sheet cell "0.4" lost the source's trailing zero), more when
        # the source printed more (0.997).
        decimals = len(text.partition(".")[2])
        return text if decimals >= 2 or not text else f"{float(text):.2f}"

    est, lb, ub = (keep(str(printed.at[index, c]).strip()) for c in ("estimate", "ci_lb", "ci_ub"))
    if flip:  # turned to "positive favours treatment": negate the text, swap the limits

        def turn(text: str) -> str:
            if text.startswith("-"):
                return text[1:]
            return text if text in ("0", "") else "-" + text

        est, lb, ub = turn(est), turn(ub), turn(lb)
    return f"{est} [{lb}, {ub}]".replace("-", "\u2212")


def comparison_input(
    pooled_csv: str | Path,
    published_csv: str | Path,
    outcomes: Mapping[str, Mapping[str, Any]],
    primary_subgroup: str,
) -> FigureInput:
    """This run's primary estimates beside every published estimate of the same outcomes."""
    pooled = read_csv(pooled_csv)
    published = read_csv(published_csv)
    # The numbers as printed, to keep the published precision (0.997 stays 0.997, not 1.00).
    printed = pd.read_csv(published_csv, dtype=str, keep_default_na=False)
    rows = []
    ours = pooled[(pooled["analysis_set"] == primary_subgroup) & pooled["estimable"].astype(bool)]
    if "instrument" in ours:  # the configured measure only, not the per-instrument MD rows
        ours = ours[ours["instrument"].fillna("") == ""]
    for _, row in ours.iterrows():
        rows.append(
            {
                "source": f"inflamed (this run, {_POPULATION.get(primary_subgroup, primary_subgroup)}, "
                f"k = {int(row['k'])})",
                "outcome": outcomes[row["outcome"]]["label"],
                "measure": row["measure"],
                "estimate": row["estimate"],
                "ci_lb": row["ci_lb"],
                "ci_ub": row["ci_ub"],
            }
        )
    for index, row in published[published["outcome"].isin(list(outcomes))].iterrows():
        # Every published estimate on inflamed's convention (pipeline.published), then on the
        # plotting scale: log for ratios, as pooled.csv holds them.
        aligned = align_published(
            row["measure"],
            row["estimate"],
            row["ci_lb"],
            row["ci_ub"],
            str(row["benefit_direction"]),
        )
        values = [aligned.estimate, aligned.ci_lb, aligned.ci_ub]
        if is_ratio(row["measure"]):
            values = [math.log(v) for v in values]
        outcome = outcomes[row["outcome"]]
        estimate, lb, ub = values
        secondary = "secondary source" in str(row.get("notes", "")).lower()
        population = _POPULATION.get(str(row.get("subgroup")), str(row.get("subgroup")))
        rows.append(
            {
                "source": f"{row['publication']} ({population}; "
                f"{'news digest, secondary' if secondary else 'publication'})",
                "outcome": outcome["label"],
                "measure": row["measure"],
                "estimate": estimate,
                "ci_lb": min(lb, ub),
                "ci_ub": max(lb, ub),
                "printed": _printed(printed, index, aligned.turned),
            }
        )
    if not rows:
        return FigureInput(reason="neither this run nor the published sources give an estimate")
    return FigureInput(frames={"frame": pd.DataFrame(rows)})


@dataclass(frozen=True)
class OutcomeFigure:
    """How one per-outcome figure is drawn from the pool stage's artefacts."""

    title: str
    build: Callable[[Mapping[str, str]], FigureInput]
    draw: Callable[[FigureInput], Figure]


def _forest(spec: FigureInput) -> Figure:
    from inflamed.figures.forest import forest_plot

    return forest_plot(spec.frames["studies"], spec.frames["pooled"], **spec.options)


def _funnel(spec: FigureInput) -> Figure:
    from inflamed.figures.funnel import funnel_plot

    return funnel_plot(spec.frames["yi"], spec.frames["vi"], **spec.options)


def _leave_one_out(spec: FigureInput) -> Figure:
    from inflamed.figures.influence import leave_one_out_plot

    return leave_one_out_plot(spec.frames["frame"], **spec.options)


def _influence(spec: FigureInput) -> Figure:
    from inflamed.figures.influence import influence_plot

    return influence_plot(spec.frames["frame"], **spec.options)


def _cumulative(spec: FigureInput) -> Figure:
    from inflamed.figures.cumulative import cumulative_plot

    return cumulative_plot(spec.frames["frame"], **spec.options)


#: Every per-outcome figure (keys: :data:`inflamed.pipeline.layout.OUTCOME_FIGURES`); ``build``
#: takes the outcome's pool artefacts by their :data:`inflamed.pipeline.layout.POOL_FILES` key.
OUTCOME_FIGURE_SPECS: Mapping[str, OutcomeFigure] = {
    "forest": OutcomeFigure(
        "Forest plot",
        lambda f: forest_input(f["studies"], f["summary"], f["subgroups"]),
        _forest,
    ),
    "funnel": OutcomeFigure(
        "Funnel plot",
        lambda f: funnel_input(f["studies"], f["summary"], f["small_study"]),
        _funnel,
    ),
    "leave_one_out": OutcomeFigure(
        "Leave-one-out",
        lambda f: leave_one_out_input(f["leave_one_out"], f["summary"]),
        _leave_one_out,
    ),
    "influence": OutcomeFigure(
        "Influence diagnostics", lambda f: influence_input(f["influence"]), _influence
    ),
    "cumulative": OutcomeFigure(
        "Cumulative meta-analysis",
        lambda f: cumulative_input(f["cumulative"], f["summary"]),
        _cumulative,
    ),
}


def paged_forest(
    pool_files: Mapping[str, str], *, max_rows: int, max_pages: int
) -> tuple[Figure, Iterator[Any]] | None:
    """A large review's forest: the pooled summary forest and its pages, or None when not paged.

    Beyond ``max_rows`` study rows (``figures.forest_max_rows``) the outcome's forest artefact is
    the summary forest (one row per analysis set) and the study rows go on at most ``max_pages``
    pages (:func:`inflamed.figures.forest_pages.forest_pages`, drawn one at a time).
    """
    from inflamed.figures.forest_pages import (
        forest_pages,
        needs_pages,
        page_count,
        rows_on_pages,
        summary_forest,
    )

    spec = forest_input(pool_files["studies"], pool_files["summary"], pool_files["subgroups"])
    if not spec.drawable or not needs_pages(spec.frames["studies"], max_rows):
        return None
    studies, pooled = spec.frames["studies"], spec.frames["pooled"]
    summary = summary_forest(
        pooled,
        measure=spec.options["measure"],
        outcome_label=spec.options["outcome_label"],
        subgroup_labels=spec.options.get("subgroup_labels"),
        level=spec.options.get("level", 95),
        pages=page_count(studies, max_rows, max_pages),
        rows_shown=rows_on_pages(studies, max_rows, max_pages),
    )
    pages = forest_pages(studies, pooled, max_rows=max_rows, max_pages=max_pages, **spec.options)
    return summary, pages


def draw_outcome_figure(figure: str, pool_files: Mapping[str, str], label: str) -> Figure:
    """Draw one per-outcome figure, or a figure saying why there is nothing to draw."""
    spec = OUTCOME_FIGURE_SPECS[figure]
    data = spec.build(pool_files)
    if data.drawable:
        return spec.draw(data)
    return placeholder(f"{spec.title}: {label}", data.reason)


def risk_of_bias_input(rob: pd.DataFrame, studies: pd.DataFrame | None) -> pd.DataFrame:
    """The RoB 2 judgements with each ``study_id`` replaced by the study's one label.

    The traffic-light and summary figures print their rows as given; the label is the one the
    pool stage and the report use (:func:`inflamed.labels.study_label`).
    """
    if studies is None or studies.empty or rob.empty:
        return rob
    labels = {str(r["study_id"]): study_label(r) for _, r in studies.iterrows()}
    ids = rob["study_id"].astype(str)
    return rob.assign(study_id=ids.map(labels).fillna(ids))


def rob_results_input(
    rob: pd.DataFrame,
    studies: pd.DataFrame | None,
    results: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """RoB 2 judgements per result, in the long form the traffic-light figure draws.

    Parameters
    ----------
    rob
        The ingest stage's ``risk_of_bias.csv`` (per trial and domain).
    studies
        The ingested studies sheet (row labels: the one study label).
    results
        Outcome label -> that outcome's pool ``studies.csv`` (one row per study x analysis set
        used in an analysis, with ``analysis_set`` and ``inflammation_selection``).

    Returns
    -------
    pandas.DataFrame
        ``study_id`` (row label "Raison 2013 | Response, CRP-high"), ``domain``, ``judgement``:
        by :func:`inflamed.ingest.rob2.judge_result`, as the report's per-result table.
    """
    labels = (
        {str(r["study_id"]): study_label(r) for _, r in studies.iterrows()}
        if studies is not None and not studies.empty
        else {}
    )
    index = domain_index(rob)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for outcome, frame in results.items():
        if frame is None or frame.empty or "analysis_set" not in frame:
            continue
        for _, r in frame.iterrows():
            study = str(r["study_id"])
            name = f"{labels.get(study, study)} | {outcome}, "
            name += SET_SHORT.get(str(r["analysis_set"]), str(r["analysis_set"]))
            if name in seen:  # a multi-arm trial's contrasts share one judgement per result
                continue
            seen.add(name)
            post_hoc = is_post_hoc_subgroup(r.get("analysis_set"), r.get("inflammation_selection"))
            domains, overall, _ = judge_result(
                dict(index.get(study, {})), post_hoc_subgroup=post_hoc
            )
            rows += [{"study_id": name, "domain": d, "judgement": j} for d, j in domains.items()]
            rows.append({"study_id": name, "domain": "overall", "judgement": overall})
    return pd.DataFrame(rows, columns=["study_id", "domain", "judgement"])


def rob_per_result(
    rob: pd.DataFrame | None,
    studies: pd.DataFrame | None,
    results: Mapping[str, pd.DataFrame | None],
    labels: Mapping[str, str],
    *,
    derivation_log: pd.DataFrame | None,
    contrasts: pd.DataFrame | None,
    instrument_effects: pd.DataFrame | None,
) -> pd.DataFrame:
    """Every result the review reports, judged by RoB 2: the per-result figure's long frame.

    ``results`` is outcome name -> its pool ``studies.csv`` and ``labels`` outcome name -> label.
    Besides the pooled rows, the double-zero tables set aside from a ratio and the rows only the
    instrument's mean-difference analysis uses are results too (RoB 2 judges each result), so
    they get rows (:func:`inflamed.analysis_sets.outcome_results`). The figure stage draws this
    frame and the report asks it how many rows the figure has.
    """
    if rob is None or rob.empty:  # nothing judged: no result has a judgement to draw
        return pd.DataFrame(columns=["study_id", "domain", "judgement"])
    by_outcome = review_results(
        results,
        studies,
        derivation_log=derivation_log,
        contrasts=contrasts,
        instrument_effects=instrument_effects,
    )
    by_label = {labels.get(name, name): frame for name, frame in by_outcome.items()}
    return rob_results_input(rob, studies, by_label)


#: Why a risk-of-bias figure is not drawn when nothing was judged: per study, and per result.
NO_STUDY_JUDGEMENTS = "no risk-of-bias judgements in risk_of_bias.csv"
NO_RESULT_JUDGEMENTS = "no result with a risk-of-bias judgement"


def rob_figure_reason(rob: pd.DataFrame, max_rows: int | None, *, empty: str) -> str:
    """Why a risk-of-bias traffic light of ``rob`` (long form) is not drawn, or "" to draw it.

    One row per study (or result) is readable up to ``max_rows`` rows (config
    ``figures.forest_max_rows``, the same "large" as the forest's): a review of thousands of
    assessed studies would give a figure hundreds of inches tall that takes minutes to draw.
    Then the judgements are read from the report's sortable tables and ``risk_of_bias.csv``.
    The figure stage and the report ask this one function, so they agree.
    """
    if rob.empty:
        return empty
    rows = rob["study_id"].nunique()
    if max_rows is not None and rows > max_rows:
        return (
            f"{rows} rows, more than the {max_rows} a figure shows readably "
            "(config figures.forest_max_rows); every judgement is in the report's sortable "
            "risk-of-bias tables and in risk_of_bias.csv"
        )
    return ""
