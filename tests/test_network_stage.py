"""The network stage on a SIMULATED network (tests/simulated_network.py) and the shipped sheets.

Questions answered here: does a bad network sheet stop with the file, row and column; are arms
with missing numbers left out and logged; does the stage write every artefact, byte-identical on
a rerun; are the rankings ordered; do the shipped sheets hold the package values unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.network import (
    load_arms,
    network_models,
    read_network,
    run_frequentist,
    validate_network,
    write_rankings,
)
from inflamed.pipeline.layout import NETWORK_FILES
from simulated_network import HEADER, simulated_rows, write_simulated_network

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _spec(folder: Path, **extra) -> dict:
    return {
        "path": folder.as_posix(),
        "sheet": "arms.csv",
        "reference": "placebo",
        "outcomes": {
            "response": {"label": "Response", "measure": "OR", "small_values": "bad"},
            "dropout": {"label": "Dropout", "measure": "OR", "small_values": "good"},
        },
        **extra,
    }


# --- parse-time validation --------------------------------------------------------------------


def test_simulated_sheet_validates(tmp_path):
    write_simulated_network(tmp_path)
    validate_network(_spec(tmp_path), name="sim")


@pytest.mark.parametrize(
    ("row", "column", "value", "message", "expected"),
    [
        (3, "n", "12.5", "a fraction or proportion where a count", "a whole number"),
        (4, "response_events", "abc", "text in a number column", "number"),
        (5, "dropout_events", "-1", "below the minimum", ">= 0"),
        (2, "response_events", "100%", "a percentage where a count is expected", "participants"),
        (6, "n", "NA", "a missing-value code", "empty cell"),
    ],
)
def test_bad_cell_names_file_row_column(tmp_path, row, column, value, message, expected):
    rows = simulated_rows()
    rows[row - 2][HEADER.index(column)] = value
    sheet = _write(tmp_path / "arms.csv", HEADER, rows)
    with pytest.raises(InputError) as info:
        validate_network(_spec(tmp_path), name="sim")
    text = str(info.value)
    assert sheet.as_posix() in text and f"row {row}" in text and f"column '{column}'" in text
    assert message in text and expected in text


def test_unknown_column_is_named(tmp_path):
    header = [*HEADER[:3], "responders", *HEADER[4:]]
    _write(tmp_path / "arms.csv", header, simulated_rows())
    with pytest.raises(InputError, match=r"row 1, column 'responders': unknown column"):
        validate_network(_spec(tmp_path), name="sim")


def test_events_above_n_is_an_error(tmp_path):
    rows = simulated_rows()
    rows[4][HEADER.index("response_events")] = str(int(rows[4][HEADER.index("n")]) + 1)
    _write(tmp_path / "arms.csv", HEADER, rows)
    with pytest.raises(InputError, match=r"row 6, column 'response_events': more events"):
        validate_network(_spec(tmp_path), name="sim")


def test_single_arm_study_is_an_error(tmp_path):
    rows = simulated_rows()
    rows[0][0] = "Lonely"
    _write(tmp_path / "arms.csv", HEADER, rows)
    with pytest.raises(InputError, match=r"row 2, column 'study': a study with a single arm"):
        validate_network(_spec(tmp_path), name="sim")


def test_missing_outcome_column_and_unknown_reference(tmp_path):
    write_simulated_network(tmp_path)
    spec = _spec(tmp_path)
    spec["outcomes"]["remission"] = {"label": "Remission", "measure": "OR", "small_values": "bad"}
    with pytest.raises(InputError, match=r"column 'remission_events'"):
        validate_network(spec, name="sim")
    with pytest.raises(InputError, match=r"reference treatment .*\(got 'Placebo'\)"):
        validate_network(_spec(tmp_path, reference="Placebo"), name="sim")


def test_efficacy_outcome_must_be_configured(tmp_path):
    write_simulated_network(tmp_path)
    with pytest.raises(InputError, match=r"networks.sim.efficacy.*\(got 'remission'\)"):
        validate_network(_spec(tmp_path, efficacy="remission"), name="sim")


def test_missing_cells_leave_arms_out_and_are_logged(tmp_path):
    rows = simulated_rows()
    rows[0][HEADER.index("response_events")] = ""  # Sim01 keeps one arm: the study goes
    sheet = _write(tmp_path / "arms.csv", HEADER, rows)
    arms = load_arms(sheet, outcome="response", measure="OR")
    assert "Sim01" not in set(arms.frame["study"])
    assert any("row 2" in line and "'response_events'" in line for line in arms.log)
    assert any("Study 'Sim01' left out" in line for line in arms.log)
    assert "Sim01" in set(load_arms(sheet, outcome="dropout", measure="OR").frame["study"])


def test_bayes_dropped_only_when_unavailable():
    assert network_models(["FE", "REML", "bayes"], bayes_available=False) == ["FE", "REML"]
    assert network_models(["FE", "bayes"], bayes_available=True) == ["FE", "bayes"]


def test_bayes_is_unavailable_without_numpyro(monkeypatch):
    import importlib.util

    from inflamed.network import bayes_available

    real = importlib.util.find_spec
    assert bayes_available()  # installed here (the pinned environment has NumPyro and JAX)
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numpyro" else real(name, *a)
    )
    assert not bayes_available()


# --- the stage --------------------------------------------------------------------------------


def _run(folder: Path, out: Path) -> dict:
    sheet = write_simulated_network(folder)
    arms = load_arms(sheet, outcome="dropout", measure="OR")
    return run_frequentist(
        arms, out, reference="placebo", small_values="good", models=["FE", "REML"]
    )


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_stage_writes_every_artefact_byte_identically(tmp_path):
    summary = _run(tmp_path / "data", tmp_path / "one")
    _run(tmp_path / "data", tmp_path / "two")
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(NETWORK_FILES.values())
    assert _hashes(tmp_path / "one") == _hashes(tmp_path / "two")
    assert summary["reference"] == "placebo" and summary["studies"] == 11
    assert set(summary["models"]) == {"FE", "REML"}
    stored = json.loads((tmp_path / "one" / "frequentist.json").read_text())
    assert stored["design_decomposition"]["total_df"] == (
        stored["design_decomposition"]["within_df"] + stored["design_decomposition"]["between_df"]
    )
    effects = pd.read_csv(tmp_path / "one" / "effects.csv")
    assert set(effects["model"]) == {"FE", "REML"}
    ref = effects[(effects["treatment"] == "placebo")]
    assert (ref["estimate"] == 0).all()
    log = pd.read_csv(tmp_path / "one" / "data_log.csv")
    assert log["decision"].str.contains("Sim08").any()  # the zero cell's correction
    split = pd.read_csv(tmp_path / "one" / "node_split.csv")
    assert {"direct", "indirect", "pval"} <= set(split.columns)


def test_rankings_sorted_by_reml_pscore_with_sucra(tmp_path):
    pscores = pd.DataFrame(
        {
            "model": ["FE", "FE", "REML", "REML"],
            "treatment": ["a", "b", "a", "b"],
            "pscore": [0.9, 0.1, 0.4, 0.6],
        }
    )
    table = write_rankings(tmp_path / "r.csv", pscores, {"sucra": {"a": 0.3, "b": 0.7}})
    assert list(table["treatment"]) == ["b", "a"]
    assert list(table.columns) == ["treatment", "pscore_FE", "pscore_REML", "sucra"]
    assert pd.read_csv(tmp_path / "r.csv")["sucra"].tolist() == [0.7, 0.3]


# --- the shipped networks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "package", "columns"),
    [
        (
            "linde2015-primary-care",
            "dat.linde2015.csv",
            {"n": "n", "response_events": "resp", "dropout_events": "loss"},
        ),
        (
            "cipriani2009-antidepressants",
            "depression.data.ab.csv",
            {"n": "sampleSize", "response_events": "responders"},
        ),
    ],
)
def test_shipped_sheets_hold_the_package_values(folder, package, columns):
    base = REPO / "data" / "reviews" / folder
    frame, rows = read_network(base / "arms.csv")
    raw = pd.read_csv(base / "package" / package)
    assert len(rows) == len(frame)
    assert frame["source"].str.contains("doi:10.").all()
    for i, location in enumerate(frame["source_location"]):
        line = int(location.split("row ")[1].split(" ")[0])
        record = raw.iloc[line - 2]
        arm = location.split("arm ")[1][0] if "arm " in location else ""
        for sheet_column, package_column in columns.items():
            value = record[f"{package_column}{arm}"]
            got = frame[sheet_column].iloc[i]
            assert (pd.isna(value) and pd.isna(got)) or float(value) == float(got), (folder, i)


def test_shipped_config_networks_validate():
    import yaml

    from inflamed.pipeline.config import load_config

    config = load_config(
        yaml.safe_load((REPO / "config.yaml").read_text()),
        REPO / "workflow" / "schemas" / "config.schema.yaml",
    )
    assert set(config["networks"]) == {"linde2015-primary-care", "cipriani2009-antidepressants"}
    for name, spec in config["networks"].items():
        spec = {**spec, "path": (REPO / spec["path"]).as_posix()}
        validate_network(spec, name=name)


@pytest.mark.mcmc
def test_bayes_stage_writes_its_artefacts_and_flags_short_runs(tmp_path):
    from inflamed.network import bayes_available, run_bayes
    from inflamed.pipeline.layout import NETWORK_BAYES_FILES

    if not bayes_available():
        pytest.skip("the Bayesian engine (NumPyro/JAX) is not installed")
    sheet = write_simulated_network(tmp_path / "data")
    arms = load_arms(sheet, outcome="response", measure="OR")
    settings = {"seed": 1, "chains": 2, "warmup": 150, "draws": 100}
    summary = run_bayes(
        arms, tmp_path / "out", reference="placebo", small_values="bad", settings=settings
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        NETWORK_BAYES_FILES.values()
    )
    ranks = pd.read_csv(tmp_path / "out" / "rank_probabilities.csv")
    assert list(ranks.columns[:2]) == ["treatment", "rank_1"]
    assert ranks.iloc[:, 1:].sum(axis=1).round(9).eq(1).all()
    # 2 x 100 draws cannot reach ESS 400: the run must say so rather than pass silently.
    assert summary["warnings"] and summary["min_ess_bulk"] < 400
    table = write_rankings(
        tmp_path / "rankings.csv",
        pd.DataFrame({"model": "REML", "treatment": list(summary["sucra"]), "pscore": 0.5}),
        summary,
    )
    assert table["sucra"].notna().all()
