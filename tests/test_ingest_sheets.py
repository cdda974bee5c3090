"""Ingest of inflamed extraction sheets: the valid fixture reads; every bad input stops with file,
row, column, value and expectation; raw files are never modified.

The fixture review (tests/fixtures/sheets/valid) is simulated; broken variants are made here from
copies of it.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import jsonschema
import pytest

from inflamed.errors import InputError
from inflamed.ingest import CONTRAST_COLUMNS, read_review
from inflamed.ingest.codebook import SHEETS, load_schema
from inflamed.ingest.codebook_docs import codebook_markdown, mapping_markdown, sheet_schema

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "sheets"
VALID = FIX / "valid"
INSTRUMENTS = FIX / "instruments.csv"


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "review"
    shutil.copytree(VALID, dest)
    return dest


def _edit(folder: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell (spreadsheet row numbering: header = 1)."""
    path = folder / file
    with open(path, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    records[row - 1][records[0].index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(records)


def _read(folder: Path):
    return read_review(folder, instruments_path=INSTRUMENTS)


def _expect(folder: Path, *, file: str, row: int | None, column: str | None, value, words: str):
    with pytest.raises(InputError) as info:
        _read(folder)
    err = info.value
    assert Path(str(err.file)).name == file
    assert err.row == row
    assert err.column == column
    if value is not None:
        assert str(value) in str(err.value)
    assert err.expected
    text = str(err)
    assert words in text
    assert file in text and (row is None or f"row {row}" in text)
    return err


# --- the valid fixture ------------------------------------------------------------------------


def test_valid_review_reads_into_internal_model():
    review = _read(VALID)
    assert review.name == "valid"
    assert list(review.contrasts.columns) == CONTRAST_COLUMNS
    assert len(review.contrasts) == 13
    assert review.contrasts.loc[0, "row_ref"] == "valid/outcomes.csv:2"
    assert review.contrasts.loc[0, "mean_treat"] == 12.5
    assert math.isnan(review.contrasts.loc[0, "se_treat"])
    assert review.contrasts.loc[0, "shared_ctrl"] == ""
    assert set(review.studies["study_id"]) == {"SimA2020", "SimB2021", "SimC2022"}
    assert len(review.risk_of_bias) == 2 and len(review.prisma) == 2
    assert len(review.published_estimates) == 1


def test_crp_in_mg_dl_is_converted_and_logged():
    review = _read(VALID)
    b = review.studies.set_index("study_id").loc["SimB2021"]
    assert b["crp_unit"] == "mg/dL" and b["crp_cutoff"] == pytest.approx(0.2)
    assert b["crp_cutoff_mg_l"] == pytest.approx(2.0)
    assert b["baseline_crp_mg_l"] == pytest.approx(4.1)
    a = review.studies.set_index("study_id").loc["SimA2020"]
    assert a["crp_cutoff_mg_l"] == 3.0
    conv = review.conversions
    assert list(conv["column"]) == ["crp_cutoff", "baseline_crp"]
    assert set(conv["row_ref"]) == {"valid/studies.csv:3"}
    assert conv["converted"].tolist() == pytest.approx([2.0, 4.1])


def test_raw_files_never_modified(tmp_path):
    folder = _copy(tmp_path)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    _read(folder)
    _edit(folder, "outcomes.csv", 3, "sd_treat", "-1")
    before["outcomes.csv"] = (
        (folder / "outcomes.csv").read_bytes(),
        (folder / "outcomes.csv").stat().st_mtime_ns,
    )
    with pytest.raises(InputError):
        _read(folder)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert after == before


# --- bad input, one case each -----------------------------------------------------------------


def test_unknown_column(tmp_path):
    folder = _copy(tmp_path)
    text = (
        (folder / "outcomes.csv").read_text(encoding="utf-8").replace("sd_treat", "stdev_treat", 1)
    )
    (folder / "outcomes.csv").write_text(text, encoding="utf-8")
    _expect(
        folder,
        file="outcomes.csv",
        row=1,
        column="stdev_treat",
        value="stdev_treat",
        words="unknown column",
    )


def test_missing_column(tmp_path):
    folder = _copy(tmp_path)
    with open(folder / "studies.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    k = records[0].index("drug")
    records = [r[:k] + r[k + 1 :] for r in records]
    with open(folder / "studies.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(records)
    _expect(
        folder,
        file="studies.csv",
        row=1,
        column="drug",
        value=None,
        words="required column is missing",
    )


def test_text_in_a_number(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 4, "mean_ctrl", "about 19")
    _expect(
        folder,
        file="outcomes.csv",
        row=4,
        column="mean_ctrl",
        value="about 19",
        words="text in a number",
    )


def test_decimal_comma(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 2, "sd_treat", "6,1")
    _expect(
        folder, file="outcomes.csv", row=2, column="sd_treat", value="6,1", words="decimal comma"
    )


def test_negative_sd(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 3, "sd_ctrl", "-6.2")
    _expect(
        folder,
        file="outcomes.csv",
        row=3,
        column="sd_ctrl",
        value="-6.2",
        words="negative standard deviation",
    )


def test_events_above_n(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 5, "events_treat", "21")
    err = _expect(
        folder,
        file="outcomes.csv",
        row=5,
        column="events_treat",
        value="21",
        words="more events than participants",
    )
    assert "n_treat" in err.expected


def test_percentage_where_count_expected(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 5, "events_ctrl", "25%")
    _expect(
        folder,
        file="outcomes.csv",
        row=5,
        column="events_ctrl",
        value="25%",
        words="percentage where a count",
    )


def test_fraction_where_count_expected(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 5, "events_ctrl", "0.25")
    _expect(
        folder,
        file="outcomes.csv",
        row=5,
        column="events_ctrl",
        value="0.25",
        words="proportion where a count",
    )


def test_duplicated_study_id(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "studies.csv", 4, "study_id", "SimA2020")
    err = _expect(
        folder,
        file="studies.csv",
        row=4,
        column="study_id",
        value="SimA2020",
        words="duplicated study id",
    )
    assert "row 2" in err.message


def test_duplicated_key_row_in_outcomes(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 3, "timepoint_weeks", "8")
    _expect(
        folder,
        file="outcomes.csv",
        row=3,
        column="+".join(SHEETS["outcomes"]["key"]),
        value="SimA2020",
        words="duplicated key row",
    )


def test_study_id_absent_from_studies(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 6, "study_id", "SimB2012")
    err = _expect(
        folder,
        file="outcomes.csv",
        row=6,
        column="study_id",
        value="SimB2012",
        words="not found in studies.csv",
    )
    assert "SimB2021" in err.message  # suggestion


def test_crp_without_unit(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "studies.csv", 2, "crp_unit", "")
    _expect(
        folder,
        file="studies.csv",
        row=2,
        column="crp_unit",
        value="crp_cutoff=3",
        words="CRP value without a unit",
    )


def test_crp_unknown_unit(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "studies.csv", 2, "crp_unit", "nmol/L")
    err = _expect(
        folder, file="studies.csv", row=2, column="crp_unit", value="nmol/L", words="unknown value"
    )
    assert "mg/dL" in err.expected and "mg/L" in err.expected


def test_crp_in_mg_dl_without_saying_so(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "studies.csv", 3, "crp_unit", "mg/L")
    _expect(
        folder,
        file="outcomes.csv",
        row=7,
        column="subgroup_definition",
        value="0.2 mg/dL",
        words="CRP given in mg/dL",
    )


def test_crp_unit_written_in_number_cell(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "studies.csv", 3, "crp_cutoff", "0.2 mg/dL")
    _expect(
        folder,
        file="studies.csv",
        row=3,
        column="crp_cutoff",
        value="0.2 mg/dL",
        words="unit written into a CRP",
    )


def test_unknown_instrument(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 2, "instrument", "hamd-17")
    err = _expect(
        folder,
        file="outcomes.csv",
        row=2,
        column="instrument",
        value="hamd-17",
        words="unknown instrument",
    )
    assert "hamd17" in err.message


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("outcome", "sleep_quality", "unknown outcome"),
        ("subgroup", "il6_high", "unknown value"),
        ("measure_kind", "mean", "unknown value"),
    ],
)
def test_unknown_categories(tmp_path, column, value, words):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 2, column, value)
    _expect(folder, file="outcomes.csv", row=2, column=column, value=value, words=words)


def test_wrong_encoding(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "outcomes.csv"
    text = path.read_text(encoding="utf-8").replace("LS means with SE", "LS means (Müller)")
    path.write_bytes(text.encode("cp1252"))
    err = _expect(
        folder, file="outcomes.csv", row=7, column=None, value=None, words="not valid UTF-8"
    )
    assert "Windows-1252" in err.message
    assert "UTF-8" in err.expected


def test_utf16_is_named(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "studies.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        _read(folder)


def test_na_string_is_rejected(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 2, "se_treat", "NA")
    _expect(
        folder,
        file="outcomes.csv",
        row=2,
        column="se_treat",
        value="NA",
        words="missing-value code",
    )


# --- the codebook -----------------------------------------------------------------------------


@pytest.mark.parametrize("sheet", sorted(SHEETS))
def test_committed_schemas_match_codebook(sheet):
    assert load_schema(sheet) == json.loads(json.dumps(sheet_schema(sheet)))
    jsonschema.Draft202012Validator.check_schema(load_schema(sheet))
    for prop in load_schema(sheet)["properties"].values():
        assert prop["description"]


def test_workflow_schema_links_point_to_package():
    for sheet in SHEETS:
        link = ROOT / "workflow" / "schemas" / f"{sheet}.schema.json"
        assert link.is_symlink(), link
        assert (
            link.resolve()
            == (ROOT / "src" / "inflamed" / "schemas" / f"{sheet}.schema.json").resolve()
        )


def test_docs_codebook_up_to_date():
    expected = codebook_markdown() + "\n" + mapping_markdown()
    assert (ROOT / "docs" / "codebook.md").read_text(encoding="utf-8") == expected


def test_change_score_needs_direction(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "outcomes.csv", 7, "change_direction", "")
    _expect(
        folder,
        file="outcomes.csv",
        row=7,
        column="change_direction",
        value=None,
        words="change score without its direction",
    )


def test_shipped_review_validates():
    folder = ROOT / "data" / "reviews" / "anti-inflammatory-crp"
    if not (folder / "outcomes.csv").is_file():
        pytest.skip("the shipped review data/reviews/anti-inflammatory-crp is not there yet")
    review = read_review(folder, instruments_path=ROOT / "data" / "instruments.csv")
    assert len(review.contrasts) > 0
    assert review.contrasts["row_ref"].str.startswith("anti-inflammatory-crp/outcomes.csv:").all()
