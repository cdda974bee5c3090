"""Regression tests for the readers (issue 12, part 7): sheets, Metapsy, ClinicalTrials.gov, YAML.

Each test is one case of the fuzzing report: a bad input that once gave a silent wrong number, a
raw Python exception or a failure mid-run, now an error at parse time naming file, row and column.
Data are simulated (invented numbers) except where a test edits the real ClinicalTrials.gov record
of tests/fixtures/ctgov.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from inflamed.cli import main
from inflamed.errors import InputError
from inflamed.ingest.ctgov import read_ctgov_record, read_mapping
from inflamed.ingest.metapsy import read_metapsy
from inflamed.ingest.sheets import read_review
from inflamed.io import parse_number
from inflamed.pipeline.config import validate_mapping

ROOT = Path(__file__).resolve().parents[1]
SHEETS = ROOT / "tests" / "fixtures" / "sheets"
RECORD = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
MAPPING = ROOT / "tests" / "fixtures" / "ctgov" / "NCT00463580.mapping.yaml"


# --- number conventions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kwargs", "value"),
    [
        ("1.040", {"decimal": ",", "thousands": "."}, 1040.0),
        ("1.234,5", {"decimal": ",", "thousands": "."}, 1234.5),
        ("16,6", {"decimal": ","}, 16.6),
        ("1 040", {"thousands": " "}, 1040.0),
        ("-3.5e-2", {}, -0.035),
    ],
)
def test_declared_number_conventions(text, kwargs, value):
    assert parse_number(text, **kwargs) == value


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [("1,04", {"thousands": ","}), ("1.040", {"decimal": ","}), ("12,5", {}), ("nan", {})],
)
def test_undeclared_or_malformed_numbers_are_refused(text, kwargs):
    with pytest.raises(InputError):
        parse_number(text, **kwargs)


# --- part 7: sheets --------------------------------------------------------------------------


def _review(tmp_path: Path) -> Path:
    dest = tmp_path / "review"
    shutil.copytree(SHEETS / "valid", dest)
    return dest


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _set(folder: Path, row: int, **cells: str) -> None:
    rows = _rows(folder / "outcomes.csv")
    for column, value in cells.items():
        rows[row - 1][rows[0].index(column)] = value
    _write_rows(folder / "outcomes.csv", rows)


def _read_error(folder: Path) -> InputError:
    with pytest.raises(InputError) as info:
        read_review(folder, instruments_path=SHEETS / "instruments.csv")
    return info.value


def test_same_arms_under_a_second_contrast_label_are_refused(tmp_path):
    """Fuzz case: the same arms under another contrast label were pooled twice (k 6 -> 7)."""
    folder = _review(tmp_path)
    rows = _rows(folder / "outcomes.csv")
    twin = list(rows[1])
    twin[rows[0].index("contrast")] = "minocycline_vs_placebo_again"
    _write_rows(folder / "outcomes.csv", [*rows, twin])
    err = _read_error(folder)
    assert err.row == len(rows) + 1 and err.column == "contrast"
    assert "same arms as row 2" in str(err) and "shared_ctrl" in str(err)


def test_same_arms_declared_as_a_shared_control_are_accepted(tmp_path):
    folder = _review(tmp_path)
    rows = _rows(folder / "outcomes.csv")
    twin = list(rows[1])
    twin[rows[0].index("contrast")] = "minocycline_low_vs_placebo"
    shared = rows[0].index("shared_ctrl")
    rows[1][shared] = twin[shared] = "placebo"
    _write_rows(folder / "outcomes.csv", [*rows, twin])
    review = read_review(folder, instruments_path=SHEETS / "instruments.csv")
    assert (review.contrasts["shared_ctrl"] == "placebo").sum() == 2


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"n_treat": "0"}, "n_treat", "an arm without participants"),
        ({"sd_treat": "0", "sd_ctrl": "0"}, "sd_treat+sd_ctrl", "0 in both arms"),
        ({"mean_treat": "1e308"}, "mean_treat", "plausible size"),
        ({"mean_treat": "12,5"}, "mean_treat", "decimal comma"),
        ({"n_ctrl": "1,019"}, "n_ctrl", "ambiguous"),
    ],
    ids=["n=0", "sd=0-both-arms", "1e308", "decimal-comma", "thousands"],
)
def test_impossible_sheet_values_stop_at_parse_time(tmp_path, cells, column, words):
    """Fuzz case: n = 0, SD = 0 in both arms and 1e308 passed parse-time validation and failed
    mid-run with "column 'n1i': element 0 (0-based)"."""
    folder = _review(tmp_path)
    _set(folder, 2, **cells)
    err = _read_error(folder)
    assert Path(str(err.file)).name == "outcomes.csv" and err.row == 2
    assert err.column == column and words in str(err)


def test_semicolon_separated_sheet_gets_a_hint(tmp_path):
    """Fuzz case: a ';' sheet was reported as one long unknown column, with no hint."""
    folder = _review(tmp_path)
    path = folder / "studies.csv"
    path.write_text(path.read_text().replace(",", ";"))
    err = _read_error(folder)
    assert err.row == 1 and "seems to be ';'-separated" in str(err)
    assert "comma delimited" in str(err)


def test_cell_over_the_csv_field_limit_names_the_file(tmp_path):
    """Fuzz case: a cell over 131,072 characters failed without a file name."""
    folder = _review(tmp_path)
    _set(folder, 3, notes="x" * 140_000)
    err = _read_error(folder)
    assert Path(str(err.file)).name == "outcomes.csv" and err.row == 3
    assert "longer than 131,072 characters" in str(err)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace("\n", ",\n", 2).replace(",\n", "\n", 1), "trailing ','"),
        (lambda t: t + '"SimZ,\n', "unbalanced or stray quote"),
        (lambda t: t.replace("study_id,", "study_id,study_id,", 1), "appears twice"),
    ],
    ids=["trailing-comma", "open-quote", "duplicated-header"],
)
def test_sheet_structure_errors(tmp_path, edit, words):
    folder = _review(tmp_path)
    path = folder / "outcomes.csv"
    path.write_text(edit(path.read_text()))
    err = _read_error(folder)
    assert Path(str(err.file)).name == "outcomes.csv" and words in str(err)


# --- part 7: Metapsy --------------------------------------------------------------------------

METAPSY_HEADER = (
    '"";"study";"condition_arm1";"condition_arm2";"multi_arm1";"multi_arm2";"outcome_type";'
    '"instrument";"time";"time_weeks";"rating";"mean_arm1";"sd_arm1";"n_arm1";"mean_arm2";'
    '"sd_arm2";"n_arm2";".id"'
)


def _metapsy(tmp_path: Path, n_arm1: str = "40", sd_arm1: str = "4,5", sd_arm2: str = "4") -> Path:
    row = (
        f'"1";"Sim, 2020";"cbt";"wl";NA;NA;"msd";"bdi-2";"post";8;"self-report";10,5;{sd_arm1};'
        f'{n_arm1};12;{sd_arm2};38;"Sim_2020"'
    )
    path = tmp_path / "data.csv"
    path.write_text(METAPSY_HEADER + "\n" + row + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("kwargs", "column", "words"),
    [
        ({"n_arm1": "1.040"}, "n_arm1", "a '.' in a number whose decimal mark is ','"),
        ({"n_arm1": "40,5"}, "n_arm1", "fraction"),
        ({"n_arm1": "0"}, "n_arm1", "an arm without participants"),
        ({"sd_arm1": "0", "sd_arm2": "0"}, "sd_arm1+sd_arm2", "0 in both arms"),
        ({"sd_arm1": "-4"}, "sd_arm1", "negative standard deviation"),
    ],
    ids=["thousands-1.040", "fractional-n", "n=0", "sd=0-both", "negative-sd"],
)
def test_metapsy_values_are_refused_by_name(tmp_path, kwargs, column, words):
    """Fuzz case: '"1.040" became n = 1.04; fractional n such as 40,5 was accepted'."""
    with pytest.raises(InputError) as info:
        read_metapsy(_metapsy(tmp_path, **kwargs))
    assert info.value.row == 2 and info.value.column == column
    assert words in str(info.value)


def test_metapsy_decimal_commas_and_declared_fractional_counts(tmp_path):
    frame = read_metapsy(_metapsy(tmp_path))
    assert frame.loc[0, "mean_arm1"] == 10.5 and frame.loc[0, "sd_arm1"] == 4.5
    assert frame.loc[0, "n_arm1"] == 40.0
    split = read_metapsy(_metapsy(tmp_path, n_arm1="19,5"), fractional_counts=True)
    assert split.loc[0, "n_arm1"] == 19.5


def test_metapsy_thousands_separator_through_the_command_line(tmp_path, capsys):
    path = _metapsy(tmp_path, n_arm1="1.040")
    assert main(["effects", "--from", "metapsy", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"inflamed: file {path}, row 2")
    assert "column 'n_arm1'" in err and "'1.040'" in err


@pytest.mark.parametrize("content", ["", "\n", METAPSY_HEADER + "\n"])
def test_empty_metapsy_file(tmp_path, content):
    """Fuzz case: an empty Metapsy file gave a raw Python exception."""
    path = tmp_path / "data.csv"
    path.write_text(content)
    if content.startswith('"'):
        assert len(read_metapsy(path)) == 0  # a header and no rows is an empty dataset
        return
    with pytest.raises(InputError, match="the file is empty"):
        read_metapsy(path)


# --- part 7: ClinicalTrials.gov ---------------------------------------------------------------


def _record(tmp_path: Path, edit) -> Path:
    record = json.loads(RECORD.read_text(encoding="utf-8"))
    edit(record)
    path = tmp_path / "NCT00463580.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def _measure(record: dict, i: int = 0) -> dict:
    return record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][i]


def _week12(record: dict) -> dict:
    """The HDRS-17 Week 12 measurement of the infliximab group (mapped by the fixture)."""
    (cls,) = [c for c in _measure(record)["classes"] if c.get("title") == "Week 12"]
    return cls["categories"][0]["measurements"][0]


def test_ctgov_decimal_comma_is_refused_not_read_as_166(tmp_path):
    """Fuzz case: '"16,6" became 166; the pooled SMD became -18.2 instead of -0.31'."""

    def edit(record):
        _week12(record)["value"] = "16,6"

    with pytest.raises(InputError) as info:
        read_ctgov_record(_record(tmp_path, edit), MAPPING)
    assert "decimal comma" in str(info.value) and info.value.value == "16,6"
    assert info.value.column.startswith("outcomeMeasures[0]")
    assert "--decimal" not in str(info.value)  # the record's convention is fixed, not a choice


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [("denoms", "0", "an arm without participants"), ("spread", "1,040", "ambiguous")],
)
def test_ctgov_out_of_range_values_stop_at_parse_time(tmp_path, where, value, words):
    def edit(record):
        om = _measure(record)
        if where == "denoms":
            om["denoms"][0]["counts"][0]["value"] = value
        else:
            _week12(record)["spread"] = value

    with pytest.raises(InputError, match=words):
        read_ctgov_record(_record(tmp_path, edit), MAPPING)


def test_ctgov_serious_events_above_the_number_at_risk(tmp_path):
    def edit(record):
        group = record["resultsSection"]["adverseEventsModule"]["eventGroups"][0]
        group["seriousNumAffected"] = int(group["seriousNumAtRisk"]) + 1

    with pytest.raises(InputError, match="more events than participants"):
        read_ctgov_record(_record(tmp_path, edit), MAPPING)


def test_malformed_ctgov_json_and_mapping_yaml(tmp_path):
    """Fuzz case: malformed ctgov JSON and mapping YAML gave raw Python exceptions."""
    bad_json = tmp_path / "NCT00463580.json"
    bad_json.write_text('{"protocolSection": {', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as info:
        read_ctgov_record(bad_json, MAPPING)
    assert info.value.file == str(bad_json)
    bad_yaml = tmp_path / "m.mapping.yaml"
    bad_yaml.write_text("nct_id: [NCT00463580\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        read_mapping(bad_yaml)
    empty = tmp_path / "e.mapping.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        read_mapping(empty)


def _billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for new, old in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{new}: &{new} [" + ", ".join([f"*{old}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_mapping_is_refused_at_once(tmp_path):
    """Fuzz case: a 'billion laughs' YAML value hung validation for more than 300 s."""
    path = tmp_path / "laughs.mapping.yaml"
    path.write_text(_billion_laughs(), encoding="utf-8")
    start = time.process_time()
    with pytest.raises(InputError, match="YAML alias"):
        read_mapping(path)
    assert time.process_time() - start < 5  # a bound on a hang, not a benchmark


def test_billion_laughs_config_is_refused_at_once():
    import yaml

    config = yaml.safe_load(_billion_laughs())  # how Snakemake hands the config over
    start = time.process_time()
    with pytest.raises(InputError, match="expands to"):
        validate_mapping(config, {"type": "object"}, source="config.yaml")
    assert time.process_time() - start < 5  # a bound on a hang, not a benchmark


def test_shared_but_small_config_values_are_fine():
    block = {"type": "continuous", "label": "x"}
    config = {"a": block, "b": block, "c": copy.deepcopy(block)}
    assert validate_mapping(config, {"type": "object"}, source="config.yaml") == config
