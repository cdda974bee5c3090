"""The per-outcome results section: sets side by side, subgroups, sensitivity, small-study effects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from inflamed.pipeline.figure_inputs import OUTCOME_FIGURE_SPECS
from inflamed.report.artefacts import OutcomeArtefacts, ReviewArtefacts
from inflamed.report.grade_context import NAMES_SHOWN, name_list
from inflamed.report.html import (
    embed_png,
    esc,
    fmt_number,
    fmt_p,
    heading,
    html_table,
    is_missing,
    num,
)
from inflamed.report.large import studies_table
from inflamed.report.layout import section_heading, slug, wrap
from inflamed.report.registry_strata import md_only_suffix, registry_strata_block
from inflamed.report.tables import SET_LABELS, flatten_json, sets_table
from inflamed.report.zero_events import (
    risk_difference_text,
    zero_event_studies,
    zero_event_text,
)
from inflamed.stats.measures import RATIO_MEASURES

__all__ = ["FIGURE_ALT", "headline", "results_section"]

FIGURE_ALT = {
    "forest": "Forest plot: each study's effect with its confidence interval, weights and the pooled estimates",
    "funnel": "Contour-enhanced funnel plot: effect against standard error",
    "leave_one_out": "Leave-one-out plot: pooled estimate with each study omitted in turn",
    "influence": "Influence diagnostics: each study's studentised residual, Cook's distance and hat value",
    "cumulative": "Cumulative meta-analysis by publication year",
}


def _effect_html(
    source: str, block: Mapping[str, Any], base: str, keys: Sequence[str]
) -> list[str]:
    return [num(block.get(k), f"{source}#{base}/{k}") for k in keys]


FIGURE_NAME = {
    "forest": "forest plot",
    "funnel": "funnel plot",
    "leave_one_out": "leave-one-out plot",
    "influence": "influence plot",
    "cumulative": "cumulative meta-analysis",
}
FIGURE_LEGEND = {
    "forest": "Squares: each study's estimate, sized by weight, with its 95% CI; a diamond "
    "appears only where two or more studies were pooled.",
    "funnel": "Points: studies; shaded contours: conventional significance regions.",
    "leave_one_out": "Each row: the pooled estimate with one study left out.",
    "influence": "Per study: studentised residual, Cook's distance and hat value; studies "
    "flagged as influential are named.",
    "cumulative": "Each row: the pooled estimate after adding the studies up to that year.",
}


def figure_not_drawn(outcome: OutcomeArtefacts, figure: str) -> str:
    """Why a figure of ``outcome`` has nothing to show ("" when it has).

    The figure stage writes every declared file, with a "Not drawn" notice when there is nothing
    to plot; the report asks the same specification (:data:`OUTCOME_FIGURE_SPECS`) and writes one
    line of text instead of embedding such a notice as an image.
    """
    spec = OUTCOME_FIGURE_SPECS.get(figure)
    if spec is None:
        return ""
    try:
        return spec.build(outcome.paths).reason
    except (OSError, KeyError, ValueError):
        return ""  # an artefact is absent: embed_png says so where the figure would be


def headline(outcome: OutcomeArtefacts, set_name: str, zero_events: str = "") -> str:
    """One sentence quoting a set's pooled estimate with source-tagged numbers.

    ``zero_events`` (HTML: :func:`~inflamed.report.zero_events.zero_event_text` when the set's
    only studies had no events in either arm, or the set's mean-difference result when it has
    only between-arm differences) replaces the pool stage's reason for an unestimable set.
    """
    summary = outcome.summary or {}
    block = summary.get("sets", {}).get(set_name)
    label = SET_LABELS.get(set_name, set_name)
    source = outcome.paths["summary"]
    if block is None:
        return f"<p>{esc(label)}: not reported.</p>"
    k = num(block.get("k"), f"{source}#/sets/{set_name}/k", kind="int")
    if not block.get("estimable"):
        reason = zero_events or esc(block.get("reason", "not estimable"))
        return f"<p>{esc(label)}: k = {k}; {reason}.</p>"
    n = num(block.get("n_participants"), f"{source}#/sets/{set_name}/n_participants", kind="int")
    measure = summary.get("measure", "")
    result = block["result"]
    ratio = measure in RATIO_MEASURES and "ratio_scale" in block
    base = f"/sets/{set_name}/ratio_scale" if ratio else f"/sets/{set_name}/result"
    scale = block["ratio_scale"] if ratio else result
    est, lb, ub = _effect_html(source, scale, base, ("estimate", "ci_lb", "ci_ub"))
    text = (
        f"<p>{esc(label)}: k = {k}, N = {n}; {'single-study' if block.get('k') == 1 else 'pooled'} "
        f"{esc(measure)} {est} "
        f"(95% CI {lb} to {ub}; {esc(fmt_p(result.get('pval')))})"
    )
    if not is_missing(scale.get("pi_lb")):
        pl, pu = _effect_html(source, scale, base, ("pi_lb", "pi_ub"))
        text += f"; prediction interval {pl} to {pu}"
    if not is_missing(result.get("i2")):
        i2 = num(result["i2"], f"{source}#/sets/{set_name}/result/i2", kind="percent")
        tau2 = num(result.get("tau2"), f"{source}#/sets/{set_name}/result/tau2", 3)
        text += f"; I\u00b2 = {i2}, tau\u00b2 = {tau2}"
    text += "."
    if block.get("note"):
        text += f' <span class="note">{esc(block["note"])}.</span>'
    return text + "</p>"


def _subgroup_text(outcome: OutcomeArtefacts) -> str:
    subgroups = outcome.subgroups
    if not subgroups:
        return '<p class="missing">Subgroup analyses were not produced.</p>'
    items = []
    for name, title in (
        ("inflammation", "Inflammation (CRP-high vs CRP-low strata)"),
        ("mechanism_class", "Drug class (within the primary set)"),
    ):
        block = subgroups.get(name)
        if not isinstance(block, Mapping):
            continue
        if not block.get("reported"):
            items.append(f"<li>{esc(title)}: not tested; {esc(block.get('reason', ''))}.</li>")
            continue
        source = outcome.paths["subgroups"]
        tests = []
        between = block.get("test_for_subgroup_differences")
        if isinstance(between, Mapping) and not is_missing(between.get("q")):
            q = num(between["q"], f"{source}#/{name}/test_for_subgroup_differences/q")
            df = esc(between.get("df", ""))
            tests.append(f"Q<sub>between</sub> = {q} (df {df}), {esc(fmt_p(between.get('pval')))}")
        regression = block.get("meta_regression")
        if isinstance(regression, Mapping) and not is_missing(regression.get("qm")):
            qm = num(regression["qm"], f"{source}#/{name}/meta_regression/qm")
            tests.append(
                f"meta-regression Q<sub>M</sub> = {qm}, {esc(fmt_p(regression.get('pval')))}"
            )
        if not tests:  # an older or different layout: show it as it is
            items.append(f"<li>{esc(title)}:</li>" + html_table(flatten_json(block, max_rows=20)))
            continue
        groups = []
        for i, group in enumerate(block.get("subgroups") or []):
            spans = [
                num(group.get(k), f"{source}#/{name}/subgroups/{i}/{k}")
                for k in ("estimate", "ci_lb", "ci_ub")
            ]
            log = " (log scale)" if (outcome.summary or {}).get("measure") in RATIO_MEASURES else ""
            groups.append(
                f"{esc(SET_LABELS.get(group.get('subgroup'), group.get('subgroup')))}{log}: "
                f"{spans[0]} ({spans[1]} to {spans[2]}), k = "
                f"{num(group.get('k'), f'{source}#/{name}/subgroups/{i}/k', kind='int')}"
            )
        detail = f" Subgroups: {'; '.join(groups)}." if groups else ""
        items.append(f"<li>{esc(title)}: {'; '.join(tests)}.{detail}</li>")
    note = f'<p class="note">{esc(subgroups.get("note", ""))}</p>' if subgroups.get("note") else ""
    return f"<ul>{''.join(items)}</ul>{note}"


def _small_study_text(outcome: OutcomeArtefacts) -> str:
    small = outcome.small_study
    if not small:
        return '<p class="missing">Small-study analyses were not produced.</p>'
    if not small.get("reported"):
        return f"<p>Not assessed: {esc(small.get('reason', ''))}.</p>"
    source = outcome.paths["small_study"]
    parts = []
    for key, title in (
        ("egger", "Egger's regression test"),
        ("egger_classic", "Egger's test (classic linear model)"),
        ("begg", "Begg's rank correlation"),
    ):
        block = small.get(key)
        if isinstance(block, Mapping):
            p = block.get("pval", block.get("p"))
            parts.append(f"{esc(title)}: {esc(fmt_p(p))}")
    tf = small.get("trim_and_fill")
    if isinstance(tf, Mapping):
        k0 = tf.get("k0")
        est = tf.get("estimate", tf.get("beta"))
        text = "Trim-and-fill: "
        if k0 is not None:
            text += f"{num(k0, f'{source}#/trim_and_fill/k0', kind='int')} {'study' if k0 == 1 else 'studies'} imputed"
        if est is not None and not isinstance(est, (list, dict)):
            key = "estimate" if "estimate" in tf else "beta"
            log = " (log scale)" if (outcome.summary or {}).get("measure") in RATIO_MEASURES else ""
            text += f", adjusted estimate{log} {num(est, f'{source}#/trim_and_fill/{key}')}"
        parts.append(text)
    return (
        "<p>" + "; ".join(parts) + ".</p>"
        if parts
        else html_table(flatten_json(small, max_rows=20))
    )


def _study_labels(outcome: OutcomeArtefacts) -> dict[str, str]:
    """Study id -> the one study label, from the outcome's per-study table."""
    studies = outcome.studies
    if studies is None or not {"study_id", "label"} <= set(studies.columns):
        return {}
    return dict(zip(studies["study_id"].astype(str), studies["label"].astype(str), strict=True))


def _sensitivity_text(outcome: OutcomeArtefacts) -> str:
    """Influence diagnostics and the fixed-effect estimates from 2x2 counts (binary outcomes)."""
    parts = []
    influence = outcome.influence
    if influence is not None and "influential" in influence and "study_id" in influence:
        flagged = [
            str(s)
            for s in influence.loc[influence["influential"].astype(str) == "True", "study_id"]
        ]
        labels = _study_labels(outcome)
        count = f"{len(flagged)} studies: " if len(flagged) > 1 else ""
        parts.append(
            "Influence diagnostics (metafor's criteria) flag "
            + (f"{count}{esc(name_list(flagged, labels))}" if flagged else "no study")
            + " as influential"
            + (
                f" (every study's diagnostics: {esc(outcome.paths['influence'])})."
                if len(flagged) > NAMES_SHOWN and "influence" in outcome.paths
                else "."
            )
        )
    summary = outcome.summary or {}
    primary = summary.get("primary_set", "crp_high")
    counts = (summary.get("sets", {}).get(primary) or {}).get("fixed_effect_counts")
    if isinstance(counts, Mapping):
        if not counts.get("reported"):
            parts.append(
                f"Fixed-effect estimates from 2x2 counts: {esc(counts.get('reason', 'not reported'))}."
            )
        for key, title in (("mantel_haenszel", "Mantel-Haenszel"), ("peto", "Peto")):
            block = counts.get(key)
            if not isinstance(block, Mapping) or is_missing(block.get("estimate")):
                continue
            base = f"{outcome.paths['summary']}#/sets/{primary}/fixed_effect_counts/{key}"
            spans = [
                num(block.get(k), f"{base}/{k}", kind="exp") for k in ("estimate", "ci_lb", "ci_ub")
            ]
            parts.append(
                f"{title} fixed-effect {esc(block.get('measure', summary.get('measure', '')))} "
                f"{spans[0]} (95% CI {spans[1]} to {spans[2]}) from the 2x2 counts."
            )
    return f"<p>{' '.join(parts)}</p>" if parts else ""


def _leave_one_out_text(outcome: OutcomeArtefacts) -> str:
    loo = outcome.leave_one_out
    if loo is None:
        return '<p class="missing">Leave-one-out results were not produced.</p>'
    if "not_run_because" in loo and loo["not_run_because"].notna().any():
        return f"<p>Leave-one-out: not run; {esc(loo['not_run_because'].dropna().iloc[0])}.</p>"
    if loo.empty or "estimate" not in loo:
        return "<p>Leave-one-out: no rows.</p>"
    estimates = pd.to_numeric(loo["estimate"], errors="coerce")
    measure = (outcome.summary or {}).get("measure")
    if measure in RATIO_MEASURES:  # leave_one_out.csv holds log ratios; show ratios like the rest
        estimates = np.exp(estimates)
    lo, hi = estimates.idxmin(), estimates.idxmax()
    labels = _study_labels(outcome)
    low, high = (
        labels.get(str(loo.at[i, "study_id"]), str(loo.at[i, "study_id"])) for i in (lo, hi)
    )
    return (
        f"<p>Leave-one-out ({esc(measure or 'estimate')}): the pooled estimate ranges from "
        f"{esc(fmt_number(estimates[lo]))} (without {esc(low)}) to "
        f"{esc(fmt_number(estimates[hi]))} (without {esc(high)}).</p>"
    )


def results_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """Per outcome: CRP-selected vs whole sample, subgroups, sensitivity, small-study effects, figures."""
    parts = [section_heading("results")]
    for review in reviews:
        parts.append(heading(3, slug("results", review.name), review.title))
        if not review.outcomes:
            parts.append('<p class="missing">No outcomes configured.</p>')
        for outcome in review.outcomes.values():
            parts.append(heading(4, slug("results", review.name, outcome.name), outcome.label))
            if outcome.summary is None:
                parts.append(
                    f'<p class="missing">No pooled results: {esc(outcome.paths["summary"])} is absent.</p>'
                )
                continue
            primary = outcome.summary.get("primary_set", "crp_high")
            sets = outcome.summary.get("sets", {})
            if not any(b.get("k") for b in sets.values()) and not any(
                zero_event_studies(review, outcome.name, s) for s in sets
            ):
                # Nothing to show in any set: one line, not empty tables and figure notes.
                parts.append(
                    f'<p class="missing">No study in any analysis set has usable numbers for '
                    f"{esc(outcome.label.lower())}; what is missing, and from whom, is under "
                    '<a href="#missing-data">Missing data</a>.</p>'
                )
                continue
            if outcome.summary.get("direction"):
                parts.append(f'<p class="note">Direction: {esc(outcome.summary["direction"])}.</p>')
            for set_name in [primary] + [
                s for s in ("whole", "crp_low", "crp_high") if s != primary
            ]:
                zero = zero_event_studies(review, outcome.name, set_name)
                rd = risk_difference_text(review, outcome.name, set_name)
                # A set with no study on the outcome's scale may have a between-arm difference
                # on an instrument's own scale (the MD analysis): say so instead of "no study".
                md = md_only_suffix(outcome, set_name)
                instead = zero_event_text(zero, rd) if zero else f"no study{md}" if md else ""
                parts.append(headline(outcome, set_name, instead))
            parts.append(
                html_table(
                    sets_table(outcome.summary),
                    table_id=slug("sets", review.name, outcome.name),
                    caption="Analysis sets side by side (CRP-high and whole sample share patients: not tested against each other)",
                )
            )
            parts.append(registry_strata_block(review, outcome))
            parts.append("<p><b>Subgroups.</b></p>" + _subgroup_text(outcome))
            parts.append(
                "<p><b>Sensitivity.</b></p>"
                + _leave_one_out_text(outcome)
                + _sensitivity_text(outcome)
            )
            parts.append("<p><b>Small-study effects.</b></p>" + _small_study_text(outcome))
            parts.append(studies_table(outcome, slug("every-study", review.name, outcome.name)))
            for figure, path in outcome.figures.items():
                reason = figure_not_drawn(outcome, figure)
                if reason:
                    parts.append(
                        f'<p class="note">No {FIGURE_NAME[figure]} for {esc(outcome.label)}: '
                        f"{esc(reason)}.</p>"
                    )
                    continue
                text = f"{FIGURE_ALT[figure]} ({outcome.label})."
                parts.append(embed_png(path, text, caption=text + " " + FIGURE_LEGEND[figure]))
    return wrap("\n".join(parts))
