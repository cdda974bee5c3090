"""Studies with no events in either arm: set aside on the ratio scale, but shown to the reader.

A study with 0 events in both arms carries no information on a risk or odds ratio (Cochrane
Handbook 10.4.4.2), so the extract stage records it in ``derivation_log.csv`` (step
``exclude``) instead of passing it to pooling. It is still evidence: "no serious adverse events
in 60 patients" is a result. This module finds those rows and their arm counts (from the ingested
``contrasts.csv``) so the summary of findings and the results say "no events in either arm" with
N, instead of "no evidence", and give the Mantel-Haenszel risk difference that keeps them (the pool
stage's ``rare_events`` block, :mod:`inflamed.rare_events`) where config names it.
"""

from __future__ import annotations

from dataclasses import dataclass

from inflamed.rare_events import set_aside_tables
from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.html import esc, fmt_int, fmt_number, is_missing, num
from inflamed.report.tables import study_labels

__all__ = ["ZeroEventStudy", "risk_difference_text", "zero_event_studies", "zero_event_text"]


@dataclass(frozen=True)
class ZeroEventStudy:
    """One study set aside because neither arm had an event (or every patient had one)."""

    study_id: str
    label: str
    events_treat: int
    n_treat: int
    events_ctrl: int
    n_ctrl: int
    row_ref: str
    source: str

    @property
    def n(self) -> int:
        return self.n_treat + self.n_ctrl


def zero_event_studies(
    review: ReviewArtefacts, outcome: str, analysis_set: str
) -> tuple[ZeroEventStudy, ...]:
    """The studies of ``outcome`` in ``analysis_set`` dropped for no events in either arm."""
    tables = set_aside_tables(review.derivation_log, review.contrasts)
    tables = tables[(tables["outcome"] == outcome) & (tables["subgroup"] == analysis_set)]
    labels = study_labels(review.studies)
    source = review.path("ingest", "contrasts.csv")
    out = [
        ZeroEventStudy(
            study_id=str(r["study_id"]),
            label=labels.get(str(r["study_id"]), str(r["study_id"])),
            events_treat=int(r["events_treat"]),
            n_treat=int(r["n_treat"]),
            events_ctrl=int(r["events_ctrl"]),
            n_ctrl=int(r["n_ctrl"]),
            row_ref=str(r["row_ref"]),
            source=source,
        )
        for _, r in tables.drop_duplicates("row_ref").iterrows()
    ]
    return tuple(out)


def risk_difference_text(review: ReviewArtefacts, outcome: str, analysis_set: str) -> str:
    """ "; risk difference (Mantel-Haenszel, ...) 0.00 (95% CI -0.06 to 0.06), ..." or "".

    Empty when the pool stage ran no MH risk difference for the set (config
    ``pooling.rare_events``) or it is not estimable.
    """
    artefacts = review.outcomes.get(outcome)
    sets = ((artefacts.summary or {}).get("sets", {})) if artefacts else {}
    block = ((sets.get(analysis_set) or {}).get("rare_events") or {}).get("MH_RD")
    if not block or not block.get("estimable") or is_missing(block.get("estimate")):
        return ""
    base = f"{artefacts.paths['summary']}#/sets/{analysis_set}/rare_events/MH_RD"
    est, lb, ub = (num(block.get(k), f"{base}/{k}") for k in ("estimate", "ci_lb", "ci_ub"))
    per_1000 = " to ".join(fmt_number(1000 * float(block[k]), 0) for k in ("ci_lb", "ci_ub"))
    corrected = str(block.get("zero_cell_correction", "")).startswith("no table")
    return (
        f"; risk difference (Mantel-Haenszel, double-zero trials included) {est} (95% CI {lb} "
        f"to {ub}), {fmt_number(1000 * float(block['estimate']), 0)} more per 1,000 "
        f"({per_1000})"
        + (
            "; 0.5 added to each cell because with no events the Mantel-Haenszel variance is 0"
            if corrected
            else ""
        )
    )


def zero_event_text(studies: tuple[ZeroEventStudy, ...], risk_difference: str = "") -> str:
    """ "No events in either arm: Raison 2013, 0/30 vs 0/30 (N = 60)" with source-tagged counts.

    ``risk_difference`` (from :func:`risk_difference_text`) is appended when given.
    """
    parts = []
    for s in studies:
        loc = f"{s.source}#row_ref={s.row_ref}"
        parts.append(
            f"{esc(s.label)}, {num(s.events_treat, loc + '/events_treat', kind='int')}/"
            f"{num(s.n_treat, loc + '/n_treat', kind='int')} vs "
            f"{num(s.events_ctrl, loc + '/events_ctrl', kind='int')}/"
            f"{num(s.n_ctrl, loc + '/n_ctrl', kind='int')}"
        )
    total = sum(s.n for s in studies)
    none = all(s.events_treat == 0 and s.events_ctrl == 0 for s in studies)
    what = "no events in either arm" if none else "no events, or only events, in both arms"
    return (
        f"{what}: {'; '.join(parts)} (N = {fmt_int(total)}); no information on the ratio scale, "
        f"so no ratio was pooled{risk_difference}"
    )
