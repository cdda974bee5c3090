"""The GRADE summary-of-findings table: compact columns, a footnote for every downgrade.

Columns follow the GRADE summary-of-findings layout (outcome; participants and studies; relative
effect; absolute effect; certainty; what happens), so the plain-language column stays on screen
at laptop width. Each rating-down carries a footnote letter; the footnotes under the table say
which domain, how many levels and why, with the numbers that drove it. The full per-domain
judgements are in a collapsed table below.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.grade import DOMAINS, GradeRules, grade_outcome, instrument_md_view
from inflamed.report.grade_context import grade_context
from inflamed.report.html import esc, heading, html_table, is_missing, num
from inflamed.report.layout import section_heading, slug, wrap
from inflamed.report.tables import SET_LABELS
from inflamed.report.zero_events import (
    risk_difference_text,
    zero_event_studies,
    zero_event_text,
)

__all__ = ["grade_rules_text", "grade_summary_of_findings", "summary_of_findings_section"]

_DOMAIN_COLUMNS = {d: d.replace(" ", "_") for d in DOMAINS}


def grade_summary_of_findings(
    review: ReviewArtefacts,
    *,
    analysis_set: str | None = None,
    rules: GradeRules | None = None,
    intervention: str = "the treatment",
    run_config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The summary-of-findings table: one row per outcome with the GRADE proposal.

    Parameters
    ----------
    review
        The review's artefacts (:func:`inflamed.report.load_review`).
    analysis_set
        Which set to rate (default: each outcome's primary set).
    rules
        Thresholds (default :class:`GradeRules`; pass ``small_study_min_k`` from the run's
        ``pooling`` config).
    intervention
        How the plain-language statement names the intervention.

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome, label, analysis_set, k, N, effect, certainty, risk_of_bias,
        inconsistency, indirectness, imprecision, publication_bias, statement, measure,
        estimate, ci_lb, ci_ub, downgrades, source, estimate_locator`` (one row per outcome, in
        outcome name order; run_config.json stores outcomes with sorted keys).
    """
    rows = []
    context = grade_context(review, run_config)
    grade: dict[str, Any] = {"rules": rules, "intervention": intervention, "context": context}
    for outcome in review.outcomes.values():
        assessment = grade_outcome(outcome, review.risk_of_bias, analysis_set=analysis_set, **grade)
        set_locator = f"/sets/{assessment.analysis_set}"
        # No study on the outcome's scale, but a reported between-arm difference on an
        # instrument's own: that mean difference is the set's result, graded by the same rules.
        md = (
            instrument_md_view(outcome, assessment.analysis_set, review.instrument_effects)
            if assessment.estimate is None
            else None
        )
        if md is not None:
            view, set_locator = md
            assessment = dataclasses.replace(
                grade_outcome(view, review.risk_of_bias, **grade),
                estimate_locator=f"{set_locator}/result",
            )
        rows.append(
            {
                "outcome": assessment.outcome,
                "label": assessment.label,
                "analysis_set": assessment.analysis_set,
                "k": assessment.k,
                "N": assessment.n_participants,
                "effect": assessment.effect_text,
                "certainty": assessment.certainty,
                **{d.domain.replace(" ", "_"): d.text() for d in assessment.domains},
                "statement": assessment.statement,
                "measure": assessment.measure,
                "estimate": assessment.estimate,
                "ci_lb": assessment.ci_lb,
                "ci_ub": assessment.ci_ub,
                "downgrades": sum(d.levels for d in assessment.domains),
                "source": assessment.source,
                "estimate_locator": assessment.estimate_locator,
                "set_locator": set_locator,
                "absolute": assessment.absolute.text if assessment.absolute else "",
                "absolute_basis": assessment.absolute.basis if assessment.absolute else "",
            }
        )
    columns = [
        "outcome", "label", "analysis_set", "k", "N", "effect", "certainty", "risk_of_bias",
        "inconsistency", "indirectness", "imprecision", "publication_bias", "statement",
        "measure", "estimate", "ci_lb", "ci_ub", "downgrades", "source", "estimate_locator",
        "set_locator", "absolute", "absolute_basis",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def grade_rules_text(rules: GradeRules | None = None) -> str:
    """The rules of the proposal in plain words with their thresholds (HTML paragraph list)."""
    r = rules or GradeRules()
    items = [
        "Randomised evidence starts at <b>high</b> certainty; each serious concern rates it down "
        "one level, each very serious concern two (Cochrane Handbook ch. 14).",
        f"<b>Risk of bias</b>: studies' overall RoB 2 judgements weighted by their random-effects "
        f"weight; -2 if more than {100 * r.rob_high_very_serious:.0f}% of the weight is at high "
        f"risk, -1 if more than {100 * r.rob_high_serious:.0f}% is at high risk or more than "
        f"{100 * r.rob_not_low_serious:.0f}% at high risk or with some concerns (Cochrane Handbook "
        "5.1 Table 12.2.d).",
        f"<b>Inconsistency</b>: -1 if I\u00b2 \u2265 {r.i2_serious:g}% or the prediction interval "
        f"includes no effect while the confidence interval does not; -2 if I\u00b2 \u2265 "
        f"{r.i2_very_serious:g}% and the prediction interval includes no effect (Cochrane Handbook "
        "10.10.2).",
        "<b>Indirectness</b>: -1 per kind of concern (-2 for two or more): a CRP-selected result "
        "from a post hoc subgroup; a whole-sample result from trials that did not select on "
        "CRP (it answers the CRP question indirectly); an outcome counted 'at any point' during "
        "treatment rather than at its end (GRADE guidelines 8).",
        f"<b>Imprecision</b>: -1 for a confidence interval that includes no effect, -1 for a total "
        f"N below the optimal information size (one trial with alpha {r.alpha:g} and power "
        f"{r.power:g} detecting SMD {r.ois_smd:g}, or a {100 * r.ois_rrr:.0f}% relative risk "
        "reduction at the pooled control risk) (GRADE guidelines 6; GRADE guidance 34).",
        "<b>Publication (non-reporting) bias</b>: -1 when studies in the review measured the "
        "outcome but their results are not public (named from missing_data.csv); otherwise "
        f"funnel-plot tests, not assessable with fewer than {r.small_study_min_k} studies "
        f"(Cochrane Handbook 10.4.3.1), -1 if Egger's test p < {r.egger_p:g} (GRADE "
        "guidelines 5).",
        "<b>Absolute effects</b>: for ratios, per 1,000 at the assumed control risk (control-arm "
        "events / N of the contributing studies); SMDs re-expressed in the primary instrument's "
        "points with the N-weighted control-arm SD of the contributing rows (named in each "
        "footnote).",
        "Plain-language statements follow GRADE guidelines 26 (Santesso 2020): high certainty "
        "'results in', moderate 'probably', low 'may', very low 'the evidence is very uncertain'.",
        "This is a <b>proposal</b> made by rules from the artefacts, not a GRADE judgement; the "
        "review team confirms or overrides each domain.",
    ]
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


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
        source, a_set, base = row["source"], row["analysis_set"], row["set_locator"]
        k = num(row["k"], f"{source}#{base}/k", kind="int") if source else esc(row["k"])
        n = (
            num(row["N"], f"{source}#{base}/n_participants", kind="int")
            if source and not is_missing(row["N"])
            else "0"
        )
        statement = esc(row["statement"])
        if row["estimate"] is None or is_missing(row["estimate"]):
            zero = zero_event_studies(review, row["outcome"], a_set)
            if zero:
                effect = zero_event_text(zero, risk_difference_text(review, row["outcome"], a_set))
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
