"""Regression tests for the command line (issue 12, parts 4 and 6, and the CLI cases of part 7).

Each test is one case of the fuzzing report: a bad input or fault that once gave a traceback, a
silent wrong number or an overwritten input, now one line naming file, row and column (or
metafor's missing-value behaviour: escalc's NA, rma's omitted rows). All data are simulated
(invented numbers).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inflamed.cli import main
from inflamed.errors import InputError
from inflamed.io import read_table
from inflamed.stats.effect_sizes import escalc
from inflamed.stats.pooling import rma

# Simulated two-arm trials (invented numbers): treatment scores lower = better.
TRIALS = pd.DataFrame(
    {
        "study": ["S1", "S2", "S3", "S4", "S5", "S6"],
        "m_t": [12.1, 14.0, 10.5, 13.2, 11.8, 12.9],
        "sd_t": [5.0, 6.1, 4.8, 5.5, 5.2, 6.0],
        "n_t": [30, 42, 25, 60, 33, 48],
        "m_c": [14.3, 15.2, 13.0, 15.1, 13.5, 14.8],
        "sd_c": [5.2, 5.9, 5.1, 5.8, 5.0, 6.2],
        "n_c": [31, 40, 27, 58, 35, 47],
    }
)
SMD_ARGS = [
    "--measure", "SMD", "--m1i", "m_t", "--sd1i", "sd_t", "--n1i", "n_t",
    "--m2i", "m_c", "--sd2i", "sd_c", "--n2i", "n_c",
]  # fmt: skip


def _trials_csv(tmp_path: Path, frame: pd.DataFrame = TRIALS, name: str = "trials.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def _effects(tmp_path: Path) -> Path:
    es = escalc(
        "SMD",
        m1i=TRIALS.m_t, sd1i=TRIALS.sd_t, n1i=TRIALS.n_t,
        m2i=TRIALS.m_c, sd2i=TRIALS.sd_c, n2i=TRIALS.n_c,
    )  # fmt: skip
    return _trials_csv(tmp_path, TRIALS.assign(yi=es.yi, vi=es.vi), "effects.csv")


def _one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("inflamed: warning")]
    assert len(lines) == 1 and lines[0].startswith("inflamed: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- part 7: a trailing comma must never shift the columns -------------------------------------


def test_trailing_comma_on_first_data_row_is_refused_not_shifted(tmp_path, capsys):
    """Fuzz case: 'A trailing comma on the first data row (Excel and R exports)': pandas read
    column 1 as the index, every column shifted, and pool reported -0.0086 instead of -0.404."""
    lines = _effects(tmp_path).read_text().splitlines()
    lines[1] += ","
    bad = tmp_path / "trailing.csv"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["effects", str(bad), *SMD_ARGS]) == 2
    _one_line_error(capsys, f"file {bad}", "row 2", "trailing ','")
    assert main(["pool", str(bad), "--yi", "yi", "--vi", "vi", "--json"]) == 2
    _one_line_error(capsys, "row 2", "trailing")
    assert capsys.readouterr().out == ""  # no number at all, rather than a wrong one


def test_trailing_delimiter_on_the_header_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,\n1,2,\n")
    with pytest.raises(InputError, match="header cell without a name") as info:
        read_table(path)
    assert info.value.row == 1


# --- part 6: one-line errors, never a traceback ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "the file is empty"),
        ("\n\n\n", "the file is empty"),
        ('study,yi,vi\nS1,"0.1,0.02\nS2,0.2,0.03\n', "unbalanced or stray quote"),
        ("study,yi,yi\nS1,0.1,0.02\n", "appears twice"),
        ("study;yi;vi\nS1;0,1;0,02\n", "seems to be ';'-separated"),
        ("study,yi,vi\nS1,0.1\n", "the row has 2 cells but the header has 3"),
        ("study,yi,vi\nS1,0.1,1e308\n", "not a finite number of plausible size"),
        ("study,yi,vi\nS1,0.1,inf\n", "text in a number column"),
    ],
    ids=[
        "empty",
        "newlines-only",
        "unbalanced-quote",
        "duplicated-header",
        "semicolons",
        "ragged-row",
        "1e308",
        "inf",
    ],
)
def test_bad_files_give_one_line_and_exit_2(tmp_path, capsys, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["pool", str(path), "--yi", "yi", "--vi", "vi"]) == 2
    _one_line_error(capsys, f"file {path}", words)


def test_duplicated_header_is_never_renamed(tmp_path, capsys):
    """Fuzz case: a repeated 'm_t' column was silently read as 'm_t' and 'm_t.1'."""
    path = tmp_path / "dup.csv"
    path.write_text("study,m_t,sd_t,n_t,m_t,sd_c,n_c\nS1,12,5,30,14,5,31\n")
    args = [a if a != "m_c" else "m_t.1" for a in SMD_ARGS]
    assert main(["effects", str(path), *args]) == 2
    _one_line_error(capsys, "row 1", "column 'm_t'", "appears twice")


def test_console_never_shows_a_traceback(tmp_path):
    """The installed command on bad inputs: one line on stderr, exit 2 (subprocess, as a user)."""
    cases = {
        "empty.csv": "",
        "newline.csv": "\n",
        "quote.csv": 'a,yi,vi\n"x,1,2\n',
        "comma.csv": "study,yi,vi\nS1,0.1,0.02,\n",
    }
    runs = [["pool", str(tmp_path / n), "--yi", "yi", "--vi", "vi"] for n in cases]
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    ok = _effects(tmp_path)
    runs += [
        ["pool", str(ok), "--method", "MH"],
        ["pool", str(ok), "--method", "PETO", "--ai", "n_t"],
        ["pool", str(tmp_path), "--yi", "yi", "--vi", "vi"],
        ["effects", str(ok), *SMD_ARGS, "-o", str(tmp_path)],
        ["effects", str(ok), *SMD_ARGS, "-o", str(ok)],
        ["pool", str(tmp_path / "absent.csv"), "--yi", "yi", "--vi", "vi"],
    ]
    for args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "inflamed.cli", *args], capture_output=True, text=True
        )
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("inflamed: ")


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_mh_and_peto_without_their_columns_name_the_missing_options(tmp_path, capsys, method):
    """Fuzz case: '--method MH|PETO without --ai' raised KeyError with a traceback."""
    path = _effects(tmp_path)
    assert main(["pool", str(path), "--method", method, "--n1i", "n_t"]) == 2
    _one_line_error(capsys, f"--method {method} needs", "--ai", "--ci", "--n2i")


def test_output_that_resolves_to_the_input_is_refused(tmp_path, capsys):
    """Fuzz case: '-o equal to the input path overwrites the input'."""
    path = _trials_csv(tmp_path)
    before = path.read_bytes()
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(path)
    for out in (str(path), str(tmp_path / "sub" / ".." / "trials.csv"), str(link)):
        assert main(["effects", str(path), *SMD_ARGS, "-o", out]) == 2
        _one_line_error(capsys, "the output would overwrite the input")
    assert path.read_bytes() == before


def test_folder_as_input_or_output(tmp_path, capsys):
    path = _trials_csv(tmp_path)
    assert main(["effects", str(tmp_path), *SMD_ARGS]) == 2
    _one_line_error(capsys, "a folder where a file is expected")
    assert main(["effects", str(path), *SMD_ARGS, "-o", str(tmp_path)]) == 2
    _one_line_error(capsys, "the output is a folder")


def test_value_errors_name_the_users_column_and_the_escalc_role(tmp_path, capsys):
    """Fuzz case: errors named the escalc argument ('sd1i') instead of the file's 'sd_t'."""
    frame = TRIALS.astype({"sd_t": float}).copy()
    frame.loc[3, "sd_t"] = -5.5
    path = _trials_csv(tmp_path, frame)
    assert main(["effects", str(path), *SMD_ARGS]) == 2
    _one_line_error(capsys, f"file {path}", "row 5", "column 'sd_t (sd1i)'")


def test_errors_after_omitted_rows_still_name_the_files_row(tmp_path, capsys):
    frame = TRIALS.astype({"sd_t": float, "n_c": float}).copy()
    frame.loc[1, "m_t"] = np.nan  # row 3 is left out ...
    frame.loc[4, "n_c"] = (
        0  # ... so the bad n is the 4th row given to escalc, but row 6 of the file
    )
    path = _trials_csv(tmp_path, frame)
    assert main(["effects", str(path), *SMD_ARGS]) == 2
    _one_line_error(capsys, "row 6", "column 'n_c (n2i)'")


# --- part 6/7: number conventions -------------------------------------------------------------


def test_thousands_separator_is_ambiguous_unless_declared(tmp_path, capsys):
    frame = TRIALS.astype(str).copy()
    frame.loc[3, "n_t"] = "1,060"
    path = _trials_csv(tmp_path, frame)
    assert main(["effects", str(path), *SMD_ARGS]) == 2
    _one_line_error(capsys, "row 5", "column 'n_t (n1i)'", "ambiguous", "--thousands")
    assert main(["effects", str(path), *SMD_ARGS, "--thousands", ","]) == 0
    out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    expected = escalc(
        "SMD", m1i=TRIALS.m_t, sd1i=TRIALS.sd_t, n1i=TRIALS.n_t.replace(60, 1060),
        m2i=TRIALS.m_c, sd2i=TRIALS.sd_c, n2i=TRIALS.n_c,
    )  # fmt: skip
    np.testing.assert_allclose(out["yi"], expected.yi, rtol=1e-11)


def test_decimal_comma_is_an_error_unless_declared(tmp_path, capsys):
    frame = TRIALS.astype(str).copy()
    for column in ("m_t", "sd_t", "m_c", "sd_c"):
        frame[column] = frame[column].str.replace(".", ",", regex=False)
    path = _trials_csv(tmp_path, frame)  # pandas quotes "12,1"
    assert main(["effects", str(path), *SMD_ARGS]) == 2
    _one_line_error(capsys, "row 2", "column 'm_t (m1i)'", "decimal comma", "--decimal")
    assert main(["effects", str(path), *SMD_ARGS, "--decimal", ","]) == 0
    out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert out["m_t"].tolist() == frame["m_t"].tolist()  # the input's cells are kept as written
    expected = escalc(
        "SMD", m1i=TRIALS.m_t, sd1i=TRIALS.sd_t, n1i=TRIALS.n_t,
        m2i=TRIALS.m_c, sd2i=TRIALS.sd_c, n2i=TRIALS.n_c,
    )  # fmt: skip
    np.testing.assert_allclose(out["yi"], expected.yi, rtol=1e-11)


# --- part 4: metafor's missing-value behaviour ------------------------------------------------


def test_effects_leaves_yi_vi_empty_for_rows_with_a_missing_value(tmp_path, capsys):
    """Fuzz case: 'effects stops at the first row with a missing input'; escalc gives NA."""
    frame = TRIALS.astype(object).copy()
    frame.loc[1, "sd_c"] = ""
    frame.loc[4, "n_t"] = "NA"
    path = _trials_csv(tmp_path, frame)
    out_path = tmp_path / "es.csv"
    assert main(["effects", str(path), *SMD_ARGS, "-o", str(out_path)]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "row 3 (sd_c (sd2i))" in err and "row 6 (n_t (n1i))" in err
    out = pd.read_csv(out_path)
    assert out["yi"].isna().tolist() == [False, True, False, False, True, False]
    keep = [0, 2, 3, 5]
    es = escalc(
        "SMD",
        m1i=TRIALS.m_t[keep], sd1i=TRIALS.sd_t[keep], n1i=TRIALS.n_t[keep],
        m2i=TRIALS.m_c[keep], sd2i=TRIALS.sd_c[keep], n2i=TRIALS.n_c[keep],
    )  # fmt: skip
    np.testing.assert_allclose(out["yi"].dropna(), es.yi, rtol=1e-11)
    np.testing.assert_allclose(out["vi"].dropna(), es.vi, rtol=1e-11)


def test_pool_omits_rows_with_missing_yi_or_vi_and_says_so(tmp_path, capsys):
    """As metafor's rma: rows with NA are omitted with a warning; k counts the rows used."""
    frame = pd.read_csv(_effects(tmp_path))
    frame.loc[2, "yi"] = np.nan
    frame.loc[5, "vi"] = np.nan
    path = _trials_csv(tmp_path, frame, "gaps.csv")
    assert main(["pool", str(path), "--yi", "yi", "--vi", "vi", "--json"]) == 0
    captured = capsys.readouterr()
    assert "row 4 (yi)" in captured.err and "row 7 (vi)" in captured.err
    out = json.loads(captured.out)
    assert out["k"] == 4 and out["k_omitted"] == 2 and out["omitted_rows"] == [4, 7]
    keep = frame.drop(index=[2, 5])
    fit = rma(keep.yi.to_numpy(), keep.vi.to_numpy(), method="REML", test="knha")
    assert math.isclose(out["estimate"], fit.estimate, rel_tol=1e-10)


def test_pool_with_no_complete_row_is_an_error(tmp_path, capsys):
    path = tmp_path / "none.csv"
    path.write_text("study,yi,vi\nS1,,0.1\nS2,0.2,\n")
    assert main(["pool", str(path), "--yi", "yi", "--vi", "vi"]) == 2
    _one_line_error(capsys, "no row has every value")


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [("n_c", 0, "n2i"), ("sd_t", -1.0, "sd1i")],
)
def test_present_but_impossible_values_stay_errors(tmp_path, capsys, column, value, words):
    frame = TRIALS.drop(columns="study").astype(float).assign(study=TRIALS.study)
    frame.loc[2, column] = value
    path = _trials_csv(tmp_path, frame)
    assert main(["effects", str(path), *SMD_ARGS]) == 2
    _one_line_error(capsys, "row 4", f"column '{column} ({words})'")


def test_non_positive_variance_stays_an_error(tmp_path, capsys):
    path = tmp_path / "v.csv"
    path.write_text("study,yi,vi\nS1,0.1,0.02\nS2,0.3,-0.01\nS3,0.2,0.03\n")
    assert main(["pool", str(path), "--yi", "yi", "--vi", "vi"]) == 2
    _one_line_error(capsys, "row 3", "column 'vi'")


# --- part 6: missing option combinations ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["effects", "{csv}", "--measure", "SMD", "--m1i", "m_t"], "missing: --sd1i"),
        (["effects", "{csv}", "--measure", "RR", "--ai", "n_t"], "missing: --ci, --n1i, --n2i"),
        (["pool", "{csv}", "--method", "MH", "--ai", "n_t", "--n1i", "n_t", "--ci", "n_c",
          "--n2i", "n_c", "--mods", "sd_t"], "--mods cannot be used with --method MH"),
        (["pool", "{csv}", "--yi", "yi", "--vi", "vi", "--level", "150"], "between 0 and 100"),
        (["pool"], "required: csv"),
        (["pol", "{csv}"], "invalid choice: 'pol'"),
    ],
    ids=["smd-options", "rr-options", "mh-with-mods", "level", "no-file", "unknown-command"],
)  # fmt: skip
def test_missing_option_combinations_are_one_line(tmp_path, capsys, args, words):
    csv_path = str(_effects(tmp_path))
    try:
        code = main([a.replace("{csv}", csv_path) for a in args])
    except SystemExit as exit_:  # argparse's own errors exit from inside main
        code = exit_.code
    assert code == 2
    _one_line_error(capsys, words)


def test_version_imports_no_numerical_library():
    """`inflamed --version` stays fast: only the chosen subcommand imports NumPy, pandas, SciPy
    (a structural check, not a timing one)."""
    code = (
        "import sys\n"
        "from inflamed.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
