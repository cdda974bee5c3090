"""Which effect rows enter which analysis set of an outcome.

Analysis sets
-------------
``crp_high`` (the inflammation-selected evidence, usually the primary set)
    Rows reported for the CRP-high stratum of a trial, plus the whole-sample rows of trials that
    *selected* patients on inflammation (their whole sample is CRP-high by design) when the
    trial has no separate CRP-high row for the outcome.
``whole``
    Whole-sample rows of every trial.
``crp_low``
    Rows reported for the CRP-low stratum.

The two sets ``crp_high`` and ``whole`` share participants, so no test of their difference is
valid; it is shown side by side only. The test for subgroup differences by inflammation compares
``crp_high`` with ``crp_low`` (independent strata) where both exist, and the mechanism-class
subgroups are compared within the primary set.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from inflamed.rare_events import COUNTS, set_aside_tables

__all__ = [
    "SET_SHORT",
    "analysis_sets",
    "outcome_results",
    "review_results",
    "set_aside_by_set",
]

#: Each set in a few words, for prose and row labels ("k = 0 in the CRP-high set").
SET_SHORT = {"crp_high": "CRP-high", "whole": "whole sample", "crp_low": "CRP-low"}


def analysis_sets(effects: pd.DataFrame) -> pd.DataFrame:
    """Label every effect row with the analysis set it belongs to (see module docstring).

    Returns a copy with an ``analysis_set`` column; a whole-sample row of an inflammation-selected
    trial may appear twice (in ``whole`` and, when the trial has no CRP-high row, in
    ``crp_high``) with ``set_note`` saying why.
    """
    frames = []
    base = effects.copy()
    base["set_note"] = ""
    for name in ("whole", "crp_high", "crp_low"):
        part = base[base["subgroup"] == name].copy()
        part["analysis_set"] = name
        frames.append(part)
    has_high = set(base.loc[base["subgroup"] == "crp_high", "study_id"])
    selected = base[
        (base["subgroup"] == "whole")
        & (base.get("inflammation_selection", pd.Series("", index=base.index)) == "selected")
        & (~base["study_id"].isin(has_high))
    ].copy()
    selected["analysis_set"] = "crp_high"
    selected["set_note"] = "whole sample of a trial that selected patients on inflammation"
    frames.append(selected)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["analysis_set", "year", "study_id"], kind="mergesort").reset_index(
        drop=True
    )


def set_aside_by_set(
    set_aside: pd.DataFrame | None, effects: pd.DataFrame, outcome: str
) -> pd.DataFrame:
    """Set-aside tables of ``outcome`` in the analysis sets their trial's rows define.

    ``set_aside`` is :func:`inflamed.rare_events.set_aside_tables`; ``effects`` any frame with one
    or more rows per study carrying ``year`` and ``inflammation_selection`` (the effects, or the
    studies sheet). A double-zero table is still a result: the rare-event analyses and the
    per-result risk-of-bias judgements include it.
    """
    if set_aside is None or set_aside.empty:
        return pd.DataFrame(columns=["study_id", "analysis_set", *COUNTS])
    tables = set_aside[set_aside["outcome"] == outcome]
    study_columns = [c for c in ("year", "inflammation_selection") if c in effects]
    per_study = effects[["study_id", *study_columns]].drop_duplicates("study_id")
    tables = tables.merge(per_study, on="study_id", how="left")
    if "year" not in tables:
        tables["year"] = np.nan
    return analysis_sets(tables)


def outcome_results(
    pooled: pd.DataFrame | None,
    set_aside: pd.DataFrame | None,
    study_sheet: pd.DataFrame | None,
    outcome: str,
    instrument_effects: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every result of one outcome the review reports, once per study and analysis set.

    ``pooled`` is the pool stage's ``studies.csv``; ``set_aside`` the double-zero tables
    (:func:`inflamed.rare_events.set_aside_tables`); ``instrument_effects`` the extract stage's
    rows on each instrument's own scale (a between-arm difference without a pooled SD enters only
    the MD analysis); ``study_sheet`` gives each study's ``year`` and ``inflammation_selection``.
    The rows carry ``study_id``, ``analysis_set`` and ``inflammation_selection``: what the
    per-result risk-of-bias judgement needs (RoB 2 judges results, and "no events in either arm"
    or an MD-only stratum difference is one).
    """
    columns = ["study_id", "analysis_set", "inflammation_selection"]
    parts = [] if pooled is None or pooled.empty else [pooled.reindex(columns=columns)]
    if instrument_effects is not None and not instrument_effects.empty:
        rows = instrument_effects[instrument_effects["outcome"] == outcome]
        if len(rows):
            parts.append(analysis_sets(rows).reindex(columns=columns))
    if study_sheet is not None and not study_sheet.empty:
        info = study_sheet.reindex(columns=["study_id", "year", "inflammation_selection"])
        aside = set_aside_by_set(set_aside, info.astype({"study_id": str}), outcome)
        if len(aside):
            parts.append(aside.reindex(columns=columns))
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True).astype({"study_id": str})
    return out.drop_duplicates(["study_id", "analysis_set"]).reset_index(drop=True)


def review_results(
    pooled: Mapping[str, pd.DataFrame | None],
    study_sheet: pd.DataFrame | None,
    *,
    derivation_log: pd.DataFrame | None,
    contrasts: pd.DataFrame | None,
    instrument_effects: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """:func:`outcome_results` for every outcome of a review (outcome name -> its pool
    ``studies.csv``), with the set-aside double-zero tables found once from the extract stage's
    derivation log and the ingested contrasts (:func:`inflamed.rare_events.set_aside_tables`)."""
    set_aside = set_aside_tables(derivation_log, contrasts)
    return {
        outcome: outcome_results(
            frame, set_aside, study_sheet, outcome, instrument_effects=instrument_effects
        )
        for outcome, frame in pooled.items()
    }
