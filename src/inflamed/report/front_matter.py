"""The report's front matter and closing words, written from the artefacts.

A reader must know within one screen what the evidence shows and what it cannot show. This module
builds, from what the stages wrote and nothing else: an :class:`EvidenceProfile` per review (how
many studies, which contribute numbers to which analysis set, which published estimates are
second-hand, what is missing and from whom, which search routes were not searched, whether
extraction was read once), then the abstract, the boxed "What this report can and cannot say",
the limitations and the authors' conclusions. No sentence here states a number that is not in an
artefact; every number is a :func:`~inflamed.report.html.num` span naming its source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from inflamed.ingest.prisma import read_prisma_counts
from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.html import esc, heading, num
from inflamed.report.layout import section_heading, wrap
from inflamed.report.registry_strata import md_only_suffix, md_set_text
from inflamed.report.tables import SET_LABELS, study_labels
from inflamed.report.zero_events import (
    risk_difference_text,
    zero_event_studies,
    zero_event_text,
)
from inflamed.stats.measures import RATIO_MEASURES

__all__ = [
    "EvidenceProfile",
    "OutcomeEvidence",
    "abstract_section",
    "can_cannot_box",
    "conclusions_section",
    "evidence_profile",
    "limitations_section",
]

#: ``inflammation_selection`` values of studies.csv, in words.
SELECTION_WORDS = {
    "selected": "selected patients on CRP",
    "stratified": "randomised within CRP strata",
    "post_hoc": "reported a CRP subgroup after the fact",
    "unselected": "did not select on CRP",
}


@dataclass(frozen=True)
class OutcomeEvidence:
    """What one outcome's pooled artefact holds per analysis set."""

    name: str
    label: str
    measure: str
    primary_set: str
    k: dict[str, int]
    n: dict[str, int]
    studies: dict[str, tuple[str, ...]]
    estimable: dict[str, bool]
    source: str


@dataclass(frozen=True)
class EvidenceProfile:
    """The facts the front matter states about one review, each read from an artefact."""

    name: str
    title: str
    n_studies: int
    labels: dict[str, str]
    selection: dict[str, tuple[str, ...]]
    outcomes: tuple[OutcomeEvidence, ...]
    contributing: tuple[str, ...]
    secondary_estimates: tuple[str, ...]
    n_published: int
    missing_rows: int
    missing_studies: tuple[str, ...]
    n_secondary: int
    not_searched: tuple[str, ...]
    single_reading: bool
    studies_source: str
    missing_source: str


def _outcome_evidence(name: str, outcome: Any) -> OutcomeEvidence | None:
    summary = outcome.summary
    if not summary:
        return None
    sets = summary.get("sets", {})
    return OutcomeEvidence(
        name=name,
        label=outcome.label,
        measure=str(summary.get("measure", "")),
        primary_set=str(summary.get("primary_set", "crp_high")),
        k={s: int(b.get("k") or 0) for s, b in sets.items()},
        n={s: int(b.get("n_participants") or 0) for s, b in sets.items()},
        studies={s: tuple(b.get("studies") or ()) for s, b in sets.items()},
        estimable={s: bool(b.get("estimable")) for s, b in sets.items()},
        source=outcome.paths["summary"],
    )


def evidence_profile(review: ReviewArtefacts) -> EvidenceProfile:
    """Read the facts of the front matter from one review's artefacts."""
    studies = review.studies
    labels = study_labels(studies)
    selection: dict[str, tuple[str, ...]] = {}
    if studies is not None and "inflammation_selection" in studies:
        for value, group in studies.groupby("inflammation_selection", sort=True):
            selection[str(value)] = tuple(sorted(group["study_id"].astype(str)))
    outcomes = tuple(
        o for o in (_outcome_evidence(n, out) for n, out in review.outcomes.items()) if o
    )
    contributing = sorted({s for o in outcomes for ids in o.studies.values() for s in ids})
    by_publication: dict[str, list[str]] = {}
    published = review.published
    if published is not None and not published.empty:
        notes = published.get("notes", pd.Series([""] * len(published))).fillna("")
        for (_, row), note in zip(published.iterrows(), notes, strict=True):
            if "secondary source" in str(note).lower():
                by_publication.setdefault(str(row.get("publication", "")), []).append(
                    str(row.get("outcome", "")).replace("_", " ")
                )
    secondary = [f"{pub} ({', '.join(outs)})" for pub, outs in by_publication.items()]
    missing = review.missing_data
    not_searched: list[str] = []
    if review.prisma is not None and not review.prisma.empty:
        counts = read_prisma_counts(review.prisma)
        not_searched = [
            {"identified_databases": "bibliographic databases", "identified_registers": "trial registers"}.get(s, s)
            for s, st in counts.status.items()
            if st == "not_searched"
        ]  # fmt: skip
    judged = review.risk_of_bias.get("judged_by") if review.risk_of_bias is not None else None
    single = bool(
        judged is not None
        and judged.fillna("").str.contains("not (?:independently )?double-checked").any()
    )
    return EvidenceProfile(
        name=review.name,
        title=review.title,
        n_studies=0 if studies is None else len(studies),
        labels=labels,
        selection=selection,
        outcomes=outcomes,
        contributing=tuple(contributing),
        secondary_estimates=tuple(secondary),
        n_published=0 if published is None else len(published),
        missing_rows=0 if missing is None else len(missing),
        missing_studies=tuple(
            sorted(set(missing["study_id"].astype(str))) if missing is not None else ()
        ),
        n_secondary=sum(len(v) for v in by_publication.values()),
        not_searched=tuple(not_searched),
        single_reading=single,
        studies_source=review.path("ingest", "studies.csv") + "#rows",
        missing_source=review.path("extract", "missing_data.csv") + "#rows",
    )


def _names(ids: Sequence[str], labels: Mapping[str, str], limit: int = 4) -> str:
    names = [esc(labels.get(i, i)) for i in ids]
    if len(names) > limit:  # a large review: the count, not a wall of names
        return f"{len(names)} trials"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _count(value: int, source: str) -> str:
    return num(value, source, kind="int")


def _set_sentence(p: EvidenceProfile, o: OutcomeEvidence, set_name: str) -> str:
    k = o.k.get(set_name, 0)
    base = f"{o.source}#/sets/{set_name}"
    if not k:
        return f"{esc(SET_LABELS.get(set_name, set_name))}: no study"
    who = _names(o.studies.get(set_name, ()), p.labels)
    return (
        f"{esc(SET_LABELS.get(set_name, set_name))}: k = {_count(k, base + '/k')} "
        f"({who}), N = {_count(o.n.get(set_name, 0), base + '/n_participants')}"
    )


def can_cannot_box(reviews: Sequence[ReviewArtefacts]) -> str:
    """The boxed "What this report can and cannot say", one block per review."""
    parts = [
        '<aside class="can-cannot" aria-labelledby="can-cannot">',
        section_heading("can-cannot"),
    ]
    for review in reviews:
        p = evidence_profile(review)
        if len(reviews) > 1:
            parts.append(f"<h3>{esc(p.title)}</h3>")
        parts.append(f'<p class="lead"><b>In short.</b> {_conclusion_text(p)}</p>')
        can = []
        for o in p.outcomes:
            sets = [_set_sentence(p, o, o.primary_set), _set_sentence(p, o, "whole")]
            sets = [
                s + _zero_suffix(review, o.name, name) + _md_suffix(review, o, name)
                for s, name in zip(sets, (o.primary_set, "whole"), strict=True)
            ]
            can.append(f"<li><b>{esc(o.label)}</b> ({esc(o.measure)}): {'; '.join(sets)}.</li>")
        n_contrib = len(p.contributing)
        cannot = []
        if n_contrib < p.n_studies:
            cannot.append(
                f"<li>Numbers behind the pooled results come from {n_contrib} "
                f"of {num(p.n_studies, p.studies_source, kind='int')} included trials "
                f"({_names(p.contributing, p.labels) or 'none'}); the others have no public "
                "arm-level numbers in the sources searched.</li>"
            )
        post_hoc = p.selection.get("post_hoc", ())
        if post_hoc:
            cannot.append(
                f"<li>CRP-selected results of {_names(post_hoc, p.labels)} come from a subgroup "
                "chosen after the fact, not from a CRP-selected trial.</li>"
            )
        unselected = p.selection.get("unselected", ())
        if unselected:
            cannot.append(
                f"<li>{_names(unselected, p.labels)} did not select on CRP: their rows answer "
                "the whole-sample question, not the CRP question.</li>"
            )
        if p.secondary_estimates:
            cannot.append(
                f"<li>{p.n_secondary} of {p.n_published} published pooled estimates in the "
                "comparison are second-hand (quoted by news digests, not read in the article): "
                + esc("; ".join(p.secondary_estimates))
                + ". The CRP-subgroup numbers behind them are not public.</li>"
            )
        if p.missing_rows:
            cannot.append(
                f"<li>{num(p.missing_rows, p.missing_source, kind='int')} analysis rows of "
                f"{len(p.missing_studies)} trials lack values the public sources do not give; "
                'whom to ask for which values is listed under <a href="#missing-data">Missing '
                "data</a>.</li>"
            )
        if p.not_searched:
            cannot.append(
                f"<li>No {esc(' and no '.join(p.not_searched))} were searched; studies were "
                "found through stored public web pages, public code repositories and a "
                "candidate list (see the PRISMA flow).</li>"
            )
        if p.single_reading:
            cannot.append(
                "<li>Extraction and risk-of-bias judgements were read once, by one reviewer, "
                "and not double-checked.</li>"
            )
        parts.append("<p><b>It can say</b> (k studies and N participants per analysis set):</p>")
        parts.append(f"<ul>{''.join(can)}</ul>")
        parts.append("<p><b>It cannot say</b>:</p>")
        parts.append(f"<ul>{''.join(cannot)}</ul>")
    parts.append("</aside>")
    return wrap("\n".join(parts))


def _md_suffix(review: ReviewArtefacts, o: OutcomeEvidence, analysis_set: str) -> str:
    """A set with no study on the outcome's scale may still have a between-arm difference."""
    outcome = review.outcomes.get(o.name)
    if o.k.get(analysis_set, 0) or outcome is None:
        return ""
    return md_only_suffix(outcome, analysis_set)


def _zero_suffix(review: ReviewArtefacts, outcome: str, analysis_set: str) -> str:
    zero = zero_event_studies(review, outcome, analysis_set)
    rd = risk_difference_text(review, outcome, analysis_set)
    return f" pooled; {zero_event_text(zero, rd)}" if zero else ""


def _estimate_text(o: OutcomeEvidence, block: Mapping[str, Any], set_name: str) -> str:
    base = f"{o.source}#/sets/{set_name}"
    ratio = o.measure in RATIO_MEASURES and "ratio_scale" in block
    scale = block["ratio_scale"] if ratio else block["result"]
    loc = f"{base}/ratio_scale" if ratio else f"{base}/result"
    est, lb, ub = (num(scale.get(k), f"{loc}/{k}") for k in ("estimate", "ci_lb", "ci_ub"))
    kind = "single study" if block.get("k") == 1 else "pooled"
    return f"{esc(o.measure)} {est} (95% CI {lb} to {ub}; {kind})"


def _results_sentences(review: ReviewArtefacts, p: EvidenceProfile) -> list[str]:
    sentences = []
    for o in p.outcomes:
        summary = review.outcomes[o.name].summary or {}
        sets = summary.get("sets", {})
        found = []
        for set_name in (o.primary_set, "whole"):
            block = sets.get(set_name) or {}
            if block.get("estimable"):
                found.append(
                    f"{esc(SET_LABELS.get(set_name, set_name))} "
                    f"{_estimate_text(o, block, set_name)}"
                )
            else:
                zero = zero_event_studies(review, o.name, set_name)
                md = md_set_text(review.outcomes[o.name], set_name)
                if zero:
                    found.append(
                        f"{esc(SET_LABELS.get(set_name, set_name))} "
                        f"{zero_event_text(zero, risk_difference_text(review, o.name, set_name))}"
                    )
                elif md:
                    found.append(f"{esc(SET_LABELS.get(set_name, set_name))} {md}")
        if found:
            sentences.append(f"{esc(o.label)}: {'; '.join(found)}.")
        else:
            sentences.append(f"{esc(o.label)}: no estimable result.")
    return sentences


def abstract_section(reviews: Sequence[ReviewArtefacts], run_config: Mapping[str, Any]) -> str:
    """A structured abstract (background, methods, results, what it means) from the artefacts."""
    pooling = run_config.get("pooling", {}) if isinstance(run_config, Mapping) else {}
    parts = ['<section class="abstract">', section_heading("abstract")]
    for review in reviews:
        p = evidence_profile(review)
        if len(reviews) > 1:
            parts.append(f"<h3>{esc(p.title)}</h3>")
        parts.append(
            "<p><b>Background.</b> Anti-inflammatory drugs may help depressed patients whose "
            "inflammation is raised (C-reactive protein, CRP, above a cut-off) more than "
            "depressed patients in general. This report sets what is public about the "
            "CRP-selected subgroup beside the whole samples of the same trials.</p>"
        )
        selection = "; ".join(
            f"{len(ids)} {esc(SELECTION_WORDS.get(k, k))}" for k, ids in p.selection.items()
        )
        parts.append(
            f"<p><b>Methods.</b> {num(p.n_studies, p.studies_source, kind='int')} randomised, "
            f"placebo-controlled trials were included ({selection}). Arm-level numbers were "
            "taken from public articles and registry records, each with its source; nothing "
            f"was imputed beyond the stated rules. Pooling: {esc(pooling.get('preset', 'see Methods'))} "
            "preset (random effects); a single study is shown as its own estimate, not pooled. "
            "Certainty was proposed with GRADE rules and risk of bias with RoB 2.</p>"
        )
        parts.append("<p><b>Results.</b> " + " ".join(_results_sentences(review, p)) + "</p>")
        parts.append(
            "<p><b>What it means.</b> "
            + _conclusion_text(p)
            + ' See <a href="#can-cannot">what this report can and cannot say</a>.</p>'
        )
    parts.append("</section>")
    return wrap("\n".join(parts))


def _conclusion_text(p: EvidenceProfile) -> str:
    contrib = len(p.contributing)
    primary_k = [o.k.get(o.primary_set, 0) for o in p.outcomes]
    if contrib <= 1:
        who = _names(p.contributing, p.labels) or "no trial"
        head = (
            f"All pooled numbers come from {who}; nothing was pooled across trials, so the "
            "report cannot say whether anti-inflammatory treatment helps depressed patients with "
            "raised CRP."
        )
    else:
        head = (
            f"Numbers from {contrib} trials were analysed; the largest CRP-selected analysis "
            f"holds {max(primary_k, default=0)} studies."
        )
    if not p.secondary_estimates:
        return head
    return (
        head + " The CRP-subgroup data behind the published meta-analysis are not public; the "
        "answer depends on obtaining them from the trial investigators (see Missing data)."
    )


def limitations_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """Limitations of the evidence and of this review, from the artefacts."""
    parts = [section_heading("limitations")]
    for review in reviews:
        p = evidence_profile(review)
        if len(reviews) > 1:
            parts.append(heading(3, f"limitations-{p.name}", p.title))
        items = [
            "<li><b>Evidence base.</b> "
            f"{len(p.contributing)} of "
            f"{num(p.n_studies, p.studies_source, kind='int')} trials contribute numbers; "
            "several analyses hold a single study or none.</li>",
        ]
        if p.selection.get("post_hoc") or p.selection.get("unselected"):
            items.append(
                "<li><b>Indirectness.</b> Some CRP-selected results are post hoc subgroups, and "
                "whole-sample rows of unselected trials answer a different question than the "
                "CRP question.</li>"
            )
        if p.not_searched:
            items.append(
                f"<li><b>Search.</b> No {esc(' and no '.join(p.not_searched))} were searched "
                "through their own interfaces; trials and results may have been missed.</li>"
            )
        if p.single_reading:
            items.append(
                "<li><b>Extraction.</b> One reviewer read each source once; nothing was "
                "double-checked. A second, independent extraction is needed before clinical "
                "use.</li>"
            )
        if p.missing_rows:
            items.append(
                f"<li><b>Missing results.</b> {num(p.missing_rows, p.missing_source, kind='int')} "
                "analysis rows could not be filled from public sources; results registered but "
                "not reported make selective non-reporting possible.</li>"
            )
        if p.secondary_estimates:
            items.append(
                "<li><b>Comparison.</b> Some published estimates were read second-hand (news "
                "digests), not in the articles.</li>"
            )
        parts.append(f"<ul>{''.join(items)}</ul>")
    return wrap("\n".join(parts))


def conclusions_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """Authors' conclusions: implications for practice and for research, from the artefacts."""
    parts = [section_heading("conclusions")]
    for review in reviews:
        p = evidence_profile(review)
        if len(reviews) > 1:
            parts.append(heading(3, f"conclusions-{p.name}", p.title))
        parts.append(
            "<p><b>For practice.</b> " + _conclusion_text(p) + " These results "
            "should not guide treatment.</p>"
        )
        crp_reviews = sorted({s.split(" (")[0] for s in p.secondary_estimates})
        first = (
            f"first the authors of the published CRP-subgroup meta-analysis "
            f"({esc(', '.join(crp_reviews))}), then "
            if crp_reviews
            else ""
        )
        parts.append(
            "<p><b>For research.</b> Request the CRP-stratified arm-level results (n, mean "
            "change and SD, response, remission, serious adverse events) from "
            f"{first}the investigators and sponsors of the {len(p.missing_studies)} trials "
            'listed under <a href="#missing-data">Missing data</a>; search bibliographic '
            "databases and trial registers; double-extract.</p>"
        )
    return wrap("\n".join(parts))
