"""Cumulative meta-analysis (inflamed.stats.cumulative) against metafor 3.8-1 cumul().

Questions answered:
* Does cumulative_meta_analysis reproduce metafor's cumul(res, order=year) on six datasets under
  REML/DL with z and Knapp-Hartung tests (DL to 1e-10, REML to 1e-6)? The first step (one study)
  has tau^2/I^2/H^2 NaN in inflamed (metafor: 0, 0, 1) and is checked for that.
* Are ties in the ordering variable kept in input order (stable, as R's order())?
* Does the last step equal the full model, and is the input order irrelevant once sorted?
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.stats.cumulative import cumulative_meta_analysis
from inflamed.stats.pooling import rma

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
CASES = json.loads((FIXTURES / "diagnostics_cumul.json").read_text())["cases"]
CONTROL = {"threshold": 1e-12}


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]
)
def test_matches_metafor_cumul(case: dict) -> None:
    res = cumulative_meta_analysis(
        case["yi"],
        case["vi"],
        case["order"],
        method=case["method"],
        test=case["test"],
        control=CONTROL,
    )
    rtol = 1e-10 if case["method"] == "DL" else 1e-6
    atol = 1e-12 if case["method"] == "DL" else 1e-9
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "q", "q_pval"):
        np.testing.assert_allclose(getattr(res, key), case[key], rtol=rtol, atol=atol, err_msg=key)
    for key in ("tau2", "i2", "h2"):
        ours = getattr(res, key)
        assert np.isnan(ours[0])  # k = 1: not estimable in inflamed; metafor prints 0/0/1
        np.testing.assert_allclose(ours[1:], case[key][1:], rtol=rtol, atol=atol, err_msg=key)
    assert list(res.k) == list(range(1, len(case["yi"]) + 1))
    # the order column is sorted and ties keep input order
    assert list(res.order) == sorted(case["order"])
    for a, b in zip(res.added[:-1], res.added[1:], strict=True):
        if case["order"][a] == case["order"][b]:
            assert a < b


def test_last_step_is_the_full_model_and_input_order_is_irrelevant() -> None:
    case = CASES[0]
    y, v, o = np.asarray(case["yi"]), np.asarray(case["vi"]), np.asarray(case["order"])
    full = rma(y, v, method="REML", test="knha")
    res = cumulative_meta_analysis(y, v, o, method="REML", test="knha")
    assert res.estimate[-1] == pytest.approx(float(full.beta[0]), rel=1e-12)
    # a permutation of the input with distinct order values gives the same history
    perm = np.random.default_rng(5).permutation(len(y))
    distinct = np.arange(len(y)) * 1.0
    a = cumulative_meta_analysis(y, v, distinct, method="DL", test="z")
    b = cumulative_meta_analysis(y[perm], v[perm], distinct[perm], method="DL", test="z")
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    frame = res.to_frame()
    assert list(frame["step"]) == list(range(1, len(y) + 1))


def test_decreasing_and_default_order() -> None:
    y, v = [0.1, 0.5, 0.3], [0.01, 0.02, 0.03]
    res = cumulative_meta_analysis(y, v, [2001, 1999, 2005], decreasing=True, method="DL", test="z")
    assert list(res.added) == [2, 0, 1]
    assert res.estimate[0] == pytest.approx(0.3)
    res = cumulative_meta_analysis(y, v, method="DL", test="z")
    assert list(res.added) == [0, 1, 2]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="one value per study"):
        cumulative_meta_analysis([0.1, 0.2], [0.01, 0.02], [2000])
    with pytest.raises(InputError, match="missing"):
        cumulative_meta_analysis([0.1, 0.2], [0.01, 0.02], [2000, None])
    with pytest.raises(InputError, match="moderators"):
        cumulative_meta_analysis([0.1, 0.2], [0.01, 0.02], mods=[1, 2])
