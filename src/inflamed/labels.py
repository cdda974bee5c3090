"""The one study label every artefact, figure and the report print: ``First-author Year``.

Study ids (``RAISON2013``, ``EMORY_NCT03004443``) are keys for joining, not text for readers;
a reader must see the same study under the same name in the pool stage's per-study table, in
every figure and in the report. The label comes from the studies sheet (``first_author``,
``year``) and falls back to the study id only where the sheet names no author.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["study_label"]


def _missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, float) and math.isnan(x):
        return True
    return isinstance(x, str) and not x.strip()


def study_label(row: Mapping[str, Any]) -> str:
    """``"Raison 2013"`` from a studies-sheet row (``first_author``, ``year``, ``study_id``).

    Falls back to ``study_id`` without an author; the year is left out where it is missing or
    already part of the author text.
    """
    author = row.get("first_author")
    year = row.get("year")
    if _missing(author):
        return str(row.get("study_id"))
    author = str(author).strip()
    if _missing(year):
        return author
    try:
        year_text = str(int(float(year)))
    except (TypeError, ValueError):
        year_text = str(year)
    return author if year_text in author else f"{author} {year_text}"
