"""What changed between two copies of a ClinicalTrials.gov API v2 study record.

``inflamed fetch ctgov`` compares each freshly downloaded record with the copy saved by the
previous fetch and prints, by trial and outcome measure, what is new (a results section, an
outcome measure, a value) and which values changed. The comparison reads only the numbers a review
can use: every outcome-measure measurement (value, spread, limits) and denominator, addressed by
outcome-measure, class, category and group **titles** (never ids or positions, which a registry may
renumber), and the serious-adverse-event counts per event group. Free text, dates and the order of
items are ignored, so a record whose only change is its ``lastUpdatePostDate`` reports no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["RecordDiff", "ValueChange", "diff_records", "flatten_results"]

#: Fields of an API v2 measurement that hold numbers.
MEASUREMENT_FIELDS = ("value", "spread", "lowerLimit", "upperLimit")

#: Pseudo outcome-measure title under which serious-adverse-event counts are compared.
SERIOUS_AE = "Serious adverse events (adverseEventsModule)"

#: A flattened value's address: (outcome measure, class, category, group, field).
Key = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class ValueChange:
    """One value that differs between the two copies (``old`` is '' for an added value)."""

    outcome: str
    where: str
    old: str
    new: str


@dataclass(frozen=True)
class RecordDiff:
    """Differences between the previous and the new copy of one record.

    Attributes
    ----------
    results_added
        The new copy has a results section and the previous copy (or no copy) had none.
    outcomes_added, outcomes_removed
        Outcome-measure titles present in only one copy (sorted).
    changed
        Values present in both copies that differ, and values added to an outcome measure that
        both copies hold; sorted by outcome and address.
    """

    results_added: bool
    outcomes_added: tuple[str, ...]
    outcomes_removed: tuple[str, ...]
    changed: tuple[ValueChange, ...]

    @property
    def is_empty(self) -> bool:
        """True when nothing a review could use differs."""
        return not (
            self.results_added or self.outcomes_added or self.outcomes_removed or self.changed
        )

    def lines(self) -> list[str]:
        """The differences as indented one-line messages, grouped by outcome measure."""
        out = []
        if self.results_added:
            out.append("  + results posted")
        out += [f"  + outcome '{t}'" for t in self.outcomes_added]
        out += [f"  - outcome '{t}' (no longer in the record)" for t in self.outcomes_removed]
        last = None
        for change in self.changed:
            if change.outcome != last:
                out.append(f"  ~ outcome '{change.outcome}':")
                last = change.outcome
            old = change.old if change.old != "" else "(none)"
            out.append(f"      {change.where}: {old} -> {change.new or '(none)'}")
        return out


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def flatten_results(record: Mapping[str, Any] | None) -> dict[Key, str]:
    """Every usable number of a record's results section, keyed by titles.

    Parameters
    ----------
    record
        A parsed API v2 study record, or ``None`` (no previous copy).

    Returns
    -------
    dict
        ``(outcome measure, class, category, group, field) -> value as printed``; empty when the
        record has no results. Denominators use class ``''`` (or the class title when the class
        carries its own) and category ``'denominator'``.
    """
    if not record:
        return {}
    results = record.get("resultsSection") or {}
    flat: dict[Key, str] = {}
    for om in (results.get("outcomeMeasuresModule") or {}).get("outcomeMeasures") or []:
        title = _text(om.get("title"))
        groups = {g.get("id"): _text(g.get("title")) for g in om.get("groups") or []}
        for denom in om.get("denoms") or []:
            for count in denom.get("counts") or []:
                group = groups.get(count.get("groupId"), _text(count.get("groupId")))
                flat[(title, "", "denominator", group, _text(denom.get("units")))] = _text(
                    count.get("value")
                )
        for cls in om.get("classes") or []:
            ctitle = _text(cls.get("title"))
            for denom in cls.get("denoms") or []:
                for count in denom.get("counts") or []:
                    group = groups.get(count.get("groupId"), _text(count.get("groupId")))
                    flat[(title, ctitle, "denominator", group, _text(denom.get("units")))] = _text(
                        count.get("value")
                    )
            for cat in cls.get("categories") or []:
                cattitle = _text(cat.get("title"))
                for m in cat.get("measurements") or []:
                    group = groups.get(m.get("groupId"), _text(m.get("groupId")))
                    for field in MEASUREMENT_FIELDS:
                        if m.get(field) is not None:
                            flat[(title, ctitle, cattitle, group, field)] = _text(m.get(field))
    for group in (results.get("adverseEventsModule") or {}).get("eventGroups") or []:
        for field in ("seriousNumAffected", "seriousNumAtRisk"):
            if group.get(field) is not None:
                flat[(SERIOUS_AE, "", "", _text(group.get("title")), field)] = _text(group[field])
    return flat


def _where(key: Key) -> str:
    _, cls, cat, group, field = key
    parts = [p for p in (cls, cat) if p]
    return " / ".join([*parts, f"group '{group}'", field])


def diff_records(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> RecordDiff:
    """Compare the previous copy of a record (``None`` if there was none) with the new copy."""
    before, after = flatten_results(old), flatten_results(new)
    outcomes_before = {k[0] for k in before}
    outcomes_after = {k[0] for k in after}
    changed = []
    for key in sorted(set(before) | set(after)):
        if key[0] not in outcomes_before or key[0] not in outcomes_after:
            continue  # reported once as an added or removed outcome, not value by value
        if before.get(key, "") != after.get(key, ""):
            changed.append(
                ValueChange(key[0], _where(key), before.get(key, ""), after.get(key, ""))
            )
    had_results = bool(old and old.get("resultsSection"))
    return RecordDiff(
        results_added=bool(new.get("resultsSection")) and not had_results,
        outcomes_added=tuple(sorted(outcomes_after - outcomes_before)),
        outcomes_removed=tuple(sorted(outcomes_before - outcomes_after)),
        changed=tuple(changed),
    )
