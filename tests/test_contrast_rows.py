"""Contrast-level (generic inverse-variance) rows: a between-arm difference with its SE or CI.

Questions answered:
* Are malformed contrast-level rows stopped at read with file, row, column, value and expectation
  (arm and contrast numbers on one row, no SE or CI, a CI that does not contain the difference,
  one CI limit, no direction, a pooled SD without its source, a shared control, an events row)?
* Does the sign follow the row's stated direction (positive favours treatment), with a note
  when it disagrees with the instrument's scoring direction?
* Is the SE taken from a CI with the normal quantile, as metafor's Wald formula does?
* Is a row without a sourced pooled SD (or without its n) refused for the SMD, with the reason
  in the missing table, and is the SMD with them Hedges' g with the large-sample variance?
* Is the mean difference pooled within one instrument, never across instruments?
* Does pooling contrast-level rows agree with metafor's rma(yi, sei =, REML, knha) (1e-6)?
* Does the shipped review give the registry's CRP-stratum differences, pooling only the trial's
  own cut-off, and does the report list them with numbers that resolve to their artefacts?
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from inflamed.errors import InputError
from inflamed.extract import extract_effects
from inflamed.extract.contrast import se_from_ci
from inflamed.ingest import CONTRAST_COLUMNS, Review, read_review
from inflamed.ingest.codebook import CONTRAST_FIELDS
from inflamed.ingest.review import load_review_with_registry
from inflamed.io import read_artefact_csv, write_csv, write_json
from inflamed.pipeline.config import load_config
from inflamed.pool import analyse_outcome, pooled_table
from inflamed.report.artefacts import OutcomeArtefacts, ReviewArtefacts
from inflamed.report.html import resolve_source
from inflamed.report.registry_strata import registry_strata_block
from inflamed.stats.pooling import rma

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "sheets"
REFERENCE = ROOT / "tests" / "reference" / "fixtures" / "contrast_generic_iv.json"
OUTCOMES = {"depression_severity": {"type": "continuous", "measure": "SMD"}}
POOLING = {"preset": "cochrane", "method": "REML", "test": "knha", "level": 95}

#: A valid contrast-level row of the fixture review (SimA2020, hamd17 is scored higher = worse).
ROW = {
    "study_id": "SimA2020", "contrast": "minocycline_vs_placebo", "treat_arm": "Minocycline",
    "ctrl_arm": "Placebo", "subgroup": "crp_high", "subgroup_definition": "CRP >= 3 mg/L",
    "outcome": "depression_severity", "instrument": "hamd17", "timepoint_weeks": "8",
    "measure_kind": "change", "diff": "-3.1", "diff_se": "3.3", "diff_measure": "MD",
    "diff_direction": "negative_favours_treatment", "diff_n": "22", "source": "simulated",
    "source_location": "fixture",
}  # fmt: skip


def _sheet(tmp_path: Path, *rows: dict[str, str]) -> Path:
    """The valid fixture review with the contrast-level columns and ``rows`` appended."""
    folder = tmp_path / "review"
    shutil.copytree(FIX / "valid", folder)
    path = folder / "outcomes.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    header = records[0] + list(CONTRAST_FIELDS)
    body = [r + [""] * len(CONTRAST_FIELDS) for r in records[1:]]
    body += [[row.get(c, "") for c in header] for row in rows]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *body])
    return folder


def _read(folder: Path) -> Review:
    return read_review(folder, instruments_path=FIX / "instruments.csv")


def _row_number(folder: Path) -> int:
    return sum(1 for _ in open(folder / "outcomes.csv", encoding="utf-8"))  # the last row


# --- validation at read -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"n_treat": "11"}, "n_treat", "both arm-level and contrast-level"),
        ({"diff_se": ""}, "diff_se", "without its standard error or confidence interval"),
        ({"diff_se": "", "diff_ci_lb": "-1", "diff_ci_ub": "4"}, "diff_ci_lb", "does not contain"),
        ({"diff_se": "", "diff_ci_lb": "-9"}, "diff_ci_ub", "one confidence limit"),
        ({"diff_direction": ""}, "diff_direction", "without diff_direction"),
        ({"diff_measure": ""}, "diff_measure", "without diff_measure"),
        ({"diff": ""}, "diff", "without diff"),
        ({"sd_pooled": "8"}, "sd_pooled_source", "pooled SD without its source"),
        ({"shared_ctrl": "placebo"}, "shared_ctrl", "sharing a control arm"),
        ({"measure_kind": "events"}, "measure_kind", "events outcome"),
        ({"diff_se": "0"}, "diff_se", "not positive"),
    ],
)
def test_a_bad_contrast_row_is_stopped_with_its_place(tmp_path, change, column, words):
    folder = _sheet(tmp_path, {**ROW, **change})
    with pytest.raises(InputError) as info:
        _read(folder)
    err = info.value
    assert Path(str(err.file)).name == "outcomes.csv" and err.row == _row_number(folder)
    assert err.column == column and err.expected and words in str(err)


def test_a_valid_contrast_row_reads_and_old_sheets_without_the_columns_still_read(tmp_path):
    review = _read(_sheet(tmp_path, ROW))
    row = review.contrasts.iloc[-1]
    assert (row["diff"], row["diff_se"], row["diff_n"]) == (-3.1, 3.3, 22)
    assert list(review.contrasts.columns) == CONTRAST_COLUMNS
    plain = _read(FIX / "valid")  # no diff_* columns in its header
    assert plain.contrasts["diff"].isna().all()


# --- extraction -------------------------------------------------------------------------------


def _contrast_effect(tmp_path, **change):
    review = _read(_sheet(tmp_path, {**ROW, **change}))
    res = extract_effects(review, OUTCOMES, {})
    md = res.instrument_effects
    return res, md[(md["subgroup"] == "crp_high") & (md["study_id"] == "SimA2020")].iloc[0]


def test_sign_follows_the_stated_direction(tmp_path):
    res, row = _contrast_effect(tmp_path)
    assert row["yi"] == pytest.approx(3.1) and row["vi"] == pytest.approx(3.3**2)
    assert row["input_level"] == "contrast" and row["n_total"] == 22
    assert math.isnan(row["n_treat"]) and math.isnan(row["n_ctrl"])
    sign = res.derivation_log.query("step == 'sign' and subgroup == 'crp_high'").iloc[0]
    assert "yi = -yi" in sign["formula"] and sign["assumption"] == ""
    res, row = _contrast_effect(tmp_path / "b", diff_direction="positive_favours_treatment")
    assert row["yi"] == pytest.approx(-3.1)
    sign = res.derivation_log.query("step == 'sign' and subgroup == 'crp_high'").iloc[0]
    assert sign["assumption"].startswith("check: hamd17 is scored higher = worse")


def test_se_from_ci_uses_the_normal_quantile(tmp_path):
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for lb, ub, sei in zip(ref["ci_lb"], ref["ci_ub"], ref["sei_from_ci"], strict=True):
        assert se_from_ci(lb, ub)[0] == pytest.approx(sei, rel=1e-12)
    assert se_from_ci(-1.0, 1.0, 90.0)[0] == pytest.approx(1 / 1.6448536269514722, rel=1e-12)
    res, row = _contrast_effect(tmp_path, diff_se="", diff_ci_lb="-9.568", diff_ci_ub="3.368")
    assert row["vi"] == pytest.approx(((3.368 + 9.568) / (2 * 1.959963984540054)) ** 2)
    assert "normal quantile" in res.derivation_log.query("step == 'se'").iloc[0]["formula"]


def test_smd_is_refused_without_a_sourced_pooled_sd_and_logged(tmp_path):
    res, _ = _contrast_effect(tmp_path)
    assert res.effects.query("subgroup == 'crp_high' and study_id == 'SimA2020'").empty
    miss = res.missing.query("subgroup == 'crp_high' and study_id == 'SimA2020'").iloc[0]
    assert miss["fields"] == "sd_pooled" and "no SMD is computed" in miss["why"]
    res, _ = _contrast_effect(tmp_path / "b", diff_n="", sd_pooled="8", sd_pooled_source="x, T2")
    miss = res.missing.query("subgroup == 'crp_high' and study_id == 'SimA2020'").iloc[0]
    assert miss["fields"] == "diff_n" and "small-sample correction" in miss["why"]


def test_smd_with_a_sourced_pooled_sd_is_hedges_g(tmp_path):
    res, _ = _contrast_effect(tmp_path, sd_pooled="8", sd_pooled_source="simulated, Table 2")
    row = res.effects.query("subgroup == 'crp_high' and study_id == 'SimA2020'").iloc[0]
    j = 1 - 3 / (4 * (22 - 2) - 1)
    g = j * -3.1 / 8
    assert row["measure"] == "SMD" and row["yi"] == pytest.approx(-g, rel=1e-12)
    assert row["vi"] == pytest.approx(3.3**2 / 64 + g**2 / 44, rel=1e-12)
    step = res.derivation_log.query("step == 'effect_size' and subgroup == 'crp_high'")
    assert "sd_pooled from simulated, Table 2" in set(step["assumption"])


# --- pooling ----------------------------------------------------------------------------------


def _review(rows: list[dict], instruments: dict[str, str]) -> Review:
    frame = pd.DataFrame([{c: r.get(c, np.nan) for c in CONTRAST_COLUMNS} for r in rows])
    frame["review"], frame["row_ref"] = (
        "sim",
        [f"sim/outcomes.csv:{i + 2}" for i in range(len(rows))],
    )
    studies = pd.DataFrame({"study_id": sorted({r["study_id"] for r in rows})})
    studies["year"] = 2000 + np.arange(len(studies))
    inst = pd.DataFrame(
        {"instrument": list(instruments), "higher_is_worse": list(instruments.values())}
    )
    empty = pd.DataFrame()
    return Review("sim", frame, studies, empty, empty, empty, empty, inst)


def _diff_row(study: str, instrument: str, d: float, se: float, **extra) -> dict:
    return {
        "study_id": study, "contrast": "a_vs_b", "subgroup": "whole", "outcome": "depression_severity",
        "instrument": instrument, "timepoint_weeks": 8.0, "measure_kind": "endpoint", "diff": d,
        "diff_se": se, "diff_measure": "MD", "diff_direction": "positive_favours_treatment", **extra,
    }  # fmt: skip


def test_pooling_contrast_rows_agrees_with_metafor():
    ref = json.loads(REFERENCE.read_text(encoding="utf-8"))
    rows = []
    for i, (study, yi, sei, lb, ub) in enumerate(
        zip(ref["study"], ref["yi"], ref["sei"], ref["ci_lb"], ref["ci_ub"], strict=True)
    ):
        if i % 2:  # every other study as printed: the difference and its 95 % CI
            rows.append(_diff_row(f"S{study}", "los", yi, np.nan, diff_ci_lb=lb, diff_ci_ub=ub))
        else:
            rows.append(_diff_row(f"S{study}", "los", yi, sei))
    res = extract_effects(_review(rows, {"los": "false"}), OUTCOMES, {})
    md = res.instrument_effects
    assert len(md) == len(ref["yi"]) and (md["measure"] == "MD").all()
    order = [f"S{s}" for s in ref["study"]]
    md = md.set_index("study_id").loc[order]
    np.testing.assert_allclose(md["yi"], ref["yi"], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(md["vi"]), ref["sei"], rtol=1e-9)
    fit = rma(md["yi"].to_numpy(), md["vi"].to_numpy(), method="REML", test="knha")
    for ours, theirs in (
        (fit.beta[0], ref["estimate"]), (fit.se[0], ref["se"]), (fit.ci_lb[0], ref["ci_lb_pooled"]),
        (fit.ci_ub[0], ref["ci_ub_pooled"]), (fit.tau2, ref["tau2"]), (fit.pval[0], ref["pval"]),
    ):  # fmt: skip
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-9)
    analysis = analyse_outcome(
        res.effects, outcome="depression_severity", spec={"type": "continuous", "measure": "SMD"},
        pooling=POOLING, primary_subgroup="crp_high", instrument_effects=res.instrument_effects,
    )  # fmt: skip
    whole = analysis.summary["instrument_md"]["los"]["sets"]["whole"]
    assert whole["k"] == 9 and whole["contrast_level_rows"] == 9
    assert whole["result"]["estimate"] == pytest.approx(ref["estimate"], rel=1e-6)
    assert whole["result"]["ci_lb"] == pytest.approx(ref["ci_lb_pooled"], rel=1e-6)
    assert analysis.summary["sets"]["whole"]["k"] == 0  # no SMD without pooled SDs


def test_arm_level_rows_win_over_a_contrast_row_of_the_same_instrument_time_and_kind():
    # The sheet's key allows one row per instrument and week; a registry row can add the other.
    arm = {
        **_diff_row("S1", "hamd17", math.nan, math.nan, diff_measure="", diff_direction=""),
        "n_treat": 20.0, "mean_treat": 10.0, "sd_treat": 5.0, "n_ctrl": 20.0, "mean_ctrl": 12.0,
        "sd_ctrl": 5.0,
    }  # fmt: skip
    rows = [_diff_row("S1", "hamd17", -2.0, 1.0, diff_direction="negative_favours_treatment"), arm]
    res = extract_effects(_review(rows, {"hamd17": "true"}), OUTCOMES, {})
    assert res.instrument_effects["input_level"].tolist() == ["arm"]
    assert res.effects["input_level"].tolist() == ["arm"]
    select = res.derivation_log.query("step == 'select'").iloc[0]
    assert "not used: sim/outcomes.csv:2" in select["formula"]


def test_instruments_are_never_mixed(tmp_path):
    rows = [
        _diff_row("S1", "hamd17", -2.0, 1.0, diff_direction="negative_favours_treatment"),
        _diff_row("S2", "hamd17", -4.0, 1.5, diff_direction="negative_favours_treatment"),
        _diff_row("S3", "madrs", -6.0, 2.0, diff_direction="negative_favours_treatment"),
    ]
    res = extract_effects(_review(rows, {"hamd17": "true", "madrs": "true"}), OUTCOMES, {})
    analysis = analyse_outcome(
        res.effects, outcome="depression_severity", spec={"type": "continuous", "measure": "SMD"},
        pooling=POOLING, instrument_effects=res.instrument_effects,
    )  # fmt: skip
    md = analysis.summary["instrument_md"]
    assert set(md) == {"hamd17", "madrs"}
    assert md["hamd17"]["sets"]["whole"]["studies"] == ["S1", "S2"]
    assert md["madrs"]["sets"]["whole"]["result"]["estimate"] == pytest.approx(6.0)
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(analysis.summary), encoding="utf-8")
    table = pooled_table([path])
    mine = table[table["instrument"] != ""]
    assert set(mine["instrument"]) == {"hamd17", "madrs"} and (mine["measure"] == "MD").all()
    assert not mine["primary"].any() and "hamd17 points" in mine.iloc[0]["label"]


# --- the shipped review -----------------------------------------------------------------------


def test_shipped_review_gives_the_registry_crp_stratum_differences():
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    checked = load_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    spec = dict(checked["reviews"]["anti-inflammatory-crp"])
    review, _ = load_review_with_registry(spec, instruments=ROOT / "data" / "instruments.csv")
    outcomes = {k: dict(v) for k, v in spec["outcomes"].items()}
    res = extract_effects(review, outcomes, dict(checked["extraction"]))
    md = res.instrument_effects.query("study_id == 'RAISON2013' and input_level == 'contrast'")
    got = {r["subgroup"]: (r["yi"], r["vi"], r["n_total"]) for _, r in md.iterrows()}
    assert got == {
        "crp_high": (pytest.approx(3.1), pytest.approx(10.89), 22),
        "crp_high_other": (pytest.approx(1.8), pytest.approx(7.84), 27),
    }
    rows = review.contrasts.query("study_id == 'RAISON2013' and diff.notna()", engine="python")
    assert set(rows["source"]) == {"https://clinicaltrials.gov/study/NCT00463580?tab=results"}
    assert all("Least Squares Mean (Standard Error)" in s for s in rows["source_location"])
    assert rows[["n_treat", "n_ctrl"]].isna().all().all()  # per-arm n is not reported
    analysis = analyse_outcome(
        res.effects, outcome="depression_severity", spec=outcomes["depression_severity"],
        pooling=dict(checked["pooling"]), instrument_effects=res.instrument_effects,
    )  # fmt: skip
    high = analysis.summary["instrument_md"]["HAMD17"]["sets"]["crp_high"]
    assert "RAISON2013" in high["studies"] and high["contrast_level_rows"] == 1  # > 3 never pooled


# --- the report -------------------------------------------------------------------------------


def test_report_lists_the_registry_crp_stratum_differences(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    checked = load_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    spec = dict(checked["reviews"]["anti-inflammatory-crp"])
    review, _ = load_review_with_registry(spec, instruments=ROOT / "data" / "instruments.csv")
    outcomes = {k: dict(v) for k, v in spec["outcomes"].items()}
    res = extract_effects(review, outcomes, dict(checked["extraction"]))
    analysis = analyse_outcome(
        res.effects, outcome="depression_severity", spec=outcomes["depression_severity"],
        pooling=dict(checked["pooling"]), instrument_effects=res.instrument_effects,
    )  # fmt: skip
    base = tmp_path / "results" / "r"
    write_csv(base / "ingest" / "contrasts.csv", review.contrasts)
    write_json(base / "pool" / "depression_severity" / "summary.json", analysis.summary)
    paths = {"ingest/contrasts.csv": (base / "ingest" / "contrasts.csv").as_posix()}
    outcome = OutcomeArtefacts(
        name="depression_severity", spec=outcomes["depression_severity"], summary=analysis.summary,
        studies=None, subgroups=None, small_study=None, leave_one_out=None, influence=None,
        cumulative=None, figures={},
        paths={"summary": (base / "pool" / "depression_severity" / "summary.json").as_posix()},
    )  # fmt: skip
    artefacts = ReviewArtefacts(
        name="r", title="r", spec=spec, results_dir=str(tmp_path / "results"),
        outcomes={"depression_severity": outcome}, studies=review.studies, risk_of_bias=None,
        published=None, prisma=None, effects=None, derivation_log=None, missing_data=None,
        pooled=None, who_benefits=None, crp_predictions=None, clinic_bridge=None, figures={},
        paths=paths, contrasts=read_artefact_csv(base / "ingest" / "contrasts.csv"),
    )  # fmt: skip
    html = registry_strata_block(artefacts, outcome)
    assert "Registry CRP-stratum differences" in html and html.count("<tr") == 3  # head + 2
    assert "Raison 2013" in html and "-9.6 to 3.4" in html and "-7.3 to 3.7" in html
    assert "no: another cut-off than the trial&#x27;s own" in html
    assert 'href="https://clinicaltrials.gov/study/NCT00463580?tab=results"' in html
    assert "per-arm n not reported" in html and "mean difference in HAMD17 points" in html
    spans = re.findall(r'data-source="([^"]+)" data-value="([^"]+)"', html)
    assert len(spans) >= 8
    for source, value in spans:
        assert float(resolve_source(source.replace("&amp;", "&"))) == pytest.approx(float(value))
    assert registry_strata_block(artefacts, dataclasses.replace(outcome, name="response")) == ""
    # The front matter's "It can say" names the MD-only CRP-high result beside "no study" (SMD).
    from inflamed.report.registry_strata import md_set_text

    line = md_set_text(outcome, "crp_high")
    assert "HAMD17 mean difference" in line and "from a reported between-arm difference" in line
    shown = re.findall(r'data-value="([^"]+)"[^>]*>([^<]+)<', line)
    assert [text for _, text in shown][-1] == "22"  # N
    assert float(shown[0][0]) == pytest.approx(3.1)  # HAMD17 points, positive favours treatment
    assert md_set_text(outcome, "whole") == ""  # arm-level only: no contrast-level row
    # The summary of findings grades that mean difference, on the instrument's scale, by the same
    # GRADE rules; Raison's result is reported, so it does not count as unreported.
    from inflamed.report.sof import grade_summary_of_findings

    graded = dataclasses.replace(
        artefacts, instrument_effects=res.instrument_effects, missing_data=res.missing
    )
    row = grade_summary_of_findings(graded).set_index("outcome").loc["depression_severity"]
    assert (row["analysis_set"], row["k"], row["N"], row["measure"]) == ("crp_high", 1, 22, "MD")
    assert row["set_locator"] == "/instrument_md/HAMD17/sets/crp_high"
    pointer = f"{row['source']}#{row['estimate_locator']}/estimate"
    assert float(resolve_source(pointer)) == pytest.approx(3.1) == row["estimate"]
    assert "HAMD17 points" in row["absolute"] and "no SMD" in row["absolute_basis"]
    assert "Raison" not in row["publication_bias"] and row["certainty"] == "very low"


def test_a_ctgov_folder_mapping_turns_stratum_differences_into_contrast_rows(tmp_path):
    from inflamed.ingest.ctgov_review import read_ctgov_review

    record = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
    mapping = yaml.safe_load(record.with_name("NCT00463580.mapping.yaml").read_text("utf-8"))
    mapping["outcomes"] = mapping["outcomes"][:1]
    del mapping["serious_adverse_events"]
    mapping["between_arm"] = [
        {
            "title": "Change in Hamilton Depression Rating Scale 17 (HDRS-17) Scores Subgrouped by Baseline Hs-CRP.",
            "outcome": "depression_severity", "instrument": "HAMD17",
            "contrast": "infliximab_vs_placebo", "difference": "treat_minus_ctrl",
            "diff_direction": "negative_favours_treatment", "measure_kind": "change",
            "timepoint_weeks": 12,
            "groups": [
                {"title": "Baseline Hs-CRP of >5 mg/L", "subgroup": "crp_high", "subgroup_definition": "hs-CRP > 5 mg/L"},
                {"title": "Baseline Hs-CRP of > 3", "subgroup": "crp_high_other", "subgroup_definition": "hs-CRP > 3 mg/L"},
            ],
        }
    ]  # fmt: skip
    folder = tmp_path / "ctgov-review"
    folder.mkdir()
    (folder / record.name).write_bytes(record.read_bytes())
    (folder / "NCT00463580.mapping.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    review = read_ctgov_review(
        folder, instruments_path=ROOT / "data" / "instruments.csv", outcomes=["depression_severity"]
    )
    rows = review.contrasts[review.contrasts["diff"].notna()].set_index("subgroup")
    assert rows.loc["crp_high", ["diff", "diff_se", "diff_n"]].tolist() == [-3.1, 3.3, 22]
    assert rows.loc["crp_high_other", ["diff", "diff_se", "diff_n"]].tolist() == [-1.8, 2.8, 27]
    assert (
        rows.loc["crp_high", "source"] == "https://clinicaltrials.gov/study/NCT00463580?tab=results"
    )
    assert rows.loc["crp_high", "row_ref"].startswith("NCT00463580.json:outcomeMeasures[5]")
    assert "Least Squares Mean (Standard Error)" in rows.loc["crp_high", "source_location"]
    res = extract_effects(review, OUTCOMES, {"target_weeks": 12})
    md = res.instrument_effects.set_index("subgroup")
    assert (
        md.loc["crp_high", "yi"] == pytest.approx(3.1) and md.loc["whole", "input_level"] == "arm"
    )
