"""The pool stage: every analysis of one outcome, from the extracted effects to artefacts.

This module only orchestrates; the statistics live in :mod:`inflamed.stats.pooling`,
:mod:`inflamed.stats.binary`, :mod:`inflamed.stats.subgroups`, :mod:`inflamed.stats.influence`,
:mod:`inflamed.stats.small_study` and :mod:`inflamed.stats.cumulative`.

The analysis sets (``crp_high``, ``whole``, ``crp_low``) are defined in
:mod:`inflamed.analysis_sets`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inflamed.analysis_sets import SET_SHORT, analysis_sets, set_aside_by_set
from inflamed.io import write_csv, write_json
from inflamed.labels import study_label
from inflamed.rare_events import rare_event_analyses, tables_with_set_aside
from inflamed.stats.binary import rma_mh, rma_peto
from inflamed.stats.cumulative import cumulative_meta_analysis
from inflamed.stats.distributions import norm_ppf
from inflamed.stats.influence import case_deletion
from inflamed.stats.measures import RATIO_MEASURES
from inflamed.stats.pooling import rma
from inflamed.stats.presets import preset
from inflamed.stats.small_study import begg_test, egger_test
from inflamed.stats.subgroups import subgroup_analysis
from inflamed.stats.trim_fill import trim_and_fill

#: Fewest studies for each analysis; below it the artefact says why it was not run.
MIN_K = {"pool": 1, "leave_one_out": 3, "influence": 3, "cumulative": 2, "subgroup": 2}

#: Begg's rank test uses the exact null distribution of Kendall's statistic below this k and the
#: normal approximation from it on, as R's ``cor.test`` decides by default (exact for n < 50).
#: The exact distribution costs O(k^3): about a second at k = 500, hours at k = 5,000; at k = 50 the
#: normal approximation's p-value is within 0.01 of the exact one (checked on simulated sets) and
#: the gap shrinks as k grows. ``small_study.json`` records which was used (``exact``).
BEGG_EXACT_BELOW_K = 50


def rma_settings(pooling: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`inflamed.stats.pooling.rma` keyword arguments for a validated ``pooling`` config."""
    settings = dict(preset(pooling.get("preset", "cochrane")))
    for key in ("method", "test"):
        if pooling.get(key):
            settings[key] = pooling[key]
    settings["level"] = float(pooling.get("level", 95))
    return settings


def _study_label(row: pd.Series, several_contrasts: bool) -> str:
    # The label extract wrote from the studies sheet (one function for every output).
    given = row.get("study_label")
    label = given if isinstance(given, str) and given else study_label(row)
    contrast = row.get("contrast")
    # Only a multi-arm trial needs its drug to tell its contrasts apart.
    if several_contrasts and isinstance(contrast, str) and contrast.count("_vs_") == 1:
        drug = contrast.split("_vs_")[0].replace("_", " ")
        label = f"{label} ({drug})"
    return label


def _fit(rows: pd.DataFrame, settings: Mapping[str, Any]) -> tuple[Any | None, str]:
    """Fit the random-effects model, or say in words why it cannot be fitted."""
    k = len(rows)
    if k < MIN_K["pool"]:
        return (
            None,
            "no study in this set has usable numbers for this outcome (see missing_data.csv)",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # k = 1 warns; the artefact says it instead
        return rma(rows["yi"].to_numpy(), rows["vi"].to_numpy(), **settings), ""


def _ratio_scale(result: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
    return {key: (math.exp(result[key]) if result.get(key) is not None else None) for key in keys}


def _set_summary(
    rows: pd.DataFrame, settings: Mapping[str, Any], measure: str
) -> tuple[dict[str, Any], Any | None]:
    fit, reason = _fit(rows, settings)
    # n_total: both arms (after a shared-control split), or a contrast-level row's reported N.
    counts = rows["n_total"] if "n_total" in rows else rows[["n_treat", "n_ctrl"]].sum(axis=1)
    n = counts.sum(min_count=1) if len(rows) else 0
    summary: dict[str, Any] = {
        "k": len(rows),
        "n_participants": int(n) if not pd.isna(n) else None,
        "studies": sorted(rows["study_id"].unique().tolist()),
        "estimable": fit is not None,
    }
    if fit is None:
        summary["reason"] = reason
        return summary, None
    result = fit.to_dict(qprofile=fit.k >= 2 and fit.method != "FE")
    if fit.k == 1:
        summary["note"] = "a single study: its own estimate, no pooling and no heterogeneity"
        for key in ("tau2", "se_tau2", "i2", "i2_ht", "h2", "pi_lb", "pi_ub", "q", "q_pval"):
            result[key] = None
    summary["result"] = result
    if measure in RATIO_MEASURES:
        summary["ratio_scale"] = _ratio_scale(result)
    return summary, fit


def _study_rows(rows: pd.DataFrame, fit: Any | None, level: float) -> pd.DataFrame:
    crit = norm_ppf(0.5 + level / 200)
    out = rows.copy()
    per_study = rows.groupby("study_id")["contrast"].nunique() if "contrast" in rows else {}
    out["label"] = [
        _study_label(r, int(per_study.get(r["study_id"], 1)) > 1) for _, r in rows.iterrows()
    ]
    out["sei"] = np.sqrt(out["vi"])
    out["ci_lb"] = out["yi"] - crit * out["sei"]
    out["ci_ub"] = out["yi"] + crit * out["sei"]
    out["weight"] = fit.weights if fit is not None else np.nan
    return out


def _binary_sensitivity(rows: pd.DataFrame, measure: str, level: float) -> dict[str, Any]:
    """Mantel-Haenszel (and Peto for OR) fixed-effect estimates from the 2x2 counts."""
    needed = ["events_treat", "n_treat", "events_ctrl", "n_ctrl"]
    usable = rows.dropna(subset=needed)
    if usable.empty:
        return {"reported": False, "reason": "no study reports the 2x2 counts"}
    args = [usable[c].to_numpy(dtype=float) for c in needed]
    out: dict[str, Any] = {"reported": True, "k": len(usable)}
    out["mantel_haenszel"] = _estimability(rma_mh(*args, measure=measure, level=level).to_dict())
    if measure == "OR":
        out["peto"] = _estimability(rma_peto(*args, level=level).to_dict())
    return out


def _estimability(result: dict[str, Any]) -> dict[str, Any]:
    """Say "not estimable" and why where the engine returns NaN (its ``reason``), never 0 or 1."""
    return {"estimable": result.get("reason") is None, **result}


def instrument_md(rows: pd.DataFrame, settings: Mapping[str, Any], outcome: str) -> dict[str, Any]:
    """The mean difference in each instrument's own points, per analysis set.

    Parameters
    ----------
    rows
        The extract stage's ``instrument_effects.csv`` (measure MD; other outcomes ignored).
    settings
        :func:`rma_settings`.
    outcome
        The outcome's name.

    Returns
    -------
    dict
        ``{instrument: {"measure": "MD", "unit": ..., "sets": {set: set summary}}}``; each set
        summary as in ``summary.json`` plus ``contrast_level_rows`` (how many of its studies
        gave a between-arm difference instead of arm numbers). Instruments are never mixed.
    """
    rows = rows[rows["outcome"] == outcome].dropna(subset=["yi", "vi"])
    out: dict[str, Any] = {}
    if rows.empty:
        return out
    sets = analysis_sets(rows)
    for instrument in sorted(sets["instrument"].unique()):
        part = sets[sets["instrument"] == instrument]
        block: dict[str, Any] = {}
        for name in ("crp_high", "whole", "crp_low"):
            set_rows = part[part["analysis_set"] == name]
            if set_rows.empty:
                continue
            block[name], _ = _set_summary(set_rows, settings, "MD")
            block[name]["contrast_level_rows"] = int((set_rows["input_level"] == "contrast").sum())
        out[instrument] = {"measure": "MD", "unit": f"{instrument} points", "sets": block}
    return out


def _subgroup_block(
    rows: pd.DataFrame, column: str, settings: Mapping[str, Any], label: str
) -> dict[str, Any]:
    rows = rows.dropna(subset=[column])
    groups = rows[column].astype(str)
    if groups.nunique() < 2 or len(rows) < MIN_K["subgroup"] + 1:
        return {
            "reported": False,
            "reason": f"needs studies in at least two {label} groups (have "
            f"{groups.nunique()} group(s), k = {len(rows)})",
        }
    result = subgroup_analysis(
        rows["yi"].to_numpy(), rows["vi"].to_numpy(), groups.to_numpy(), **settings
    )
    return {"reported": True, **result.to_dict()}


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Everything the pool stage reports for one outcome (written by :meth:`write`)."""

    summary: dict[str, Any]
    studies: pd.DataFrame
    subgroups: dict[str, Any]
    leave_one_out: pd.DataFrame
    influence: pd.DataFrame
    small_study: dict[str, Any]
    cumulative: pd.DataFrame

    def write(self, **paths: str | Path) -> None:
        """Write each part to the path given under its name (summary=..., studies=..., ...)."""
        write_json(paths["summary"], self.summary)
        write_csv(paths["studies"], self.studies)
        write_json(paths["subgroups"], self.subgroups)
        write_csv(paths["leave_one_out"], self.leave_one_out)
        write_csv(paths["influence"], self.influence)
        write_json(paths["small_study"], self.small_study)
        write_csv(paths["cumulative"], self.cumulative)


def _empty(columns: Sequence[str], reason: str) -> pd.DataFrame:
    frame = pd.DataFrame(columns=[*columns, "not_run_because"])
    frame.loc[0, "not_run_because"] = reason
    return frame


def analyse_outcome(
    effects: pd.DataFrame,
    *,
    outcome: str,
    spec: Mapping[str, Any],
    pooling: Mapping[str, Any],
    primary_subgroup: str = "crp_high",
    instrument_effects: pd.DataFrame | None = None,
    set_aside: pd.DataFrame | None = None,
) -> OutcomeAnalysis:
    """Run every analysis of one outcome.

    Parameters
    ----------
    effects
        The extract stage's ``effects.csv`` (all outcomes; rows of other outcomes are ignored).
    outcome
        The outcome's name.
    spec
        The outcome's config (``type``, ``measure``, ``label``, ``event_is``).
    pooling
        The validated ``pooling`` config.
    primary_subgroup
        The analysis set whose estimate is the headline.
    instrument_effects
        The extract stage's ``instrument_effects.csv``: for an outcome analysed as SMD, the
        summary also holds the MD in each instrument's points (``instrument_md``).
    set_aside
        2x2 tables extract set aside for no events in both arms
        (:func:`inflamed.rare_events.set_aside_tables`); used by the rare-event analyses only.
    """
    settings = rma_settings(pooling)
    level = settings["level"]
    measure = spec["measure"]
    rows = effects[(effects["outcome"] == outcome)].dropna(subset=["yi", "vi"])
    sets = analysis_sets(rows)
    aside = set_aside_by_set(set_aside, effects, outcome)

    summary: dict[str, Any] = {
        "outcome": outcome,
        "label": spec.get("label", outcome),
        "type": spec["type"],
        "measure": measure,
        "event_is": spec.get("event_is"),
        "scale": "log" if measure in RATIO_MEASURES else "identity",
        "direction": (
            "positive favours treatment"
            if spec["type"] == "continuous"
            else f"ratio > 1: more events on treatment (an event is a {spec.get('event_is')})"
        ),
        "primary_set": primary_subgroup,
        "settings": {**settings, "preset": pooling.get("preset", "cochrane")},
        "sets": {},
    }
    if instrument_effects is not None and not instrument_effects.empty:
        summary["instrument_md"] = instrument_md(instrument_effects, settings, outcome)
    study_frames = []
    fits: dict[str, Any] = {}
    for name in ("crp_high", "whole", "crp_low"):
        set_rows = sets[sets["analysis_set"] == name]
        set_summary, fit = _set_summary(set_rows, settings, measure)
        fits[name] = fit
        if spec["type"] == "binary" and set_summary["estimable"]:
            set_summary["fixed_effect_counts"] = _binary_sensitivity(set_rows, measure, level)
        if spec["type"] == "binary" and pooling.get("rare_events"):
            set_summary["rare_events"] = rare_event_analyses(
                tables_with_set_aside(set_rows, aside[aside["analysis_set"] == name]),
                pooling["rare_events"],
                level=level,
            )
        summary["sets"][name] = set_summary
        if len(set_rows):
            study_frames.append(_study_rows(set_rows, fit, level))
    studies = (
        pd.concat(study_frames, ignore_index=True)
        if study_frames
        else pd.DataFrame(columns=[*sets.columns, "label", "sei", "ci_lb", "ci_ub", "weight"])
    )

    primary = sets[sets["analysis_set"] == primary_subgroup]
    k = len(primary)
    subgroups = {
        "inflammation": _subgroup_block(
            sets[sets["analysis_set"].isin(["crp_high", "crp_low"])],
            "analysis_set",
            settings,
            "CRP stratum",
        ),
        "mechanism_class": _subgroup_block(primary, "mechanism_class", settings, "drug class"),
        "note": (
            "The inflammation test compares CRP-high with CRP-low strata (independent patients). "
            "CRP-high and whole-sample estimates share patients and are shown side by side only."
        ),
    }

    yi, vi = primary["yi"].to_numpy(), primary["vi"].to_numpy()
    set_words = SET_SHORT.get(primary_subgroup, primary_subgroup)
    loo_cols = ["study_id", "estimate", "ci_lb", "ci_ub", "tau2", "i2"]
    if k >= MIN_K["leave_one_out"]:
        # One set of k refits (batch engine) serves both tables. The diagnostics label studies by
        # position; name them by study_id instead.
        loo_result, infl_result = case_deletion(yi, vi, **settings)
        loo = loo_result.to_frame().drop(columns=["study", "omitted"])
        loo.insert(0, "study_id", primary["study_id"].to_numpy())
        infl = infl_result.to_frame().drop(columns=["study"])
        infl.insert(0, "study_id", primary["study_id"].to_numpy())
    else:
        reason = f"k = {k} in the {set_words} set; needs at least {MIN_K['leave_one_out']}"
        loo = _empty(loo_cols, reason)
        infl = _empty(["study_id", "rstudent", "cook_d", "hat"], reason)

    min_k = int(pooling.get("small_study_min_k", 10))
    if k >= min_k:
        small: dict[str, Any] = {
            "reported": True,
            "k": k,
            "egger": egger_test(yi, vi, **settings).to_dict(),
            "egger_classic": egger_test(yi, vi, model="lm").to_dict(),
            "begg": begg_test(yi, vi, exact=k < BEGG_EXACT_BELOW_K).to_dict(),
            "trim_and_fill": trim_and_fill(yi, vi, **settings).to_dict(),
        }
    else:
        small = {
            "reported": False,
            "k": k,
            "reason": f"k = {k} < {min_k}: tests for funnel-plot asymmetry have too little power "
            "to be meaningful (Cochrane Handbook 10.4.3.1)",
        }

    if k >= MIN_K["cumulative"]:
        # Studies enter by publication year (ties keep input order, as metafor's cumul does).
        cumulative = cumulative_meta_analysis(
            yi,
            vi,
            primary["year"].to_numpy(dtype=float),
            labels=primary["study_id"].to_numpy(),
            **settings,
        ).to_frame()
        years = dict(zip(primary["study_id"], primary["year"], strict=True))
        cumulative = cumulative.rename(columns={"study": "study_id"})
        cumulative.insert(1, "year", cumulative["study_id"].map(years))
        cumulative = cumulative.drop(columns=["added", "order"], errors="ignore")
    else:
        cumulative = _empty(
            ["study_id", "year", "estimate", "ci_lb", "ci_ub"],
            f"k = {k} in the {set_words} set; needs at least {MIN_K['cumulative']}",
        )

    return OutcomeAnalysis(
        summary=summary,
        studies=studies,
        subgroups=subgroups,
        leave_one_out=loo,
        influence=infl,
        small_study=small,
        cumulative=cumulative,
    )


def pooled_table(summary_paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per outcome x analysis set: the headline numbers of every ``summary.json``.

    Outcomes analysed as SMDs add one row per instrument x analysis set with the mean difference
    in that instrument's points (``measure`` MD, ``instrument`` named; empty for the configured
    analysis), after the configured rows of the same outcome and set.
    """
    rows = []
    for path in summary_paths:
        summary = json.loads(Path(path).read_text(encoding="utf-8"))
        analyses = [("", summary["label"], summary["measure"], summary["sets"])]
        analyses += [
            (name, f"{summary['label']}, {md['unit']}", md["measure"], md["sets"])
            for name, md in summary.get("instrument_md", {}).items()
        ]
        for instrument, label, measure, sets in analyses:
            for set_name, block in sets.items():
                result = block.get("result", {})
                ratio = block.get("ratio_scale", {})
                rows.append(
                    {
                        "outcome": summary["outcome"],
                        "label": label,
                        "measure": measure,
                        "instrument": instrument,
                        "analysis_set": set_name,
                        "primary": set_name == summary["primary_set"] and not instrument,
                        "k": block["k"],
                        "n_participants": block.get("n_participants"),
                        "estimable": block["estimable"],
                        "estimate": result.get("estimate"),
                        "ci_lb": result.get("ci_lb"),
                        "ci_ub": result.get("ci_ub"),
                        "pi_lb": result.get("pi_lb"),
                        "pi_ub": result.get("pi_ub"),
                        "pval": result.get("pval"),
                        "tau2": result.get("tau2"),
                        "i2": result.get("i2"),
                        "ratio_estimate": ratio.get("estimate"),
                        "ratio_ci_lb": ratio.get("ci_lb"),
                        "ratio_ci_ub": ratio.get("ci_ub"),
                        "reason": block.get("reason", block.get("note", "")),
                    }
                )
    return pd.DataFrame(rows).sort_values(["outcome", "analysis_set"], kind="mergesort")
