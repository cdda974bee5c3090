"""Studies with no events in either arm: set aside on the ratio scale, but shown to the reader.

A study with 0 events in both arms carries no information on a risk or odds ratio (Cochrane
Handbook 10.4.4.2), so the extract stage records it in ``derivation_log.csv`` (step
``exclude``) instead of passing it to pooling. It is still evidence: "no serious adverse events
in 60 patients" is a result. This module finds those rows and their arm counts (from the ingested
``contrasts.csv``) so the summary of findings and the results say "no events in either arm" with
N, instead of "no evidence".
"""

from __future__ import annotations

from dataclasses import dataclass

from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.html import esc, fmt_int, num
from inflamed.report.tables import study_labels

__all__ = ["ZeroEventStudy", "zero_event_studies", "zero_event_text"]


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
    log, contrasts = review.derivation_log, review.contrasts
    if log is None or contrasts is None or log.empty or "row_ref" not in contrasts:
        return ()
    dropped = log[
        (log["step"] == "exclude")
        & (log["outcome"] == outcome)
        & (log["subgroup"] == analysis_set)
        & log["assumption"].fillna("").str.contains("no events")
    ]
    labels = study_labels(review.studies)
    out = []
    source = review.path("ingest", "contrasts.csv")
    for row_ref in dict.fromkeys(dropped["row_ref"]):
        arms = contrasts[contrasts["row_ref"] == row_ref]
        if len(arms) != 1:
            continue
        r = arms.iloc[0]
        out.append(
            ZeroEventStudy(
                study_id=str(r["study_id"]),
                label=labels.get(str(r["study_id"]), str(r["study_id"])),
                events_treat=int(r["events_treat"]),
                n_treat=int(r["n_treat"]),
                events_ctrl=int(r["events_ctrl"]),
                n_ctrl=int(r["n_ctrl"]),
                row_ref=str(row_ref),
                source=source,
            )
        )
    return tuple(out)


def zero_event_text(studies: tuple[ZeroEventStudy, ...]) -> str:
    """ "No events in either arm: Raison 2013, 0/30 vs 0/30 (N = 60)" with source-tagged counts."""
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
        "so nothing was pooled"
    )
