"""The effect measures inflamed knows, and their scales: one definition for every stage.

A measure is either a *ratio* (``RR``, ``OR``, Peto's OR, ...), estimated, pooled and stored as a
log ratio and shown exponentiated on a log axis, or a *difference* (``SMD``, ``MD``, ``RD``),
estimated and shown on its own scale. Figures, tables, the report and the pooling stage all ask
:func:`is_ratio` instead of keeping their own lists (six drifting copies preceded this module).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["MEASURES", "RATIO_MEASURES", "MeasureInfo", "is_ratio", "short_name"]


@dataclass(frozen=True)
class MeasureInfo:
    """What a measure is: its short name for column headers and whether it is a (log) ratio."""

    name: str
    short: str
    ratio: bool
    description: str


_ALL = (
    MeasureInfo("SMD", "g", False, "standardised mean difference (Hedges' g)"),
    MeasureInfo("SMCC", "g", False, "standardised mean change (change-score SD)"),
    MeasureInfo("SMCR", "g", False, "standardised mean change (raw-score SD)"),
    MeasureInfo("MD", "MD", False, "mean difference in the instrument's units"),
    MeasureInfo("RD", "RD", False, "risk difference"),
    MeasureInfo("RR", "RR", True, "risk ratio"),
    MeasureInfo("OR", "OR", True, "odds ratio"),
    MeasureInfo("PETO", "OR", True, "Peto odds ratio"),
    MeasureInfo("PETO_OR", "OR", True, "Peto odds ratio"),
    MeasureInfo("HR", "HR", True, "hazard ratio"),
    MeasureInfo("IRR", "IRR", True, "incidence rate ratio"),
    MeasureInfo("ROM", "ROM", True, "ratio of means"),
)

#: Every measure by name.
MEASURES: MappingProxyType[str, MeasureInfo] = MappingProxyType({m.name: m for m in _ALL})

#: Measures whose estimates are log ratios.
RATIO_MEASURES: frozenset[str] = frozenset(m.name for m in _ALL if m.ratio)


def is_ratio(measure: object) -> bool:
    """``True`` if ``measure`` is estimated and stored as a log ratio (unknown names: ``False``)."""
    return str(measure).upper() in RATIO_MEASURES


def short_name(measure: str) -> str:
    """The measure's short column-header name (``g`` for SMD, ``OR`` for Peto's OR)."""
    info = MEASURES.get(str(measure).upper())
    return info.short if info is not None else str(measure)
