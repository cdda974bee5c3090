"""Trial extraction: from the contrasts table to one analysis-ready effect per study and outcome.

For every outcome declared in config and every study x contrast x subgroup,
:func:`~inflamed.extract.stage.extract_effects`

1. picks one row by the configured priority rule (instrument priority, then time point, then
   endpoint before change scores, then arm-level before contrast-level), among the rows that
   carry usable numbers;
2. recovers what the effect size needs and the source does not give directly, but only in the
   ways the rules allow (SD from SE or CI, mean and SD from median + IQR or range;
   :mod:`inflamed.extract.arms`);
3. splits a control arm shared by several contrasts of a multi-arm trial (or keeps only the first
   contrast), so that no participant is counted twice;
4. computes the effect with :func:`inflamed.stats.effect_sizes.escalc` (arm 1 = treatment), or
   takes a reported between-arm difference with its SE or CI (contrast-level rows, generic
   inverse variance; :mod:`inflamed.extract.contrast`), and applies the sign convention: for
   continuous outcomes positive favours treatment, so effects on instruments scored higher =
   worse are flipped; binary effects stay treatment vs control;
5. writes every step to the derivation log and every value it needed and did not get to the
   missing table, with who could supply it.

Nothing is estimated that the rules did not allow. For continuous outcomes analysed as SMDs it
also gives the mean difference in each instrument's own points (``instrument_effects``), which
the pool stage pools within one instrument.

Status: tested on the simulated fixture review and on contrast-level rows (tests/test_extract.py,
tests/test_contrast_rows.py). ``prepost_correlation`` is recorded but not used: the sheet format
carries no baseline SDs from which a change-score SD could be derived, so no row needs it yet.
"""

from inflamed.extract.stage import extract_effects
from inflamed.extract.tables import (
    DEFAULT_RULES,
    DERIVATION_COLUMNS,
    EFFECT_COLUMNS,
    MISSING_COLUMNS,
    ExtractionResult,
)

__all__ = [
    "DEFAULT_RULES",
    "DERIVATION_COLUMNS",
    "EFFECT_COLUMNS",
    "MISSING_COLUMNS",
    "ExtractionResult",
    "extract_effects",
]
