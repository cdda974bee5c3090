"""`inflamed network`: the documented JSON keys, the library's numbers, one-line errors (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest

from inflamed.cli import main
from inflamed.stats.network import nma, pairwise
from network_data import NETWORKS, cipriani2009

CIPRIANI = str(NETWORKS / "cipriani2009.csv")
ARGS = [
    "network",
    CIPRIANI,
    "--study",
    "study",
    "--treatment",
    "treatment",
    "--events",
    "responders",
    "--n",
    "sampleSize",
    "--measure",
    "OR",
    "--reference",
    "fluoxetine",
]
KEYS = {"reference", "treatments", "effects", "tau2", "q", "q_df", "q_pval", "q_het"}
KEYS |= {"q_het_df", "q_inc", "q_inc_df", "pscores"}


def _run(capsys, *extra: str) -> tuple[int, dict | None, str]:
    code = main([*ARGS, *extra])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_json_has_the_contract_keys_and_the_library_numbers(capsys, method):
    code, out, _ = _run(capsys, "--method", method, "--small-values", "bad", "--json")
    assert code == 0
    assert KEYS <= set(out)
    arms = cipriani2009()
    fit = nma(
        pairwise(arms.study, arms.treatment, measure="OR", events=arms.events, n=arms.n),
        reference="fluoxetine",
        method=method,
        small_values="bad",
    )
    assert out["reference"] == "fluoxetine"
    assert out["treatments"] == list(fit.treatments)
    assert [e["treatment"] for e in out["effects"]] == [
        t for t in fit.treatments if t != "fluoxetine"
    ]
    for effect in out["effects"]:
        assert set(effect) == {"treatment", "estimate", "se", "ci_lb", "ci_ub"}
        i = fit.treatments.index(effect["treatment"])
        assert effect["estimate"] == pytest.approx(fit.estimate[i], abs=1e-10)
        assert effect["se"] == pytest.approx(fit.se[i], abs=1e-10)
        assert effect["ci_lb"] == pytest.approx(fit.ci_lb[i], abs=1e-10)
    assert out["tau2"] == pytest.approx(fit.tau2, abs=1e-12)
    assert (out["q"], out["q_df"]) == (pytest.approx(fit.q, rel=1e-10), fit.q_df)
    assert (out["q_het_df"], out["q_inc_df"]) == (fit.q_het_df, fit.q_inc_df)
    assert out["pscores"] == pytest.approx(dict(fit.pscores), abs=1e-10)
    assert max(out["pscores"], key=out["pscores"].get) == "mirtazapine"


def test_text_output_ranks_the_treatments(capsys):
    assert main([*ARGS, "--method", "FE", "--small-values", "bad"]) == 0
    out = capsys.readouterr().out
    assert "Q = " in out and "ranking (P-score / SUCRA): mirtazapine" in out


def _write(tmp_path, rows: list[tuple]) -> str:
    path = tmp_path / "arms.csv"
    pd.DataFrame(rows, columns=["trial", "drug", "resp", "total"]).to_csv(path, index=False)
    return str(path)


def _bad(tmp_path, capsys, rows, *extra, reference="A") -> str:
    path = _write(tmp_path, rows)
    code = main(
        [
            "network",
            path,
            "--study",
            "trial",
            "--treatment",
            "drug",
            "--events",
            "resp",
            "--n",
            "total",
            "--measure",
            "OR",
            "--reference",
            reference,
            "--json",
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("inflamed: file ") and err.count("\n") == 1
    return err


GOOD = [("1", "A", 3, 20), ("1", "B", 5, 21), ("2", "B", 4, 30), ("2", "C", 9, 31)]


def test_unknown_reference(tmp_path, capsys):
    err = _bad(tmp_path, capsys, GOOD, reference="Z")
    assert "column 'drug'" in err and "unknown reference" in err and "A, B, C" in err


def test_one_arm_study_names_its_row(tmp_path, capsys):
    err = _bad(tmp_path, capsys, [*GOOD, ("3", "C", 2, 10)])
    assert "row 6" in err and "column 'trial'" in err and "one arm" in err


def test_events_above_n_names_row_and_column(tmp_path, capsys):
    rows = [*GOOD]
    rows[2] = ("2", "B", 40, 30)
    err = _bad(tmp_path, capsys, rows)
    assert "row 4" in err and "column 'resp'" in err and "more events than participants" in err


def test_disconnected_network_names_the_sub_networks(tmp_path, capsys):
    err = _bad(tmp_path, capsys, [*GOOD, ("3", "D", 2, 10), ("3", "E", 3, 10)])
    assert "disconnected" in err and "{A, B, C}; {D, E}" in err


def test_missing_treatment_label_names_its_row(tmp_path, capsys):
    rows = [*GOOD]
    rows[1] = ("1", "", 5, 21)
    err = _bad(tmp_path, capsys, rows)
    assert "row 3" in err and "column 'drug'" in err


def test_unknown_column(tmp_path, capsys):
    path = _write(tmp_path, GOOD)
    code = main(
        [
            *["network", path, "--study", "trial", "--treatment", "drug", "--events", "events"],
            *["--n", "total", "--measure", "OR", "--reference", "A", "--json"],
        ]
    )
    assert code == 2
    assert "no column named 'events'" in capsys.readouterr().err


def test_error_from_the_shell_has_no_traceback(tmp_path):
    path = _write(tmp_path, [*GOOD, ("3", "C", 2, 10)])
    proc = subprocess.run(
        [
            *[sys.executable, "-m", "inflamed.cli", "network", path, "--study", "trial"],
            *["--treatment", "drug", "--events", "resp", "--n", "total", "--measure", "OR"],
            *["--reference", "A", "--json"],
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("inflamed: file ")


def test_bayes_method_passes_through_with_null_q(monkeypatch, capsys):
    calls = {}

    class FakeResult:
        def to_dict(self):
            return {
                "reference": "fluoxetine",
                "treatments": ["a"],
                "effects": [],
                "tau2": 0.01,
                "tau": 0.1,
                "pscores": {"a": 0.5},
            }

    def nma_bayes(study, treatment, **kwargs):
        calls.update(kwargs, k=len(study))
        return FakeResult()

    fake = types.ModuleType("inflamed.stats.network.bayes")
    fake.nma_bayes = nma_bayes
    monkeypatch.setitem(sys.modules, "inflamed.stats.network.bayes", fake)
    code, out, _ = _run(capsys, "--method", "bayes", "--seed", "7", "--json")
    assert code == 0
    assert calls["seed"] == 7 and calls["k"] == 224 and calls["measure"] == "OR"
    assert np.asarray(calls["events"]).shape == (224,)
    assert KEYS <= set(out) and out["q"] is None and out["q_inc_df"] is None
