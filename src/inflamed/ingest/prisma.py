"""PRISMA 2020 counts of a review (``prisma.csv``): read them and check that every arrow adds up.

A PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71, figure 1) has two identification
routes: *databases and registers* (stages without prefix) and *other methods* (websites,
organisations, citation searching; stages prefixed ``other_`` plus ``identified_other``). Each
route runs identified -> removed before screening -> screened -> excluded -> sought for retrieval
-> not retrieved -> assessed -> excluded, and both join at ``studies_included``. A box the review
team did not search is ``status = not_searched`` (count 0), one it did not tally is
``not_counted``; neither is the same as a missing row ("not reported").

:func:`prisma_arithmetic` returns one :class:`ArithmeticCheck` per arrow; an arrow is checkable
only when every count on it is a counted number, and a test holds the shipped review to all of
its checkable arrows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from inflamed.errors import InputError
from inflamed.labels import key_words

__all__ = [
    "EXCLUSION_PREFIX",
    "OTHER_STAGES",
    "STAGES",
    "ArithmeticCheck",
    "PrismaCounts",
    "prisma_arithmetic",
    "read_prisma_counts",
    "stage_words",
]

#: Boxes of the databases-and-registers route and the shared included boxes.
STAGES = (
    "identified_databases",
    "identified_registers",
    "duplicates_removed",
    "records_screened",
    "records_excluded",
    "reports_sought",
    "reports_not_retrieved",
    "reports_assessed",
    "reports_excluded",
    "studies_included",
    "reports_included",
)
#: Boxes of the other-methods route (websites, organisations, citation searching).
OTHER_STAGES = (
    "identified_other",
    "other_removed_before_screening",
    "other_screened",
    "other_excluded",
    "other_reports_sought",
    "other_reports_not_retrieved",
    "other_reports_assessed",
    "other_reports_excluded",
)
EXCLUSION_PREFIX = "reports_excluded:"
#: Channels of a route are listed in the identification box: ``identified_other_websites`` etc.
_CHANNEL_PREFIXES = ("identified_other_", "records_identified_")
STATUSES = ("counted", "not_searched", "not_counted")


#: Each stage as PRISMA 2020's flow diagram words it (the report's count table).
_STAGE_WORDS = {
    "identified_databases": "Records identified from databases",
    "identified_registers": "Records identified from registers",
    "duplicates_removed": "Records removed before screening (duplicates)",
    "records_screened": "Records screened",
    "records_excluded": "Records excluded",
    "reports_sought": "Reports sought for retrieval",
    "reports_not_retrieved": "Reports not retrieved",
    "reports_assessed": "Reports assessed for eligibility",
    "reports_excluded": "Reports excluded",
    "studies_included": "Studies included in review",
    "reports_included": "Reports of included studies",
    "identified_other": "Records identified via other methods (total)",
    "other_removed_before_screening": "Other methods: records removed before screening",
    "other_screened": "Other methods: records screened",
    "other_excluded": "Other methods: records excluded",
    "other_reports_sought": "Other methods: reports sought for retrieval",
    "other_reports_not_retrieved": "Other methods: reports not retrieved",
    "other_reports_assessed": "Other methods: reports assessed for eligibility",
    "other_reports_excluded": "Other methods: reports excluded",
}


def stage_words(stage: str) -> str:
    """A ``prisma.csv`` stage in the flow diagram's words: ``identified_other_websites`` ->
    "Records identified via other methods: websites"; a stage PRISMA does not name (a count the
    review adds) keeps its key, underscores read as spaces."""
    stage = str(stage)
    if stage in _STAGE_WORDS:
        return _STAGE_WORDS[stage]
    if stage.startswith(EXCLUSION_PREFIX):
        return f"Reports excluded: {stage[len(EXCLUSION_PREFIX) :].strip()}"
    routes = dict(zip(_CHANNEL_PREFIXES, ("via other methods", "from"), strict=True))
    for prefix, route in routes.items():
        if stage.startswith(prefix):
            return f"Records identified {route}: {key_words(stage[len(prefix) :])}"
    words = key_words(stage)
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class PrismaCounts:
    """The counts of one ``prisma.csv``.

    Attributes
    ----------
    known
        Template stage or identification channel -> count (NaN for an empty cell).
    status
        Stage -> ``counted``, ``not_searched`` or ``not_counted`` (every stage given).
    channels
        Identification channels of the other-methods route, in file order: (stage, count).
    reasons
        Exclusion reasons (``reports_excluded:<reason>``), in file order: (reason, count).
    others
        Stages outside the template, in file order: (stage, count).
    """

    known: dict[str, float]
    status: dict[str, str]
    channels: tuple[tuple[str, float], ...]
    reasons: tuple[tuple[str, float], ...]
    others: tuple[tuple[str, float], ...]

    def value(self, stage: str) -> float:
        """The count of ``stage`` (NaN when absent or empty)."""
        return self.known.get(stage, math.nan)

    def counted(self, stage: str) -> bool:
        """True when ``stage`` has a number the team counted (``not_searched`` counts as 0)."""
        return math.isfinite(self.value(stage)) and self.status.get(stage) != "not_counted"


def _count(raw: object, row: int) -> float:
    if (
        raw is None
        or (isinstance(raw, float) and math.isnan(raw))
        or (isinstance(raw, str) and not raw.strip())
    ):
        return math.nan
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = -1.0
    if not (value >= 0 and float(value).is_integer()):
        raise InputError(
            "PRISMA count is not a whole number",
            row=row,
            column="count",
            value=raw,
            expected="a non-negative integer or an empty cell",
        )
    return value


def read_prisma_counts(counts: pd.DataFrame) -> PrismaCounts:
    """Read a review's PRISMA counts (columns ``stage``, ``count``, optional ``status``).

    Raises
    ------
    InputError
        A column is missing, a stage is empty or given twice, a count is not a non-negative
        integer, or a status is not one of ``counted``, ``not_searched``, ``not_counted``.
    """
    missing = [c for c in ("stage", "count") if c not in counts.columns]
    if missing:
        raise InputError(
            "PRISMA counts lack a column",
            column=", ".join(missing),
            expected="columns stage and count",
        )
    counts = counts.reset_index(drop=True)
    statuses = counts["status"] if "status" in counts.columns else [None] * len(counts)
    known: dict[str, float] = {}
    status: dict[str, str] = {}
    channels: list[tuple[str, float]] = []
    reasons: list[tuple[str, float]] = []
    others: list[tuple[str, float]] = []
    for index, (stage, raw, state) in enumerate(
        zip(counts["stage"], counts["count"], statuses, strict=True)
    ):
        row = index + 2  # the header is row 1
        if not isinstance(stage, str) or not stage.strip():
            raise InputError(
                "empty PRISMA stage", row=row, column="stage", value=stage, expected="a stage name"
            )
        stage = stage.strip()
        if stage in status:
            raise InputError(
                "PRISMA stage given twice",
                row=row,
                column="stage",
                value=stage,
                expected="each stage once",
            )
        state = state.strip() if isinstance(state, str) and state.strip() else "counted"
        if state not in STATUSES:
            raise InputError(
                "unknown PRISMA status",
                row=row,
                column="status",
                value=state,
                expected=" or ".join(STATUSES),
            )
        status[stage] = state
        value = _count(raw, row)
        if stage in STAGES or stage in OTHER_STAGES:
            known[stage] = value
        elif stage.startswith(EXCLUSION_PREFIX):
            reasons.append((stage[len(EXCLUSION_PREFIX) :].replace("_", " ").strip(), value))
        elif stage.startswith(_CHANNEL_PREFIXES):
            channels.append((stage, value))
            known[stage] = value
        else:
            others.append((stage, value))
    return PrismaCounts(known, status, tuple(channels), tuple(reasons), tuple(others))


@dataclass(frozen=True)
class ArithmeticCheck:
    """One arrow of the flow diagram: ``left`` must equal ``right``.

    ``checkable`` is False when a count on the arrow is absent, empty or not counted; ``holds``
    is then None.
    """

    arrow: str
    left: str
    right: str
    left_value: float
    right_value: float
    checkable: bool
    holds: bool | None


def _check(
    counts: PrismaCounts, arrow: str, plus: tuple[str, ...], minus: tuple[str, ...], equals: str
) -> ArithmeticCheck:
    terms = (*plus, *minus, equals)
    checkable = all(counts.counted(s) for s in terms)
    left = sum(counts.value(s) for s in plus) - sum(counts.value(s) for s in minus)
    right = counts.value(equals)
    text = " + ".join(plus) + "".join(f" - {s}" for s in minus)
    return ArithmeticCheck(
        arrow, text, equals, left, right, checkable, (left == right) if checkable else None
    )


def prisma_arithmetic(counts: PrismaCounts) -> tuple[ArithmeticCheck, ...]:
    """Every arrow of the PRISMA 2020 flow whose boxes the review gives, as a check.

    A route contributes its arrows only when its identification box is given. The included box
    is checked against what both routes carry into it, and the exclusion reasons (when given)
    against the excluded box.
    """
    checks: list[ArithmeticCheck] = []
    db = tuple(s for s in ("identified_databases", "identified_registers") if s in counts.known)
    db_searched = any(counts.status.get(s) != "not_searched" for s in db)
    into_included: list[tuple[str, str]] = []
    if db and db_searched:
        checks += [
            _check(counts, "identification to screening", db, ("duplicates_removed",), "records_screened"),
            _check(counts, "screening to retrieval", ("records_screened",), ("records_excluded",), "reports_sought"),
            _check(counts, "retrieval to eligibility", ("reports_sought",), ("reports_not_retrieved",), "reports_assessed"),
        ]  # fmt: skip
        into_included.append(("reports_assessed", "reports_excluded"))
    if "identified_other" in counts.known:
        if counts.channels:
            checks.append(
                _check(
                    counts,
                    "other methods: channels add up",
                    tuple(s for s, _ in counts.channels),
                    (),
                    "identified_other",
                )
            )
        if "other_screened" in counts.known:
            checks += [
                _check(counts, "other methods: identification to screening", ("identified_other",), ("other_removed_before_screening",), "other_screened"),
                _check(counts, "other methods: screening to retrieval", ("other_screened",), ("other_excluded",), "other_reports_sought"),
            ]  # fmt: skip
        checks.append(
            _check(
                counts,
                "other methods: retrieval to eligibility",
                ("other_reports_sought",),
                ("other_reports_not_retrieved",),
                "other_reports_assessed",
            )
        )
        into_included.append(("other_reports_assessed", "other_reports_excluded"))
    if into_included:
        checks.append(
            _check(
                counts,
                "eligibility to included",
                tuple(a for a, _ in into_included),
                tuple(e for _, e in into_included),
                "studies_included",
            )
        )
    if counts.reasons:
        reasons_total = sum(v for _, v in counts.reasons)
        excluded = counts.value("reports_excluded")
        ok = math.isfinite(reasons_total) and counts.counted("reports_excluded")
        checks.append(
            ArithmeticCheck(
                "exclusion reasons add up",
                " + ".join(r for r, _ in counts.reasons),
                "reports_excluded",
                reasons_total,
                excluded,
                ok,
                (reasons_total == excluded) if ok else None,
            )
        )
    return tuple(checks)
