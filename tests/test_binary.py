"""Tests for inflamed.stats.binary (Mantel-Haenszel and Peto).

Questions answered:

* Do ``rma_mh`` (OR, RR, RD; with and without the CMH continuity correction; with both
  correction stages set) and ``rma_peto`` reproduce metafor 3.8.1 to 1e-10 relative on
  dat.bcg, dat.nielweise2007 (zero cells, one double-zero study), dat.yusuf1985 table 9 (many
  double-zero studies) and a k = 2 subset? (fixtures: ``tests/reference/R/effect_sizes.R``)
* Do the rare-event cases (a lone 0/30 vs 0/30 trial, two double-zero trials, a mixed set) match
  metafor for the MH risk difference with and without the 0.5 correction, and for Peto, where
  metafor stops (no events anywhere) is inflamed's estimate NaN with a reason?
  (fixture: ``tests/reference/R/rare_events.R``)
* Are the pooled estimates invariant to study order, and do they change sign when the arms swap?
* Do bad input and degenerate data stop with a clear error?
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inflamed.errors import InputError
from inflamed.stats.binary import MHResult, PetoResult, rma_mh, rma_peto

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
CASES = [
    case
    for name in ("binary_mh_peto.json", "binary_rare_events.json")
    for case in json.loads((FIXTURES / name).read_text())["cases"]
]
RTOL = 1e-10


def _num(value):
    table = {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}
    if isinstance(value, list):
        return np.array([table.get(v, v) if isinstance(v, str) else v for v in value], dtype=float)
    return table.get(value, value) if isinstance(value, str) else float(value)


def _kwargs(extra: str) -> dict:
    """Translate the R call's extra arguments (recorded in the fixture) into Python ones."""
    kw: dict = {}
    if "correct = FALSE" in extra:
        kw["correct"] = False
    if 'to = c("only0", "only0")' in extra:
        kw["add"] = (0.5, 0.5)
        kw["to"] = ("only0", "only0")
    if "drop00 = c(TRUE, TRUE)" in extra:
        kw["drop00"] = (True, True)
    known = (
        "correct = FALSE",
        'add = c(1/2, 1/2), to = c("only0", "only0")',
        "drop00 = c(TRUE, TRUE)",
    )
    rest = extra
    for k in known:
        rest = rest.replace(k, "")
    assert rest.strip(" ,") == "", f"untranslated R arguments: {extra!r}"
    return kw


def _run(case: dict) -> dict:
    inp = {k: _num(v) for k, v in case["inputs"].items()}
    kw = _kwargs(case["extra"])
    if case["fun"] == "rma.mh":
        return rma_mh(
            inp["ai"], inp["n1i"], inp["ci"], inp["n2i"], measure=case["measure"], **kw
        ).to_dict()
    return rma_peto(inp["ai"], inp["n1i"], inp["ci"], inp["n2i"], **kw).to_dict()


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['dataset']}-{c['fun']}-{c['measure']}{c['extra']}" for c in CASES]
)
def test_matches_metafor(case: dict) -> None:
    got = _run(case)
    if "error" in case["result"]:  # metafor stops; inflamed says why and gives no number
        assert got["reason"] and np.isnan(got["estimate"]), case["result"]["error"]
        return
    for key, ref in case["result"].items():
        ref = _num(ref)
        value = got[key]
        if value is None:
            assert np.isnan(ref), key
            continue
        if np.isnan(ref):
            assert np.isnan(value), f"{key}: metafor NA, inflamed {value}"
        elif key in ("k", "k_yi", "k_pos"):
            assert value == ref, key
        else:
            assert value == pytest.approx(ref, rel=RTOL, abs=1e-300), key


def test_fixture_coverage() -> None:
    assert {c["measure"] for c in CASES} == {"OR", "RR", "RD", "PETO"}
    assert {c["dataset"] for c in CASES} >= {
        "dat.bcg",
        "dat.nielweise2007",
        "dat.yusuf1985",
        "dat.bcg (k = 2)",
    }
    assert any(c["result"]["k"] == 2 for c in CASES)
    assert any(c["result"]["k_yi"] < c["result"]["k"] for c in CASES)  # double zeros in play


def test_to_dict_keys() -> None:
    res = rma_mh([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 220], measure="RR")
    keys = set(res.to_dict())
    assert {
        "k",
        "estimate",
        "se",
        "ci_lb",
        "ci_ub",
        "zval",
        "pval",
        "q",
        "q_df",
        "q_pval",
        "i2",
        "h2",
        "measure",
        "method",
    } <= keys
    assert isinstance(res, MHResult) and res.method == "MH" and res.q_df == 2
    peto = rma_peto([4, 6, 3], [123, 306, 231], [11, 29, 11], [139, 303, 220])
    assert isinstance(peto, PetoResult) and peto.to_dict()["method"] == "PETO"


def test_double_zero_handling_is_documented_behaviour() -> None:
    ai, n1, ci, n2 = [0, 3, 5], [20, 30, 40], [0, 6, 9], [20, 30, 40]
    res = rma_mh(ai, n1, ci, n2, measure="OR")
    assert res.k == 3 and res.k_yi == 2 and res.q_df == 1  # kept for the MH sums, not for Q
    dropped = rma_mh(ai, n1, ci, n2, measure="OR", drop00=(True, True))
    assert dropped.k == 2
    assert dropped.estimate == pytest.approx(res.estimate, rel=1e-12)  # contributes nothing to OR
    rd = rma_mh(ai, n1, ci, n2, measure="RD")
    rd_dropped = rma_mh(ai, n1, ci, n2, measure="RD", drop00=(True, True))
    assert rd.estimate != pytest.approx(rd_dropped.estimate)  # but it does weigh in RD


def test_no_events_anywhere_gives_nan_not_a_number() -> None:
    res = rma_mh([0, 0], [10, 12], [0, 0], [11, 9], measure="OR")
    assert np.isnan(res.estimate) and np.isnan(res.se) and np.isnan(res.pval)
    assert res.reason and "no events" in res.reason
    peto = rma_peto([0, 0], [10, 12], [0, 0], [11, 9])
    assert np.isnan(peto.estimate) and np.isnan(peto.q) and np.isnan(peto.i2)
    assert peto.reason and "undefined" in peto.reason


tables = st.lists(
    st.tuples(
        st.integers(5, 200), st.integers(5, 200), st.floats(0.05, 0.95), st.floats(0.05, 0.95)
    ),
    min_size=2,
    max_size=8,
)


def _unpack(rows):
    n1 = [r[0] for r in rows]
    n2 = [r[1] for r in rows]
    ai = [max(1, min(r[0] - 1, round(r[2] * r[0]))) for r in rows]
    ci = [max(1, min(r[1] - 1, round(r[3] * r[1]))) for r in rows]
    return ai, n1, ci, n2


@settings(max_examples=40, deadline=None)
@given(rows=tables, seed=st.integers(0, 2**32 - 1))
def test_order_invariance_and_arm_swap(rows, seed) -> None:
    ai, n1, ci, n2 = _unpack(rows)
    perm = np.random.default_rng(seed).permutation(len(ai))
    p = lambda x: [x[i] for i in perm]  # noqa: E731
    for measure in ("OR", "RR", "RD"):
        a = rma_mh(ai, n1, ci, n2, measure=measure)
        b = rma_mh(p(ai), p(n1), p(ci), p(n2), measure=measure)
        s = rma_mh(ci, n2, ai, n1, measure=measure)
        assert b.estimate == pytest.approx(a.estimate, rel=1e-9, abs=1e-12)
        assert b.q == pytest.approx(a.q, rel=1e-9, abs=1e-9)
        assert s.estimate == pytest.approx(-a.estimate, rel=1e-9, abs=1e-12)
        assert s.se == pytest.approx(a.se, rel=1e-9)
        assert a.se > 0 and 0 <= a.i2 <= 100
    pa = rma_peto(ai, n1, ci, n2)
    ps = rma_peto(ci, n2, ai, n1)
    assert ps.estimate == pytest.approx(-pa.estimate, rel=1e-9, abs=1e-12)


def test_bad_input() -> None:
    with pytest.raises(InputError) as info:
        rma_mh([1, 12], [10, 10], [1, 2], [10, 10], row_offset=2)
    assert info.value.column == "ai" and info.value.row == 3
    with pytest.raises(InputError, match="k = 0"):
        rma_mh([], [], [], [])
    with pytest.raises(InputError, match="unknown measure"):
        rma_mh([1], [10], [1], [10], measure="PETO")
    with pytest.raises(InputError) as info:
        rma_peto([1, 2], [10, 10], [1, 2.5], [10, 10])
    assert info.value.column == "ci" and "element 1 (0-based)" in str(info.value)
