"""Saved registry records mapped into the shipped sheets review (inflamed.ingest.registry).

Questions answered:
* Without saved records (the shipped state), is the review exactly what the sheets give?
* With the real NCT00463580 record saved, do its arm-level rows agree with the sheet (nothing
  added, nothing disagreeing), and are the CRP-stratum differences read as between-arm rows?
* Does a registry value that differs from the sheet get listed (sheet kept), and does a row the
  sheets lack enter with the record's URL and location?
* Are unmapped measures and unmapped records reported; are bad mappings stopped with the place?
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from inflamed.errors import InputError
from inflamed.ingest.registry import (
    REGISTRY_MAPPING_SCHEMA,
    load_registry,
    read_registry_mapping,
)
from inflamed.ingest.review import load_review, load_review_with_registry
from inflamed.pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
NAME = "anti-inflammatory-crp"
INSTRUMENTS = ROOT / "data" / "instruments.csv"


@pytest.fixture
def spec(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    checked = load_config(config, ROOT / "workflow" / "schemas" / "config.schema.yaml")
    review = dict(checked["reviews"][NAME])
    review["path"] = str(tmp_path / NAME)
    shutil.copytree(ROOT / "data" / "reviews" / NAME, review["path"])
    return review


def _save(spec, edit=None) -> Path:
    target = Path(spec["path"]) / "registry" / RECORD.name
    target.parent.mkdir(exist_ok=True)
    record = json.loads(RECORD.read_bytes())
    if edit:
        edit(record)
    target.write_text(json.dumps(record), encoding="utf-8")
    return target


def _measures(record):
    return record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]


def test_shipped_review_without_saved_records_is_the_sheets_alone(spec):
    without = dict(spec)
    del without["registry_mapping"]
    plain = load_review(without, instruments=INSTRUMENTS)
    review, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    assert review.contrasts.equals(plain.contrasts)
    assert registry["not_fetched"] == ["NCT00463580"] and registry["arm_level_rows_read"] == 0


def test_saved_record_agrees_with_the_sheet_and_gives_between_arm_rows(spec):
    _save(spec)
    plain = load_review({**spec, "registry_mapping": ""}, instruments=INSTRUMENTS)
    review, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    assert registry["arm_level_rows_read"] == 5 and registry["arm_level_rows_added"] == 0
    assert registry["disagreements_with_sheets"] == [] and registry["unmapped_measures"] == []
    # The CRP > 5 and > 3 mg/L differences are sheet rows already (the sheet wins, and agrees);
    # the whole-sample difference (a change, beside the sheet's week-12 endpoint) is added.
    assert registry["contrast_level_rows_added"] == 1
    n = len(plain.contrasts)
    assert review.contrasts.iloc[:n].equals(plain.contrasts)
    (added,) = review.contrasts.iloc[n:].to_dict("records")
    assert (added["subgroup"], added["diff"], added["diff_se"], added["diff_n"]) == (
        "whole",
        2.1,
        1.8,
        60,
    )
    assert added["diff_direction"] == "negative_favours_treatment" and added["diff_measure"] == "MD"
    assert "Least Squares Mean (Standard Error)" in added["source_location"]
    assert added["source"] == "https://clinicaltrials.gov/study/NCT00463580?tab=results"
    rows = {r["subgroup"]: r for r in registry["between_arm_rows"]}
    assert (rows["crp_high_other"]["estimate"], rows["crp_high_other"]["n_total"]) == (-1.8, 27)
    assert (rows["crp_high"]["estimate"], rows["crp_high"]["se"]) == (-3.1, 3.3)
    assert rows["crp_high"]["n_total"] == 22 and rows["whole"]["estimate"] == 2.1
    assert rows["crp_high"]["source"] == "https://clinicaltrials.gov/study/NCT00463580?tab=results"
    assert "Baseline Hs-CRP of >5 mg/L" in rows["crp_high"]["source_location"]


def test_a_differing_value_is_listed_and_the_sheet_wins(spec):
    def edit(record):
        week12 = next(c for c in _measures(record)[0]["classes"] if c["title"] == "Week 12")
        week12["categories"][0]["measurements"][0]["value"] = "17.0"

    _save(spec, edit)
    review, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    (d,) = registry["disagreements_with_sheets"]
    assert (d["column"], d["sheet"], d["registry"]) == ("mean_treat", 16.6, 17.0)
    assert d["sheet_row"] == f"{NAME}/outcomes.csv:2" and d["instrument"] == "HAMD17"
    assert registry["arm_level_rows_added"] == 0
    assert 17.0 not in set(review.contrasts["mean_treat"])


def test_a_row_the_sheets_lack_enters_with_its_source(spec):
    outcomes = Path(spec["path"]) / "outcomes.csv"
    lines = outcomes.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "IDS_SR30" in lines[2]  # RAISON2013's IDS-SR row
    outcomes.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    _save(spec)
    review, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    assert registry["arm_level_rows_added"] == 1
    row = review.contrasts.query("instrument == 'IDS_SR30' and study_id == 'RAISON2013'").iloc[0]
    assert (row["mean_treat"], row["sd_treat"], row["n_treat"]) == (32.0, 15.0, 30.0)
    assert row["source"].startswith("https://clinicaltrials.gov/study/NCT00463580")
    assert row["row_ref"].startswith(f"{NAME}/registry/NCT00463580.json:outcomeMeasures[3]")


def test_unmapped_measures_and_records_are_reported(spec):
    def edit(record):
        extra = dict(_measures(record)[4], title="Plasma Concentrations of IL-6")
        _measures(record).append(extra)

    _save(spec, edit)
    other = Path(spec["path"]) / "registry" / "NCT02473289.json"
    other.write_text("{}", encoding="utf-8")
    registry = load_registry(
        spec["path"], Path(spec["path"]) / "registry_mapping.yaml",
        review=NAME, instruments_path=INSTRUMENTS,
    )  # fmt: skip
    assert set(registry.unmapped) == {
        ("NCT00463580", "Plasma Concentrations of IL-6"),
        ("NCT02473289", "(whole record)"),
    }


def test_bad_mapping_names_the_file_and_place(tmp_path):
    path = tmp_path / "registry_mapping.yaml"
    shipped = yaml.safe_load(
        (ROOT / "data" / "reviews" / NAME / "registry_mapping.yaml").read_text()
    )
    shipped["records"][0]["between_arm"][0]["difference"] = "minus"
    path.write_text(yaml.safe_dump(shipped), encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_registry_mapping(path)
    assert "records/0/between_arm/0/difference" in str(err.value) and str(path) in str(err.value)
    shipped["records"].append(dict(shipped["records"][0]))
    shipped["records"][0]["between_arm"][0]["difference"] = "treat_minus_ctrl"
    shipped["records"][1] = shipped["records"][0]
    path.write_text(yaml.safe_dump(shipped), encoding="utf-8")
    with pytest.raises(InputError, match="mapped twice"):
        read_registry_mapping(path)


def test_unknown_stratum_title_stops(spec):
    _save(spec)
    mapping = Path(spec["path"]) / "registry_mapping.yaml"
    mapping.write_text(
        mapping.read_text(encoding="utf-8").replace("Baseline Hs-CRP of >5 mg/L,", "CRP > 5,"),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="between-arm group not found"):
        load_review_with_registry(spec, instruments=INSTRUMENTS)


def test_committed_schema_is_the_python_one():
    path = ROOT / "src" / "inflamed" / "schemas" / "registry_mapping.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == REGISTRY_MAPPING_SCHEMA


def _drop_sheet_rows(spec, subgroups):
    path = Path(spec["path"]) / "outcomes.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = [
        line
        for line in lines
        if not (line.startswith("RAISON2013,") and line.split(",")[5] in subgroups)
        or ",depression_severity,HAMD17,12,change," not in line
    ]
    assert len(keep) == len(lines) - len(subgroups)
    path.write_text("".join(keep), encoding="utf-8")


def test_a_stratum_difference_the_sheets_lack_enters_as_a_contrast_level_row(spec):
    _drop_sheet_rows(spec, {"crp_high"})
    _save(spec)
    review, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    assert registry["contrast_level_rows_added"] == 2 and registry["arm_level_rows_added"] == 0
    rows = review.contrasts.query("study_id == 'RAISON2013' and subgroup == 'crp_high'")
    row = rows[rows["diff"].notna()].iloc[0]
    assert (row["diff"], row["diff_se"], row["diff_n"]) == (-3.1, 3.3, 22)
    assert row["diff_direction"] == "negative_favours_treatment" and row["measure_kind"] == "change"
    assert row["row_ref"].startswith(f"{NAME}/registry/NCT00463580.json:outcomeMeasures[5]")
    assert (
        "group 'Baseline Hs-CRP of >5 mg/L', Least Squares Mean (Standard Error)"
        in (row["source_location"])
    )
    assert row["source"] == "https://clinicaltrials.gov/study/NCT00463580?tab=results"


def test_a_control_minus_treatment_difference_is_turned_with_its_direction(spec):
    _drop_sheet_rows(spec, {"crp_high", "crp_high_other"})
    _save(spec)
    mapping = Path(spec["path"]) / "registry_mapping.yaml"
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(
        text.replace("difference: treat_minus_ctrl", "difference: ctrl_minus_treat").replace(
            "diff_direction: negative_favours_treatment",
            "diff_direction: positive_favours_treatment",
        ),
        encoding="utf-8",
    )
    review, _ = load_review_with_registry(spec, instruments=INSTRUMENTS)
    row = review.contrasts.query("subgroup == 'crp_high' and diff.notna()", engine="python").iloc[0]
    # The record's -3.1 read as placebo minus infliximab is infliximab minus placebo = 3.1; the
    # stated "positive favours treatment" (of placebo minus infliximab) becomes "negative favours
    # treatment" for the turned difference.
    assert row["diff"] == 3.1 and row["diff_direction"] == "negative_favours_treatment"


def test_a_contrast_difference_disagreeing_with_the_sheet_is_listed(spec):
    def edit(record):
        values = _measures(record)[5]["classes"][0]["categories"][0]["measurements"]
        values[3]["spread"] = "3.4"

    _save(spec, edit)
    _, registry = load_review_with_registry(spec, instruments=INSTRUMENTS)
    (d,) = registry["disagreements_with_sheets"]
    assert (d["column"], d["sheet"], d["registry"], d["subgroup"]) == (
        "diff_se",
        3.3,
        3.4,
        "crp_high",
    )
