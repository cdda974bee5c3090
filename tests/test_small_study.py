"""Small-study effects (inflamed.stats.small_study) against metafor 3.8-1 and by properties.

Questions answered:
* egger_test reproduces metafor's regtest() (model "rma" under REML/DL with z and Knapp-Hartung,
  and the classic weighted-regression "lm" model; predictors sei and vi) on six datasets.
* begg_test reproduces ranktest() (exact p-values, and the tie-corrected normal approximation
  where metafor falls back to it) and the exact Kendall distribution is a distribution.
* trim_and_fill reproduces trimfill() (L0 and R0, automatic and forced side, REML/DL/FE): k0, its
  SE, the side, the filled studies and the adjusted estimate; it fills studies on
  dat.hackshaw1998 (k0 = 7).
* Properties: permuting the studies changes neither test; a symmetric simulated funnel fills ~0.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from inflamed.errors import InputError
from inflamed.stats.small_study import begg_test, egger_test, kendall_exact_cdf
from inflamed.stats.trim_fill import trim_and_fill

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
REG = json.loads((FIXTURES / "diagnostics_regtest.json").read_text())["cases"]
RANK = json.loads((FIXTURES / "diagnostics_ranktest.json").read_text())["cases"]
TF = json.loads((FIXTURES / "diagnostics_trimfill.json").read_text())["cases"]
CONTROL = {"threshold": 1e-12}


def _tol(method: str) -> dict[str, float]:
    closed = method in ("DL", "FE")
    return {"rtol": 1e-10 if closed else 1e-6, "atol": 1e-12 if closed else 1e-9}


@pytest.mark.reference
@pytest.mark.parametrize(
    "case",
    REG,
    ids=[f"{c['dataset']}-{c['method']}-{c['test']}-{c['model']}-{c['predictor']}" for c in REG],
)
def test_egger_matches_metafor_regtest(case: dict) -> None:
    res = egger_test(
        case["yi"],
        case["vi"],
        model=case["model"],
        predictor=case["predictor"],
        method=case["method"],
        test=case["test"],
        control=CONTROL,
    )
    tol = _tol(case["method"]) if case["model"] == "rma" else {"rtol": 1e-10, "atol": 1e-12}
    for ours, key in [
        (res.statistic, "zval"),
        (res.pval, "pval"),
        (res.limit_estimate, "est"),
        (res.limit_ci_lb, "ci_lb"),
        (res.limit_ci_ub, "ci_ub"),
        (res.slope, "slope"),
    ]:
        np.testing.assert_allclose(ours, case[key], err_msg=key, **tol)
    if case["model"] == "lm" or case["test"] == "knha":
        assert res.df == case["dfs"] == len(case["yi"]) - 2
        assert res.dist == "t"
    else:
        assert res.df is None and res.dist == "z"


@pytest.mark.reference
@pytest.mark.parametrize("case", RANK, ids=[c["dataset"] for c in RANK])
def test_begg_matches_metafor_ranktest(case: dict) -> None:
    res = begg_test(case["yi"], case["vi"])
    np.testing.assert_allclose(res.tau, case["tau"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.pval, case["pval"], rtol=1e-10)


@pytest.mark.reference
@pytest.mark.parametrize(
    "case",
    TF,
    ids=[f"{c['dataset']}-{c['method']}-{c['estimator']}-{c['side_arg'] or 'auto'}" for c in TF],
)
def test_trim_and_fill_matches_metafor(case: dict) -> None:
    res = trim_and_fill(
        case["yi"],
        case["vi"],
        estimator=case["estimator"],
        side=case["side_arg"],
        method=case["method"],
        test=case["test"],
        control=CONTROL,
    )
    tol = _tol(case["method"])
    assert res.k0 == case["k0"]
    assert res.side == case["side"]
    assert res.k == case["k"] == len(case["yi"]) + case["k0"]
    if case["se_k0"] is None:
        assert math.isnan(res.se_k0)
    else:
        np.testing.assert_allclose(res.se_k0, case["se_k0"], rtol=1e-10)
    if case["p_k0"] is not None:
        np.testing.assert_allclose(res.p_k0, case["p_k0"], rtol=1e-12)
    np.testing.assert_allclose(res.yi_fill, case["yi_fill"], **tol)
    np.testing.assert_allclose(res.vi_fill, case["vi_fill"], rtol=1e-15)
    for key in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2"):
        np.testing.assert_allclose(getattr(res, key), case[key], err_msg=key, **tol)


def test_hackshaw_fills_seven_on_the_left() -> None:
    """metafor 3.8-1 trimfill(rma(yi, vi, data = dat.hackshaw1998)) (recorded in the fixture)
    estimates 7 missing studies on the left, SE 4.0399; the adjusted estimate is smaller."""
    case = next(
        c
        for c in TF
        if c["dataset"] == "hackshaw1998"
        and c["method"] == "REML"
        and c["estimator"] == "L0"
        and c["side_arg"] is None
    )
    res = trim_and_fill(case["yi"], case["vi"], method="REML", test="z")
    assert (res.k0, res.side) == (7, "left")
    assert round(res.se_k0, 4) == 4.0399
    assert res.estimate < res.original_estimate
    assert len(res.to_frame()) == 7


def test_kendall_exact_cdf_is_a_distribution() -> None:
    for n in (2, 3, 7, 20):
        top = n * (n - 1) // 2
        probs = [kendall_exact_cdf(q, n) for q in range(-1, top + 1)]
        assert probs[0] == 0.0 and probs[-1] == 1.0
        assert all(b >= a for a, b in itertools.pairwise(probs))
        # symmetric about top / 2
        for q in range(top):
            assert kendall_exact_cdf(q, n) == pytest.approx(1 - kendall_exact_cdf(top - q - 1, n))
    assert kendall_exact_cdf(0, 3) == pytest.approx(1 / 6)  # only the fully reversed order


def test_tests_are_permutation_invariant() -> None:
    case = REG[0]
    y, v = np.asarray(case["yi"]), np.asarray(case["vi"])
    perm = np.random.default_rng(2).permutation(len(y))
    for model in ("rma", "lm"):
        a = egger_test(y, v, model=model, method="REML", test="z")
        b = egger_test(y[perm], v[perm], model=model, method="REML", test="z")
        assert a.statistic == pytest.approx(b.statistic, rel=1e-8)
    assert begg_test(y, v).pval == pytest.approx(begg_test(y[perm], v[perm]).pval, rel=1e-12)
    tf_a = trim_and_fill(y, v, method="DL", test="z")
    tf_b = trim_and_fill(y[perm], v[perm], method="DL", test="z")
    assert tf_a.k0 == tf_b.k0
    assert tf_a.estimate == pytest.approx(tf_b.estimate, rel=1e-10)


def test_symmetric_funnel_fills_about_nothing() -> None:
    """Simulated (seed 2026), labelled simulated: 40 studies, true effect 0.3, no selection, and
    the funnel made exactly symmetric by mirroring each study about 0.3 (80 studies)."""
    rng = np.random.default_rng(2026)
    se = rng.uniform(0.05, 0.4, 40)
    y = 0.3 + rng.normal(0, se)
    y_sym = np.concatenate([y, 0.6 - y])
    v_sym = np.concatenate([se**2, se**2])
    for est in ("L0", "R0"):
        res = trim_and_fill(y_sym, v_sym, estimator=est, method="FE", test="z")
        assert res.k0 <= 2
        assert res.estimate == pytest.approx(0.3, abs=0.02)
    eg = egger_test(y_sym, v_sym, model="lm")
    assert abs(eg.statistic) < 1e-8  # exactly symmetric: no small-study slope


def test_bad_input() -> None:
    with pytest.raises(InputError, match="at least 3"):
        egger_test([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(InputError, match="model"):
        egger_test([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], model="ols")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="same sei"):
        egger_test([0.1, 0.2, 0.3], [0.01, 0.01, 0.01])
    with pytest.raises(InputError, match="at least 3"):
        begg_test([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(InputError, match="estimator"):
        trim_and_fill([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], estimator="Q9")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="moderators"):
        trim_and_fill([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], mods=[1, 2, 3])
    with pytest.raises(InputError):
        begg_test([0.1, 0.2, 0.3], [0.01, 0.0, 0.03])


@settings(max_examples=30, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.floats(-3, 3, allow_nan=False), st.floats(0.001, 1.0, allow_nan=False)),
        min_size=4,
        max_size=15,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_tests_do_not_depend_on_study_order(data, seed) -> None:
    """Hypothesis: for any data, permuting the studies leaves Egger (lm) and Begg unchanged."""
    y = np.array([d[0] for d in data])
    v = np.array([d[1] for d in data])
    assume(np.ptp(v) > 1e-6)
    perm = np.random.default_rng(seed).permutation(len(y))
    a, b = egger_test(y, v, model="lm"), egger_test(y[perm], v[perm], model="lm")
    if np.isfinite(a.statistic) and abs(a.statistic) < 1e6:
        np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-7, atol=1e-9)
    ra, rb = begg_test(y, v), begg_test(y[perm], v[perm])
    np.testing.assert_allclose([ra.tau, ra.pval], [rb.tau, rb.pval], rtol=0, atol=1e-12)


def test_egger_on_a_perfect_fit_is_undefined_whatever_the_study_order() -> None:
    """Equal effects fit the regression exactly; the rounding left over must not become a test."""
    y, v = np.ones(4), np.array([0.5, 0.5, 0.6875, 0.5])
    for order in itertools.permutations(range(4)):
        res = egger_test(y[list(order)], v[list(order)], model="lm")
        assert not np.isfinite(res.statistic)
