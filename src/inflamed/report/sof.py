"""The GRADE summary-of-findings table: compact columns, a footnote for every downgrade.

Columns follow the GRADE summary-of-findings layout (outcome; participants and studies; relative
effect; absolute effect; certainty; what happens), so the plain-language column stays on screen
at laptop width. Each rating-down carries a footnote letter; the footnotes under the table say
which domain, how many levels and why, with the numbers that drove it. The full per-domain
judgements are in a collapsed table below.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.grade import (
    DOMAINS,
    GradeRules,
    grade_rules_text,
    grade_summary_of_findings,
)
from inflamed.report.html import esc, heading, html_table, is_missing, num
from inflamed.report.layout import section_heading, slug, wrap
from inflamed.report.tables import SET_LABELS
from inflamed.report.zero_events import zero_event_studies, zero_event_text

__all__ = ["summary_of_findings_section"]

_DOMAIN_COLUMNS = {d: d.replace(" ", "_") for d in DOMAINS}


def _footnote_letters() -> list[str]:
    letters = list(string.ascii_lowercase)
    return letters + [a + b for a in letters for b in letters]


def _sof_table(
    sof: pd.DataFrame, table_id: str, row_prefix: str, caption: str, review: ReviewArtefacts
) -> str:
    letters = iter(_footnote_letters())
    footnotes: list[str] = []
    rows = []
    for _, row in sof.iterrows():
        source, a_set = row["source"], row["analysis_set"]
        k = num(row["k"], f"{source}#/sets/{a_set}/k", kind="int") if source else esc(row["k"])
        n = (
            num(row["N"], f"{source}#/sets/{a_set}/n_participants", kind="int")
            if source and not is_missing(row["N"])
            else "0"
        )
        statement = esc(row["statement"])
        if row["estimate"] is None or is_missing(row["estimate"]):
            zero = zero_event_studies(review, row["outcome"], a_set)
            if zero:
                effect = zero_event_text(zero)
                statement = (
                    f"No patient of {sum(s.n for s in zero)} had an event in either arm; too few "
                    "to show or rule out a difference."
                )
            else:
                effect = "not estimable"
            absolute = ""
        else:
            base = row["estimate_locator"]
            spans = [num(row[c], f"{source}#{base}/{c}") for c in ("estimate", "ci_lb", "ci_ub")]
            effect = f"{esc(row['measure'])} {spans[0]} ({spans[1]} to {spans[2]})"
            absolute = esc(row.get("absolute") or "")
            if row.get("absolute_basis"):
                mark = next(letters)
                footnotes.append(
                    f'<li id="{slug(row_prefix, row["outcome"], mark)}"><sup>{mark}</sup> '
                    f"{esc(row['label'])}, absolute effect: {esc(row['absolute_basis'])}.</li>"
                )
                absolute += f"<sup>{mark}</sup>"
        marks = []
        for domain, column in _DOMAIN_COLUMNS.items():
            text = str(row.get(column, ""))
            if text.startswith("-"):
                mark = next(letters)
                marks.append(mark)
                footnotes.append(
                    f"<li><sup>{mark}</sup> {esc(row['label'])}, {esc(domain)} {esc(text)}.</li>"
                )
        certainty = (
            f'<span class="certainty certainty-{row["certainty"].replace(" ", "-")}">'
            f"{esc(row['certainty'])}</span>" + (f"<sup>{','.join(marks)}</sup>" if marks else "")
        )
        rows.append(
            {
                "Outcome": esc(row["label"]),
                "Studies (participants)": f"{k} ({n})",
                "Relative effect (95% CI)": effect,
                "Absolute effect": absolute,
                "Certainty": certainty,
                "What happens": statement,
            }
        )
    table = html_table(
        pd.DataFrame(rows),
        table_id=table_id,
        caption=caption,
        raw_columns=list(rows[0]) if rows else [],
        table_class="sof",
        row_ids=[slug(row_prefix, o) for o in sof["outcome"]],
    )
    notes = f'<ol class="footnotes">{"".join(footnotes)}</ol>' if footnotes else ""
    details = sof[["label", *list(_DOMAIN_COLUMNS.values())]].rename(
        columns={"label": "outcome", **{v: k for k, v in _DOMAIN_COLUMNS.items()}}
    )
    return (
        table
        + notes
        + "<details><summary>Every domain's judgement</summary>"
        + html_table(details, table_id=f"{table_id}-domains")
        + "</details>"
    )


def summary_of_findings_section(
    reviews: Sequence[ReviewArtefacts],
    *,
    rules: GradeRules | None = None,
    intervention: str = "the treatment",
    run_config: Mapping[str, Any] | None = None,
) -> str:
    """The GRADE summary-of-findings table per review (headline set, then the whole sample)."""
    parts = [section_heading("summary-of-findings")]
    for review in reviews:
        sof = grade_summary_of_findings(
            review, rules=rules, intervention=intervention, run_config=run_config
        )
        parts.append(heading(3, slug("sof", review.name), review.title))
        if sof.empty:
            parts.append('<p class="missing">No outcomes configured.</p>')
            continue
        primary = sorted({SET_LABELS.get(a, a) for a in sof["analysis_set"]})
        parts.append(
            _sof_table(
                sof,
                slug("sof-table", review.name),
                slug("sof", review.name),
                f"Summary of findings, {', '.join(primary)} (automated GRADE proposal)",
                review,
            )
        )
        if set(sof["analysis_set"]) != {"whole"}:
            whole = grade_summary_of_findings(
                review,
                analysis_set="whole",
                rules=rules,
                intervention=intervention,
                run_config=run_config,
            )
            parts.append(
                _sof_table(
                    whole,
                    slug("sof-table-whole", review.name),
                    slug("sof-whole", review.name),
                    "The same outcomes in the whole samples of the trials (shares patients with "
                    "the CRP-selected set: shown for comparison, not tested against it)",
                    review,
                )
            )
    parts.append(
        '<h3 id="grade-rules">How the certainty was proposed</h3>' + grade_rules_text(rules)
    )
    return wrap("\n".join(parts))
