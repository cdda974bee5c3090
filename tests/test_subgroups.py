"""Subgroup analysis (inflamed.stats.subgroups) against metafor 3.8-1.

Questions answered:
* Per-subgroup random-effects models, the test for subgroup differences (Q between the subgroup
  estimates, df = g - 1) and the meta-regression QM test with common tau^2 all reproduce metafor
  (bcg by allocation, normand1999 by site, hackshaw1998 and molloy2014 by design; REML/DL, z and
  Knapp-Hartung): DL to 1e-10, REML to 1e-6.
* Relabelling or reordering the studies changes nothing; bad input is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.stats.subgroups import subgroup_analysis

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
CASES = json.loads((FIXTURES / "diagnostics_subgroups.json").read_text())["cases"]
CONTROL = {"threshold": 1e-12}


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]
)
def test_matches_metafor(case: dict) -> None:
    res = subgroup_analysis(
        case["yi"],
        case["vi"],
        case["group"],
        method=case["method"],
        test=case["test"],
        control=CONTROL,
    )
    rtol = 1e-10 if case["method"] == "DL" else 1e-6
    atol = 1e-12 if case["method"] == "DL" else 1e-9
    assert list(res.levels) == list(case["levels"])
    sub = res.to_frame()
    for key in ("k", "estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "i2", "q", "q_pval"):
        theirs = [s[key] for s in case["subgroups"]]
        np.testing.assert_allclose(sub[key], theirs, rtol=rtol, atol=atol, err_msg=key)
    np.testing.assert_allclose(res.q_between, case["q_between"], rtol=rtol)
    assert res.q_between_df == case["q_between_df"]
    np.testing.assert_allclose(res.q_between_pval, case["q_between_pval"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.qm, case["qm"], rtol=rtol)
    np.testing.assert_allclose(res.qm_pval, case["qm_pval"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.tau2_common, case["tau2_common"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.mr_estimates, case["mr_estimates"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(res.mr_se, case["mr_se"], rtol=rtol, atol=atol)
    qm_df = case["qm_df"] if isinstance(case["qm_df"], list) else [case["qm_df"]]
    assert res.qm_df[0] == qm_df[0]
    if case["test"] == "knha":
        assert res.qm_df[1] == qm_df[1]
    d = res.to_dict()
    assert d["test_for_subgroup_differences"]["df"] == len(case["levels"]) - 1


def test_reordering_changes_nothing() -> None:
    case = CASES[0]
    y, v, g = (
        np.asarray(case[k], dtype=object if k == "group" else float) for k in ("yi", "vi", "group")
    )
    perm = np.random.default_rng(9).permutation(len(y))
    a = subgroup_analysis(y, v, g, method="REML", test="z")
    b = subgroup_analysis(y[perm], v[perm], g[perm], method="REML", test="z")
    np.testing.assert_allclose(a.q_between, b.q_between, rtol=1e-8)
    np.testing.assert_allclose(a.qm, b.qm, rtol=1e-8)


def test_identical_subgroups_give_q_between_zero() -> None:
    """Simulated: two subgroups with exactly the same effects and variances."""
    y = np.array([0.1, 0.3, 0.2, 0.1, 0.3, 0.2])
    v = np.array([0.02, 0.03, 0.04, 0.02, 0.03, 0.04])
    res = subgroup_analysis(y, v, ["a", "a", "a", "b", "b", "b"], method="DL", test="z")
    assert res.q_between == pytest.approx(0.0, abs=1e-20)
    assert res.q_between_pval == pytest.approx(1.0)


def test_bad_input() -> None:
    y, v = [0.1, 0.2, 0.3], [0.01, 0.02, 0.03]
    with pytest.raises(InputError, match="two subgroups"):
        subgroup_analysis(y, v, ["a", "a", "a"])
    with pytest.raises(InputError, match="missing"):
        subgroup_analysis(y, v, ["a", None, "b"])
    with pytest.raises(InputError, match="one label per study"):
        subgroup_analysis(y, v, ["a", "b"])
    with pytest.raises(InputError, match="mods"):
        subgroup_analysis(y, v, ["a", "b", "b"], mods=[1, 2, 3])
