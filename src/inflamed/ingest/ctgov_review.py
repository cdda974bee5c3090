"""Read a folder of ClinicalTrials.gov API v2 records (each with its mapping) as a review.

The records and mappings are read by :mod:`inflamed.ingest.ctgov`; this module gathers them into a
:class:`~inflamed.ingest.sheets.Review` with the studies sheet (``studies.csv`` beside the
records, or one minimal row per record). A mapping's ``between_arm`` measures (strata reporting
between-arm differences) become contrast-level rows (:mod:`inflamed.ingest.between_arm`).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from inflamed.errors import InputError
from inflamed.ingest.between_arm import read_between_arm
from inflamed.ingest.codebook import SHEETS
from inflamed.ingest.ctgov import read_ctgov_record, read_mapping
from inflamed.ingest.sheets import (
    CONTRAST_COLUMNS,
    CONVERSION_COLUMNS,
    Review,
    empty_sheet,
    read_instruments,
    read_studies,
)
from inflamed.io import load_json

__all__ = ["read_ctgov_review"]


def read_ctgov_review(
    folder: str | Path,
    *,
    instruments_path: str | Path,
    outcomes: Collection[str] | None = None,
    name: str | None = None,
) -> Review:
    """Read a folder of ClinicalTrials.gov records as a :class:`~inflamed.ingest.sheets.Review`.

    Parameters
    ----------
    folder
        Holds ``<NCT>.json`` records, each with a ``<NCT>.mapping.yaml`` beside it, and
        optionally ``studies.csv`` (the sheet format, for study covariates such as drug and CRP
        cut-off); opened read-only.
    instruments_path
        ``data/instruments.csv``; every mapped instrument must be a key of it.
    outcomes
        Declared outcomes; a mapped outcome outside them stops with an error.
    name
        Review name (default: the folder name).

    Returns
    -------
    Review
        Contrasts from every record; studies from ``studies.csv`` or, without it, one minimal
        row per record (``study_id``, ``registry_id``, brief title in ``notes``).
    """
    folder = Path(folder)
    review = name or folder.name
    instruments = read_instruments(instruments_path)
    records = sorted(p for p in folder.glob("*.json"))
    if not records:
        raise InputError(
            "no ClinicalTrials.gov records in the folder",
            file=folder,
            expected="<NCT>.json files with <NCT>.mapping.yaml beside them",
        )
    frames = []
    minimal = []
    for record in records:
        mapping_path = record.with_name(record.stem + ".mapping.yaml")
        if not mapping_path.is_file():
            raise InputError(
                "a record without its mapping",
                file=record,
                expected=f"{mapping_path.name} beside it",
            )
        mapping = read_mapping(mapping_path)
        mapping.setdefault("review", review)
        frame = read_ctgov_record(record, mapping)
        if mapping.get("between_arm"):
            # Strata reporting between-arm differences: contrast-level rows (generic inverse
            # variance) with the record's URL and location.
            data = load_json(record, what="a ClinicalTrials.gov API v2 study record (JSON)")
            directions = dict(
                zip(
                    instruments["instrument"],
                    instruments["higher_is_worse"].astype(str),
                    strict=True,
                )
            )
            pairs = read_between_arm(data, mapping, record, record.name, directions)
            extra = pd.DataFrame([row for _, row in pairs], columns=CONTRAST_COLUMNS)
            extra["review"] = mapping["review"]
            frame = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
        for row in frame.to_dict("records"):
            if outcomes is not None and row["outcome"] not in set(outcomes):
                raise InputError(
                    "unknown outcome",
                    file=mapping_path,
                    column="outcome",
                    value=row["outcome"],
                    expected="an outcome declared in config: " + ", ".join(sorted(outcomes)),
                )
            if row["instrument"] and row["instrument"] not in set(instruments["instrument"]):
                raise InputError(
                    "unknown instrument",
                    file=mapping_path,
                    column="instrument",
                    value=row["instrument"],
                    expected=f"a key of {instruments_path}",
                )
        frames.append(frame)
        data = load_json(record, what="a ClinicalTrials.gov API v2 study record (JSON)")
        ident = data.get("protocolSection", {}).get("identificationModule", {})
        minimal.append(
            {
                "study_id": mapping["study_id"],
                "registry_id": mapping["nct_id"],
                "notes": ident.get("briefTitle", ""),
                "source": f"https://clinicaltrials.gov/study/{mapping['nct_id']}",
                "source_location": "protocolSection.identificationModule",
                "row_ref": record.name,
            }
        )
    contrasts = pd.concat(frames, ignore_index=True)[CONTRAST_COLUMNS]
    cols = [c.name for c in SHEETS["studies"]["columns"]]
    conversions = pd.DataFrame(columns=CONVERSION_COLUMNS)
    if (folder / "studies.csv").is_file():
        studies, conversions = read_studies(folder / "studies.csv", review=review)
    else:
        studies = pd.DataFrame(minimal).reindex(columns=[*cols, "row_ref"])
        numeric = (
            "year",
            "duration_weeks",
            "crp_cutoff",
            "baseline_crp",
            "n_randomised_treat",
            "n_randomised_ctrl",
        )
        for c in cols:
            if c in numeric:
                studies[c] = studies[c].astype(float)
            else:
                studies[c] = studies[c].astype(object).where(studies[c].notna(), "").astype(str)
        studies["crp_cutoff_mg_l"] = math.nan
        studies["baseline_crp_mg_l"] = math.nan
    studies["review"] = review
    missing = sorted(set(contrasts["study_id"]) - set(studies["study_id"]))
    if missing:
        raise InputError(
            "study id of a mapping not found in studies.csv",
            file=folder / "studies.csv",
            column="study_id",
            value=missing[0],
            expected="a row per mapped study",
        )
    return Review(
        name=review,
        contrasts=contrasts,
        studies=studies.reset_index(drop=True),
        risk_of_bias=empty_sheet("risk_of_bias"),
        published_estimates=empty_sheet("published_estimates"),
        prisma=empty_sheet("prisma"),
        conversions=conversions,
        instruments=instruments,
    )
