"""Double extraction: every disagreement between two extractors' outcomes sheets is listed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from inflamed.ingest.double_extraction import DISAGREEMENT_COLUMNS, compare_extractions

VALID = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "sheets" / "valid" / "outcomes.csv"
)


def _variant(
    tmp_path: Path, edits: dict[tuple[int, str], str], drop_row: int | None = None
) -> Path:
    with open(VALID, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    for (row, col), value in edits.items():
        records[row - 1][records[0].index(col)] = value
    if drop_row is not None:
        del records[drop_row - 1]
    path = tmp_path / "outcomes.extractor2.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(records)
    return path


def test_identical_sheets_agree(tmp_path):
    copy = tmp_path / "b.csv"
    shutil.copy(VALID, copy)
    out = compare_extractions(VALID, copy)
    assert list(out.columns) == DISAGREEMENT_COLUMNS
    assert out.empty


def test_formatting_only_differences_are_tolerated(tmp_path):
    # 12.5 vs 12.50, 6.1 vs 6.10, 19 vs 19.0; a different extractor and notes are expected
    path = _variant(
        tmp_path,
        {
            (2, "mean_treat"): "12.50",
            (2, "sd_treat"): "6.10",
            (2, "n_ctrl"): "19.0",
            (2, "extractor"): "ZZ",
            (2, "notes"): "checked",
        },
    )
    assert compare_extractions(VALID, path).empty


def test_every_disagreement_is_listed(tmp_path):
    path = _variant(
        tmp_path,
        {
            (2, "mean_treat"): "12.6",
            (5, "events_treat"): "8",
            (3, "source_location"): "Table 3",
            (7, "se_ctrl"): "",
        },
        drop_row=13,
    )
    out = compare_extractions(VALID, path)
    got = {(r.study_id, r.field, r.value_a, r.value_b) for r in out.itertuples()}
    assert got == {
        ("SimA2020", "mean_treat", "12.5", "12.6"),
        ("SimA2020", "events_treat", "9", "8"),
        ("SimA2020", "source_location", "fixture", "Table 3"),
        ("SimB2021", "se_ctrl", "1.4", ""),
        ("SimC2022", "(row)", "present", "absent"),
    }
    mean = out[out.field == "mean_treat"].iloc[0]
    assert mean.row_key == "minocycline_vs_placebo|whole|depression_severity|hamd17|8"
    assert mean.row_a == 2 and mean.row_b == 2
    missing = out[out.field == "(row)"].iloc[0]
    assert missing.row_a == 13 and missing.row_b is not None and str(missing.row_b) == "<NA>"
    assert list(out.sort_values(["study_id", "row_key"], kind="mergesort").index) == list(out.index)


def test_row_only_in_second_sheet(tmp_path):
    path = _variant(tmp_path, {(3, "timepoint_weeks"): "2"})
    out = compare_extractions(VALID, path)
    assert sorted(zip(out.row_key, out.value_a, out.value_b, strict=True)) == [
        ("minocycline_vs_placebo|whole|depression_severity|hamd17|2", "absent", "present"),
        ("minocycline_vs_placebo|whole|depression_severity|hamd17|4", "present", "absent"),
    ]
