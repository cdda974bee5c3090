"""The report: the inflamed.report library, the notebook, and the report built inside a pipeline run.

Questions answered here
-----------------------
* Do the format helpers print estimates as the report promises (``0.35 (0.05 to 0.64)``)?
* Does every number tag (``data-source``) resolve to the artefact value it was rounded from?
* Does each GRADE rule rate down exactly when its documented threshold is crossed, and does the
  certainty never go below "very low"? Does an outcome with k = 0 or 1 get an honest row?
* Is the methods text written from the configuration (change the config, the text changes)?
* Does the notebook run standalone with its defaults on a finished results folder, and does its
  HTML contain every section, every figure and only numbers equal to the artefacts?
* Inside a real pipeline run (workflow marker): does the report rule build the report, and does an
  unknown notebook parameter fail the run loudly?

All data here are SIMULATED (seeded, generated in code); none is real trial data.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inflamed.io import write_csv, write_json
from inflamed.report import (
    SECTION_IDS,
    OutcomeArtefacts,
    embed_png,
    format_estimate,
    grade_outcome,
    grade_summary_of_findings,
    load_review,
    methods_text,
    num,
    optimal_information_size,
    resolve_source,
)
from inflamed.report.html import fmt_number, html_table
from inflamed.report.tables import characteristics_table, comparison_table, missing_data_table
from inflamed.stats.pooling import rma

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "report.ipynb"
SOURCE = "SIMULATED by tests/test_report.py (not real data)"
REVIEW = "sim-review"

# ---- a simulated finished results folder ---------------------------------------------------------

OUTCOMES = {
    "depression_severity": {
        "type": "continuous",
        "measure": "SMD",
        "label": "Depressive symptom severity",
    },
    "response": {"type": "binary", "measure": "RR", "event_is": "benefit", "label": "Response"},
    "remission": {"type": "binary", "measure": "RR", "event_is": "benefit", "label": "Remission"},
    "serious_ae": {
        "type": "binary",
        "measure": "RR",
        "event_is": "harm",
        "label": "Serious adverse events",
    },
}
SETTINGS = {
    "method": "REML",
    "test": "knha",
    "level": 95.0,
    "pi": "t",
    "i2_def": "metafor",
    "preset": "cochrane",
}


def run_config() -> dict:
    return {
        "reviews": {
            REVIEW: {
                "title": "Simulated review",
                "path": f"data/reviews/{REVIEW}",
                "format": "sheets",
                "primary_subgroup": "crp_high",
                "outcomes": OUTCOMES,
            }
        },
        "instruments": "data/instruments.csv",
        "extraction": {
            "timepoint_rule": "closest",
            "target_weeks": 8,
            "instrument_priority": {"depression_severity": ["HAMD17", "MADRS"]},
            "prepost_correlation": 0.5,
            "sd_imputations": ["se", "ci"],
            "multi_arm": "split",
        },
        "pooling": {
            "preset": "cochrane",
            "level": 95,
            "binary_method": "inverse_variance",
            "continuity_correction": 0.5,
            "small_study_min_k": 10,
            "subgroups": ["inflammation", "mechanism_class"],
        },
        "mechanism": {
            "targets": "data/mechanism/targets.csv",
            "seed": 1,
            "crp_thresholds": [1, 3],
            "moderator": "crp_cutoff_mg_l",
        },
        "report": {"title": "Simulated report"},
    }


def _png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1), dpi=40)
    ax.text(0.5, 0.5, "SIMULATED", ha="center", va="center")
    ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def _set_block(rows: pd.DataFrame, measure: str) -> tuple[dict, np.ndarray | None]:
    k = len(rows)
    block: dict = {
        "k": k,
        "n_participants": int(rows[["n_treat", "n_ctrl"]].to_numpy().sum()) if k else None,
        "studies": sorted(rows["study_id"]),
        "estimable": k > 0,
    }
    if k == 0:
        block["reason"] = "no study reports this outcome for this set"
        return block, None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = rma(rows["yi"].to_numpy(), rows["vi"].to_numpy(), method="REML", test="knha")
    result = fit.to_dict()
    if k == 1:
        block["note"] = "a single study: its own estimate, no pooling and no heterogeneity"
        for key in ("tau2", "se_tau2", "i2", "i2_ht", "h2", "pi_lb", "pi_ub", "q", "q_pval"):
            result[key] = None
    block["result"] = result
    if measure in ("RR", "OR"):
        block["ratio_scale"] = {
            key: (float(np.exp(result[key])) if result.get(key) is not None else None)
            for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
        }
    return block, np.asarray(fit.weights)


def write_simulated_results(root: Path, seed: int = 7) -> Path:
    """A finished ``results/`` folder shaped as the stages write it (numbers SIMULATED)."""
    rng = np.random.default_rng(seed)
    results = root / "results"
    base = results / REVIEW
    n_studies = 12
    studies = pd.DataFrame(
        {
            "study_id": [f"S{i:02d}" for i in range(n_studies)],
            "first_author": [f"Author{i:02d}" for i in range(n_studies)],
            "year": [2005 + i for i in range(n_studies)],
            "registry_id": [f"NCT{10000000 + i}" if i % 2 else "" for i in range(n_studies)],
            "doi": [f"10.0000/sim.{i}" for i in range(n_studies)],
            "drug": ["minocycline", "infliximab", "celecoxib"] * 4,
            "mechanism_class": ["minocycline", "cytokine_inhibitor", "nsaid_cox2"] * 4,
            "dose": "simulated",
            "add_on": "add_on",
            "duration_weeks": 8,
            "population": "simulated adults",
            "inflammation_selection": "stratified",
            "crp_cutoff": 3.0,
            "crp_cutoff_rule": ">=",
            "crp_unit": "mg/L",
            "crp_cutoff_mg_l": 3.0,
            "baseline_crp": np.round(rng.uniform(3, 6, n_studies), 2),
            "n_randomised_treat": rng.integers(20, 60, n_studies),
            "n_randomised_ctrl": rng.integers(20, 60, n_studies),
            "source": SOURCE,
            "source_location": "simulated",
            "notes": "",
        }
    )
    write_csv(base / "ingest" / "studies.csv", studies)
    domains = [
        "D1_randomisation",
        "D2_deviations",
        "D3_missing_data",
        "D4_measurement",
        "D5_selection_of_reported_result",
        "overall",
    ]
    rob = [
        {
            "study_id": s,
            "domain": d,
            "judgement": ["low", "some_concerns", "high"][int(rng.integers(0, 3))],
            "support": "simulated",
            "judged_by": "simulation",
            "source": SOURCE,
            "source_location": "simulated",
        }
        for s in studies["study_id"]
        for d in domains
    ]
    write_csv(base / "ingest" / "risk_of_bias.csv", pd.DataFrame(rob))
    write_csv(
        base / "ingest" / "published_estimates.csv",
        pd.DataFrame(
            [
                {
                    "publication": "Simulated MA",
                    "doi": "",
                    "outcome": "depression_severity",
                    "subgroup": "crp_high",
                    "measure": "SMD",
                    "estimate": 0.35,
                    "ci_lb": 0.05,
                    "ci_ub": 0.64,
                    "benefit_direction": "positive",
                    "k": 11,
                    "n_participants": 321,
                    "source": SOURCE,
                    "source_location": "simulated",
                    "notes": "simulated",
                },
                {
                    "publication": "Simulated MA",
                    "doi": "",
                    "outcome": "serious_ae",
                    "subgroup": "crp_high",
                    "measure": "RR",
                    "estimate": 1.1,
                    "ci_lb": 0.5,
                    "ci_ub": 2.2,
                    "benefit_direction": "negative",
                    "k": None,
                    "n_participants": None,
                    "source": SOURCE,
                    "source_location": "simulated",
                    "notes": "simulated",
                },
            ]
        ),
    )
    write_csv(
        base / "ingest" / "prisma.csv",
        pd.DataFrame(
            {
                "stage": ["identified_databases", "studies_included"],
                "count": [50, n_studies],
                "source": SOURCE,
                "source_location": "simulated",
                "notes": "",
            }
        ),
    )
    write_csv(base / "ingest" / "contrasts.csv", pd.DataFrame({"study_id": studies["study_id"]}))
    write_json(base / "ingest" / "ingest_summary.json", {"studies": n_studies})

    effect_rows = []
    for i, sid in enumerate(studies["study_id"]):
        for subgroup, shift, scale in (
            ("crp_high", 0.4, 0.5),
            ("whole", 0.2, 1.0),
            ("crp_low", 0.0, 0.5),
        ):
            if subgroup == "crp_low" and i % 3:
                continue
            nt = int(studies.at[i, "n_randomised_treat"] * scale)
            nc = int(studies.at[i, "n_randomised_ctrl"] * scale)
            vi = 1 / nt + 1 / nc
            effect_rows.append(
                {
                    "study_id": sid,
                    "subgroup": subgroup,
                    "outcome": "depression_severity",
                    "measure": "SMD",
                    "yi": rng.normal(shift, np.sqrt(vi)),
                    "vi": vi,
                    "n_treat": nt,
                    "n_ctrl": nc,
                    "events_treat": np.nan,
                    "events_ctrl": np.nan,
                }
            )
            et, ec = int(rng.binomial(nt, 0.45)), int(rng.binomial(nc, 0.3))
            effect_rows.append(
                {
                    "study_id": sid,
                    "subgroup": subgroup,
                    "outcome": "response",
                    "measure": "RR",
                    "yi": np.log((et + 0.5) / (nt + 0.5)) - np.log((ec + 0.5) / (nc + 0.5)),
                    "vi": 1 / (et + 0.5) - 1 / (nt + 0.5) + 1 / (ec + 0.5) - 1 / (nc + 0.5),
                    "n_treat": nt,
                    "n_ctrl": nc,
                    "events_treat": et,
                    "events_ctrl": ec,
                }
            )
            if i == 0 and subgroup != "crp_low":
                effect_rows.append(
                    {
                        "study_id": sid,
                        "subgroup": subgroup,
                        "outcome": "remission",
                        "measure": "RR",
                        "yi": 0.2,
                        "vi": 0.09,
                        "n_treat": nt,
                        "n_ctrl": nc,
                        "events_treat": 10,
                        "events_ctrl": 8,
                    }
                )
    effects = pd.DataFrame(effect_rows).merge(
        studies[["study_id", "year", "mechanism_class", "crp_cutoff_mg_l"]], on="study_id"
    )
    write_csv(base / "extract" / "effects.csv", effects)
    write_csv(
        base / "extract" / "derivation_log.csv",
        pd.DataFrame({"study_id": ["S00"], "step": ["effect_size"], "formula": ["simulated"]}),
    )
    write_csv(
        base / "extract" / "missing_data.csv",
        pd.DataFrame(
            [
                {
                    "study_id": "S03",
                    "outcome": "remission",
                    "subgroup": "whole",
                    "contrast": "celecoxib_vs_placebo",
                    "fields": "events_treat, events_ctrl",
                    "why": "events not reported as counts",
                    "who": "trial investigators (Author03 et al.); sponsor, via ClinicalTrials.gov results for NCT10000003",
                    "row_ref": "outcomes.csv:9",
                }
            ]
        ),
    )

    pooled_rows = []
    for outcome, spec in OUTCOMES.items():
        folder = base / "pool" / outcome
        rows = effects[effects["outcome"] == outcome]
        summary = {
            "outcome": outcome, "label": spec["label"], "type": spec["type"], "measure": spec["measure"],
            "event_is": spec.get("event_is"), "scale": "log" if spec["measure"] == "RR" else "identity",
            "direction": "positive favours treatment" if spec["type"] == "continuous" else "ratio > 1: more events on treatment",
            "primary_set": "crp_high", "settings": SETTINGS, "sets": {},
        }  # fmt: skip
        frames = []
        for set_name in ("crp_high", "whole", "crp_low"):
            set_rows = rows[rows["subgroup"] == set_name].copy()
            block, weights = _set_block(set_rows, spec["measure"])
            if spec["type"] == "binary" and block["estimable"]:
                from inflamed.stats.binary import rma_mh

                cells = [
                    set_rows[c].to_numpy(float)
                    for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
                ]
                block["fixed_effect_counts"] = {
                    "reported": True,
                    "k": len(set_rows),
                    "mantel_haenszel": rma_mh(*cells, measure="RR").to_dict(),
                }
            summary["sets"][set_name] = block
            if len(set_rows):
                set_rows["analysis_set"] = set_name
                set_rows["weight"] = weights
                frames.append(set_rows)
            result, ratio = block.get("result", {}), block.get("ratio_scale", {})
            pooled_rows.append(
                {
                    "outcome": outcome,
                    "label": spec["label"],
                    "measure": spec["measure"],
                    "analysis_set": set_name,
                    "primary": set_name == "crp_high",
                    "k": block["k"],
                    "n_participants": block["n_participants"],
                    "estimable": block["estimable"],
                    "estimate": result.get("estimate"),
                    "ci_lb": result.get("ci_lb"),
                    "ci_ub": result.get("ci_ub"),
                    "ratio_estimate": ratio.get("estimate"),
                    "ratio_ci_lb": ratio.get("ci_lb"),
                    "ratio_ci_ub": ratio.get("ci_ub"),
                }
            )
        write_json(folder / "summary.json", summary)
        write_csv(
            folder / "studies.csv",
            pd.concat(frames)
            if frames
            else pd.DataFrame(columns=["study_id", "analysis_set", "weight"]),
        )
        k = summary["sets"]["crp_high"]["k"]
        if outcome == "depression_severity":
            small = {
                "reported": True,
                "k": k,
                "egger": {"zval": 0.8, "pval": 0.42},
                "begg": {"pval": 0.5},
                "trim_and_fill": {"k0": 1, "estimate": 0.3},
            }
            subgroups = {
                "inflammation": {
                    "reported": True,
                    "levels": ["crp_high", "crp_low"],
                    "meta_regression": {"qm": 4.2, "pval": 0.04, "df": [1, 14]},
                    "test_for_subgroup_differences": {"q": 3.9, "df": 1, "pval": 0.048},
                    "subgroups": [
                        {
                            "subgroup": "crp_high",
                            "k": 12,
                            "estimate": 0.4,
                            "ci_lb": 0.2,
                            "ci_ub": 0.6,
                        },
                        {
                            "subgroup": "crp_low",
                            "k": 4,
                            "estimate": 0.0,
                            "ci_lb": -0.4,
                            "ci_ub": 0.4,
                        },
                    ],
                },
                "mechanism_class": {"reported": False, "reason": "simulated"},
                "note": "simulated",
            }
        else:
            small = {"reported": False, "k": k, "reason": f"simulated: not reported (k = {k})"}
            subgroups = {
                "inflammation": {"reported": False, "reason": "simulated"},
                "mechanism_class": {"reported": False, "reason": "simulated"},
                "note": "",
            }
        write_json(folder / "small_study.json", small)
        write_json(folder / "subgroups.json", subgroups)
        if k >= 3:
            loo = pd.DataFrame(
                {
                    "study_id": rows[rows["subgroup"] == "crp_high"]["study_id"],
                    "estimate": rng.normal(0.3, 0.02, k),
                    "ci_lb": 0.1,
                    "ci_ub": 0.5,
                    "tau2": 0.0,
                    "i2": 0.0,
                }
            )
        else:
            loo = pd.DataFrame(
                {
                    "study_id": [None],
                    "estimate": [None],
                    "not_run_because": [f"k = {k} in the CRP-high set; needs at least 3"],
                }
            )
        write_csv(folder / "leave_one_out.csv", loo)
        write_csv(
            folder / "influence.csv",
            loo.assign(influential=[i == 0 for i in range(len(loo))]) if k >= 3 else loo,
        )
        write_csv(folder / "cumulative.csv", loo)
        for figure in ("forest", "funnel", "leave_one_out", "cumulative"):
            _png(base / "figures" / f"{outcome}_{figure}.png")
    write_csv(base / "pool" / "pooled.csv", pd.DataFrame(pooled_rows))
    for figure in ("rob_traffic_light", "rob_summary", "prisma", "comparison"):
        _png(base / "figures" / f"{figure}.png")
    _png(base / "mechanism" / "crp_bubble.png")
    write_json(
        base / "mechanism" / "who_benefits.json",
        {
            "within_trial": {
                "per_trial": [],
                "pooled": [
                    {
                        "outcome": "depression_severity",
                        "measure": "SMD",
                        "status": "estimated",
                        "reason": "k = 4",
                        "k": 4,
                        "estimate": 0.31,
                        "ci_lb": -0.1,
                        "ci_ub": 0.7,
                    },
                    {
                        "outcome": "response",
                        "measure": "RR",
                        "status": "not estimable",
                        "reason": "not estimable: k = 1",
                        "k": 1,
                    },
                ],
            },
            "between_trial": {},
            "agreement_within_vs_between": [
                {
                    "outcome": "depression_severity",
                    "measure": "SMD",
                    "moderator": "crp_cutoff_mg_l",
                    "status": "not comparable",
                    "explanation": "simulated",
                }
            ],
            "pooled_by_mechanism_class": [],
            "note": "simulated",
        },
    )
    write_csv(
        base / "mechanism" / "crp_predictions.csv",
        pd.DataFrame(
            {
                "outcome": ["depression_severity"],
                "measure": ["SMD"],
                "moderator": ["crp_cutoff_mg_l"],
                "crp_mg_l": [3.0],
                "estimate": [0.3],
                "ci_lb": [0.0],
                "ci_ub": [0.6],
                "status": ["estimated"],
            }
        ),
    )
    write_csv(base / "mechanism" / "clinic_bridge.csv", pd.DataFrame({"x": [1]}))
    mech = results / "mechanism"
    write_json(mech / "cascade_fit.json", {"parameters": {"k_il6": 0.5}, "status": "simulated"})
    for name in ("identifiability", "interventions", "sensitivity"):
        write_csv(mech / f"{name}.csv", pd.DataFrame({"parameter": ["k_il6"], "value": [0.5]}))
    for figure in ("model_diagram", "fit_vs_targets", "profiles", "interventions"):
        _png(mech / f"{figure}.png")
    write_json(results / "run_config.json", run_config())
    return results


@pytest.fixture(scope="module")
def simulated_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("simulated")
    write_simulated_results(root)
    return root


@pytest.fixture(scope="module")
def simulated_review(simulated_project):
    return load_review(simulated_project / "results", REVIEW, run_config())


# ---- format helpers --------------------------------------------------------------------------------


def test_format_estimate_matches_the_published_style():
    assert format_estimate(0.35, 0.05, 0.64) == "0.35 (0.05 to 0.64)"
    assert format_estimate(-0.341, -0.5749, -0.105) == "-0.34 (-0.57 to -0.10)"
    assert format_estimate(None, None, None) == "not estimable"
    assert fmt_number(-0.001) == "0.00"  # never "-0.00"


def test_num_span_resolves_to_its_artefact_value(tmp_path):
    write_json(tmp_path / "s.json", {"sets": {"crp_high": {"result": {"estimate": 0.3512345}}}})
    span = num(0.3512345, "s.json#/sets/crp_high/result/estimate")
    assert ">0.35<" in span
    source = re.search(r'data-source="([^"]+)"', span).group(1)
    assert resolve_source(source, tmp_path) == pytest.approx(0.3512345)
    write_csv(
        tmp_path / "p.csv",
        pd.DataFrame({"outcome": ["a", "b"], "set": ["x", "x"], "estimate": [1.5, 2.5]}),
    )
    assert resolve_source("p.csv#outcome=b&set=x/estimate", tmp_path) == 2.5
    with pytest.raises(KeyError):
        resolve_source("p.csv#set=x/estimate", tmp_path)


def test_embed_png_is_self_contained_and_says_when_absent(tmp_path):
    _png(tmp_path / "f.png")
    html = embed_png(tmp_path / "f.png", "a forest plot")
    assert html.startswith('<figure><img src="data:image/png;base64,')
    assert 'alt="a forest plot"' in html
    assert 'alt="f"' in embed_png(tmp_path / "f.png")
    absent = embed_png(tmp_path / "none.png", "x")
    assert "not available" in absent and "<img" not in absent


def test_html_table_escapes_and_reports_emptiness():
    frame = pd.DataFrame({"a": ["<b>x</b>"], "b": ["<i>raw</i>"]})
    out = html_table(frame, raw_columns=["b"], row_ids=["r1"])
    assert "&lt;b&gt;x&lt;/b&gt;" in out and "<i>raw</i>" in out and 'id="r1"' in out
    assert "Nothing to show" in html_table(pd.DataFrame())


# ---- GRADE rules -----------------------------------------------------------------------------------


def _outcome(
    *,
    k=12,
    n=800,
    est=0.4,
    lb=0.2,
    ub=0.6,
    i2=10.0,
    pi=(0.1, 0.7),
    rob=None,
    small=None,
    measure="SMD",
    otype="continuous",
    events=None,
):
    ids = [f"S{i:02d}" for i in range(k)]
    result = {
        "estimate": est,
        "ci_lb": lb,
        "ci_ub": ub,
        "pval": 0.01,
        "i2": i2 if k > 1 else None,
        "pi_lb": pi[0] if k > 1 else None,
        "pi_ub": pi[1] if k > 1 else None,
        "tau2": 0.01,
    }
    block = {"k": k, "n_participants": n, "estimable": k > 0, "studies": ids}
    if k:
        block["result"] = result
    if measure == "RR" and k:
        block["ratio_scale"] = {
            key: (float(np.exp(result[key])) if result[key] is not None else None)
            for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
        }
    else:
        block.setdefault("reason", "no study reports this outcome for this set")
    studies = pd.DataFrame(
        {
            "study_id": ids,
            "analysis_set": "crp_high",
            "weight": 100 / max(k, 1),
            "n_treat": n / max(k, 1) / 2,
            "n_ctrl": n / max(k, 1) / 2,
        }
    )
    if events is not None:
        studies["events_ctrl"] = events * studies["n_ctrl"]
    summary = {
        "outcome": "o",
        "label": "Outcome",
        "type": otype,
        "measure": measure,
        "event_is": "benefit",
        "primary_set": "crp_high",
        "sets": {"crp_high": block},
    }
    return OutcomeArtefacts(
        name="o", spec={}, summary=summary, studies=studies, subgroups=None,
        small_study=small, leave_one_out=None, influence=None, cumulative=None, figures={},
        paths={"summary": "results/r/pool/o/summary.json"},
    )  # fmt: skip


def _rob(judgements: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": [f"S{i:02d}" for i in range(len(judgements))],
            "domain": "overall",
            "judgement": judgements,
        }
    )


def test_clean_evidence_stays_high():
    small = {"reported": True, "egger": {"pval": 0.6}}
    a = grade_outcome(_outcome(small=small), _rob(["low"] * 12))
    assert a.certainty == "high", [d.text() for d in a.domains]
    assert a.statement == "The treatment improves outcome."
    assert a.domain("indirectness").assessed is False


@pytest.mark.parametrize(
    ("judgements", "levels"),
    [
        (["low"] * 12, 0),
        (["high"] * 3 + ["low"] * 9, 0),  # 25% high: not more than 25%
        (["high"] * 4 + ["low"] * 8, 1),  # 33% high
        (["some_concerns"] * 7 + ["low"] * 5, 1),  # 58% not low
        (["high"] * 7 + ["low"] * 5, 2),  # 58% high
    ],
)
def test_risk_of_bias_rule_weighs_studies(judgements, levels):
    a = grade_outcome(_outcome(), _rob(judgements))
    assert a.domain("risk of bias").levels == levels, a.domain("risk of bias").reason


def test_unjudged_studies_count_as_some_concerns_and_are_named():
    a = grade_outcome(_outcome(k=2, n=800), _rob(["low"]))
    rob = a.domain("risk of bias")
    assert rob.levels == 0 and "S01" in rob.reason  # 50% not low: not more than 50%
    a = grade_outcome(_outcome(k=3, n=800), _rob(["low"]))
    assert a.domain("risk of bias").levels == 1


@pytest.mark.parametrize(
    ("i2", "pi", "levels"),
    [
        (30.0, (0.1, 0.7), 0),
        (55.0, (0.1, 0.7), 1),
        (30.0, (-0.1, 0.9), 1),
        (80.0, (0.05, 0.8), 1),
        (80.0, (-0.3, 1.1), 2),
    ],
)
def test_inconsistency_rule(i2, pi, levels):
    a = grade_outcome(_outcome(i2=i2, pi=pi), _rob(["low"] * 12))
    assert a.domain("inconsistency").levels == levels, a.domain("inconsistency").reason


def test_imprecision_rule_uses_ci_and_optimal_information_size():
    ois = optimal_information_size("continuous")
    assert ois == 786  # 2 x ceil(2 (1.96 + 0.8416)^2 / 0.2^2) = 2 x 393
    assert grade_outcome(_outcome(n=ois), _rob(["low"] * 12)).domain("imprecision").levels == 0
    assert grade_outcome(_outcome(n=ois - 1), _rob(["low"] * 12)).domain("imprecision").levels == 1
    assert grade_outcome(_outcome(lb=-0.1), _rob(["low"] * 12)).domain("imprecision").levels == 1
    both = grade_outcome(_outcome(lb=-0.1, n=100), _rob(["low"] * 12)).domain("imprecision")
    assert both.levels == 2 and "OIS 786" in both.reason


def test_binary_ois_uses_the_pooled_control_risk():
    # p2 = 0.3, p1 = 0.225: (1.96 + 0.8416)^2 (0.174375 + 0.21) / 0.075^2 = 536.3 per arm
    assert optimal_information_size("binary", control_risk=0.3) == 2 * 537
    assert optimal_information_size("binary", control_risk=None) is None
    a = grade_outcome(
        _outcome(measure="RR", otype="binary", events=0.3, n=2000), _rob(["low"] * 12)
    )
    assert "OIS 1074" in a.domain("imprecision").reason and a.domain("imprecision").levels == 0


def test_publication_bias_needs_ten_studies():
    few = grade_outcome(_outcome(k=9), _rob(["low"] * 9)).domain("publication bias")
    assert few.assessed is False and few.levels == 0 and "k = 9 < 10" in few.reason
    asym = grade_outcome(
        _outcome(small={"reported": True, "egger": {"pval": 0.05}}), _rob(["low"] * 12)
    )
    assert asym.domain("publication bias").levels == 1
    sym = grade_outcome(
        _outcome(small={"reported": True, "egger": {"pval": 0.2}}), _rob(["low"] * 12)
    )
    assert sym.domain("publication bias").levels == 0


def test_certainty_floors_at_very_low_and_words_follow_grade_26():
    bad = _outcome(
        lb=-0.1, n=50, i2=90.0, pi=(-1.0, 2.0), small={"reported": True, "egger": {"pval": 0.01}}
    )
    a = grade_outcome(bad, _rob(["high"] * 12))
    assert sum(d.levels for d in a.domains) > 3
    assert a.certainty == "very low"
    assert a.statement.startswith("The evidence is very uncertain")
    moderate = grade_outcome(
        _outcome(n=700, small={"reported": True, "egger": {"pval": 0.6}}), _rob(["low"] * 12)
    )
    assert moderate.certainty == "moderate" and "probably improve" in moderate.statement
    low = grade_outcome(
        _outcome(lb=-0.05, small={"reported": True, "egger": {"pval": 0.6}}, n=700),
        _rob(["low"] * 12),
    )
    assert low.certainty == "low" and "may result in little or no difference" in low.statement


def test_ratio_measures_are_reported_on_the_ratio_scale():
    a = grade_outcome(
        _outcome(measure="RR", otype="binary", est=np.log(1.3), lb=np.log(1.1), ub=np.log(1.6)),
        _rob(["low"] * 12),
    )
    assert a.effect_text == "RR 1.30 (1.10 to 1.60)"
    assert "increase" in a.statement and "(a benefit)" in a.statement


def test_k0_and_k1_outcomes_get_honest_rows(simulated_review):
    sof = grade_summary_of_findings(simulated_review)
    by = sof.set_index("outcome")
    assert by.at["serious_ae", "certainty"] == "no evidence"
    assert by.at["serious_ae", "effect"] == "not estimable"
    assert by.at["serious_ae", "k"] == 0
    assert by.at["serious_ae", "risk_of_bias"] == "not assessed: no data"
    assert by.at["serious_ae", "statement"] == (
        "No evidence: no study reports this outcome for this set."
    )
    assert by.at["remission", "k"] == 1
    assert by.at["remission", "inconsistency"].startswith("not assessed: a single study")
    assert list(sof["outcome"]) == sorted(OUTCOMES)  # run_config.json keys are sorted


def test_sof_effects_equal_the_summary_values(simulated_review, simulated_project):
    sof = grade_summary_of_findings(simulated_review)
    row = sof.set_index("outcome").loc["response"]
    summary = json.loads(
        (simulated_project / "results" / REVIEW / "pool" / "response" / "summary.json").read_text()
    )
    ratio = summary["sets"]["crp_high"]["ratio_scale"]
    assert row["estimate"] == pytest.approx(ratio["estimate"])
    assert (
        row["effect"] == f"RR {format_estimate(ratio['estimate'], ratio['ci_lb'], ratio['ci_ub'])}"
    )


# ---- tables and methods ----------------------------------------------------------------------------


def test_tables_from_artefacts(simulated_review):
    chars = characteristics_table(simulated_review.studies)
    assert len(chars) == 12 and chars.iloc[0]["study"] == "Author00 2005"
    assert chars.iloc[0]["CRP cut-off"] == "\u2265 3.0 mg/L"
    missing = missing_data_table(simulated_review.missing_data)
    assert "ClinicalTrials.gov" in missing.iloc[0]["could come from"]
    comparison = comparison_table(simulated_review.published, simulated_review.pooled)
    row = comparison[comparison["outcome"] == "depression_severity"].iloc[0]
    assert row["published estimate (95% CI)"] == "0.35 (0.05 to 0.64)"
    pooled = simulated_review.pooled.set_index(["outcome", "analysis_set"]).loc[
        ("depression_severity", "crp_high")
    ]
    assert row["inflamed estimate (95% CI)"] == format_estimate(
        pooled["estimate"], pooled["ci_lb"], pooled["ci_ub"]
    )
    harm = comparison[comparison["outcome"] == "serious_ae"].iloc[0]
    assert harm["inflamed estimate (95% CI)"] == "not estimable"
    # ratios are treatment vs control in both conventions: shown as published
    assert harm["published, aligned to inflamed's convention"] == "1.10 (0.50 to 2.20)"
    assert row["published, aligned to inflamed's convention"] == "0.35 (0.05 to 0.64)"


def test_methods_text_is_written_from_the_config():
    versions = {"python": "3.11.0", "numpy": "1.26.4"}
    text = methods_text(run_config(), versions, settings=SETTINGS)
    assert "restricted maximum likelihood (REML)" in text
    assert "Hartung-Knapp-Sidik-Jonkman" in text
    assert "t(k - 1) quantiles" in text
    assert "typical within-study variance" in text
    assert "0.5 added to each cell" in text
    assert "closest to 8 weeks" in text and "HAMD17 &gt; MADRS" in text
    assert "k \u2265 10" in text
    assert "<td>numpy</td><td>1.26.4</td>" in text
    config = run_config()
    config["extraction"]["target_weeks"] = 12
    config["pooling"]["continuity_correction"] = 0.25
    other = methods_text(
        config, versions, settings={**SETTINGS, "method": "DL", "i2_def": "ht", "pi": "higgins"}
    )
    assert "DerSimonian-Laird" in other and "REML" not in other
    assert "(Q - df) / Q" in other and "t(k - 2)" in other
    assert "closest to 12 weeks" in other and "0.25 added" in other


# ---- the notebook on a simulated finished run ----------------------------------------------------------


def execute_notebook(project: Path, output: Path, *params: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        str(NOTEBOOK),
        str(output),
        "--kernel",
        "python3",
        "--no-progress-bar",
        "--cwd",
        str(project),
    ]
    for i in range(0, len(params), 2):
        cmd += ["-p", params[i], params[i + 1]]
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)


def to_html(notebook: Path, html: Path) -> str:
    subprocess.run(
        [sys.executable, "-m", "inflamed.pipeline.notebooks", "normalise", str(notebook)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "inflamed.pipeline.notebooks", "html", str(notebook), str(html)],
        check=True,
        capture_output=True,
    )
    return html.read_text(encoding="utf-8")


class _Collector(HTMLParser):
    """Collects <img> attributes and <span class="num"> attributes with their text."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.spans: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self._span: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        elif tag == "span" and "num" in attrs.get("class", "").split():
            self._span = {**attrs, "text": ""}

    def handle_data(self, data):
        if self._span is not None:
            self._span["text"] += data

    def handle_endtag(self, tag):
        if tag == "span" and self._span is not None:
            self.spans.append(self._span)
            self._span = None


def check_report_html(html: str, project: Path, reviews: dict[str, list[str]]) -> None:
    """Every section, every figure, and every tagged number equal to its artefact."""
    parsed = _Collector()
    parsed.feed(html)
    for anchor in SECTION_IDS:
        assert anchor in parsed.ids, f"section {anchor} missing"
    for review, outcomes in reviews.items():
        for outcome in outcomes:
            slug = outcome.replace("_", "-")
            assert f"results-{review}-{slug}" in parsed.ids
            assert f"sof-{review}-{slug}" in parsed.ids
    embedded = {
        i.get("data-file")
        for i in parsed.images
        if i.get("src", "").startswith("data:image/png;base64,")
    }
    assert all(i.get("alt") for i in parsed.images), "an image without alt text"
    assert not [i for i in parsed.images if not i.get("src", "").startswith("data:")], (
        "a linked image"
    )
    expected = {
        f"results/{r}/figures/{o}_{f}.png"
        for r, outs in reviews.items()
        for o in outs
        for f in ("forest", "funnel", "leave_one_out", "cumulative")
    } | {
        f"results/{r}/figures/{f}.png"
        for r in reviews
        for f in ("rob_traffic_light", "rob_summary", "prisma", "comparison")
    }
    # An outcome figure with nothing to draw is one line of text, never a placeholder image.
    from inflamed.report.results_section import FIGURE_NAME

    for path in sorted(expected - embedded):
        kind = next((k for k in FIGURE_NAME if path.endswith(f"_{k}.png")), None)
        assert kind is not None, f"figure not embedded: {path}"
        assert (
            f"No {FIGURE_NAME[kind]} for " in html
            or "No study in any analysis set has usable numbers for" in html
        ), f"{path}: neither drawn nor explained"
    assert len(parsed.spans) > 20, "too few source-tagged numbers"
    for span in parsed.spans:
        source, value, text = span["data-source"], span["data-value"], span["text"]
        artefact = resolve_source(source, project)
        if artefact is None:
            assert value == "" and text == "n/a", source
            continue
        assert float(value) == pytest.approx(float(artefact), rel=1e-9, abs=1e-12), source
        if span["data-kind"] == "int":
            assert text == str(round(float(artefact))), source
        elif span["data-kind"] == "exp":
            assert text == fmt_number(np.exp(float(artefact)), int(span["data-digits"])), source
        elif span["data-kind"] == "percent":
            assert text == f"{fmt_number(artefact, 1)}%", source
        else:
            assert text == fmt_number(artefact, int(span["data-digits"])), source


@pytest.fixture(scope="module")
def standalone_html(simulated_project, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("standalone")
    result = execute_notebook(simulated_project, out / "report.ipynb")  # defaults only
    assert result.returncode == 0, result.stderr[-3000:]
    return to_html(out / "report.ipynb", out / "report.html")


def test_notebook_has_a_parameters_cell_with_the_documented_defaults():
    notebook = json.loads(NOTEBOOK.read_text())
    tagged = [c for c in notebook["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    assert (
        'results_dir = "results"' in source and 'run_config = "results/run_config.json"' in source
    )
    assert "reviews = " in source
    import papermill

    # papermill must parse every parameter (a comment it cannot parse hides the name from
    # papermill's unknown-parameter check)
    assert set(papermill.inspect_notebook(str(NOTEBOOK))) == {
        "results_dir",
        "run_config",
        "reviews",
    }


def test_standalone_report_has_every_section_figure_and_true_number(
    standalone_html, simulated_project
):
    check_report_html(standalone_html, simulated_project, {REVIEW: list(OUTCOMES)})
    assert 'id="artefact-digest"' in standalone_html
    assert "Simulated report" in standalone_html
    assert "@media print" in standalone_html and "max-width: 100%" in standalone_html


def test_standalone_report_is_honest_about_empty_outcomes(standalone_html):
    assert "no study reports this outcome for this set" in standalone_html
    assert "a single study: its own estimate" in standalone_html
    assert "k = 1 in the CRP-high set; needs at least 3" in standalone_html


def test_unknown_review_fails_the_notebook_loudly(simulated_project, tmp_path):
    result = execute_notebook(
        simulated_project, tmp_path / "bad.ipynb", "reviews", "no-such-review"
    )
    assert result.returncode != 0
    assert "no-such-review" in result.stdout + result.stderr


# ---- inside a pipeline run (one run per session) -------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline_project(finished_project):
    """The session's finished fixture project (tests/conftest.py): one pipeline run for all."""
    from test_workflow import REVIEWS

    return finished_project, sorted(REVIEWS)


@pytest.mark.workflow
def test_report_is_built_inside_the_pipeline(pipeline_project):
    project, reviews = pipeline_project
    import yaml

    config = yaml.safe_load((project / "config.yaml").read_text())
    html = (project / "results" / "report.html").read_text(encoding="utf-8")
    check_report_html(html, project, {r: sorted(config["reviews"][r]["outcomes"]) for r in reviews})
    executed = json.loads((project / "results" / "notebooks" / "report.ipynb").read_text())
    assert "start_time" not in json.dumps(executed.get("metadata", {}).get("papermill", {}))


@pytest.mark.workflow
def test_notebook_runs_standalone_in_the_finished_project(pipeline_project, tmp_path):
    project, _ = pipeline_project  # make_project copied the repository's notebooks into it
    result = execute_notebook(project, tmp_path / "standalone.ipynb")
    assert result.returncode == 0, result.stderr[-3000:]


def test_unknown_parameter_fails_the_run_loudly(simulated_project, tmp_path):
    """The report rule's command refuses a parameter the notebook does not declare."""
    result = subprocess.run(
        [sys.executable, "-m", "inflamed.pipeline.notebooks", "execute", str(NOTEBOOK),
         str(tmp_path / "x.ipynb"), "-p", "no_such_parameter", "1", "-p", "reviews", REVIEW],
        cwd=simulated_project, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode != 0
    assert "no_such_parameter" in result.stdout + result.stderr
    assert not (tmp_path / "x.ipynb").exists()


def test_published_smd_reported_as_negative_benefit_is_turned():
    published = pd.DataFrame(
        [
            {"publication": "P", "outcome": "o", "subgroup": "whole", "measure": "SMD", "estimate": -0.34,
             "ci_lb": -0.57, "ci_ub": -0.11, "benefit_direction": "negative", "source": SOURCE},
            {"publication": "Q", "outcome": "o", "subgroup": "whole", "measure": "SMD", "estimate": 0.2,
             "ci_lb": 0.1, "ci_ub": 0.3, "benefit_direction": None, "source": SOURCE},
        ]
    )  # fmt: skip
    table = comparison_table(published, None).set_index("publication")
    assert table.at["P", "published, aligned to inflamed's convention"] == "0.34 (0.11 to 0.57)"
    assert table.at["P", "published estimate (95% CI)"] == "-0.34 (-0.57 to -0.11)"
    assert table.at["Q", "published, aligned to inflamed's convention"] == "direction not recorded"
    assert table.at["Q", "inflamed estimate (95% CI)"] == "not analysed"


def test_every_section_renders_when_artefacts_are_absent(tmp_path):
    """A review whose stages produced nothing yet: each section says so instead of failing."""
    from inflamed.report import load_mechanism
    from inflamed.report import sections as sec
    from inflamed.report.history import history_section
    from inflamed.report.network import network_section

    review = load_review(tmp_path / "results", REVIEW, run_config())
    assert review.files_read == ()
    assert (
        f"{(tmp_path / 'results' / REVIEW / 'pool' / 'response' / 'summary.json').as_posix()}"
        in review.missing_files
    )
    mechanism = load_mechanism(tmp_path / "results")
    html = "".join(
        [
            sec.header("t", [review]),
            sec.can_cannot_box([review]),
            sec.abstract_section([review], run_config()),
            sec.contents(),
            sec.summary_of_findings_section([review]),
            sec.prisma_section([review]),
            sec.characteristics_section([review]),
            sec.results_section([review]),
            sec.comparison_section([review]),
            sec.risk_of_bias_section([review]),
            network_section(tmp_path / "results", run_config()),
            history_section([review]),
            sec.who_benefits_section([review], mechanism),
            sec.missing_data_section([review]),
            sec.limitations_section([review]),
            sec.conclusions_section([review]),
            sec.methods_section(run_config(), {"python": "3.11"}, [review]),
            sec.reproducibility_section([]),
        ]
    )
    for anchor in SECTION_IDS:
        assert f'id="{anchor}"' in html
    assert "PRISMA 2020 flow diagram" not in html  # no image, a sentence instead
    assert "prisma.png was not produced" in html
    assert "No pooled results" in html
    assert "The cascade model was not fitted in this run" in html
    assert "did not produce missing_data.csv" in html
    assert "no evidence" in html


def test_unknown_review_name_is_an_input_error(simulated_project):
    from inflamed.errors import InputError

    with pytest.raises(InputError, match="unknown review"):
        load_review(simulated_project / "results", "nope", run_config())


def test_sensitivity_text_names_influential_studies_and_mantel_haenszel(standalone_html):
    assert "flag S00 as influential" in standalone_html
    assert "Mantel-Haenszel fixed-effect RR" in standalone_html


def test_reproducibility_appendix_quotes_the_readme_and_digests_what_was_read(tmp_path):
    from inflamed.pipeline.provenance import digest_of
    from inflamed.report.sections import reproducibility_section

    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n## Quick start\n\n```bash\nrun-this --cores 2\n```\n\n```bash\nnot this\n```\n"
    )
    a = tmp_path / "a.csv"
    a.write_text("x\n1\n")
    html = reproducibility_section([str(a), str(tmp_path / "absent.csv")], readme=readme)
    assert "run-this --cores 2" in html and "not this" not in html
    assert digest_of([a]) in html
    assert "This report read 1 artefact." in html


def test_sof_also_rates_the_whole_sample(standalone_html):
    for outcome in OUTCOMES:
        assert f'id="sof-whole-{REVIEW}-{outcome.replace("_", "-")}"' in standalone_html
