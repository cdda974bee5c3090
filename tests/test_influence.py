"""Leave-one-out and influence diagnostics (inflamed.stats.influence) against metafor 3.8-1.

Questions answered:
* Do leave_one_out / influence_diagnostics reproduce metafor's leave1out() / influence() on
  dat.bcg, dat.normand1999, dat.hine1989 (tau^2 = 0), a k = 4 subset, dat.hackshaw1998 and
  dat.molloy2014, under REML/DL/ML/FE with z and Knapp-Hartung tests, and with a moderator?
  Closed-form estimators (DL, FE) to 1e-10 relative, iterative ones (REML, ML) to 1e-6.
* Does metafor's influence flag ('*') come out the same?
* Property: leaving one study out of a homogeneous set barely moves the estimate.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.stats.influence import influence_diagnostics, leave_one_out

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
L1O = json.loads((FIXTURES / "diagnostics_leave1out.json").read_text())["cases"]
INF = json.loads((FIXTURES / "diagnostics_influence.json").read_text())["cases"]
CONTROL = {"threshold": 1e-12}


def _rtol(method: str) -> float:
    return 1e-10 if method in ("DL", "FE") else 1e-6


def _close(ours, theirs, method: str, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float),
        np.asarray(theirs, dtype=float),
        rtol=_rtol(method),
        atol=1e-9 if method not in ("DL", "FE") else 1e-12,
        err_msg=what,
    )


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", L1O, ids=[f"{c['dataset']}-{c['method']}-{c['test']}" for c in L1O]
)
def test_leave_one_out_matches_metafor(case: dict) -> None:
    res = leave_one_out(
        case["yi"], case["vi"], method=case["method"], test=case["test"], control=CONTROL
    )
    for key in (
        "estimate",
        "se",
        "zval",
        "pval",
        "ci_lb",
        "ci_ub",
        "q",
        "q_pval",
        "tau2",
        "i2",
        "h2",
    ):
        _close(getattr(res, key), case[key], case["method"], key)
    frame = res.to_frame()
    assert list(frame["omitted"]) == list(range(len(case["yi"])))
    assert (frame["k"] == len(case["yi"]) - 1).all()


@pytest.mark.reference
@pytest.mark.parametrize(
    "case", INF, ids=[f"{c['dataset']}-{c['method']}-{c['test']}" for c in INF]
)
def test_influence_matches_metafor(case: dict) -> None:
    kwargs = {"mods": case["mods"]} if "mods" in case else {}
    res = influence_diagnostics(
        case["yi"], case["vi"], method=case["method"], test=case["test"], control=CONTROL, **kwargs
    )
    for key in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"):
        _close(getattr(res, key), case[key], case["method"], key)
    _close(res.dfbetas[:, 0], case["dfbetas"], case["method"], "dfbetas")
    if "dfbetas_mod" in case:
        _close(res.dfbetas[:, 1], case["dfbetas_mod"], case["method"], "dfbetas moderator")
    assert res.influential.tolist() == case["inf"]
    frame = res.to_frame()
    assert len(frame) == len(case["yi"])
    assert frame.columns[0] == "study"


def test_homogeneous_set_barely_moves() -> None:
    """Simulated (seed 11): 30 studies with identical true effect 0.4, v = 0.01; dropping any one
    study moves the REML estimate by far less than its standard error."""
    rng = np.random.default_rng(11)
    v = np.full(30, 0.01)
    y = 0.4 + rng.normal(0, 0.1, 30)
    res = leave_one_out(y, v, method="REML", test="z")
    full_est = float(np.average(y, weights=1 / v))  # tau^2 ~ 0 here, so ~ the FE estimate
    assert np.max(np.abs(res.estimate - full_est)) < 0.5 * float(np.min(res.se))


def test_permutation_moves_rows_with_the_study() -> None:
    case = L1O[0]
    y, v = np.asarray(case["yi"]), np.asarray(case["vi"])
    perm = np.random.default_rng(3).permutation(len(y))
    a = leave_one_out(y, v, method="DL", test="z")
    b = leave_one_out(y[perm], v[perm], method="DL", test="z")
    np.testing.assert_allclose(b.estimate, a.estimate[perm], rtol=1e-12)
    c = influence_diagnostics(y, v, method="DL", test="z")
    d = influence_diagnostics(y[perm], v[perm], method="DL", test="z")
    np.testing.assert_allclose(d.cook_d, c.cook_d[perm], rtol=1e-10)


def test_bad_input() -> None:
    with pytest.raises(InputError, match="at least 2"), pytest.warns(UserWarning, match="k = 1"):
        leave_one_out([0.1], [0.01])
    with pytest.raises(InputError, match="moderators"):
        leave_one_out([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], mods=[1, 2, 3])
    with pytest.raises(InputError):
        influence_diagnostics([0.1, 0.2, 0.3], [0.01, -0.02, 0.03])
    with pytest.raises(InputError, match="labels"):
        leave_one_out([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], labels=["a", "b"])
