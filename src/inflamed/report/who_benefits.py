"""Who benefits: within- and between-trial evidence by CRP, and the mechanism (cascade) model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from inflamed.report.artefacts import MechanismArtefacts, ReviewArtefacts
from inflamed.report.html import embed_png, esc, heading, html_table, num
from inflamed.report.layout import section_heading, slug, wrap
from inflamed.report.tables import flatten_json
from inflamed.stats.measures import RATIO_MEASURES

__all__ = ["mechanism_caveats", "who_benefits_section"]


def _records_table(records: Any, columns: Iterable[str]) -> pd.DataFrame:
    frame = pd.DataFrame(records or [])
    keep = [c for c in columns if c in frame.columns]
    return frame[keep] if keep else frame


def _columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The listed columns that exist (all columns when none does), floats to 4 significant digits."""
    keep = [c for c in columns if c in frame.columns] or list(frame.columns)
    return frame[keep].map(lambda v: f"{v:.4g}" if isinstance(v, float) and v == v else v)


def mechanism_caveats(mechanism: MechanismArtefacts) -> str:
    """What the cascade model cannot say, with the counts read from its artefacts.

    Two statements a reader needs before any table: how many quantitative targets the fit had
    against how many parameters, and why the simulated interventions are (or are not) ranked.
    """
    base = f"{mechanism.results_dir}/mechanism"
    doc = mechanism.cascade_fit or {}
    fit = doc.get("fit") or {}
    counts = doc.get("identifiability") or {}
    n_values = fit.get("n_fitted_values")
    n_ineq = fit.get("n_inequalities")
    n_params = counts.get("n_parameters")
    n_ident = counts.get("n_identifiable")
    lines = []
    if n_values is not None and n_params is not None:
        source = f"{base}/cascade_fit.json#"
        values = num(n_values, source + "/fit/n_fitted_values", kind="int")
        params = num(n_params, source + "/identifiability/n_parameters", kind="int")
        text = (
            f"<li><b>The model is not identified.</b> {values} quantitative "
            f"{'target' if n_values == 1 else 'targets'} cannot inform {params} parameters"
        )
        if n_ineq is not None:
            text += (
                "; the "
                + num(n_ineq, source + "/fit/n_inequalities", kind="int")
                + " inequality targets only say which way a quantity moves"
            )
        if n_ident is not None:
            text += (
                ". "
                + num(n_ident, source + "/identifiability/n_identifiable", kind="int")
                + f" of {params} parameters are identifiable by profile likelihood"
            )
        lines.append(
            text + ". The fit shows that the cascade is consistent with the targets, "
            "not how large its effects are.</li>"
        )
    itab = mechanism.interventions
    if itab is not None and len(itab) and "region_span_log10" in itab.columns:
        span = pd.to_numeric(itab["region_span_log10"], errors="coerce")
        lo_row = itab.loc[pd.to_numeric(itab["rescue_sd_region_min"], errors="coerce").idxmin()]
        hi_row = itab.loc[pd.to_numeric(itab["rescue_sd_region_max"], errors="coerce").idxmax()]

        def _at(row: pd.Series, column: str) -> str:
            where = f"intervention={row['intervention']}&timing={row['timing']}/{column}"
            value = float(row[column])
            # Two significant digits, so a rescue of 0.001 SD does not print as 0.00.
            digits = max(2, 1 - math.floor(math.log10(abs(value)))) if value else 2
            return num(value, f"{base}/interventions.csv#{where}", digits=digits)

        rng = f"{_at(lo_row, 'rescue_sd_region_min')} to {_at(hi_row, 'rescue_sd_region_max')} SD"
        if (span >= 1.0).any():
            lines.append(
                "<li><b>No ranking.</b> Across the plausible parameter region the simulated rescue "
                f"runs from {rng}, and the range of at least one intervention spans orders of "
                "magnitude (or crosses zero); an order of interventions by their best-fit rescue "
                "would be an artefact of one parameter set, so none is given.</li>"
            )
        else:
            lines.append(
                f"<li>The simulated rescue runs from {rng}; every range is narrower than one order "
                "of magnitude, so interventions are ranked by best-fit rescue.</li>"
            )
    lines.append(
        "<li><b>Clinical counterparts by pathway.</b> Each simulated intervention is set beside "
        "the trials of drugs acting on the same pathway (IL-6/IL-6R: tocilizumab, sirukumab; "
        "microglia: minocycline); anti-TNF trials (infliximab) test another cytokine and are "
        "never a counterpart.</li>"
    )
    return '<ul class="caveats">' + "".join(lines) + "</ul>"


#: The CRP covariates of the between-trial meta-regression, in words (config mechanism.moderator).
MODERATOR_NAMES = {
    "crp_cutoff_mg_l": "CRP cut-off (mg/L)",
    "baseline_crp_mg_l": "Baseline CRP (mg/L)",
}


def _outcome_label(review: ReviewArtefacts, key: Any) -> Any:
    """The outcome's label ("Depressive symptom severity"), not its key; unknown keys as given."""
    outcome = review.outcomes.get(key) if isinstance(key, str) else None
    return outcome.label if outcome is not None else key


def _in_words(frame: pd.DataFrame, review: ReviewArtefacts) -> pd.DataFrame:
    """Outcome keys as the outcomes' labels and moderator keys as words (values, not headers)."""
    out = frame.copy()
    if "outcome" in out:
        out["outcome"] = out["outcome"].map(lambda v: _outcome_label(review, v))
    if "moderator" in out:
        out["moderator"] = out["moderator"].map(lambda v: MODERATOR_NAMES.get(v, v))
    return out


def who_benefits_section(
    reviews: Sequence[ReviewArtefacts], mechanism: MechanismArtefacts | None
) -> str:
    """Benefit by inflammation (within and between trials) and the cascade model."""
    parts = [section_heading("who-benefits")]
    for review in reviews:
        parts.append(heading(3, slug("who-benefits", review.name), review.title))
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
                        f"<li>{esc(_outcome_label(review, est.get('outcome')))} ({esc(est.get('measure'))}"
                        f"{', log scale' if est.get('measure') in RATIO_MEASURES else ''}): CRP-high minus CRP-low "
                        f"difference {spans[0]} (95% CI {spans[1]} to {spans[2]}), k = "
                        f"{num(est.get('k'), f'{source}#/within_trial/pooled/{i}/k', kind='int')}.</li>"
                    )
                else:
                    lines.append(
                        f"<li>{esc(_outcome_label(review, est.get('outcome')))}: "
                        f"{esc(est.get('reason', 'not estimable'))}.</li>"
                    )
            parts.append(
                "<p><b>Within-trial interactions</b> (pooled across trials reporting both strata):</p>"
            )
            parts.append(
                f"<ul>{''.join(lines)}</ul>"
                if lines
                else '<p class="missing">No trial reports both CRP strata.</p>'
            )
            agreement = _in_words(
                _records_table(
                    wb.get("agreement_within_vs_between"),
                    ["outcome", "measure", "moderator", "status", "explanation"],
                ),
                review,
            )
            parts.append(
                html_table(
                    agreement,
                    table_id=slug("agreement", review.name),
                    caption="Within-trial vs between-trial evidence",
                    empty_text="No between-trial comparison.",
                )
            )
            if wb.get("note"):
                parts.append(f'<p class="note">{esc(wb["note"])}</p>')
        if review.crp_predictions is not None:
            parts.append(
                html_table(
                    _in_words(
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
                        ),
                        review,
                    ).rename(columns={"pred": "predicted", "crp_mg_l": "CRP (mg/L)"}),
                    table_id=slug("crp-predictions", review.name),
                    caption="Predicted treatment effect at CRP values (between-trial "
                    "meta-regression; log scale for RR/OR)",
                    empty_text="No predictions.",
                )
            )
        if review.clinic_bridge is not None:
            parts.append(
                html_table(
                    _columns(review.clinic_bridge, list(review.clinic_bridge.columns)),
                    table_id=slug("clinic-bridge", review.name),
                    caption="Simulated interventions beside the trials that test the same "
                    "pathway (not ranked; never anti-TNF)",
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
        parts.append(mechanism_caveats(mechanism))
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
                ["intervention", "description", "pathway", "timing", "rescue_sd_best",
                 "rescue_sd_region_min", "rescue_sd_region_max", "region_span_log10", "ranking"],
                "Simulated interventions: rescue in SD units at the best fit and across the "
                "plausible parameter region (orders of magnitude spanned; no rank where wide)",
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
    return wrap("\n".join(parts))
