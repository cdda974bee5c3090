"""The report's "Network meta-analysis" section, built from the network stage's artefacts.

:func:`network_section` reads, for every network of the run configuration (``networks:``), the
artefacts under ``results/<network>/network/`` and writes: the network and its data decisions,
a plain-language ranking that states its uncertainty (P-score / SUCRA beside each treatment's
estimate and CI against the reference, and how many of the top treatment's comparisons are
statistically unclear), heterogeneity and inconsistency (Q within and between designs,
node-splits with p < 0.10), convergence of the Bayesian model, a CINeMA-style confidence
proposal per comparison (:mod:`inflamed.report.network_confidence`), and the figures. It ends with
the networks that await data. Every number in the text is a :func:`~inflamed.report.html.num`
span naming its artefact. Nothing here computes a statistic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.pipeline.layout import (
    NETWORK_BAYES_FILES,
    NETWORK_FIGURES,
    NETWORK_FILES,
    NETWORK_PAIR_FIGURE,
    NETWORK_RANKINGS,
)
from inflamed.report.html import embed_png, esc, heading, html_table, num
from inflamed.report.network_confidence import confidence_rules_text, confidence_table
from inflamed.stats.measures import is_ratio

__all__ = ["AWAITING_DATA", "SECTION_ID", "network_section"]

SECTION_ID = "network-meta-analysis"  # listed in report.layout.SECTION_IDS (the contents)

#: Networks whose sheet is shipped empty (template): named in the section as awaiting data.
AWAITING_DATA = {
    "data/reviews/acupuncture-brain-stimulation-template": (
        "Acupuncture, electroacupuncture, sham acupuncture, rTMS, tDCS, ECT, antidepressants and "
        "usual care for depression (nodes of the registered Bayesian NMA protocol of Li, He, Deng "
        "et al., BMJ Open 2025)"
    )
}

#: What each network figure (:data:`inflamed.pipeline.layout.NETWORK_FIGURES`) shows.
FIGURE_CAPTIONS = {
    "network_graph": "Network graph (node area: participants; edge width: trials)",
    "forest": "Every treatment vs the reference",
    "league_heatmap": "League table (row vs column)",
    "ranking": "Rankings",
    "node_split": "Node-splitting: direct vs indirect evidence",
}


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.is_file() else None


def _missing(path: Path) -> str:
    return f'<p class="missing">Not available: {esc(path.as_posix())} was not produced.</p>'


def _ranking_text(
    base: Path,
    effects: pd.DataFrame,
    rankings: pd.DataFrame,
    league: pd.DataFrame,
    summary: Mapping[str, Any],
    model: str,
    label: str,
) -> str:
    """Plain-language ranking: each treatment's score beside its estimate and CI."""
    reference = summary["reference"]
    measure = summary["measure"]
    kind = "exp" if is_ratio(measure) else "float"
    score = f"pscore_{model}"
    has_sucra = "sucra" in rankings.columns
    rankings = rankings.sort_values(
        [score, "treatment"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)
    rows = []
    for _, row in rankings.iterrows():
        t = str(row["treatment"])
        if t == reference:
            continue
        where = f"{(base / NETWORK_FILES['effects']).as_posix()}#model={model}&treatment={t}"
        rank_where = f"{(base / NETWORK_RANKINGS).as_posix()}#treatment={t}"
        sucra = (
            f", SUCRA {num(row['sucra'], rank_where + '/sucra')}"
            if has_sucra and pd.notna(row["sucra"])
            else ""
        )
        rows.append(
            f"<li><b>{esc(t)}</b>: P-score {num(row[score], rank_where + '/' + score)}{sucra}; "
            f"{esc(measure)} vs {esc(reference)} {num(_value(effects, model, t, 'estimate'), where + '/estimate', kind=kind)} "
            f"(95% CI {num(_value(effects, model, t, 'ci_lb'), where + '/ci_lb', kind=kind)} to "
            f"{num(_value(effects, model, t, 'ci_ub'), where + '/ci_ub', kind=kind)})</li>"
        )
    top = str(rankings.iloc[0]["treatment"])
    pairs = league[(league["model"] == model) & (league["treat1"].astype(str) == top)]
    unclear = pairs[(pairs["ci_lb"] <= 0) & (pairs["ci_ub"] >= 0)]
    direction = "higher" if summary["small_values"] == "bad" else "lower"
    lead = (
        f"<p><b>Ranking ({esc(label)}, {esc(model)} model; {esc(direction)} {esc(measure)} is "
        f"better).</b> Ordered by P-score, the frequentist analogue of SUCRA: the mean certainty "
        "that a treatment is better than another, from 0 to 1. Scores rank; they do not measure "
        f"how large or how certain a difference is. <b>{esc(top)}</b> ranks first, but its 95% CI "
        f"against {len(unclear)} "
        f"of the other {len(pairs)} treatments includes no difference "
        f"({esc(', '.join(sorted(map(str, unclear['treat2']))) or 'none')}), so the data do not "
        "single out a best treatment against those.</p>"
    )
    return lead + "<ul>" + "".join(rows) + "</ul>"


def _value(effects: pd.DataFrame, model: str, treatment: str, column: str) -> float:
    rows = effects[(effects["model"] == model) & (effects["treatment"].astype(str) == treatment)]
    return float(rows[column].iloc[0]) if len(rows) else math.nan


def _inconsistency_text(base: Path, summary: Mapping[str, Any], split: pd.DataFrame | None) -> str:
    source = (base / NETWORK_FILES["frequentist"]).as_posix()
    dd = summary.get("design_decomposition", {})
    models = summary.get("models", {})
    parts = ["<p><b>Heterogeneity and inconsistency.</b> "]
    if "REML" in models:
        parts.append(
            f"Between-study variance (REML) tau^2 = {num(models['REML']['tau2'], source + '#/models/REML/tau2', 3)}. "
        )
    parts.append(
        f"Q within designs {num(dd.get('within_q'), source + '#/design_decomposition/within_q', 1)} "
        f"(df {num(dd.get('within_df'), source + '#/design_decomposition/within_df', kind='int')}, "
        f"p = {num(dd.get('within_pval'), source + '#/design_decomposition/within_pval', 3)}); "
        f"Q between designs (inconsistency) {num(dd.get('between_q'), source + '#/design_decomposition/between_q', 1)} "
        f"(df {num(dd.get('between_df'), source + '#/design_decomposition/between_df', kind='int')}, "
        f"p = {num(dd.get('between_pval'), source + '#/design_decomposition/between_pval', 3)}). "
    )
    if split is not None and len(split):
        flagged = split[split["pval"] < 0.10]
        where = (base / NETWORK_FILES["node_split"]).as_posix()
        if len(flagged):
            items = ", ".join(
                f"{esc(str(r['treat1']))} vs {esc(str(r['treat2']))} "
                f"(p = {num(r['pval'], where + '#comparison=' + str(r['comparison']) + '/pval', 3)})"
                for _, r in flagged.iterrows()
            )
            parts.append(
                f"Node-splitting: direct and indirect evidence disagree with p &lt; 0.10 for "
                f"{len(flagged)} of {len(split)} comparisons: {items}."
            )
        else:
            parts.append(
                f"Node-splitting: no comparison of {len(split)} shows direct vs indirect "
                "disagreement with p &lt; 0.10."
            )
    return "".join(parts) + "</p>"


def _convergence_text(base: Path, bayes: Mapping[str, Any] | None) -> str:
    if bayes is None:
        return (
            '<p class="note"><b>Bayesian model.</b> Not run for this network (not configured, or '
            f"its engine could not be imported where the pipeline ran: no {esc((base / NETWORK_BAYES_FILES['bayes']).as_posix())}); "
            "rankings are frequentist P-scores.</p>"
        )
    source = (base / NETWORK_BAYES_FILES["bayes"]).as_posix()
    flag = (
        '<b class="missing">Convergence warning:</b> '
        + esc("; ".join(w.rstrip(".") for w in bayes["warnings"]))
        + ". Read the Bayesian results with care, or rerun with more draws (config "
        "networks.&lt;name&gt;.bayes.draws). "
        if bayes.get("warnings")
        else "No convergence warning (every R-hat <= 1.01 and every ESS >= 400). "
    )
    priors = "; ".join(f"{k}: {v}" for k, v in sorted(bayes.get("priors", {}).items()))
    return (
        f"<p><b>Bayesian model</b> (random effects, arm-based, {num(bayes['chains'], source + '#/chains', kind='int')} "
        f"chains x {num(bayes['draws'], source + '#/draws', kind='int')} draws after "
        f"{num(bayes['warmup'], source + '#/warmup', kind='int')} warm-up, seed "
        f"{esc(str(bayes['seed']))}). {flag}Largest R-hat "
        f"{num(bayes['max_rhat'], source + '#/max_rhat', 3)}, smallest bulk ESS "
        f"{num(bayes['min_ess_bulk'], source + '#/min_ess_bulk', kind='int')}. Heterogeneity SD tau "
        f"{num(bayes['tau'], source + '#/tau', 3)} (95% CrI {num(bayes['tau_q025'], source + '#/tau_q025', 3)} "
        f"to {num(bayes['tau_q975'], source + '#/tau_q975', 3)}). Priors: {esc(priors)}.</p>"
    )


def _outcome_html(results: Path, network: str, outcome: str, spec: Mapping[str, Any]) -> str:
    base = results / network / "network" / outcome
    label = spec["outcomes"][outcome]["label"]
    parts = [heading(4, f"nma-{network}-{outcome}", label)]
    summary = _read_json(base / NETWORK_FILES["frequentist"])
    effects = _read_csv(base / NETWORK_FILES["effects"])
    rankings = _read_csv(base / NETWORK_RANKINGS)
    league = _read_csv(base / NETWORK_FILES["league"])
    split = _read_csv(base / NETWORK_FILES["node_split"])
    log = _read_csv(base / NETWORK_FILES["data_log"])
    if summary is None or effects is None or rankings is None or league is None:
        return "".join(parts) + _missing(base / NETWORK_FILES["frequentist"])
    source = (base / NETWORK_FILES["frequentist"]).as_posix()
    model = "REML" if "REML" in summary["models"] else next(iter(summary["models"]))
    parts.append(
        f"<p>{num(summary['studies'], source + '#/studies', kind='int')} studies, "
        f"{num(summary['arms'], source + '#/arms', kind='int')} arms, "
        f"{num(summary['participants'], source + '#/participants', kind='int')} participants, "
        f"{len(summary['treatments'])} treatments; reference {esc(summary['reference'])}; "
        f"{esc(summary['measure'])} on the {esc(summary['scale'])} scale. "
        f"{0 if log is None else len(log)} data decisions are listed in "
        f"<code>{esc((base / NETWORK_FILES['data_log']).as_posix())}</code>.</p>"
    )
    parts.append(_ranking_text(base, effects, rankings, league, summary, model, label))
    parts.append(_inconsistency_text(base, summary, split))
    parts.append(_convergence_text(base, _read_json(base / NETWORK_BAYES_FILES["bayes"])))
    ratio = is_ratio(summary["measure"])
    global_p = summary.get("design_decomposition", {}).get("between_pval")
    table = confidence_table(
        effects[effects["model"] == model],
        split if split is not None else pd.DataFrame(columns=["treat1", "treat2", "pval"]),
        reference=summary["reference"],
        ratio=ratio,
        global_p=None if global_p is None else float(global_p),
    )
    parts.append(
        html_table(
            table,
            table_id=f"nma-confidence-{network}-{outcome}",
            caption=f"PROPOSAL: confidence per comparison vs {summary['reference']} (CINeMA-style rules, {model} model)",
        )
    )
    parts.append(f'<p class="note">{esc(confidence_rules_text())}</p>')
    figures = results / network / "network" / "figures"
    for figure in NETWORK_FIGURES:
        caption = FIGURE_CAPTIONS[figure]
        parts.append(
            embed_png(figures / f"{outcome}_{figure}.png", f"{caption} ({label})", caption=caption)
        )
    return "".join(parts)


def network_section(results_dir: str | Path, run_config: Mapping[str, Any]) -> str:
    """The "Network meta-analysis" section of the report (HTML).

    Parameters
    ----------
    results_dir
        The run's results folder (``results``); artefact paths in the text are relative to the
        working directory, as everywhere in the report.
    run_config
        The validated configuration of the run (``results/run_config.json``); its ``networks``
        block names the networks, outcomes and models.
    """
    results = Path(results_dir)
    networks = run_config.get("networks", {}) or {}
    parts = [heading(2, SECTION_ID, "Network meta-analysis")]
    if not networks:
        parts.append('<p class="missing">No network is configured (config key networks).</p>')
    for name, spec in sorted(networks.items()):
        parts.append(heading(3, f"nma-{name}", spec.get("title", name)))
        parts.append(
            f"<p>Data: <code>{esc(spec['path'])}</code> (its README names the publication, the "
            "package the data were taken from and their licence).</p>"
        )
        for outcome in sorted(spec["outcomes"]):
            parts.append(_outcome_html(results, name, outcome, spec))
        if spec.get("efficacy") and spec.get("acceptability"):
            parts.append(
                embed_png(
                    results / name / "network" / "figures" / f"{NETWORK_PAIR_FIGURE}.png",
                    "Efficacy vs acceptability",
                    caption="Efficacy (x) vs acceptability (y), both vs the reference with 95% CIs; "
                    "shaded: better than the reference on both.",
                )
            )
    configured = {str(spec.get("path")) for spec in networks.values()}
    waiting = [text for path, text in AWAITING_DATA.items() if path not in configured]
    for text in waiting:
        parts.append(
            f"<p><b>Awaiting data.</b> {esc(text)}: no arm-level numbers for this network are "
            "public in the sources reached, so it is not analysed; an empty sheet with its nodes "
            "is in <code>data/reviews/acupuncture-brain-stimulation-template/</code>.</p>"
        )
    return f'<div class="inflamed-report">{"".join(parts)}</div>'
