"""How a published pooled estimate is put on inflamed's convention: one rule for figure and report.

inflamed reports continuous effects so that a positive value favours the treatment; a publication
that reports benefit as a negative SMD (``benefit_direction = negative``) is negated, with its
limits swapped. Ratios are treatment vs control in both conventions (whether above 1 is good
depends on the event), so they are never turned. A difference whose direction the sheet does not
record is not turned either, and the caller says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from inflamed.stats.measures import is_ratio

__all__ = ["Aligned", "align_published"]


@dataclass(frozen=True)
class Aligned:
    """A published estimate and CI on inflamed's convention (natural scale: ratios as ratios)."""

    estimate: float
    ci_lb: float
    ci_ub: float
    turned: bool
    direction_known: bool


def align_published(
    measure: str, estimate: float, ci_lb: float, ci_ub: float, direction: str
) -> Aligned:
    """Apply the rule of the module docstring to one published estimate."""
    if is_ratio(measure) or direction == "positive":
        return Aligned(estimate, ci_lb, ci_ub, turned=False, direction_known=True)
    if direction == "negative":
        return Aligned(-estimate, -ci_ub, -ci_lb, turned=True, direction_known=True)
    return Aligned(estimate, ci_lb, ci_ub, turned=False, direction_known=False)
