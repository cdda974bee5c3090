"""Read a Metapsy-standard CSV and compute inflamed effect sizes from its raw arm data.

The Metapsy data standard (https://docs.metapsy.org/data-preparation/format/) describes wide
datasets with one row per trial-arm comparison x outcome x time point: ``;``-separated, decimal
commas, ``NA`` for missing values, arm-level raw data (``mean_arm1``/``sd_arm1``/``n_arm1`` ...,
``mean_change_arm*``, ``event_arm*``/``totaln_arm*``), precalculated effects (``precalc_g``,
``precalc_g_se``) and columns derived by Metapsy, whose names start with ``.`` (``.g``,
``.g_se``, ``.log_rr``, ``.id`` ...).

Sign conventions
----------------
*Metapsy*: ``.g`` is positive when arm 1 (the psychotherapy) is better, i.e. has *lower*
depression scores (``g = J (m2 - m1) / s_p``; checked on the 2024 release: Abas 2018 has
mean 3.8 on psychotherapy vs 5.5 on care as usual and ``.g`` = +0.55), and, for binary outcomes
(response, remission), positive when arm 1 has *more* events.
*inflamed*: :func:`inflamed.stats.effect_sizes.escalc` keeps metafor's arm 1 minus arm 2; the
extraction convention is "positive favours treatment". All Metapsy depression instruments are
scored higher = worse, so inflamed flips the sign of SMDs from post-test means and from change
scores (``yi = -escalc(...)``) and keeps binary effects as they are; the result is oriented as
Metapsy's ``.g``. Every flip is written in ``derivation``.

Status: on the Metapsy depression psychotherapy database (release 24.0.2, 900 rows), inflamed's g
from raw arm data agrees with ``.g`` within 1e-3 on 877 of 883 comparable rows (99.32 %); the six
disagreements are listed and explained by tests/test_ingest_metapsy.py.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.codebook import SHEETS
from inflamed.ingest.sheets import (
    CONTRAST_COLUMNS,
    CONVERSION_COLUMNS,
    Review,
    decode_utf8,
    empty_sheet,
)
from inflamed.stats.effect_sizes import escalc, hedges_j

__all__ = [
    "DATA_KINDS",
    "METAPSY_REQUIRED",
    "compare_with_metapsy",
    "metapsy_effects",
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
#: The raw data an effect can come from, in Metapsy's priority order
#: (metadata/outcome_calculation.txt of the Metapsy releases): post-test means and SDs, change
#: scores, binary outcomes, other (precalculated) statistics.
DATA_KINDS = ("post_msd", "change_msd", "events", "precalc_g")
SOURCE = "Metapsy data standard, https://docs.metapsy.org/data-preparation/format/"

_NUM = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def read_metapsy(path: str | Path) -> pd.DataFrame:
    """Read a Metapsy-standard CSV without losing or changing anything.

    Parameters
    ----------
    path
        ``data.csv`` of a Metapsy database (``;``-separated, decimal commas, ``NA``), UTF-8.

    Returns
    -------
    pandas.DataFrame
        Every column of the file (the unnamed leading row-number column is dropped); the raw
        effect-size columns and ``.``-derived numbers as floats (text there is an error), any other
        column as floats when all its cells are numbers, text as str (``""`` = missing), plus ``row_ref`` (``<file name>:<row>``, header =
        row 1; quoted cells may span lines, so rows count records, not lines).
        ``frame.attrs["derived_columns"]`` lists the ``.``-prefixed columns Metapsy derived
        (kept with their names; they are Metapsy's results, not raw data).

    Raises
    ------
    InputError
        Not UTF-8, missing standard columns, a row with the wrong number of cells, text in a
        numeric column (naming row, column and value).
    """
    path = Path(path)
    text = decode_utf8(path.read_bytes(), path)
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    if not records:
        raise InputError("the file is empty", file=path, row=1, expected="a Metapsy header row")
    header = records[0]
    for col in METAPSY_REQUIRED:
        if col not in header:
            raise InputError(
                "a Metapsy standard column is missing",
                file=path,
                row=1,
                column=col,
                expected="the Metapsy standard variables, ';'-separated (" + SOURCE + ")",
            )
    body = []
    rows = []
    for i, rec in enumerate(records[1:]):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) != len(header):
            raise InputError(
                f"the row has {len(rec)} cells but the header has {len(header)}",
                file=path,
                row=i + 2,
                expected="';'-separated cells, one per header column",
            )
        body.append(rec)
        rows.append(i + 2)
    frame = pd.DataFrame(body, columns=header)
    if header[0] in ("", "X", "Unnamed: 0"):
        frame = frame.drop(columns=header[0])
    for col in frame.columns:
        values = frame[col].str.strip()
        missing = values.isin(NA_STRINGS)
        if col in NUMERIC or (col.startswith(".") and col != ".id"):
            bad = ~missing & ~values.str.match(_NUM)
            if bad.any():
                j = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(
                    "text in a numeric column",
                    file=path,
                    row=rows[j],
                    column=col,
                    value=values.iloc[j],
                    expected="a number (decimal comma or point) or NA",
                )
            frame[col] = pd.to_numeric(
                values.where(~missing).str.replace(",", ".", regex=False)
            ).astype(float)
        elif (~missing).any() and values[~missing].str.match(_NUM).all() and col != ".id":
            # other columns (baseline_*, rand_*, attr_*, codes) become numbers when all cells are
            frame[col] = pd.to_numeric(
                values.where(~missing).str.replace(",", ".", regex=False)
            ).astype(float)
        else:
            frame[col] = values.where(~missing, "")
    frame["row_ref"] = [f"{path.name}:{r}" for r in rows]
    frame.attrs["derived_columns"] = [c for c in frame.columns if c.startswith(".")]
    frame.attrs["file"] = str(path)
    return frame


def _have(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if not all(c in frame for c in cols):
        return np.zeros(len(frame), dtype=bool)
    return frame[cols].notna().all(axis=1).to_numpy()


def _data_kind(frame: pd.DataFrame) -> np.ndarray:
    kind = np.full(len(frame), "none", dtype=object)
    for name, cols in (
        ("precalc_g", PRECALC),
        ("events", EVENTS),
        ("change_msd", CHANGE),
        ("post_msd", POST),
    ):
        kind[_have(frame, cols)] = name  # later assignments win: post_msd has top priority
    return kind


def metapsy_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """inflamed's Hedges' g for every row of a Metapsy dataset, from the raw data it gives.

    Parameters
    ----------
    frame
        Output of :func:`read_metapsy`.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order: ``.id``, ``study``, ``row_ref``, ``data_used``
        (one of :data:`DATA_KINDS` or ``none``), ``yi`` (Hedges' g, positive = arm 1 better, as
        Metapsy's ``.g``), ``vi``, ``measure`` (``SMD``), ``sign`` (what was flipped),
        ``derivation``, and Metapsy's own ``metapsy_g`` / ``metapsy_g_se`` for comparison.

    Notes
    -----
    Which data: the first complete set in Metapsy's priority order (post-test mean/SD/n of both
    arms; change-score mean/SD/n; events/totals; ``precalc_g``/``precalc_g_se``).

    * ``post_msd`` / ``change_msd``: :func:`~inflamed.stats.effect_sizes.escalc` ``SMD`` (exact
      Hedges J, variance 1/n1 + 1/n2 + g^2/(2(n1+n2)), metafor's vtype "LS"), sign flipped
      because the instruments score higher = worse. Metapsy's ``.g_se`` is computed with d in
      place of g in the last term (the esc package), so ``vi`` and ``.g_se^2`` differ slightly.
    * ``events``: log odds ratio (``escalc`` ``OR``, 0.5 added to every cell of a table with a
      zero) converted to d = ln(OR) sqrt(3)/pi (Chinn 2000, doi 10.1002/1097-0258(20001130)19:22
      <3127::AID-SIM784>3.0.CO;2-M), times Hedges' J(n1 + n2 - 2) as Metapsy does; variance
      var(ln OR) 3/pi^2 (uncorrected, as Metapsy's ``.g_se``). Events are responses or
      remissions (benefit), so no flip.
    * ``precalc_g``: Metapsy's precalculated g and SE, taken as they are (already oriented).
    """
    kind = _data_kind(frame)
    n = len(frame)
    yi = np.full(n, np.nan)
    vi = np.full(n, np.nan)
    sign = np.full(n, "", dtype=object)
    deriv = np.full(n, "no usable raw data or precalculated g", dtype=object)
    for name, cols in (("post_msd", POST), ("change_msd", CHANGE)):
        idx = np.flatnonzero(kind == name)
        if idx.size:
            sub = frame.iloc[idx]
            es = escalc(
                "SMD",
                m1i=sub[cols[0]],
                sd1i=sub[cols[1]],
                n1i=sub[cols[2]],
                m2i=sub[cols[3]],
                sd2i=sub[cols[4]],
                n2i=sub[cols[5]],
            )
            yi[idx] = -es.yi
            vi[idx] = es.vi
            what = "post-test means" if name == "post_msd" else "change scores (post - pre)"
            sign[idx] = "flipped: instrument scored higher = worse"
            for j, d in zip(idx, es.derivation, strict=True):
                deriv[j] = (
                    f"{d}; from {what}; sign flipped (-g) so that positive = arm 1 better (lower scores)"
                )
    idx = np.flatnonzero(kind == "events")
    if idx.size:
        sub = frame.iloc[idx]
        es = escalc(
            "OR",
            ai=sub["event_arm1"],
            n1i=sub["totaln_arm1"],
            ci=sub["event_arm2"],
            n2i=sub["totaln_arm2"],
        )
        total = (sub["totaln_arm1"] + sub["totaln_arm2"]).to_numpy()
        j_corr = hedges_j(total - 2)
        yi[idx] = es.yi * math.sqrt(3) / math.pi * j_corr
        vi[idx] = es.vi * 3 / math.pi**2
        sign[idx] = "kept: event = response/remission (benefit)"
        for j, d in zip(idx, es.derivation, strict=True):
            deriv[j] = (
                f"{d}; g = ln(OR) * sqrt(3)/pi * J(n1+n2-2), v = var(ln OR) * 3/pi^2 (Chinn 2000; Hedges 1981)"
            )
    idx = np.flatnonzero(kind == "precalc_g")
    if idx.size:
        yi[idx] = frame["precalc_g"].to_numpy()[idx]
        vi[idx] = frame["precalc_g_se"].to_numpy()[idx] ** 2
        sign[idx] = "kept: Metapsy's precalculated g (already positive = arm 1 better)"
        deriv[idx] = "precalc_g and precalc_g_se^2 as given by Metapsy"
    out = pd.DataFrame(
        {
            ".id": frame[".id"] if ".id" in frame else "",
            "study": frame["study"],
            "row_ref": frame["row_ref"],
            "data_used": kind,
            "yi": yi,
            "vi": vi,
            "measure": "SMD",
            "sign": sign,
            "derivation": deriv,
            "metapsy_g": frame[".g"] if ".g" in frame else np.nan,
            "metapsy_g_se": frame[".g_se"] if ".g_se" in frame else np.nan,
        }
    )
    return out.reset_index(drop=True)


def compare_with_metapsy(effects: pd.DataFrame, *, tol: float = 1e-3) -> pd.DataFrame:
    """Compare inflamed's g with Metapsy's ``.g`` on rows where both come from the same raw data.

    Parameters
    ----------
    effects
        Output of :func:`metapsy_effects`.
    tol
        Absolute tolerance on g.

    Returns
    -------
    pandas.DataFrame
        The compared rows (raw data used: post_msd, change_msd or events; ``.g`` present) with
        ``diff = yi - metapsy_g``, ``agree`` and, for disagreements, ``explanation``: a sign
        reversal (Metapsy's ``.g`` has the opposite sign of its own raw arm data), a small
        difference (< 0.01: Metapsy computed from slightly different numbers, e.g. other n), or a
        large difference (``.g`` not reproducible from the row's raw columns, e.g. an entry error
        or other data used).
    """
    mask = (
        effects["data_used"].isin(["post_msd", "change_msd", "events"])
        & effects["metapsy_g"].notna()
    )
    out = effects.loc[mask].copy()
    out["diff"] = out["yi"] - out["metapsy_g"]
    out["agree"] = out["diff"].abs() < tol
    expl = np.full(len(out), "", dtype=object)
    for i, (ours, theirs, d) in enumerate(
        zip(out["yi"], out["metapsy_g"], out["diff"], strict=True)
    ):
        if abs(d) < tol:
            continue
        if abs(ours + theirs) < tol:
            expl[i] = (
                "sign reversal: Metapsy's .g has the opposite sign of the g its raw arm data give"
            )
        elif abs(d) < 0.01:
            expl[i] = (
                "small difference (< 0.01): Metapsy's .g was computed from slightly different numbers than the row's raw columns"
            )
        else:
            expl[i] = (
                "large difference: Metapsy's .g is not reproducible from the row's raw columns (entry error or other data used)"
            )
    out["explanation"] = expl
    return out.reset_index(drop=True)


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
    kind = _data_kind(frame)
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
    numeric = [
        c
        for c in CONTRAST_COLUMNS
        if c.rsplit("_", 1)[0]
        in {"n", "mean", "sd", "se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max", "events"}
        or c == "timepoint_weeks"
    ]
    for c in numeric:
        out[c] = out[c].astype(float)
    return out


def read_metapsy_review(
    folder: str | Path,
    *,
    instruments_path: str | Path | None = None,
    outcomes: Collection[str] | None = None,
    name: str | None = None,
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

    Returns
    -------
    Review
        ``contrasts`` from :func:`metapsy_to_contrasts`; ``studies`` with one row per Metapsy
        study label (``first_author`` and ``year`` from it, ``source`` = its reference); the
        optional sheets empty; ``instruments`` derived as described.
    """
    folder = Path(folder)
    review = name or folder.name
    frame = read_metapsy(folder / "data.csv")
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
