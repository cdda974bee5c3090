"""The extract stage's tables: their columns, the result object, the rules and the input reading.

One place for what every step of :mod:`inflamed.extract` shares: the columns of ``effects``,
``derivation_log`` and ``missing``, the default rules (identical to the ``extraction`` section of
``workflow/schemas/config.schema.yaml``), and how the contrasts table is read (text as text,
numbers as floats, also after a CSV round trip).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.codebook import CONTRAST_FIELDS

__all__ = [
    "COVARIATES",
    "DEFAULT_RULES",
    "DERIVATION_COLUMNS",
    "EFFECT_COLUMNS",
    "MISSING_COLUMNS",
    "STEPS",
    "ExtractionResult",
    "RowEffect",
    "groups",
    "is_missing",
    "normalise",
    "sort_tables",
    "validated_rules",
    "who_can_supply",
]

#: Defaults, identical to the ``extraction`` section of ``workflow/schemas/config.schema.yaml``.
DEFAULT_RULES: dict[str, Any] = {
    "timepoint_rule": "closest",
    "target_weeks": 8,
    "instrument_priority": {},
    "prepost_correlation": 0.5,
    "sd_imputations": ["se", "ci"],
    "multi_arm": "split",
    "continuity_correction": 0.5,
}
COVARIATES = [
    "year",
    "mechanism_class",
    "drug",
    "crp_cutoff_mg_l",
    "baseline_crp_mg_l",
    "inflammation_selection",
    "add_on",
]
EFFECT_COLUMNS = [
    "review", "study_id", "contrast", "subgroup", "outcome", "instrument", "timepoint_weeks",
    "measure", "yi", "vi", "n_treat", "n_ctrl", "events_treat", "events_ctrl", "derivation",
    "row_ref", "measure_kind", "study_label", *COVARIATES, "input_level", "n_total",
]  # fmt: skip
DERIVATION_COLUMNS = [
    "row_ref",
    "study_id",
    "outcome",
    "subgroup",
    "contrast",
    "step",
    "formula",
    "assumption",
]
MISSING_COLUMNS = ["study_id", "outcome", "subgroup", "contrast", "fields", "why", "who", "row_ref"]
#: Order of the steps of one row in the derivation log.
STEPS = [
    "select",
    "direction",
    "mean",
    "sd",
    "se",
    "split_control",
    "effect_size",
    "sign",
    "exclude",
]

_TEXT = ["study_id", "contrast", "treat_arm", "ctrl_arm", "shared_ctrl", "subgroup", "subgroup_definition", "outcome", "instrument", "measure_kind", "change_direction", "diff_measure", "diff_direction", "sd_pooled_source", "source", "source_location", "extractor", "notes", "review", "row_ref"]  # fmt: skip


@dataclass(frozen=True)
class ExtractionResult:
    """What the extract stage produces.

    Attributes
    ----------
    effects
        One row per study x contrast x subgroup x outcome (:data:`EFFECT_COLUMNS`), sorted by
        outcome, subgroup, study_id, contrast. ``yi`` is on the analysis scale (log for RR/OR).
    derivation_log
        One row per derivation step (:data:`DERIVATION_COLUMNS`).
    missing
        One row per value an analysis needed and did not get (:data:`MISSING_COLUMNS`).
    rules
        The rules used (defaults filled in), for the record.
    instrument_effects
        For outcomes whose configured measure is not MD (an SMD): the mean difference in each
        instrument's own points, one row per study x contrast x subgroup x outcome x instrument
        (:data:`EFFECT_COLUMNS`, ``measure`` = MD), from arm-level and contrast-level rows. The
        pool stage pools them within one instrument, never across instruments.
    """

    effects: pd.DataFrame
    derivation_log: pd.DataFrame
    missing: pd.DataFrame
    rules: dict[str, Any] = field(default_factory=dict)
    instrument_effects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=EFFECT_COLUMNS)
    )


def is_missing(x: Any) -> bool:
    """``None`` or NaN (an empty cell after :func:`normalise`; text cells are ``""``)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def who_can_supply(study: Mapping[str, Any] | None, study_id: str) -> str:
    """Who could supply a missing value: the investigators, and the sponsor via the registry."""
    if study is None:
        return f"trial investigators ({study_id})"
    author = study.get("first_author")
    out = f"trial investigators ({study_id if is_missing(author) or not author else author} et al.)"
    reg = study.get("registry_id")
    reg = "" if is_missing(reg) else str(reg)
    if reg.startswith("NCT"):
        out += f"; sponsor, via ClinicalTrials.gov results for {reg}"
    elif reg:
        out += f"; sponsor, via the registry record {reg}"
    return out


def groups(
    rows: pd.DataFrame, keys: list[str]
) -> list[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    """``rows.groupby(keys, sort=True)`` as (key, rows as dicts) pairs, in the same order.

    One ``to_dict`` for the whole table instead of a data frame and a Series per group and row:
    pandas' per-object overhead made extraction grow to minutes at 5,000 comparisons (profiled).
    """
    if rows.empty:
        return []
    records = rows.to_dict("records")
    number = rows.groupby(keys, sort=True).ngroup().to_numpy()
    order = np.argsort(number, kind="stable")
    order = order[number[order] >= 0]  # -1: a key is missing (groupby drops those rows)
    starts = np.flatnonzero(np.diff(number[order], prepend=-1))
    out: list[tuple[tuple[Any, ...], list[dict[str, Any]]]] = []
    for part in np.split(order, starts[1:]):
        members = [records[i] for i in part]
        out.append((tuple(members[0][k] for k in keys), members))
    return out


def normalise(contrasts: pd.DataFrame) -> pd.DataFrame:
    """Text cells as str ("" = empty) and numbers as float, also after a CSV round trip.

    Contrasts tables written before contrast-level columns existed (or by readers that never
    fill them) get them empty, so every row is arm-level.
    """
    out = contrasts.copy()
    for c in CONTRAST_FIELDS:
        if c not in out.columns:
            out[c] = "" if c in _TEXT else np.nan
    for c in out.columns:
        if c in _TEXT:
            out[c] = out[c].where(out[c].notna(), "").astype(str)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out


def validated_rules(rules: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rules with defaults filled in; unknown rule values raise :class:`InputError`."""
    merged = {**DEFAULT_RULES, **dict(rules or {})}
    if merged["timepoint_rule"] not in ("closest", "latest"):
        raise InputError(
            "unknown time-point rule",
            column="timepoint_rule",
            value=merged["timepoint_rule"],
            expected="'closest' or 'latest'",
        )
    if merged["multi_arm"] not in ("split", "first"):
        raise InputError(
            "unknown multi-arm rule",
            column="multi_arm",
            value=merged["multi_arm"],
            expected="'split' or 'first'",
        )
    bad = set(merged["sd_imputations"]) - {"se", "ci", "median_iqr", "median_range"}
    if bad:
        raise InputError(
            "unknown SD imputation",
            column="sd_imputations",
            value=sorted(bad),
            expected="se, ci, median_iqr, median_range",
        )
    return merged


def sort_tables(
    effects: list[dict[str, Any]], log: list[dict[str, Any]], missing: list[dict[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables as frames in their documented order (byte-identical reruns)."""
    eff = pd.DataFrame(effects, columns=EFFECT_COLUMNS)
    eff = eff.sort_values(
        ["outcome", "subgroup", "study_id", "contrast", "instrument"], kind="mergesort"
    ).reset_index(drop=True)
    dlog = pd.DataFrame(log, columns=DERIVATION_COLUMNS)
    if not dlog.empty:
        dlog["_o"] = dlog["step"].map(STEPS.index)
        dlog = (
            dlog.sort_values(
                ["study_id", "outcome", "subgroup", "contrast", "row_ref", "_o"], kind="mergesort"
            )
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    miss = pd.DataFrame(missing, columns=MISSING_COLUMNS)
    miss = miss.sort_values(
        ["study_id", "outcome", "subgroup", "contrast", "row_ref"], kind="mergesort"
    ).reset_index(drop=True)
    return eff, dlog, miss


@dataclass(frozen=True)
class RowEffect:
    """The effect of one selected row, or why it gives none.

    Attributes
    ----------
    yi, vi
        Effect and sampling variance on the analysis scale (NaN when refused or excluded).
    steps
        ``(step, formula, assumption)`` for the derivation log, in order.
    derivation
        The short derivation text of the effects table.
    events
        ``(events_treat, events_ctrl)`` used (NaN for continuous outcomes).
    excluded
        ``(formula, assumption)`` of an ``exclude`` step: the row carries no information.
    refused
        ``(fields, why)`` for the missing table: a value the effect needs is not known.
    """

    yi: float = math.nan
    vi: float = math.nan
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    derivation: list[str] = field(default_factory=list)
    events: tuple[float, float] = (math.nan, math.nan)
    excluded: tuple[str, str] | None = None
    refused: tuple[str, str] | None = None
