"""The methods section, written from the run's actual configuration and software versions.

Nothing in the text is typed in: every estimator, interval, rule and version is read from the
validated run configuration (``results/run_config.json``), the settings the pool stage recorded
in each ``summary.json`` and :func:`inflamed.pipeline.provenance.package_versions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inflamed.rare_events import RARE_EVENT_METHODS
from inflamed.report.html import esc

__all__ = ["describe_settings", "methods_text", "pooling_settings"]

TAU2_ESTIMATORS = {
    "FE": "none (fixed-effect / common-effect model, tau\u00b2 = 0)",
    "EE": "none (equal-effects model, tau\u00b2 = 0)",
    "DL": "DerSimonian-Laird",
    "REML": "restricted maximum likelihood (REML)",
    "ML": "maximum likelihood",
    "PM": "Paule-Mandel",
    "SJ": "Sidik-Jonkman",
    "HE": "Hedges (method of moments)",
    "EB": "empirical Bayes",
}
TESTS = {
    "z": "Wald-type z test and normal-quantile confidence interval",
    "t": "Wald-type test with t(k - 1) quantiles",
    "knha": "Hartung-Knapp-Sidik-Jonkman adjustment (t(k - 1) quantiles, rescaled standard error)",
    "adhoc": "Hartung-Knapp-Sidik-Jonkman adjustment floored so the interval is never narrower than the Wald-type t interval",
}
PREDICTION = {
    "auto": "normal quantiles under the z test, otherwise t(k - 1) (metafor's predict())",
    "z": "normal quantiles",
    "t": "t(k - 1) quantiles",
    "higgins": "t(k - 2) quantiles (Higgins, Thompson & Spiegelhalter 2009; RevMan 5)",
}
I2_DEFINITIONS = {
    "metafor": "100 tau\u00b2 / (tau\u00b2 + typical within-study variance) (metafor's definition for random-effects models)",
    "ht": "Higgins-Thompson (Q - df) / Q (RevMan's definition)",
}
MEASURES = {
    "SMD": "standardised mean difference with Hedges' small-sample correction (Hedges' g)",
    "MD": "mean difference in the instrument's units",
    "RR": "risk ratio, pooled on the log scale",
    "OR": "odds ratio, pooled on the log scale",
    "RD": "risk difference",
}
TIMEPOINT_RULES = {
    "closest": "the time point closest to {target} weeks (ties go to the later one)",
    "latest": "the latest reported time point",
}
SD_IMPUTATIONS = {
    "se": "from the standard error",
    "ci": "from a 95% confidence interval of the arm mean",
    "median_iqr": "mean and SD from the median and interquartile range (Wan 2014 / Luo 2018)",
    "median_range": "mean and SD from the median and range (Wan 2014 / Luo 2018)",
}
MULTI_ARM = {
    "split": "a control arm shared by several comparisons is split among them (Cochrane Handbook 23.3.4)",
    "first": "only the first comparison of a multi-arm trial is kept",
}


def pooling_settings(
    run_config: Mapping[str, Any], summary_settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The estimator settings of the run.

    ``summary_settings`` (the ``settings`` a ``summary.json`` recorded: what the pool stage
    actually passed to :func:`inflamed.stats.pooling.rma`) wins; without it the preset is expanded with
    :func:`inflamed.stats.presets.preset` where that module exists, then the config's explicit keys.
    """
    pooling = dict(run_config.get("pooling", {}))
    if summary_settings:
        return {
            **dict(summary_settings),
            "preset": summary_settings.get("preset", pooling.get("preset")),
        }
    settings: dict[str, Any] = {}
    try:
        from inflamed.stats.presets import preset  # type: ignore[import-not-found]

        settings.update(preset(pooling.get("preset", "cochrane")))
    except ImportError:  # the pool stage records its settings; without it say only what config says
        pass
    for key in ("method", "test", "level"):
        if pooling.get(key) is not None:
            settings[key] = pooling[key]
    settings["preset"] = pooling.get("preset", "cochrane")
    return settings


def describe_settings(settings: Mapping[str, Any]) -> list[str]:
    """One plain sentence per estimator setting (unknown keys are listed as ``key = value``)."""
    out = []
    known = {"method", "test", "level", "pi", "i2_def", "preset"}
    if "preset" in settings:
        out.append(f"Convention preset: <code>{esc(settings['preset'])}</code>.")
    if "method" in settings:
        out.append(
            f"Between-study variance (tau\u00b2) estimator: {esc(TAU2_ESTIMATORS.get(settings['method'], settings['method']))}."
        )
    if "test" in settings:
        out.append(
            f"Inference for the pooled effect: {esc(TESTS.get(settings['test'], settings['test']))}."
        )
    if "level" in settings:
        out.append(f"Confidence level: {float(settings['level']):g}%.")
    if "pi" in settings:
        out.append(f"Prediction interval: {esc(PREDICTION.get(settings['pi'], settings['pi']))}.")
    if "i2_def" in settings:
        out.append(f"I\u00b2: {esc(I2_DEFINITIONS.get(settings['i2_def'], settings['i2_def']))}.")
    for key in sorted(set(settings) - known):
        out.append(f"<code>{esc(key)}</code> = <code>{esc(settings[key])}</code>.")
    return out


def _outcomes_list(run_config: Mapping[str, Any]) -> str:
    items = []
    for review, spec in sorted(run_config.get("reviews", {}).items()):
        outs = []
        for name, o in spec.get("outcomes", {}).items():
            measure = o.get("measure") or ("SMD" if o.get("type") == "continuous" else "RR")
            event = f"; an event is a {o['event_is']}" if o.get("event_is") else ""
            outs.append(
                f"<li>{esc(o.get('label', name))} (<code>{esc(name)}</code>): {esc(o.get('type'))}, "
                f"{esc(MEASURES.get(measure, measure))}{esc(event)}</li>"
            )
        items.append(
            f"<li><b>{esc(spec.get('title', review))}</b> (<code>{esc(review)}</code>, "
            f"{esc(spec.get('format', 'sheets'))} input at <code>{esc(spec.get('path', ''))}</code>; "
            f"headline analysis set <code>{esc(spec.get('primary_subgroup', 'crp_high'))}</code>)"
            f"<ul>{''.join(outs)}</ul></li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def methods_text(
    run_config: Mapping[str, Any],
    versions: Mapping[str, str],
    *,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """The methods section as HTML, written from the configuration the run actually used.

    Parameters
    ----------
    run_config
        The validated configuration (``results/run_config.json``; defaults filled in).
    versions
        Software versions (:func:`inflamed.pipeline.provenance.package_versions`, or the manifest's).
    settings
        The estimator settings a ``summary.json`` recorded (see :func:`pooling_settings`).

    Returns
    -------
    str
        HTML: reviews and outcomes, extraction rules, effect measures and sign convention,
        pooling (estimator, CI method, prediction interval, I\u00b2 definition, continuity
        correction), analysis sets, sensitivity and small-study analyses, mechanism settings and
        a software-version table.
    """
    extraction = dict(run_config.get("extraction", {}))
    pooling = dict(run_config.get("pooling", {}))
    mechanism = dict(run_config.get("mechanism", {}))
    used = pooling_settings(run_config, settings)
    parts = ['<h3 id="methods-reviews">Reviews and outcomes</h3>', _outcomes_list(run_config)]

    rule = TIMEPOINT_RULES.get(extraction.get("timepoint_rule", "closest"), "{target}").format(
        target=f"{float(extraction.get('target_weeks', 8)):g}"
    )
    priority = extraction.get("instrument_priority") or {}
    priority_text = (
        "; ".join(f"{esc(k)}: {esc(' > '.join(v))}" for k, v in sorted(priority.items()))
        or "none configured (alphabetical)"
    )
    imputations = [SD_IMPUTATIONS.get(s, s) for s in extraction.get("sd_imputations", [])]
    parts += [
        '<h3 id="methods-extraction">Extraction rules</h3><ul>',
        f"<li>Time point: {esc(rule)}.</li>",
        f"<li>Instrument priority per outcome: {priority_text}; unlisted instruments follow alphabetically.</li>",
        "<li>Missing standard deviations may be obtained "
        + (esc("; ".join(imputations)) if imputations else "in no way (only reported SDs are used)")
        + "; every derivation is written to <code>derivation_log.csv</code> and every value needed "
        "but not reported to <code>missing_data.csv</code>.</li>",
        f"<li>Assumed baseline-follow-up correlation for change-score SDs: "
        f"{float(extraction.get('prepost_correlation', 0.5)):g}.</li>",
        f"<li>Multi-arm trials: {esc(MULTI_ARM.get(extraction.get('multi_arm', 'split'), extraction.get('multi_arm')))}.</li>",
        f"<li>Continuity correction for 2x2 tables with a zero cell: "
        f"{float(pooling.get('continuity_correction', 0.5)):g} added to each cell.</li>",
        "<li>Sign convention: for continuous outcomes a positive effect favours the treatment "
        "(effects on instruments scored higher = worse are flipped); binary effects are treatment "
        "vs control, and whether a ratio above 1 is good depends on whether the event is a "
        "benefit or a harm.</li></ul>",
    ]

    parts += ['<h3 id="methods-pooling">Pooling</h3><ul>']
    parts += [f"<li>{s}</li>" for s in describe_settings(used)]
    binary = pooling.get("binary_method", "inverse_variance")
    parts += [
        "<li>Binary outcomes: random-effects inverse-variance pooling of log ratios"
        + (
            f"; {esc(binary)} fixed-effect estimates from the 2x2 counts are shown as a sensitivity analysis"
            if binary != "inverse_variance"
            else "; Mantel-Haenszel (and Peto for odds ratios) fixed-effect estimates from the 2x2 counts are reported as sensitivity analyses where counts exist"
        )
        + ".</li>",
        _rare_events_item(pooling.get("rare_events", [])),
        "<li>The Q-profile confidence interval of tau\u00b2 (and of I\u00b2) is reported for k \u2265 2.</li>",
        "<li>Analysis sets: <code>crp_high</code> (results for the CRP-high stratum, plus the whole "
        "sample of trials that selected patients on inflammation), <code>whole</code> (whole "
        "samples) and <code>crp_low</code>. CRP-high and whole-sample estimates share patients and "
        "are shown side by side, never tested against each other; the inflammation subgroup test "
        "compares CRP-high with CRP-low strata.</li>",
        f"<li>Subgroup analyses: {esc(', '.join(pooling.get('subgroups', [])) or 'none')}.</li>",
        "<li>Sensitivity analyses: leave-one-out and influence diagnostics (k \u2265 3), "
        "cumulative meta-analysis by publication year (k \u2265 2).</li>",
        f"<li>Small-study effects: Egger's regression test, Begg's rank correlation and "
        f"trim-and-fill when k \u2265 {int(pooling.get('small_study_min_k', 10))} "
        "(Cochrane Handbook 10.4.3.1); otherwise not reported, and the report says why.</li></ul>",
    ]
    if mechanism:
        thresholds = ", ".join(f"{float(t):g}" for t in mechanism.get("crp_thresholds", []))
        parts += [
            '<h3 id="methods-mechanism">Mechanism models</h3><ul>',
            f"<li>Who benefits: between-trial meta-regression on <code>{esc(mechanism.get('moderator', ''))}</code>; "
            f"predicted effects at CRP {esc(thresholds)} mg/L.</li>",
            f"<li>Cascade model calibrated to the sourced targets in <code>{esc(mechanism.get('targets', ''))}</code>; "
            f"seed {esc(mechanism.get('seed', ''))} for multi-start fitting and sensitivity sampling.</li></ul>",
        ]
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{esc(version)}</td></tr>"
        for name, version in versions.items()
    )
    parts += [
        '<h3 id="methods-software">Software</h3>',
        '<div class="table-wrap"><table id="software-versions"><thead><tr><th>Package</th>'
        f"<th>Version</th></tr></thead><tbody>{rows}</tbody></table></div>",
    ]
    return "\n".join(parts)


def _rare_events_item(methods: list[str]) -> str:
    """The methods line for config ``pooling.rare_events`` (inflamed.rare_events)."""
    if not methods:
        return "<li>Rare events: no analysis that keeps double-zero trials was run.</li>"
    names = ", ".join(RARE_EVENT_METHODS.get(m, m) for m in methods)
    return (
        f"<li>Rare events ({esc(names)}), for every binary outcome on all 2x2 tables: trials with "
        "no events in either arm are set aside on the ratio scale (no information) but enter the "
        "Mantel-Haenszel risk difference, computed without continuity correction (metafor "
        '<code>rma.mh(measure = "RD")</code>); only when no table has an event, so that its '
        "variance is 0, is 0.5 added to each cell of the tables with a zero cell (as "
        "RevMan).</li>"
    )
