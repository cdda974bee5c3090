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

__all__ = ["key_words", "study_label"]


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


#: Parts of a snake_case key that are words of their own in prose (abbreviations, hyphens).
_KEY_PARTS = {
    "nsaid": "NSAID", "cox2": "COX-2", "il6": "IL-6", "il6r": "IL-6R", "tnf": "TNF",
    "omega3": "omega-3", "crp": "CRP", "rob": "RoB", "md": "MD", "smd": "SMD",
}  # fmt: skip
#: Whole keys that read differently from their parts.
_KEY_WORDS = {"add_on": "add-on", "post_hoc": "post hoc", "nsaid_cox2": "NSAID (COX-2)"}


def key_words(value: Any) -> str:
    """A sheet's enumerated key in words: ``cytokine_inhibitor`` -> "cytokine inhibitor",
    ``nsaid_cox2`` -> "NSAID (COX-2)", ``post_hoc`` -> "post hoc"; other text is kept as given.

    Keys join sheets and select rows; readers see the words (the report's tables).
    """
    if _missing(value):
        return ""
    text = str(value).strip()
    if text in _KEY_WORDS:
        return _KEY_WORDS[text]
    if " " in text or ("_" not in text and text.lower() not in _KEY_PARTS):
        return text
    words = " ".join(_KEY_PARTS.get(part.lower(), part) for part in text.split("_"))
    return words.replace("anti ", "anti-")  # anti_il6 -> "anti-IL-6"
