"""Tests for inflamed.stats.effect_sizes and inflamed.stats.validation.

Questions answered:

* Does ``escalc`` reproduce metafor 3.8.1 ``escalc()`` (SMD with every vtype, MD, RR, OR, RD
  with every continuity-correction rule and drop00) to 1e-10 relative? (fixtures written by
  ``tests/reference/R/effect_sizes.R``)
* Do the sign and scale properties hold (swapping arms negates, SMD is scale free, vi > 0)?
* Does bad input stop with an error naming the column and the row?
* Are corrections and assumptions recorded in ``derivation``?
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inflamed.errors import InputError
from inflamed.stats.conversions import change_sd_from_prepost
from inflamed.stats.effect_sizes import EffectSizes, escalc, hedges_j
from inflamed.stats.multi_arm import split_shared_control
from inflamed.stats.validation import as_float_array, check_counts, check_positive

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
RTOL = 1e-10


def _num(values: list) -> np.ndarray:
    table = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}
    return np.array([table.get(v, v) if isinstance(v, str) else v for v in values], dtype=float)


def _cases(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())["cases"]


CONT = _cases("effect_sizes_continuous.json")
BIN = _cases("effect_sizes_binary.json")


# --------------------------------------------------------------------------------------------
# metafor reference values
# --------------------------------------------------------------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", CONT, ids=[f"{c['dataset']}-{c['args']['measure']}-{c['args']['vtype']}" for c in CONT]
)
def test_continuous_matches_metafor(case: dict) -> None:
    args = case["args"]
    inputs = {k: _num(v) for k, v in case["inputs"].items()}
    res = escalc(args["measure"], vtype=args["vtype"], **inputs)
    np.testing.assert_allclose(res.yi, _num(case["yi"]), rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.vi, _num(case["vi"]), rtol=RTOL, atol=0)


def _bin_id(c: dict) -> str:
    a = c["args"]
    return f"{c['dataset']}-{a['measure']}-{a['to']}-drop00={a['drop00']}-{a.get('vtype', 'LS')}"


@pytest.mark.reference
@pytest.mark.parametrize("case", BIN, ids=[_bin_id(c) for c in BIN])
def test_binary_matches_metafor(case: dict) -> None:
    args = dict(case["args"])
    measure = args.pop("measure")
    inputs = {k: _num(v) for k, v in case["inputs"].items()}
    res = escalc(measure, **inputs, **args)
    # NaN where metafor gives NA (dropped double-zero studies; zero cells with to="none")
    np.testing.assert_allclose(res.yi, _num(case["yi"]), rtol=RTOL, atol=0, equal_nan=True)
    np.testing.assert_allclose(res.vi, _num(case["vi"]), rtol=RTOL, atol=0, equal_nan=True)


def test_reference_fixtures_cover_what_the_brief_asks() -> None:
    measures = {c["args"]["measure"] for c in CONT} | {c["args"]["measure"] for c in BIN}
    assert measures == {"SMD", "MD", "RR", "OR", "RD"}
    assert {c["args"]["to"] for c in BIN} == {"only0", "all", "if0all", "none"}
    assert len({c["dataset"] for c in CONT}) >= 2
    assert len({c["dataset"] for c in BIN}) >= 3
    # a dataset with zero cells really is among them
    assert any(0 in c["inputs"]["ai"] or 0 in c["inputs"]["ci"] for c in BIN)


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------


def test_hedges_j_exact_and_close_to_the_usual_approximation() -> None:
    # J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)); for m = 2 this is 1/sqrt(pi) * sqrt(pi)/... :
    # Gamma(1) / (1 * Gamma(1/2)) = 1/sqrt(pi)
    assert hedges_j(2.0) == pytest.approx(1 / np.sqrt(np.pi), rel=1e-14)
    m = np.array([10.0, 50.0, 500.0])
    np.testing.assert_allclose(hedges_j(m), 1 - 3 / (4 * m - 1), rtol=1e-3)
    assert np.isnan(hedges_j(1.0))
    # very large m does not overflow (computed on the log scale)
    assert hedges_j(1e7) == pytest.approx(1.0, abs=1e-6)


def test_smd_hand_computed() -> None:
    # one study, computed by hand from the definitions in the docstring
    n1, n2, m1, m2, s1, s2 = 20, 25, 12.0, 10.0, 4.0, 5.0
    sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))
    g = hedges_j(n1 + n2 - 2) * (m1 - m2) / sp
    v = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2))
    res = escalc("SMD", m1i=[m1], sd1i=[s1], n1i=[n1], m2i=[m2], sd2i=[s2], n2i=[n2])
    assert res.yi[0] == pytest.approx(g, rel=1e-12)
    assert res.vi[0] == pytest.approx(v, rel=1e-12)
    assert res.derivation == ("SMD (Hedges g, exact J); vi = 1/n1 + 1/n2 + g^2/(2(n1+n2))",)


def test_binary_accepts_cells_or_arm_sizes_and_they_agree() -> None:
    a = escalc("OR", ai=[4, 0], bi=[16, 20], ci=[8, 3], di=[12, 17])
    b = escalc("OR", ai=[4, 0], n1i=[20, 20], ci=[8, 3], n2i=[20, 20])
    np.testing.assert_array_equal(a.yi, b.yi)
    np.testing.assert_array_equal(a.vi, b.vi)
    with pytest.raises(InputError, match="n1i does not equal ai \\+ bi"):
        escalc("OR", ai=[4], bi=[16], n1i=[21], ci=[8], n2i=[20])


def test_continuity_correction_is_recorded_per_row() -> None:
    res = escalc("RR", ai=[0, 5, 0], n1i=[10, 10, 10], ci=[2, 5, 0], n2i=[10, 10, 10])
    assert "0.5 added to every cell (to='only0')" in res.derivation[0]
    assert "added" not in res.derivation[1]
    assert "0.5 added" in res.derivation[2]  # double zero kept (drop00=False, as escalc)
    dropped = escalc(
        "RR", ai=[0, 5, 0], n1i=[10, 10, 10], ci=[2, 5, 0], n2i=[10, 10, 10], drop00=True
    )
    assert np.isnan(dropped.yi[2]) and np.isnan(dropped.vi[2])
    assert "dropped" in dropped.derivation[2]
    none = escalc("RR", ai=[0, 5], n1i=[10, 10], ci=[2, 5], n2i=[10, 10], to="none")
    assert np.isnan(none.yi[0]) and "not estimable" in none.derivation[0]
    all_ = escalc("OR", ai=[1, 5], n1i=[10, 10], ci=[2, 5], n2i=[10, 10], to="all", add=0.25)
    assert all("0.25 added" in d for d in all_.derivation)


def test_to_frame() -> None:
    res = escalc("MD", m1i=[1, 2], sd1i=[1, 1], n1i=[10, 10], m2i=[0, 0], sd2i=[1, 1], n2i=[10, 10])
    frame = res.to_frame()
    assert list(frame.columns) == ["yi", "vi", "measure", "derivation"]
    assert frame["yi"].tolist() == [1.0, 2.0]
    assert isinstance(res, EffectSizes) and len(res) == 2


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------

means = st.floats(-100, 100, allow_nan=False)
sds = st.floats(0.1, 50, allow_nan=False)
ns = st.integers(2, 500)


@settings(max_examples=60, deadline=None)
@given(m1=means, m2=means, s1=sds, s2=sds, n1=ns, n2=ns, c=st.floats(0.01, 100))
def test_continuous_properties(m1, m2, s1, s2, n1, n2, c) -> None:
    fwd = dict(m1i=[m1], sd1i=[s1], n1i=[n1], m2i=[m2], sd2i=[s2], n2i=[n2])
    rev = dict(m1i=[m2], sd1i=[s2], n1i=[n2], m2i=[m1], sd2i=[s1], n2i=[n1])
    for measure in ("SMD", "MD"):
        a, b = escalc(measure, **fwd), escalc(measure, **rev)
        assert a.yi[0] == pytest.approx(-b.yi[0], rel=1e-12, abs=1e-12)
        assert a.vi[0] == pytest.approx(b.vi[0], rel=1e-12)
        assert a.vi[0] > 0
    scaled = dict(m1i=[c * m1], sd1i=[c * s1], n1i=[n1], m2i=[c * m2], sd2i=[c * s2], n2i=[n2])
    g, gs = escalc("SMD", **fwd), escalc("SMD", **scaled)
    assert gs.yi[0] == pytest.approx(g.yi[0], rel=1e-9, abs=1e-12)
    assert gs.vi[0] == pytest.approx(g.vi[0], rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    n1=st.integers(1, 300),
    n2=st.integers(1, 300),
    f1=st.floats(0, 1),
    f2=st.floats(0, 1),
    to=st.sampled_from(["only0", "all", "if0all"]),
)
def test_binary_swap_negates(n1, n2, f1, f2, to) -> None:
    a1, a2 = round(f1 * n1), round(f2 * n2)
    for measure in ("RR", "OR", "RD"):
        fwd = escalc(measure, ai=[a1], n1i=[n1], ci=[a2], n2i=[n2], to=to)
        rev = escalc(measure, ai=[a2], n1i=[n2], ci=[a1], n2i=[n1], to=to)
        assert fwd.yi[0] == pytest.approx(-rev.yi[0], rel=1e-12, abs=1e-12)
        assert fwd.vi[0] == pytest.approx(rev.vi[0], rel=1e-12, abs=1e-15)
        if measure != "RD":
            assert fwd.vi[0] > 0


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------

GOOD = dict(
    m1i=[1.0, 2.0], sd1i=[1.0, 1.0], n1i=[10, 10], m2i=[0.0, 0.0], sd2i=[1.0, 1.0], n2i=[10, 10]
)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("sd1i", [1.0, -1.0], "must not be negative"),
        ("n2i", [10, 0], "must be positive"),
        ("n1i", [-3, 10], "must be positive"),
        ("m2i", [0.0, None], "missing"),
        ("m1i", [1.0, float("nan")], "missing"),
        ("sd2i", ["a", 1.0], "not a number"),
    ],
)
def test_bad_continuous_input_names_column_and_row(column, values, message) -> None:
    bad_pos = next(i for i, v in enumerate(values) if v != GOOD[column][i] or v is None)
    args = {**GOOD, column: values}
    with pytest.raises(InputError, match=message) as info:
        escalc("SMD", **args, row_offset=2)
    err = info.value
    assert err.column == column
    assert err.row == bad_pos + 2
    assert f"row {bad_pos + 2}" in str(err) and f"'{column}'" in str(err)
    # without a row offset the message gives the 0-based element instead
    with pytest.raises(InputError, match=f"element {bad_pos} \\(0-based\\)") as info:
        escalc("SMD", **args)
    assert info.value.row is None


@pytest.mark.parametrize(
    ("kwargs", "column", "row", "message"),
    [
        (
            dict(ai=[3, 12], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]),
            "ai",
            3,
            "more events than participants",
        ),
        (dict(ai=[3, 2], n1i=[10, 10], ci=[1.5, 2], n2i=[10, 10]), "ci", 2, "whole number"),
        (dict(ai=[3, 2], n1i=[10, 10.5], ci=[1, 2], n2i=[10, 10]), "n1i", 3, "whole number"),
        (dict(ai=[3, -1], n1i=[10, 10], ci=[1, 2], n2i=[10, 10]), "ai", 3, "negative"),
        (dict(ai=[3, 2], n1i=[10, 10], ci=[1, None], n2i=[10, 10]), "ci", 3, "missing"),
        (dict(ai=[3, 0], n1i=[10, 0], ci=[1, 2], n2i=[10, 10]), "n1i", 3, "must be positive"),
    ],
)
def test_bad_binary_input_names_column_and_row(kwargs, column, row, message) -> None:
    with pytest.raises(InputError, match=message) as info:
        escalc("OR", **kwargs, row_offset=2)
    assert info.value.column == column
    assert info.value.row == row


def test_other_bad_arguments() -> None:
    with pytest.raises(InputError, match="unknown effect-size measure"):
        escalc("ROM", m1i=[1], sd1i=[1], n1i=[2], m2i=[1], sd2i=[1], n2i=[2])
    with pytest.raises(InputError, match="missing: sd2i"):
        escalc("SMD", m1i=[1], sd1i=[1], n1i=[5], m2i=[1], n2i=[5])
    with pytest.raises(InputError, match="different lengths"):
        escalc("MD", m1i=[1, 2], sd1i=[1], n1i=[5], m2i=[1], sd2i=[1], n2i=[5])
    with pytest.raises(InputError, match="unknown continuity-correction rule"):
        escalc("RR", ai=[1], n1i=[5], ci=[1], n2i=[5], to="sometimes")
    with pytest.raises(InputError, match="both SDs are zero"):
        escalc("SMD", m1i=[1], sd1i=[0], n1i=[5], m2i=[0], sd2i=[0], n2i=[5])
    with pytest.raises(InputError, match="too few participants"):
        escalc("SMD", m1i=[1], sd1i=[1], n1i=[1], m2i=[0], sd2i=[1], n2i=[2])
    with pytest.raises(InputError, match="needs either bi"):
        escalc("RR", ai=[1], ci=[1], n2i=[5])


def test_validation_helpers_directly() -> None:
    arr = as_float_array("x", [1, "2.5", None], allow_missing=True)
    assert arr[1] == 2.5 and np.isnan(arr[2])
    with pytest.raises(InputError, match="infinite"):
        as_float_array("x", [1, float("inf")])
    with pytest.raises(InputError) as info:
        check_positive("vi", np.array([0.1, 0.0]), row_offset=2)
    assert info.value.row == 3 and info.value.column == "vi"
    check_counts("e", np.array([0.0, 5.0]), "n", np.array([5.0, 5.0]))


# --------------------------------------------------------------------------------------------
# extraction helpers
# --------------------------------------------------------------------------------------------


def test_change_sd_from_prepost_records_assumption() -> None:
    res = change_sd_from_prepost(10.0, 10.0)
    assert res.value == pytest.approx(10.0)  # r = 0.5, equal SDs: sqrt(100 + 100 - 100)
    assert "pre-post r = 0.5 assumed" in res.derivation
    assert "6.5.2.8" in res.reference
    assert change_sd_from_prepost(3.0, 4.0, r=0.0).value == pytest.approx(5.0)
    arr = change_sd_from_prepost([3.0, 6.0], [4.0, 8.0], r=0.0)
    np.testing.assert_allclose(arr.value, [5.0, 10.0])
    with pytest.raises(InputError, match="correlation"):
        change_sd_from_prepost(1.0, 1.0, r=1.5)
    with pytest.raises(InputError) as info:
        change_sd_from_prepost([1.0, -1.0], [1.0, 1.0], row_offset=2)
    assert info.value.column == "sd_pre" and info.value.row == 3


def test_split_shared_control() -> None:
    res = split_shared_control(n_ctrl=61, n_comparisons=3, events_ctrl=8)
    assert res.n == (21, 20, 20)
    assert res.events == (3, 3, 2)
    assert sum(res.n) == 61 and sum(res.events) == 8
    assert "23.3.4" in res.derivation
    cont = split_shared_control(40, 2)
    assert cont.n == (20, 20) and cont.events is None
    with pytest.raises(InputError):
        split_shared_control(40, 1)
    with pytest.raises(InputError):
        split_shared_control(40, 2, events_ctrl=41)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 2000), k=st.integers(2, 6), f=st.floats(0, 1))
def test_split_shared_control_never_double_counts(n, k, f) -> None:
    if n < k:
        return
    e = round(f * n)
    res = split_shared_control(n, k, events_ctrl=e)
    assert sum(res.n) == n and sum(res.events) == e
    assert max(res.n) - min(res.n) <= 1
    assert all(0 <= ei <= ni for ei, ni in zip(res.events, res.n, strict=True))
