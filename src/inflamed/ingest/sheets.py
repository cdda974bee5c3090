"""Read and validate a review folder of extraction sheets into the internal model.

A review folder (``data/reviews/<name>/``) holds ``studies.csv`` and ``outcomes.csv`` (required)
and ``risk_of_bias.csv``, ``published_estimates.csv``, ``prisma.csv`` (optional). Every sheet is
checked against its codebook (:mod:`inflamed.ingest.codebook`, JSON schemas in
``inflamed/schemas/``) and against the cross-sheet rules; the first problem stops the read with an
:class:`~inflamed.errors.InputError` that names the file, the spreadsheet row (header = row 1), the
column, the bad value and what was expected. Files are opened read-only and never modified.

Status: every bad-input case of issue 4 is covered by tests/test_ingest_sheets.py; the shipped
review data/reviews/anti-inflammatory-crp validates.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.arm_checks import arm_problem, check_duplicate_arms
from inflamed.ingest.codebook import ARM_FIELDS, DEFAULT_OUTCOMES, SHEETS
from inflamed.ingest.contrast_checks import contrast_problem
from inflamed.ingest.sheet_reader import (
    CRP_COLUMNS,
    Sheet,
    check_unique,
    mentions_mg_dl,
    read_sheet,
)
from inflamed.io import decode_utf8

__all__ = [
    "CONTRAST_COLUMNS",
    "NUMBER_COLUMNS",
    "Review",
    "Sheet",
    "decode_utf8",
    "empty_sheet",
    "read_instruments",
    "read_review",
    "read_sheet",
    "read_studies",
]

#: Columns of the internal contrasts table (outcomes.csv columns + review + row_ref).
CONTRAST_COLUMNS: list[str] = [c.name for c in SHEETS["outcomes"]["columns"]] + [
    "review",
    "row_ref",
]

#: Arm-level numeric columns of the contrasts table.
ARM_COLUMNS = [f"{f}_{arm}" for arm in ("treat", "ctrl") for f in ARM_FIELDS]
#: Every numeric column of the contrasts table (float; NaN = empty), from the codebook's types.
NUMBER_COLUMNS = [c.name for c in SHEETS["outcomes"]["columns"] if c.type in ("number", "integer")]
OPTIONAL_SHEETS = ("risk_of_bias", "published_estimates", "prisma")


@dataclass(frozen=True)
class Review:
    """A review folder in the internal model.

    Attributes
    ----------
    name
        Folder name (the review id).
    contrasts
        outcomes.csv in the internal model (:data:`CONTRAST_COLUMNS`).
    studies
        studies.csv plus ``crp_cutoff_mg_l``, ``baseline_crp_mg_l``, ``review``, ``row_ref``.
    risk_of_bias, published_estimates, prisma
        The optional sheets (empty frames with the codebook columns when absent).
    conversions
        Every unit conversion made at ingest (row_ref, column, value, unit, converted, note).
    instruments
        The validated instruments table (scoring direction decides sign flips at extraction).
    """

    name: str
    contrasts: pd.DataFrame
    studies: pd.DataFrame
    risk_of_bias: pd.DataFrame
    published_estimates: pd.DataFrame
    prisma: pd.DataFrame
    conversions: pd.DataFrame
    instruments: pd.DataFrame


def read_instruments(path: str | Path) -> pd.DataFrame:
    """Read ``data/instruments.csv`` (validated; unique ``instrument`` keys)."""
    sheet = read_sheet(path, "instruments")
    check_unique(sheet, ["instrument"], str(path))
    return sheet.frame


def _check_study_ids(sheet: Sheet, known: set[str], name: str, studies_name: str) -> None:
    for sid, row in zip(sheet.frame["study_id"], sheet.rows, strict=True):
        if sid not in known:
            close = difflib.get_close_matches(sid, sorted(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(
                f"study id not found in {studies_name}{hint}",
                file=name,
                row=row,
                column="study_id",
                value=sid,
                expected=f"a study_id listed in {studies_name}",
            )


#: Columns of :attr:`Review.conversions`.
CONVERSION_COLUMNS = ["row_ref", "column", "value", "unit", "converted", "converted_unit", "note"]


def empty_sheet(sheet: str) -> pd.DataFrame:
    """An empty frame with the codebook columns of ``sheet`` plus ``review`` and ``row_ref``."""
    return pd.DataFrame(columns=[c.name for c in SHEETS[sheet]["columns"]] + ["review", "row_ref"])


def read_studies(path: str | Path, *, review: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read studies.csv: validated, unique ids, CRP converted to mg/L.

    Returns
    -------
    (studies, conversions)
        The sheet plus ``crp_cutoff_mg_l``, ``baseline_crp_mg_l``, ``review`` and ``row_ref``
        (``<review>/studies.csv:<row>``); and one row per mg/dL -> mg/L conversion
        (:data:`CONVERSION_COLUMNS`).

    Raises
    ------
    InputError
        Everything :func:`read_sheet` checks, a duplicated study id, a CRP value without a unit.
    """
    path = Path(path)
    name = str(path)
    studies = read_sheet(path, "studies", display_name=name)
    check_unique(studies, ["study_id"], name)
    sframe = studies.frame.copy()
    conversions: list[dict[str, Any]] = []
    for col in CRP_COLUMNS:
        sframe[f"{col}_mg_l"] = math.nan
    for i, row in enumerate(studies.rows):
        unit = sframe.at[i, "crp_unit"]
        for col in CRP_COLUMNS:
            value = sframe.at[i, col]
            if math.isnan(value):
                continue
            if unit == "":
                raise InputError(
                    "a CRP value without a unit",
                    file=name,
                    row=row,
                    column="crp_unit",
                    value=f"{col}={value:g}, crp_unit empty",
                    expected="crp_unit = 'mg/L' or 'mg/dL'",
                )
            factor = 10.0 if unit == "mg/dL" else 1.0
            sframe.at[i, f"{col}_mg_l"] = value * factor
            if factor != 1.0:
                conversions.append(
                    {
                        "row_ref": f"{review}/{path.name}:{row}",
                        "column": col,
                        "value": value,
                        "unit": unit,
                        "converted": value * factor,
                        "converted_unit": "mg/L",
                        "note": "mg/dL x 10 = mg/L",
                    }
                )
    sframe["review"] = review
    sframe["row_ref"] = [f"{review}/{path.name}:{r}" for r in studies.rows]
    return sframe, pd.DataFrame(conversions, columns=CONVERSION_COLUMNS)


def read_review(
    folder: str | Path,
    *,
    instruments_path: str | Path,
    outcomes: Collection[str] | None = None,
) -> Review:
    """Read, validate and convert a review folder into the internal model.

    Parameters
    ----------
    folder
        ``data/reviews/<name>/`` with studies.csv and outcomes.csv (risk_of_bias.csv,
        published_estimates.csv and prisma.csv are optional).
    instruments_path
        ``data/instruments.csv``: the rating scales outcomes.csv may name.
    outcomes
        Declared outcome names (default: :data:`~inflamed.ingest.codebook.DEFAULT_OUTCOMES`).

    Returns
    -------
    Review
        Contrasts (internal model, with ``review`` and ``row_ref`` = ``<review>/<file>:<row>``),
        studies (CRP in mg/L added as ``crp_cutoff_mg_l``/``baseline_crp_mg_l``), the optional
        sheets and the log of unit conversions.

    Raises
    ------
    InputError
        Naming file, row (header = 1), column, value and expectation for: wrong/missing column,
        text in a number, negative SD, events > n, duplicated study id or key row, unknown
        study id / outcome / subgroup / measure_kind / instrument, a CRP value without a unit or
        with an unknown unit, CRP in mg/dL in a study whose unit says mg/L, a percentage or
        fraction where a count is expected, a file that is not UTF-8.

    Notes
    -----
    Files are opened read-only; nothing in ``folder`` is ever written. CRP values given in mg/dL
    (``crp_unit`` = ``mg/dL``) are multiplied by 10 (1 mg/dL = 10 mg/L) and each conversion is
    listed in :attr:`Review.conversions`.
    """
    folder = Path(folder)
    review = folder.name
    declared = set(outcomes) if outcomes is not None else set(DEFAULT_OUTCOMES)
    if not folder.is_dir():
        raise InputError(
            "review folder not found",
            file=folder,
            expected="a folder with studies.csv and outcomes.csv",
        )
    instruments = read_instruments(instruments_path)
    known_instruments = set(instruments["instrument"])

    def fname(f: str) -> str:
        return str(folder / f)

    def ref(f: str, row: int) -> str:
        return f"{review}/{f}:{row}"

    sframe, conv = read_studies(folder / "studies.csv", review=review)
    crp_unit_of = dict(zip(sframe["study_id"], sframe["crp_unit"], strict=True))

    outcomes_sheet = read_sheet(
        folder / "outcomes.csv", "outcomes", display_name=fname("outcomes.csv")
    )
    _check_study_ids(outcomes_sheet, set(sframe["study_id"]), fname("outcomes.csv"), "studies.csv")
    check_unique(outcomes_sheet, SHEETS["outcomes"]["key"], fname("outcomes.csv"))
    oframe = outcomes_sheet.frame
    ofile = fname("outcomes.csv")
    for i, row in enumerate(outcomes_sheet.rows):
        rec = oframe.iloc[i]
        if rec["outcome"] not in declared:
            raise InputError(
                "unknown outcome",
                file=ofile,
                row=row,
                column="outcome",
                value=rec["outcome"],
                expected="an outcome declared in config: " + ", ".join(sorted(declared)),
            )
        if rec["instrument"] and rec["instrument"] not in known_instruments:
            close = difflib.get_close_matches(rec["instrument"], sorted(known_instruments), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(
                f"unknown instrument{hint}",
                file=ofile,
                row=row,
                column="instrument",
                value=rec["instrument"],
                expected=f"a key of {instruments_path}",
            )
        has_mean = any(
            not math.isnan(rec[c])
            for c in ("mean_treat", "mean_ctrl", "median_treat", "median_ctrl")
        )
        if rec["measure_kind"] == "change" and has_mean and not rec["change_direction"]:
            raise InputError(
                "a change score without its direction",
                file=ofile,
                row=row,
                column="change_direction",
                expected="post_minus_pre or pre_minus_post",
            )
        problem = contrast_problem(rec) or arm_problem(rec, {})
        if problem is not None:
            raise InputError(
                problem.message,
                file=ofile,
                row=row,
                column=problem.column,
                value=problem.value,
                expected=problem.expected,
            )
        definition = rec["subgroup_definition"]
        if (
            definition
            and mentions_mg_dl(definition)
            and crp_unit_of.get(rec["study_id"]) != "mg/dL"
        ):
            raise InputError(
                "CRP given in mg/dL but studies.csv does not say so "
                f"(crp_unit of {rec['study_id']} is {crp_unit_of.get(rec['study_id']) or 'empty'!r})",
                file=ofile,
                row=row,
                column="subgroup_definition",
                value=definition,
                expected="CRP in mg/L (x 10 from mg/dL), or crp_unit = 'mg/dL' in studies.csv",
            )
        if rec["subgroup"] != "whole" and rec["subgroup"].startswith("crp_") and not definition:
            raise InputError(
                "a CRP subgroup without its definition",
                file=ofile,
                row=row,
                column="subgroup_definition",
                expected="the cut-off as reported, e.g. 'CRP >= 3 mg/L'",
            )
    check_duplicate_arms(oframe, outcomes_sheet.rows, ofile, ARM_COLUMNS)
    contrasts = oframe.copy()
    contrasts["review"] = review
    contrasts["row_ref"] = [ref("outcomes.csv", r) for r in outcomes_sheet.rows]
    contrasts = contrasts[CONTRAST_COLUMNS]

    optional: dict[str, pd.DataFrame] = {}
    for sheet in OPTIONAL_SHEETS:
        path = folder / f"{sheet}.csv"
        if path.is_file():
            parsed = read_sheet(path, sheet, display_name=fname(f"{sheet}.csv"))
            check_unique(parsed, SHEETS[sheet]["key"], fname(f"{sheet}.csv"))
            if "study_id" in parsed.frame:
                _check_study_ids(
                    parsed, set(sframe["study_id"]), fname(f"{sheet}.csv"), "studies.csv"
                )
            frame = parsed.frame.copy()
            frame["review"] = review
            frame["row_ref"] = [ref(f"{sheet}.csv", r) for r in parsed.rows]
        else:
            frame = empty_sheet(sheet)
        optional[sheet] = frame.reset_index(drop=True)
    return Review(
        name=review,
        contrasts=contrasts.reset_index(drop=True),
        studies=sframe.reset_index(drop=True),
        risk_of_bias=optional["risk_of_bias"],
        published_estimates=optional["published_estimates"],
        prisma=optional["prisma"],
        conversions=conv,
        instruments=instruments,
    )
