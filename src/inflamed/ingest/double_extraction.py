"""Compare two extractors' outcomes sheets and list every disagreement.

Double extraction (Cochrane Handbook v6.4, section 5.5.2) means two people fill the same sheet
independently; every difference is resolved before anything is pooled. The workflow compares
``outcomes.csv`` with the optional ``outcomes.extractor2.csv`` and stops, writing the list, if
they disagree.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from inflamed.ingest.codebook import SHEETS
from inflamed.ingest.sheets import read_sheet

__all__ = ["DISAGREEMENT_COLUMNS", "compare_extractions"]

DISAGREEMENT_COLUMNS = ["study_id", "row_key", "field", "value_a", "value_b", "row_a", "row_b"]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.12g}"
    return str(value)


def compare_extractions(
    path_a: str | Path,
    path_b: str | Path,
    *,
    ignore: Collection[str] = ("extractor", "notes"),
) -> pd.DataFrame:
    """List every disagreement between two outcomes sheets of the same review.

    Parameters
    ----------
    path_a, path_b
        Two ``outcomes.csv``-format files (each validated against the codebook first).
    ignore
        Columns that are expected to differ between extractors (default: who extracted, notes).

    Returns
    -------
    pandas.DataFrame
        One row per disagreement, columns :data:`DISAGREEMENT_COLUMNS`, sorted: ``row_key`` is the
        outcomes key (contrast / subgroup / outcome / instrument / time point) joined by ``|``;
        ``field`` is the column, or ``(row)`` for a row present in one sheet only (its
        ``value_a``/``value_b`` then say ``present``/``absent``); ``row_a``/``row_b`` are the
        spreadsheet rows. Empty when the sheets agree.

    Notes
    -----
    Numbers are compared after parsing, so only formatting is tolerated (``1.50`` equals
    ``1.5``; ``1.5`` and ``1.51`` disagree). Text is compared exactly after trimming spaces; an
    empty cell differs from any value.
    """
    a = read_sheet(path_a, "outcomes")
    b = read_sheet(path_b, "outcomes")
    key = list(SHEETS["outcomes"]["key"])

    def index(sheet):  # type: ignore[no-untyped-def]
        out = {}
        for (_, rec), row in zip(sheet.frame.iterrows(), sheet.rows, strict=True):
            out[tuple(_fmt(rec[k]) for k in key)] = (rec, row)
        return out

    ia, ib = index(a), index(b)
    fields = [c for c in a.frame.columns if c not in key and c not in set(ignore)]
    rows: list[dict[str, object]] = []
    for k in sorted(set(ia) | set(ib)):
        label = "|".join(k[1:])
        if k not in ib or k not in ia:
            rows.append(
                {
                    "study_id": k[0],
                    "row_key": label,
                    "field": "(row)",
                    "value_a": "present" if k in ia else "absent",
                    "value_b": "present" if k in ib else "absent",
                    "row_a": ia[k][1] if k in ia else None,
                    "row_b": ib[k][1] if k in ib else None,
                }
            )
            continue
        (ra, row_a), (rb, row_b) = ia[k], ib[k]
        for f in fields:
            va, vb = ra[f], rb[f]
            if isinstance(va, float) and isinstance(vb, float):
                same = (math.isnan(va) and math.isnan(vb)) or va == vb
            else:
                same = _fmt(va) == _fmt(vb)
            if not same:
                rows.append(
                    {
                        "study_id": k[0],
                        "row_key": label,
                        "field": f,
                        "value_a": _fmt(va),
                        "value_b": _fmt(vb),
                        "row_a": row_a,
                        "row_b": row_b,
                    }
                )
    frame = pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)
    frame["row_a"] = frame["row_a"].astype("Int64")
    frame["row_b"] = frame["row_b"].astype("Int64")
    return frame
