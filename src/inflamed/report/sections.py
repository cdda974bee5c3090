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

import numpy as np
import pandas as pd

from inflamed.pipeline.provenance import digest_of, sha256_file
from inflamed.report.artefacts import MechanismArtefacts, OutcomeArtefacts, ReviewArtefacts
from inflamed.report.grade import GradeRules, grade_rules_text, grade_summary_of_findings
from inflamed.report.html import (
    REPORT_CSS,
    embed_png,
    esc,
    fmt_number,
    fmt_p,
    heading,
    html_table,
    is_missing,
    num,
)
from inflamed.report.methods import methods_text
from inflamed.report.tables import (
    SET_LABELS,
    characteristics_table,
    comparison_table,
    flatten_json,
    missing_data_table,
    risk_of_bias_table,
    sets_table,
)
from inflamed.stats.measures import RATIO_MEASURES

__all__ = [
    "SECTION_IDS",
    "characteristics_section",
    "comparison_section",
    "header",
    "methods_section",
    "missing_data_section",
    "prisma_section",
    "reproducibility_section",
    "results_section",
    "risk_of_bias_section",
    "summary_of_findings_section",
    "who_benefits_section",
]

#: Top-level sections in report order: anchor -> heading.
SECTION_IDS: dict[str, str] = {
    "summary-of-findings": "Summary of findings",
    "prisma": "Study selection (PRISMA 2020)",
    "characteristics": "Characteristics of included studies",
    "results": "Main results per outcome",
    "comparison": "Comparison with published meta-analyses",
    "risk-of-bias": "Risk of bias",
    "who-benefits": "Who benefits and the mechanism model",
    "missing-data": "Missing data",
    "methods": "Methods",
    "reproducibility": "Reproducibility appendix",
}
FIGURE_ALT = {
    "forest": "Forest plot: each study's effect with its confidence interval, weights and the pooled estimates",
    "funnel": "Contour-enhanced funnel plot: effect against standard error",
    "leave_one_out": "Leave-one-out plot: pooled estimate with each study omitted in turn",
    "influence": "Influence diagnostics: each study's studentised residual, Cook's distance and hat value",
    "cumulative": "Cumulative meta-analysis by publication year",
}


def _section(anchor: str) -> str:
    return heading(2, anchor, SECTION_IDS[anchor])


def _slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


def header(title: str, reviews: Sequence[ReviewArtefacts]) -> str:
    """Style sheet, title, scope and a table of contents."""
    toc = "".join(f'<li><a href="#{a}">{esc(t)}</a></li>' for a, t in SECTION_IDS.items())
    scope = "".join(
        f"<li>{esc(r.title)} (<code>{esc(r.name)}</code>): {len(r.outcomes)} outcome(s)</li>"
        for r in reviews
    )
    return (
        f'{REPORT_CSS}<div class="inflamed-report"><h1 id="report-title">{esc(title)}</h1>'
        f"<p>Reviews in this report:</p><ul>{scope}</ul>"
        f'<nav aria-label="contents"><p>Contents:</p><ol>{toc}</ol></nav>'
        '<p class="note">Every number in the text links to its artefact through the '
        "<code>data-source</code> attribute of its element; the reproducibility appendix lists "
        "every file this report read with its sha256.</p></div>"
    )


def _wrap(body: str) -> str:
    return f'<div class="inflamed-report">{body}</div>'


def _effect_html(
    source: str, block: Mapping[str, Any], base: str, keys: Sequence[str]
) -> list[str]:
    return [num(block.get(k), f"{source}#{base}/{k}") for k in keys]


def _headline(outcome: OutcomeArtefacts, set_name: str) -> str:
    """One sentence quoting a set's pooled estimate with source-tagged numbers."""
    summary = outcome.summary or {}
    block = summary.get("sets", {}).get(set_name)
    label = SET_LABELS.get(set_name, set_name)
    source = outcome.paths["summary"]
    if block is None:
        return f"<p>{esc(label)}: not reported.</p>"
    k = num(block.get("k"), f"{source}#/sets/{set_name}/k", kind="int")
    if not block.get("estimable"):
        return f"<p>{esc(label)}: k = {k}; {esc(block.get('reason', 'not estimable'))}.</p>"
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


def _sof_table(sof: pd.DataFrame, table_id: str, row_prefix: str, caption: str) -> str:
    shown = sof.copy()
    effects = []
    for _, row in sof.iterrows():
        if row["estimate"] is None or is_missing(row["estimate"]):
            effects.append("not estimable")
            continue
        base = row["estimate_locator"]
        spans = [num(row[k], f"{row['source']}#{base}/{k}") for k in ("estimate", "ci_lb", "ci_ub")]
        effects.append(f"{esc(row['measure'])} {spans[0]} ({spans[1]} to {spans[2]})")
    shown["effect (95% CI)"] = effects
    shown["k"] = [
        num(k, f"{s}#/sets/{a}/k", kind="int") if s else esc(k)
        for k, s, a in zip(sof["k"], sof["source"], sof["analysis_set"], strict=True)
    ]
    shown["N"] = [
        num(n, f"{s}#/sets/{a}/n_participants", kind="int") if s and not is_missing(n) else "n/a"
        for n, s, a in zip(sof["N"], sof["source"], sof["analysis_set"], strict=True)
    ]
    shown["set"] = [SET_LABELS.get(a, a) for a in sof["analysis_set"]]
    shown["certainty"] = [
        f'<span class="certainty certainty-{c.replace(" ", "-")}">{esc(c)}</span>'
        for c in sof["certainty"]
    ]
    columns = [
        "label", "set", "k", "N", "effect (95% CI)", "certainty", "risk_of_bias", "inconsistency",
        "indirectness", "imprecision", "publication_bias", "statement",
    ]  # fmt: skip
    table = shown[columns].rename(
        columns={
            "label": "outcome",
            "risk_of_bias": "risk of bias",
            "publication_bias": "publication bias",
            "statement": "plain-language statement",
        }
    )
    return html_table(
        table,
        table_id=table_id,
        caption=caption,
        raw_columns=["k", "N", "effect (95% CI)", "certainty"],
        table_class="sof",
        row_ids=[_slug(row_prefix, o) for o in sof["outcome"]],
    )


def summary_of_findings_section(
    reviews: Sequence[ReviewArtefacts],
    *,
    rules: GradeRules | None = None,
    intervention: str = "the treatment",
) -> str:
    """The GRADE summary-of-findings table per review (headline set, then the whole sample)."""
    parts = [_section("summary-of-findings")]
    for review in reviews:
        sof = grade_summary_of_findings(review, rules=rules, intervention=intervention)
        parts.append(heading(3, _slug("sof", review.name), review.title))
        if sof.empty:
            parts.append('<p class="missing">No outcomes configured.</p>')
            continue
        parts.append(
            _sof_table(
                sof,
                _slug("sof-table", review.name),
                _slug("sof", review.name),
                f"Summary of findings (automated GRADE proposal): {review.title}",
            )
        )
        if set(sof["analysis_set"]) != {"whole"}:
            whole = grade_summary_of_findings(
                review, analysis_set="whole", rules=rules, intervention=intervention
            )
            parts.append(
                _sof_table(
                    whole,
                    _slug("sof-table-whole", review.name),
                    _slug("sof-whole", review.name),
                    "The same outcomes in the whole samples of the trials (shares patients with "
                    "the CRP-selected set: shown for comparison, not tested against it)",
                )
            )
    parts.append(
        '<h3 id="grade-rules">How the certainty was proposed</h3>' + grade_rules_text(rules)
    )
    return _wrap("\n".join(parts))


def prisma_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """The PRISMA 2020 flow diagram and the counts it was drawn from."""
    parts = [_section("prisma")]
    for review in reviews:
        parts.append(heading(3, _slug("prisma", review.name), review.title))
        parts.append(
            embed_png(review.figures["prisma"], f"PRISMA 2020 flow diagram for {review.title}")
        )
        if review.prisma is None or review.prisma.empty:
            parts.append('<p class="missing">No PRISMA counts were supplied for this review.</p>')
        else:
            cols = [
                c
                for c in ("stage", "count", "source", "source_location", "notes")
                if c in review.prisma
            ]
            parts.append(
                html_table(review.prisma[cols], table_id=_slug("prisma-counts", review.name))
            )
    return _wrap("\n".join(parts))


def characteristics_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """One row per included study."""
    parts = [_section("characteristics")]
    for review in reviews:
        parts.append(heading(3, _slug("characteristics", review.name), review.title))
        parts.append(
            html_table(
                characteristics_table(review.studies),
                table_id=_slug("characteristics-table", review.name),
                empty_text="No studies table was produced for this review.",
            )
        )
    return _wrap("\n".join(parts))


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


def _sensitivity_text(outcome: OutcomeArtefacts) -> str:
    """Influence diagnostics and the fixed-effect estimates from 2x2 counts (binary outcomes)."""
    parts = []
    influence = outcome.influence
    if influence is not None and "influential" in influence and "study_id" in influence:
        flagged = influence.loc[influence["influential"].astype(str) == "True", "study_id"]
        parts.append(
            "Influence diagnostics (metafor's criteria) flag "
            + (esc(", ".join(map(str, flagged))) if len(flagged) else "no study")
            + " as influential."
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
    return (
        f"<p>Leave-one-out ({esc(measure or 'estimate')}): the pooled estimate ranges from "
        f"{esc(fmt_number(estimates[lo]))} (without {esc(loo.at[lo, 'study_id'])}) to "
        f"{esc(fmt_number(estimates[hi]))} (without {esc(loo.at[hi, 'study_id'])}).</p>"
    )


def results_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """Per outcome: CRP-selected vs whole sample, subgroups, sensitivity, small-study effects, figures."""
    parts = [_section("results")]
    for review in reviews:
        parts.append(heading(3, _slug("results", review.name), review.title))
        if not review.outcomes:
            parts.append('<p class="missing">No outcomes configured.</p>')
        for outcome in review.outcomes.values():
            parts.append(heading(4, _slug("results", review.name, outcome.name), outcome.label))
            if outcome.summary is None:
                parts.append(
                    f'<p class="missing">No pooled results: {esc(outcome.paths["summary"])} is absent.</p>'
                )
                continue
            primary = outcome.summary.get("primary_set", "crp_high")
            if outcome.summary.get("direction"):
                parts.append(f'<p class="note">Direction: {esc(outcome.summary["direction"])}.</p>')
            for set_name in [primary] + [
                s for s in ("whole", "crp_low", "crp_high") if s != primary
            ]:
                parts.append(_headline(outcome, set_name))
            parts.append(
                html_table(
                    sets_table(outcome.summary),
                    table_id=_slug("sets", review.name, outcome.name),
                    caption="Analysis sets side by side (CRP-high and whole sample share patients: not tested against each other)",
                )
            )
            parts.append("<p><b>Subgroups.</b></p>" + _subgroup_text(outcome))
            parts.append(
                "<p><b>Sensitivity.</b></p>"
                + _leave_one_out_text(outcome)
                + _sensitivity_text(outcome)
            )
            parts.append("<p><b>Small-study effects.</b></p>" + _small_study_text(outcome))
            for figure, path in outcome.figures.items():
                parts.append(embed_png(path, f"{FIGURE_ALT[figure]} ({outcome.label})"))
    return _wrap("\n".join(parts))


def comparison_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """inflamed's estimates beside published pooled estimates."""
    parts = [_section("comparison")]
    for review in reviews:
        parts.append(heading(3, _slug("comparison", review.name), review.title))
        parts.append(
            embed_png(
                review.figures["comparison"],
                f"inflamed's pooled estimates beside published estimates ({review.title})",
            )
        )
        parts.append(
            html_table(
                comparison_table(review.published, review.pooled),
                table_id=_slug("comparison-table", review.name),
                empty_text="No published estimates were supplied for this review.",
            )
        )
    parts.append(
        '<p class="note">Published estimates are shown as published and, beside them, turned to '
        "inflamed's convention using each row's recorded benefit direction: continuous effects "
        "positive when they favour the treatment, ratios treatment vs control.</p>"
    )
    return _wrap("\n".join(parts))


def risk_of_bias_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """RoB 2 judgements as a table and the traffic-light and summary figures."""
    parts = [_section("risk-of-bias")]
    for review in reviews:
        parts.append(heading(3, _slug("risk-of-bias", review.name), review.title))
        parts.append(
            embed_png(
                review.figures["rob_traffic_light"],
                f"Risk-of-bias traffic-light plot ({review.title})",
            )
        )
        parts.append(
            embed_png(
                review.figures["rob_summary"], f"Risk-of-bias summary bar chart ({review.title})"
            )
        )
        parts.append(
            html_table(
                risk_of_bias_table(review.risk_of_bias),
                table_id=_slug("rob-table", review.name),
                empty_text="No risk-of-bias judgements were supplied for this review.",
            )
        )
    return _wrap("\n".join(parts))


def _records_table(records: Any, columns: Iterable[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records or [])
    keep = [c for c in columns if c in frame.columns]
    return frame[keep] if keep else frame


def _columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The listed columns that exist (all columns when none does), floats to 4 significant digits."""
    keep = [c for c in columns if c in frame.columns] or list(frame.columns)
    return frame[keep].map(lambda v: f"{v:.4g}" if isinstance(v, float) and v == v else v)


def who_benefits_section(
    reviews: Sequence[ReviewArtefacts], mechanism: MechanismArtefacts | None
) -> str:
    """Benefit by inflammation (within and between trials) and the cascade model."""
    parts = [_section("who-benefits")]
    for review in reviews:
        parts.append(heading(3, _slug("who-benefits", review.name), review.title))
        wb = review.who_benefits
        if wb is None:
            parts.append(
                '<p class="missing">The who-benefits analysis was not produced for this review.</p>'
            )
        else:
            source = review.path("mechanism", "who_benefits.json")
            pooled = (wb.get("within_trial") or {}).get("pooled") or []
            lines = []
            for i, est in enumerate(pooled):
                if est.get("status") == "estimated":
                    spans = [
                        num(est.get(k), f"{source}#/within_trial/pooled/{i}/{k}")
                        for k in ("estimate", "ci_lb", "ci_ub")
                    ]
                    lines.append(
                        f"<li>{esc(est.get('outcome'))} ({esc(est.get('measure'))}"
                        f"{', log scale' if est.get('measure') in RATIO_MEASURES else ''}): CRP-high minus CRP-low "
                        f"difference {spans[0]} (95% CI {spans[1]} to {spans[2]}), k = "
                        f"{num(est.get('k'), f'{source}#/within_trial/pooled/{i}/k', kind='int')}.</li>"
                    )
                else:
                    lines.append(
                        f"<li>{esc(est.get('outcome'))}: {esc(est.get('reason', 'not estimable'))}.</li>"
                    )
            parts.append(
                "<p><b>Within-trial interactions</b> (pooled across trials reporting both strata):</p>"
            )
            parts.append(
                f"<ul>{''.join(lines)}</ul>"
                if lines
                else '<p class="missing">No trial reports both CRP strata.</p>'
            )
            agreement = _records_table(
                wb.get("agreement_within_vs_between"),
                ["outcome", "measure", "moderator", "status", "explanation"],
            )
            parts.append(
                html_table(
                    agreement,
                    table_id=_slug("agreement", review.name),
                    caption="Within-trial vs between-trial evidence",
                    empty_text="No between-trial comparison.",
                )
            )
            if wb.get("note"):
                parts.append(f'<p class="note">{esc(wb["note"])}</p>')
        if review.crp_predictions is not None:
            parts.append(
                html_table(
                    _columns(
                        review.crp_predictions,
                        [
                            "outcome",
                            "measure",
                            "moderator",
                            "crp_mg_l",
                            "pred",
                            "estimate",
                            "ci_lb",
                            "ci_ub",
                            "pi_lb",
                            "pi_ub",
                            "k_trials",
                            "extrapolation",
                            "status",
                            "reason",
                        ],
                    ).rename(columns={"pred": "predicted", "crp_mg_l": "CRP (mg/L)"}),
                    table_id=_slug("crp-predictions", review.name),
                    caption="Predicted treatment effect at CRP values (between-trial "
                    "meta-regression; log scale for RR/OR)",
                    empty_text="No predictions.",
                )
            )
        if review.clinic_bridge is not None:
            parts.append(
                html_table(
                    _columns(review.clinic_bridge, list(review.clinic_bridge.columns)),
                    table_id=_slug("clinic-bridge", review.name),
                    caption="Model interventions beside the clinical evidence for their drug class",
                    empty_text="No model-to-clinic comparison.",
                )
            )
        parts.append(
            embed_png(
                review.figures["crp_bubble"],
                f"Meta-regression bubble plot: effect against CRP ({review.title})",
            )
        )
    parts.append(
        heading(3, "mechanism-model", "The P2X7 \u2192 IL-6 \u2192 astrocyte cascade model")
    )
    if mechanism is None or mechanism.cascade_fit is None:
        parts.append('<p class="missing">The cascade model was not fitted in this run.</p>')
    else:
        fit = mechanism.cascade_fit.get("fit")
        if isinstance(fit, Mapping) and isinstance(fit.get("estimates"), Mapping):
            summary = {
                key: fit[key]
                for key in ("chi2", "n_starts", "n_fitted_values", "n_inequalities")
                if key in fit
            }
            summary["seed"] = mechanism.cascade_fit.get("seed", "")
            parts.append(
                html_table(
                    flatten_json(summary),
                    table_id="cascade-fit",
                    caption="Cascade fit (cascade_fit.json)",
                )
            )
        else:
            parts.append(
                html_table(
                    flatten_json(mechanism.cascade_fit, max_rows=40),
                    table_id="cascade-fit",
                    caption="Cascade fit (cascade_fit.json, leading entries)",
                )
            )
        tables = (
            (
                "identifiability",
                mechanism.identifiability,
                ["parameter", "description", "unit", "estimate", "ci_lb", "ci_ub", "verdict", "reason"],
                "Parameter estimates and their identifiability (profile likelihood)",
            ),
            (
                "interventions",
                mechanism.interventions,
                ["intervention", "description", "timing", "rescue_sd_best", "rescue_sd_region_min",
                 "rescue_sd_region_max", "rank_best_within_timing"],
                "Simulated interventions: rescue in SD units at the best fit and across the "
                "plausible parameter region",
            ),
        )  # fmt: skip
        for name, frame, columns, caption in tables:
            if frame is not None:
                parts.append(
                    html_table(
                        _columns(frame, columns), table_id=f"cascade-{name}", caption=caption
                    )
                )
        for figure, path in mechanism.figures.items():
            parts.append(embed_png(path, f"Cascade model: {figure.replace('_', ' ')}"))
    return _wrap("\n".join(parts))


def missing_data_section(reviews: Sequence[ReviewArtefacts]) -> str:
    """What is not public, per study, and from whom it could come."""
    parts = [_section("missing-data")]
    for review in reviews:
        parts.append(heading(3, _slug("missing-data", review.name), review.title))
        table = missing_data_table(review.missing_data)
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
                table_id=_slug("missing-table", review.name),
                empty_text="Nothing is missing.",
            )
        )
    return _wrap("\n".join(parts))


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
    return _wrap(_section("methods") + methods_text(run_config, versions, settings=settings))


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
    return _wrap(
        _section("reproducibility")
        + f"<p>This report read {len(existing)} {'artefact' if len(existing) == 1 else 'artefacts'}. Their digest (sha256 over the sorted "
        f"path and sha256 pairs, <code>inflamed.pipeline.provenance.digest_of</code>) is "
        f'<code id="artefact-digest">{esc(digest)}</code>. <code>results/MANIFEST.json</code> '
        "names the rule, inputs and config values behind each of them.</p>"
        f"<p>To rerun from a fresh clone (the README's quick start):</p><pre><code>{esc(commands)}</code></pre>"
        "<details><summary>Files read and their sha256</summary>"
        + html_table(rows, table_id="artefacts-read")
        + "</details>"
    )
