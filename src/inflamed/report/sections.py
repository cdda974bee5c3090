"""The report's sections as HTML fragments, so the notebook is one call per section.

Section anchors (``SECTION_IDS``) are stable: tests and readers link to them. Every number quoted
in running text is a :func:`~inflamed.report.html.num` span naming the artefact it came from.
Absent artefacts and analyses that could not be run are said in words where they would appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.ingest.prisma import prisma_arithmetic, read_prisma_counts, stage_words
from inflamed.labels import key_words
from inflamed.pipeline.figure_inputs import (
    NO_RESULT_JUDGEMENTS,
    NO_STUDY_JUDGEMENTS,
    rob_figure_reason,
    rob_per_result,
)
from inflamed.pipeline.provenance import digest_of, sha256_file
from inflamed.report.artefacts import ReviewArtefacts
from inflamed.report.front_matter import (
    abstract_section,
    can_cannot_box,
    conclusions_section,
    limitations_section,
)
from inflamed.report.html import REPORT_CSS, embed_png, esc, heading, html_table, num
from inflamed.report.large import SORT_SCRIPT, large_review_rows
from inflamed.report.layout import SECTION_IDS, section_heading, slug, wrap
from inflamed.report.methods import methods_text
from inflamed.report.requests import NOT_PUBLIC, request_log_table
from inflamed.report.results_section import results_section
from inflamed.report.rob2 import per_result_table
from inflamed.report.sof import summary_of_findings_section
from inflamed.report.tables import (
    SET_LABELS,
    characteristics_counts,
    characteristics_table,
    comparison_table,
    missing_data_table,
    risk_of_bias_table,
    study_labels,
)
from inflamed.report.who_benefits import who_benefits_section

__all__ = [
    "SECTION_IDS",
    "abstract_section",
    "can_cannot_box",
    "characteristics_section",
    "comparison_section",
    "conclusions_section",
    "contents",
    "header",
    "limitations_section",
    "methods_section",
    "missing_data_section",
    "prisma_section",
    "reproducibility_section",
    "results_section",
    "risk_of_bias_section",
    "summary_of_findings_section",
    "who_benefits_section",
]


def header(title: str, reviews: Sequence[ReviewArtefacts]) -> str:
    """Style sheet, the report's title and the reviews it covers (one line each)."""
    scope = "; ".join(
        f"{esc(r.title)} (<code>{esc(r.name)}</code>, {len(r.outcomes)} outcomes)" for r in reviews
    )
    return (
        f'{REPORT_CSS}<div class="inflamed-report"><h1 id="report-title">{esc(title)}</h1>'
        f'<p class="note">Review{"s" if len(reviews) != 1 else ""}: {scope}.</p></div>'
    )


def contents() -> str:
    """The table of contents (every top-level section) and how numbers are traced."""
    toc = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in SECTION_IDS.items())
    return wrap(
        f'<nav aria-label="contents"><p>Contents:</p><ol>{toc}</ol></nav>'
        '<p class="note">Every number in the text links to its artefact through the '
        "<code>data-source</code> attribute of its element; the reproducibility appendix lists "
        "every file this report read with its sha256.</p>"
    )


def prisma_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """The PRISMA 2020 flow diagram and the counts it was drawn from."""
    parts = [section_heading("prisma")]
    for review in reviews:
        parts.append(heading(3, slug("prisma", review.name), review.title))
        parts.append(
            embed_png(review.figures["prisma"], f"PRISMA 2020 flow diagram for {review.title}")
        )
        parts.append(_in_meta_analysis(review))
        if review.prisma is None or review.prisma.empty:
            parts.append('<p class="missing">No PRISMA counts were supplied for this review.</p>')
        else:
            checks = prisma_arithmetic(read_prisma_counts(review.prisma))
            done = [c for c in checks if c.checkable]
            bad = [c for c in done if not c.holds]
            parts.append(
                f"<p>Arithmetic of the flow: {len(done)} of {len(checks)} arrows checkable, "
                + (
                    "every one adds up."
                    if not bad
                    else "these do not add up: "
                    + "; ".join(
                        f"{esc(c.arrow)} ({esc(c.left)} = {c.left_value:g}, "
                        f"{esc(c.right)} = {c.right_value:g})"
                        for c in bad
                    )
                    + "."
                )
                + "</p>"
            )
            cols = [
                c
                for c in ("stage", "count", "status", "source", "source_location", "notes")
                if c in review.prisma
            ]
            table = review.prisma[cols].copy()
            table["stage"] = table["stage"].map(stage_words)
            if "status" in table:
                table["status"] = table["status"].map(key_words)
            parts.append(html_table(table, table_id=slug("prisma-counts", review.name)))
    return wrap("\n".join(parts))


def _in_meta_analysis(review: ReviewArtefacts) -> str:
    """PRISMA's "studies included in the meta-analysis" box, per outcome and analysis set."""
    items = []
    for outcome in review.outcomes.values():
        sets = (outcome.summary or {}).get("sets", {})
        source = outcome.paths["summary"]
        counts = [
            f"{esc(SET_LABELS.get(name, name))} "
            f"{num(block.get('k', 0), f'{source}#/sets/{name}/k', kind='int')}"
            for name, block in sets.items()
        ]
        items.append(f"<li>{esc(outcome.label)}: {'; '.join(counts) or 'no pooled results'}</li>")
    return (
        "<p><b>Studies included in the meta-analysis</b> (k per outcome and analysis set):</p>"
        f"<ul>{''.join(items)}</ul>"
    )


def characteristics_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """One row per included study; for a large review, the studies counted by characteristic.

    Beyond ``figures.forest_max_rows`` studies a row per study is no longer read as a table (at
    50,000 studies it was 20 MB of the report): the section counts the studies by drug class,
    inflammation selection and add-on design, and names the CSV that holds one row per study.
    """
    parts = [section_heading("characteristics")]
    rows = large_review_rows()
    for review in reviews:
        parts.append(heading(3, slug("characteristics", review.name), review.title))
        studies = review.studies
        if rows is not None and studies is not None and len(studies) > rows:
            parts.append(
                f"<p>{len(studies):,} studies, more than the {rows} a table of one row per "
                "study shows readably: they are counted by characteristic here; one row per "
                f"study is in <code>{esc(review.path('ingest', 'studies.csv'))}</code>.</p>"
            )
            parts.append(
                html_table(
                    characteristics_counts(studies),
                    table_id=slug("characteristics-counts", review.name),
                )
            )
            continue
        parts.append(
            html_table(
                characteristics_table(studies),
                table_id=slug("characteristics-table", review.name),
                empty_text="No studies table was produced for this review.",
            )
        )
    return wrap("\n".join(parts))


def comparison_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """inflamed's estimates beside published pooled estimates."""
    parts = [section_heading("comparison")]
    for review in reviews:
        parts.append(heading(3, slug("comparison", review.name), review.title))
        parts.append(
            embed_png(
                review.figures["comparison"],
                f"inflamed's pooled estimates beside published estimates ({review.title})",
            )
        )
        parts.append(
            html_table(
                comparison_table(review.published, review.pooled),
                table_id=slug("comparison-table", review.name),
                empty_text="No published estimates were supplied for this review.",
            )
        )
    parts.append(
        '<p class="note">Published estimates are shown as published and, beside them, turned to '
        "inflamed's convention using each row's recorded benefit direction: continuous effects "
        "positive when they favour the treatment, ratios treatment vs control.</p>"
    )
    return wrap("\n".join(parts))


def _rob_figure(path: Path | str, alt: str, reason: str, name: str, title: str) -> str:
    """A risk-of-bias figure, or one line saying why it was not drawn (never a notice image)."""
    if reason:
        return f'<p class="note">No {esc(name)} for {esc(title)}: {esc(reason)}.</p>'
    return embed_png(path, alt)


def _rob_table(frame: pd.DataFrame, **options: Any) -> str:
    """A risk-of-bias table; sortable on a click when it has more rows than a figure shows."""
    rows = large_review_rows()
    large = rows is not None and len(frame) > rows
    return html_table(frame, sortable=large, **options) + (SORT_SCRIPT if large else "")


def risk_of_bias_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """RoB 2 judgements as a table and the traffic-light and summary figures.

    A figure the figure stage did not draw (no judgements, or more rows than
    ``figures.forest_max_rows``) is one line of text here, by the same rule
    (:func:`inflamed.pipeline.figure_inputs.rob_figure_reason`).
    """
    parts = [section_heading("risk-of-bias")]
    for review in reviews:
        parts.append(heading(3, slug("risk-of-bias", review.name), review.title))
        rob = review.risk_of_bias if review.risk_of_bias is not None else pd.DataFrame()
        per_result = rob_per_result(
            rob,
            review.studies,
            {o.name: o.studies for o in review.outcomes.values()},
            {o.name: o.label for o in review.outcomes.values()},
            derivation_log=review.derivation_log,
            contrasts=review.contrasts,
            instrument_effects=review.instrument_effects,
        )
        parts.append(
            _rob_figure(
                review.figures["rob_traffic_light"],
                f"Risk-of-bias traffic-light plot ({review.title})",
                rob_figure_reason(rob, large_review_rows(), empty=NO_STUDY_JUDGEMENTS),
                "traffic-light plot",
                review.title,
            )
        )
        parts.append(
            _rob_figure(
                review.figures["rob_summary"],
                f"Risk-of-bias summary bar chart ({review.title})",
                rob_figure_reason(rob, None, empty=NO_STUDY_JUDGEMENTS),
                "summary bar chart",
                review.title,
            )
        )
        parts.append(
            _rob_figure(
                review.figures["rob_results"],
                f"Risk of bias per result ({review.title}): one row per study, outcome and "
                "analysis set used in an analysis; columns D1-D5 and the overall judgement by "
                "RoB 2's algorithm; a post hoc subgroup result is high in D5. Symbols: + low, "
                "\u2212 some concerns, \u00d7 high, ? not assessed",
                rob_figure_reason(
                    per_result,
                    large_review_rows(),
                    empty=NO_RESULT_JUDGEMENTS,
                ),
                "per-result traffic-light plot",
                review.title,
            )
        )
        parts.append(
            _rob_table(
                risk_of_bias_table(review.risk_of_bias),
                table_id=slug("rob-table", review.name),
                empty_text="No risk-of-bias judgements were supplied for this review.",
            )
        )
        parts.append(
            _rob_table(
                per_result_table(review),
                table_id=slug("rob-results", review.name),
                caption="RoB 2 per result used in the analyses (overall by the published "
                "algorithm: worst domain; some concerns in three or more domains give high; a "
                "post hoc subgroup result is high in domain 5)",
                empty_text="No result has a risk-of-bias judgement: no RoB 2 judgements were "
                "supplied, or no result was pooled.",
            )
        )
    return wrap("\n".join(parts))


def _request_log(review: ReviewArtefacts) -> str:
    """The review's data-request log (a sheet people keep), joined with this run's gaps."""
    if review.data_requests is None:
        return (
            '<p class="missing">This review ships no data-request log '
            "(<code>data_requests.csv</code> in its folder).</p>"
        )
    labels = {o.name: o.label for o in review.outcomes.values()}
    table = request_log_table(review.data_requests, review.missing_data, labels)
    table["study"] = table["study"].astype(str).replace(study_labels(review.studies))
    folder = esc(str(review.spec.get("path", "")))
    return "\n".join(
        [
            "<p><strong>Data-request log.</strong> Whom to ask for the values this review lacks, "
            "in the order to ask them, and where each request stands. The log is kept by people "
            f"in <code>{folder}/data_requests.csv</code> (the <em>status</em> column is typed by "
            "the team sending the requests); a contact is named only where a cited source shows "
            f"the name, otherwise it reads \u201c{NOT_PUBLIC}\u201d. "
            "<em>Gaps in this run</em> counts the rows below for the same study.</p>",
            html_table(
                table,
                table_id=slug("request-log", review.name),
                empty_text="The log has no rows.",
            ),
        ]
    )


def missing_data_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """What is not public, per study, and from whom it could come."""
    parts = [section_heading("missing-data")]
    for review in reviews:
        parts.append(heading(3, slug("missing-data", review.name), review.title))
        parts.append(_request_log(review))
        table = missing_data_table(review.missing_data)
        # One label per study everywhere (first author + year from the studies sheet).
        table["study"] = table["study"].astype(str).replace(study_labels(review.studies))
        if review.missing_data is None:
            parts.append(
                '<p class="missing">The extract stage did not produce missing_data.csv.</p>'
            )
            continue
        n = len(table)
        parts.append(
            f"<p>{n} analysis {'row lacks' if n == 1 else 'rows lack'} a value the analysis needed; "
            "nothing was imputed beyond the rules in the methods.</p>"
            if n
            else "<p>Every analysis found the values it needed.</p>"
        )
        parts.append(
            html_table(
                table,
                table_id=slug("missing-table", review.name),
                empty_text="Nothing is missing.",
            )
        )
    return wrap("\n".join(parts))


def methods_section(
    run_config: Mapping[str, Any], versions: Mapping[str, str], reviews: Sequence[ReviewArtefacts]
) -> str:
    """Methods written from the run configuration and the settings the pool stage recorded."""
    settings = None
    for review in reviews:
        for outcome in review.outcomes.values():
            if outcome.summary and outcome.summary.get("settings"):
                settings = outcome.summary["settings"]
                break
        if settings:
            break
    return wrap(section_heading("methods") + methods_text(run_config, versions, settings=settings))


def _readme_commands(readme: Path) -> str | None:
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    start = text.find("## Quick start")
    match = re.search(r"```(?:bash|sh)?\n(.*?)```", text[start:] if start >= 0 else text, re.S)
    return match.group(1).strip() if match else None


def reproducibility_section(
    files: Iterable[str], *, readme: str | Path = "README.md", run_config_path: str | None = None
) -> str:
    """Digest of every artefact the report read, per-file hashes and how to rerun."""
    existing = sorted({f for f in files if Path(f).is_file()})
    if run_config_path and Path(run_config_path).is_file():
        existing = sorted({*existing, run_config_path})
    digest = digest_of(existing) if existing else "no files"
    rows = pd.DataFrame({"file": existing, "sha256": [sha256_file(f) for f in existing]})
    commands = _readme_commands(Path(readme)) or "snakemake --cores 2"
    return wrap(
        section_heading("reproducibility")
        + f"<p>This report read {len(existing)} {'artefact' if len(existing) == 1 else 'artefacts'}. Their digest (sha256 over the sorted "
        f"path and sha256 pairs, <code>inflamed.pipeline.provenance.digest_of</code>) is "
        f'<code id="artefact-digest">{esc(digest)}</code>. <code>results/MANIFEST.json</code> '
        "names the rule, inputs and config values behind each of them.</p>"
        f"<p>To rerun from a fresh clone (the README's quick start):</p><pre><code>{esc(commands)}</code></pre>"
        "<details><summary>Files read and their sha256</summary>"
        + html_table(rows, table_id="artefacts-read")
        + "</details>"
    )
