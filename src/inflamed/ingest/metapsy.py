"""Read a Metapsy-standard CSV strictly and map it into inflamed's contrasts table.

The Metapsy data standard (https://docs.metapsy.org/data-preparation/format/) describes wide
datasets with one row per trial-arm comparison x outcome x time point: ``;``-separated, decimal
commas, ``NA`` for missing values, arm-level raw data (``mean_arm1``/``sd_arm1``/``n_arm1`` ...,
``mean_change_arm*``, ``event_arm*``/``totaln_arm*``), precalculated effects (``precalc_g``,
``precalc_g_se``) and columns derived by Metapsy, whose names start with ``.`` (``.g``,
``.g_se``, ``.log_rr``, ``.id`` ...).

Reading is strict (:func:`inflamed.io.read_table` and :func:`inflamed.io.parse_number` with ','
as the decimal mark): a '.' in a number, a fraction in a count or an impossible arm value stops
with the file, row and column. Effect sizes from the raw arm data, their sign convention and the
comparison with Metapsy's own ``.g`` are in :mod:`inflamed.ingest.metapsy_effects`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.arm_checks import arm_problem
from inflamed.ingest.codebook import SHEETS
from inflamed.ingest.sheets import (
    CONTRAST_COLUMNS,
    CONVERSION_COLUMNS,
    NUMBER_COLUMNS,
    Review,
    empty_sheet,
)
from inflamed.io import parse_number, read_table

__all__ = [
    "DATA_KINDS",
    "METAPSY_REQUIRED",
    "data_kind",
    "metapsy_to_contrasts",
    "read_metapsy",
    "read_metapsy_review",
]

#: Columns every Metapsy dataset has (Metapsy data standard, "Standard variables").
METAPSY_REQUIRED = [
    "study",
    "condition_arm1",
    "condition_arm2",
    "multi_arm1",
    "multi_arm2",
    "outcome_type",
    "instrument",
    "time",
    "time_weeks",
    "rating",
]
POST = ["mean_arm1", "sd_arm1", "n_arm1", "mean_arm2", "sd_arm2", "n_arm2"]
CHANGE = [
    "mean_change_arm1",
    "sd_change_arm1",
    "n_change_arm1",
    "mean_change_arm2",
    "sd_change_arm2",
    "n_change_arm2",
]
EVENTS = ["event_arm1", "event_arm2", "totaln_arm1", "totaln_arm2"]
PRECALC = ["precalc_g", "precalc_g_se"]
NUMERIC = [
    *POST,
    *CHANGE,
    *EVENTS,
    *PRECALC,
    "precalc_log_rr",
    "precalc_log_rr_se",
    "time_weeks",
    "year",
]
NA_STRINGS = {"", "NA", "na", "NaN", "nan"}
#: Count columns: whole numbers of participants (no separators, no fractions).
COUNTS = {
    "n_arm1", "n_arm2", "n_change_arm1", "n_change_arm2",
    "event_arm1", "event_arm2", "totaln_arm1", "totaln_arm2",
}  # fmt: skip
#: Each raw-data set's columns under the arm checks' roles (:mod:`inflamed.ingest.arm_checks`).
ARM_SETS = (
    {"n_treat": "n_arm1", "sd_treat": "sd_arm1", "n_ctrl": "n_arm2", "sd_ctrl": "sd_arm2"},
    {
        "n_treat": "n_change_arm1", "sd_treat": "sd_change_arm1",
        "n_ctrl": "n_change_arm2", "sd_ctrl": "sd_change_arm2",
    },
    {
        "n_treat": "totaln_arm1", "events_treat": "event_arm1",
        "n_ctrl": "totaln_arm2", "events_ctrl": "event_arm2",
    },
)  # fmt: skip
#: The raw data an effect can come from, in Metapsy's priority order
#: (metadata/outcome_calculation.txt of the Metapsy releases): post-test means and SDs, change
#: scores, binary outcomes, other (precalculated) statistics.
DATA_KINDS = ("post_msd", "change_msd", "events", "precalc_g")
SOURCE = "Metapsy data standard, https://docs.metapsy.org/data-preparation/format/"

_NUM = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def read_metapsy(path: str | Path, *, fractional_counts: bool = False) -> pd.DataFrame:
    """Read a Metapsy-standard CSV without losing or changing anything.

    Parameters
    ----------
    path
        ``data.csv`` of a Metapsy database (``;``-separated, decimal commas, ``NA``), UTF-8.
    fractional_counts
        Accept fractions in participant counts (``n_arm*``, ``totaln_arm*``). Off by default: a
        fraction is usually an entry error (``40,5`` for 405) and is refused by name. Metapsy
        itself sometimes splits a shared arm's n between comparisons (release 24.0.2 has three
        such cells, e.g. ``19,5``); say so explicitly to read those as they are. Event counts
        stay whole numbers either way.

    Returns
    -------
    pandas.DataFrame
        Every column of the file (the unnamed leading row-number column is dropped); the raw
        effect-size columns and ``.``-derived numbers as floats (text there is an error), any other
        column as floats when all its cells are numbers, text as str (``""`` = missing), plus
        ``row_ref`` (``<file name>:<row>``, header = row 1; quoted cells may span lines, so rows
        count records, not lines). ``frame.attrs["derived_columns"]`` lists the ``.``-prefixed
        columns Metapsy derived (kept with their names; they are Metapsy's results, not raw data).

    Raises
    ------
    InputError
        Everything :func:`inflamed.io.read_table` refuses (not UTF-8, empty, ragged rows, a
        repeated header, open quotes), missing standard columns, text or a '.' in a numeric
        column (the standard's decimal mark is ',', so ``1.040`` is a thousands separator or an
        entry error, never 1.04), a fraction in a count (``40,5`` participants), n < 1, events
        above n, a negative SD or an SD of 0 in both arms, naming row, column and value.
    """
    path = Path(path)
    table = read_table(
        path,
        delimiter=";",
        what="a Metapsy-standard file (';'-separated, with a header row)",
        unnamed_first_column=True,
    )
    header = table.header
    for col in METAPSY_REQUIRED:
        if col not in header:
            raise InputError(
                "a Metapsy standard column is missing",
                file=path,
                row=1,
                column=col,
                expected="the Metapsy standard variables, ';'-separated (" + SOURCE + ")",
            )
    rows = table.rows
    frame = pd.DataFrame(table.records, columns=header)
    if header[0] in ("", "X", "Unnamed: 0"):
        frame = frame.drop(columns=header[0])
    for col in frame.columns:
        values = frame[col].str.strip()
        missing = values.isin(NA_STRINGS)
        if col in NUMERIC or (col.startswith(".") and col != ".id"):
            frame[col] = _numbers(values, missing, col, path, rows, fractional_counts)
        elif (~missing).any() and values[~missing].str.match(_NUM).all() and col != ".id":
            # other columns (baseline_*, rand_*, attr_*, codes) become numbers when all cells are
            frame[col] = _numbers(values, missing, col, path, rows, fractional_counts)
        else:
            frame[col] = values.where(~missing, "")
    _check_arms(frame, path, rows)
    frame["row_ref"] = [f"{path.name}:{r}" for r in rows]
    frame.attrs["derived_columns"] = [c for c in frame.columns if c.startswith(".")]
    frame.attrs["file"] = str(path)
    return frame


def _numbers(
    values: pd.Series,
    missing: pd.Series,
    col: str,
    path: Path,
    rows: list[int],
    fractional_counts: bool,
) -> np.ndarray:
    """One numeric column under the standard's convention: ',' decimal mark, no grouping."""
    whole = col in COUNTS and not (fractional_counts and not col.startswith("event_"))
    out = np.full(len(values), np.nan)
    for j in np.flatnonzero(~missing.to_numpy()):
        try:
            out[j] = parse_number(
                values.iloc[j], file=path, row=rows[j], column=col, decimal=",", integer=whole
            )
        except InputError as error:
            if col in COUNTS and error.message.startswith("a fraction"):
                error.expected = (
                    "a whole number of participants; if the file splits a shared arm's n "
                    "between comparisons on purpose, read it with fractional_counts=True "
                    "(command line: --fractional-counts)"
                )
                error.args = (str(error),)
            raise
    return out


def _check_arms(frame: pd.DataFrame, path: Path, rows: list[int]) -> None:
    """n >= 1, events <= n, SD >= 0 and not 0 in both arms, for each raw-data set of a row."""
    for names in ARM_SETS:
        if not all(c in frame for c in names.values()):
            continue
        for j, rec in enumerate(frame[list(names.values())].to_dict("records")):
            values = {role: rec[c] for role, c in names.items()}
            problem = arm_problem(values, names)
            if problem is not None:
                raise InputError(
                    problem.message,
                    file=path,
                    row=rows[j],
                    column=problem.column,
                    value=problem.value,
                    expected=problem.expected,
                )


def has_columns(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if not all(c in frame for c in cols):
        return np.zeros(len(frame), dtype=bool)
    return frame[cols].notna().all(axis=1).to_numpy()


def data_kind(frame: pd.DataFrame) -> np.ndarray:
    kind = np.full(len(frame), "none", dtype=object)
    for name, cols in (
        ("precalc_g", PRECALC),
        ("events", EVENTS),
        ("change_msd", CHANGE),
        ("post_msd", POST),
    ):
        kind[has_columns(frame, cols)] = name  # later assignments win: post_msd has top priority
    return kind


def _snake(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def metapsy_to_contrasts(frame: pd.DataFrame, *, review: str = "metapsy") -> pd.DataFrame:
    """Map a Metapsy dataset into inflamed's contrasts table (internal model).

    Parameters
    ----------
    frame
        Output of :func:`read_metapsy`.
    review
        Value of the ``review`` column.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`inflamed.ingest.sheets.CONTRAST_COLUMNS`; one row per Metapsy row with
        arm-level raw data (rows with only a precalculated g have no arm-level numbers and are
        left out; :func:`metapsy_effects` keeps them). ``study_id`` is the study label without
        punctuation (``Aagaard, 2017`` -> ``Aagaard2017``); ``contrast`` is
        ``<arm1>_vs_<arm2>`` with the multi-arm specification; rows of one study whose arm 1
        differs but arm 2, instrument and time agree get the same ``shared_ctrl`` label;
        ``outcome`` is ``depression_severity`` (means, change) or ``response``/``remission``/
        ``other_dichotomous`` (events); change scores are ``post_minus_pre`` (Metapsy's
        "change from baseline"); ``subgroup`` is ``whole``.
    """
    kind = data_kind(frame)
    keep = np.isin(kind, ["post_msd", "change_msd", "events"])
    sub = frame.loc[keep].reset_index(drop=True)
    for col in (*POST, *CHANGE, *EVENTS):
        if col not in sub:
            sub[col] = np.nan  # a dataset may omit the raw-data columns it never uses
    kind = kind[keep]
    out = pd.DataFrame(index=range(len(sub)), columns=CONTRAST_COLUMNS)
    out["study_id"] = sub["study"].map(lambda s: re.sub(r"[^A-Za-z0-9_.-]", "", s))
    arm1 = np.where(
        sub["multi_arm1"] != "",
        sub["condition_arm1"] + "(" + sub["multi_arm1"] + ")",
        sub["condition_arm1"],
    )
    arm2 = np.where(
        sub["multi_arm2"] != "",
        sub["condition_arm2"] + "(" + sub["multi_arm2"] + ")",
        sub["condition_arm2"],
    )
    out["treat_arm"] = arm1
    out["ctrl_arm"] = arm2
    out["contrast"] = [_snake(f"{a}_vs_{b}") for a, b in zip(arm1, arm2, strict=True)]
    group = [
        out["study_id"],
        out["ctrl_arm"],
        sub["instrument"],
        sub["time"],
        sub["time_weeks"].fillna(-1),
    ]
    n_arms = out.groupby(group, dropna=False)["treat_arm"].transform("nunique")
    out["shared_ctrl"] = np.where(n_arms > 1, [_snake(b) for b in arm2], "")
    out["subgroup"] = "whole"
    out["subgroup_definition"] = ""
    otype = sub["outcome_type"].str.lower()
    outcome = np.where(
        otype.str.startswith("response"),
        "response",
        np.where(otype.str.startswith("remission"), "remission", "other_dichotomous"),
    )
    out["outcome"] = np.where(kind == "events", outcome, "depression_severity")
    out["instrument"] = sub["instrument"]
    out["timepoint_weeks"] = sub["time_weeks"]
    out["measure_kind"] = np.select(
        [kind == "post_msd", kind == "change_msd"], ["endpoint", "change"], "events"
    )
    out["change_direction"] = np.where(kind == "change_msd", "post_minus_pre", "")
    for arm, k in (("treat", "1"), ("ctrl", "2")):
        post = kind == "post_msd"
        chg = kind == "change_msd"
        ev = kind == "events"
        out[f"n_{arm}"] = np.select(
            [post, chg, ev],
            [sub[f"n_arm{k}"], sub[f"n_change_arm{k}"], sub[f"totaln_arm{k}"]],
            np.nan,
        )
        out[f"mean_{arm}"] = np.select(
            [post, chg], [sub[f"mean_arm{k}"], sub[f"mean_change_arm{k}"]], np.nan
        )
        out[f"sd_{arm}"] = np.select(
            [post, chg], [sub[f"sd_arm{k}"], sub[f"sd_change_arm{k}"]], np.nan
        )
        out[f"events_{arm}"] = np.where(ev, sub[f"event_arm{k}"], np.nan)
        for f in ("se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max"):
            out[f"{f}_{arm}"] = np.nan
    out["source"] = sub["full_ref"] if "full_ref" in sub else SOURCE
    ids = sub[".id"] if ".id" in sub else pd.Series([""] * len(sub))
    out["source_location"] = [
        f"Metapsy {r}, .id {i or 'NA'}" for r, i in zip(sub["row_ref"], ids, strict=True)
    ]
    out["extractor"] = "Metapsy"
    out["notes"] = "outcome_type " + sub["outcome_type"]
    out["review"] = review
    out["row_ref"] = sub["row_ref"]
    for c in NUMBER_COLUMNS:
        out[c] = out[c].astype(float)
    return out


def read_metapsy_review(
    folder: str | Path,
    *,
    instruments_path: str | Path | None = None,
    outcomes: Collection[str] | None = None,
    name: str | None = None,
    fractional_counts: bool = False,
) -> Review:
    """Read a folder holding a Metapsy ``data.csv`` as a :class:`~inflamed.ingest.sheets.Review`.

    Parameters
    ----------
    folder
        Folder with ``data.csv`` (Metapsy data standard); opened read-only.
    instruments_path
        Unused for Metapsy data (kept for a uniform signature): Metapsy's instrument names are
        its own, so the instruments table is built from the data, every instrument scored
        higher = worse (the assumption behind Metapsy's own ``.g``; see the module docstring).
    outcomes
        If given, only contrasts of these outcomes are kept.
    name
        Review name (default: the folder name).
    fractional_counts
        Accept fractions in participant counts (see :func:`read_metapsy`).

    Returns
    -------
    Review
        ``contrasts`` from :func:`metapsy_to_contrasts`; ``studies`` with one row per Metapsy
        study label (``first_author`` and ``year`` from it, ``source`` = its reference); the
        optional sheets empty; ``instruments`` derived as described.
    """
    folder = Path(folder)
    review = name or folder.name
    frame = read_metapsy(folder / "data.csv", fractional_counts=fractional_counts)
    contrasts = metapsy_to_contrasts(frame, review=review)
    if outcomes is not None:
        contrasts = contrasts[contrasts["outcome"].isin(set(outcomes))].reset_index(drop=True)
    cols = [c.name for c in SHEETS["studies"]["columns"]]
    firsts = frame.drop_duplicates("study")
    studies = pd.DataFrame({c: "" for c in cols}, index=range(len(firsts)))
    studies["study_id"] = (
        firsts["study"].map(lambda s: re.sub(r"[^A-Za-z0-9_.-]", "", s)).to_numpy()
    )
    studies["first_author"] = firsts["study"].str.split(",").str[0].to_numpy()
    studies["year"] = firsts["year"].to_numpy() if "year" in firsts else np.nan
    studies["source"] = (
        firsts["full_ref"] if "full_ref" in firsts else pd.Series([SOURCE] * len(firsts))
    ).to_numpy()
    studies["source_location"] = firsts["row_ref"].map(lambda r: f"Metapsy {r}").to_numpy()
    for c in (
        "duration_weeks",
        "crp_cutoff",
        "baseline_crp",
        "n_randomised_treat",
        "n_randomised_ctrl",
    ):
        studies[c] = np.nan
    studies["crp_cutoff_mg_l"] = np.nan
    studies["baseline_crp_mg_l"] = np.nan
    studies["review"] = review
    studies["row_ref"] = studies["source_location"].str.replace("Metapsy ", "", regex=False)
    studies = studies.drop_duplicates("study_id").reset_index(drop=True)
    names = sorted(set(contrasts["instrument"]) - {""})
    instruments = pd.DataFrame(
        {
            "instrument": names,
            "name": names,
            "construct": "depression_severity",
            "higher_is_worse": "true",
            "range_min": np.nan,
            "range_max": np.nan,
            "source": SOURCE,
            "source_location": "Metapsy computes g as J (m2 - m1) / s_p: every instrument scored higher = worse",
            "notes": "derived from the Metapsy dataset",
        }
    )
    return Review(
        name=review,
        contrasts=contrasts,
        studies=studies,
        risk_of_bias=empty_sheet("risk_of_bias"),
        published_estimates=empty_sheet("published_estimates"),
        prisma=empty_sheet("prisma"),
        conversions=pd.DataFrame(columns=CONVERSION_COLUMNS),
        instruments=instruments,
    )
