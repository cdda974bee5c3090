"""The `inflamed` command line: metafor's names in, the documented JSON out, clear errors."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from inflamed import __version__
from inflamed.cli import main
from inflamed.stats.effect_sizes import escalc
from inflamed.stats.pooling import rma

# BCG vaccine trials (Colditz et al. 1994, JAMA 271:698, Table 1), as in metafor's dat.bcg:
# tpos/tneg = TB cases/non-cases among vaccinated, cpos/cneg among controls.
BCG = pd.DataFrame(
    {
        "trial": range(1, 14),
        "tpos": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
        "tneg": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
        "cpos": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
        "cneg": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
        "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
    }
)


@pytest.fixture()
def bcg_csv(tmp_path):
    frame = BCG.assign(n1=BCG.tpos + BCG.tneg, n2=BCG.cpos + BCG.cneg)
    path = tmp_path / "bcg.csv"
    frame.to_csv(path, index=False)
    return path


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_effects_then_pool_matches_the_library(bcg_csv, tmp_path, capsys):
    out = tmp_path / "es.csv"
    assert (
        main(
            [
                "effects",
                str(bcg_csv),
                "--measure",
                "RR",
                "--ai",
                "tpos",
                "--n1i",
                "n1",
                "--ci",
                "cpos",
                "--n2i",
                "n2",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    es = pd.read_csv(out)
    expected = escalc("RR", ai=BCG.tpos, bi=BCG.tneg, ci=BCG.cpos, di=BCG.cneg)
    assert es["yi"].to_numpy() == pytest.approx(expected.yi, rel=1e-10)
    assert (
        main(
            [
                "pool",
                str(out),
                "--yi",
                "yi",
                "--vi",
                "vi",
                "--method",
                "REML",
                "--test",
                "z",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    fit = rma(expected.yi, expected.vi, method="REML", test="z")
    for key in [
        "k",
        "estimate",
        "se",
        "ci_lb",
        "ci_ub",
        "pval",
        "tau2",
        "i2",
        "h2",
        "q",
        "q_pval",
        "pi_lb",
        "pi_ub",
    ]:
        assert key in result
    assert result["estimate"] == pytest.approx(fit.estimate, rel=1e-10)
    # metafor: rma(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg) gives
    # estimate -0.7145 and tau^2 0.3132 (metafor documentation, dat.bcg example)
    assert result["estimate"] == pytest.approx(-0.7145, abs=5e-5)
    assert result["tau2"] == pytest.approx(0.3132, abs=5e-5)


def test_pool_with_moderators_reports_coefficients(bcg_csv, tmp_path, capsys):
    out = tmp_path / "es.csv"
    main(
        [
            "effects",
            str(bcg_csv),
            "--measure",
            "RR",
            "--ai",
            "tpos",
            "--n1i",
            "n1",
            "--ci",
            "cpos",
            "--n2i",
            "n2",
            "-o",
            str(out),
        ]
    )
    assert main(["pool", str(out), "--yi", "yi", "--vi", "vi", "--mods", "ablat", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in result["coefficients"]] == ["intrcpt", "ablat"]
    assert {"qm", "qm_pval"} <= set(result)


def test_mantel_haenszel(bcg_csv, capsys):
    assert (
        main(
            [
                "pool",
                str(bcg_csv),
                "--measure",
                "RR",
                "--method",
                "MH",
                "--ai",
                "tpos",
                "--n1i",
                "n1",
                "--ci",
                "cpos",
                "--n2i",
                "n2",
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["k"] == 13


def test_bad_input_names_file_row_and_column(bcg_csv, tmp_path, capsys):
    frame = pd.read_csv(bcg_csv)
    frame["tpos"] = frame["tpos"].astype(object)
    frame.loc[2, "tpos"] = "four"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    code = main(
        [
            "effects",
            str(bad),
            "--measure",
            "RR",
            "--ai",
            "tpos",
            "--n1i",
            "n1",
            "--ci",
            "cpos",
            "--n2i",
            "n2",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert (
        f"file {bad}" in err and "row 4" in err and "column 'tpos (ai)'" in err and "'four'" in err
    )
    assert main(["pool", str(bcg_csv), "--yi", "nope", "--vi", "n1"]) == 2
    assert "no column named 'nope'" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "inflamed.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and __version__ in result.stdout
