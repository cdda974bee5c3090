"""Which question each test answers: does targets.csv validation stop bad rows with the row named,
and does the shipped targets file validate and map onto the model?"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.mechanism.targets import COLUMNS, QUANTITY_UNITS, load_targets, validate_targets

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "mechanism" / "targets.csv"


def good_row(**over: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        target_id="X1",
        quantity="astrocyte_survival",
        kind="ratio",
        relation="=",
        value="0.75",
        unit="ratio",
        intervention="stress",
        comparison="control",
        source="https://doi.org/10.1038/sj.npp.1300982",
        source_location="abstract",
    )
    row.update(over)
    return row


def frame(*rows: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def test_shipped_targets_validate_and_every_row_has_a_source() -> None:
    ts = load_targets(SHIPPED)
    assert len(ts.targets) >= 2
    assert all(t.source and t.source_location for t in ts.targets)
    assert {t.kind for t in ts.fitted} <= {"value", "ratio"}
    assert all(t.relation in "<>" for t in ts.inequalities)


def test_ci95_uncertainty_becomes_a_standard_error() -> None:
    ts = validate_targets(frame(good_row(uncertainty="0.392", uncertainty_type="CI95")))
    assert ts.targets[0].standard_error == pytest.approx(0.392 / 1.959963984540054)
    ts = validate_targets(frame(good_row(uncertainty="0.5", uncertainty_type="SD", n="25")))
    assert ts.targets[0].standard_error == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("over", "column", "words"),
    [
        ({"source": ""}, "source", "no source"),
        ({"quantity": "serotonin"}, "quantity", "unknown model quantity"),
        ({"unit": "SD"}, "unit", "unit does not match"),
        ({"uncertainty": "-0.1", "uncertainty_type": "SEM"}, "uncertainty", "negative uncertainty"),
        ({"intervention": "stress+aspirin"}, "intervention", "unknown intervention"),
        ({"kind": "inequality", "relation": "="}, "relation", "inequality"),
    ],
)
def test_bad_row_names_row_and_column(over: dict[str, str], column: str, words: str) -> None:
    rows = [good_row(), good_row(target_id="X2", **over)]
    with pytest.raises(InputError) as info:
        validate_targets(frame(*rows), file="targets.csv")
    err = info.value
    assert err.row == 3  # header is row 1, the bad row is the second data row
    assert err.column == column
    assert words in str(err)
    assert "targets.csv" in str(err)


def test_every_declared_quantity_has_exactly_one_unit() -> None:
    assert set(QUANTITY_UNITS.values()) == {"ratio", "SD"}
    assert QUANTITY_UNITS["behaviour_rescue"] == "SD"
