"""Three-level model (inflamed.stats.multilevel) against metafor 3.8-1 rma.mv and published values.

Questions answered:
* Does rma_three_level reproduce metafor's ``rma.mv(yi, vi, random = ~ 1 | study/es_id)`` (REML/ML,
  z/t) to 1e-6, including the multilevel I^2 decomposition?
* Does it reproduce the published variance distribution of the Konstantopoulos (2011) example?
* Is the likelihood maximum at least as high as metafor's (it is the same objective)?
* Is it invariant to the order of rows, and does it reject bad input?
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.stats.multilevel import rma_three_level

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
CASES = json.loads((FIXTURES / "diagnostics_threelevel.json").read_text())["cases"]
IDS = [f"{c['dataset']}-{c['method']}-{c['test']}" for c in CASES]

RTOL = 1e-6
ATOL = 1e-9  # metafor optimises log(sigma2): a true 0 comes back as ~1e-12


@pytest.mark.reference
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_metafor_rma_mv(case: dict) -> None:
    res = rma_three_level(
        case["yi"],
        case["vi"],
        case["study"],
        es_id=case["es_id"],
        method=case["method"],
        test=case["test"],
    )
    assert res.converged
    assert res.k == case["k"]
    assert res.n_studies == case["n_studies"]
    np.testing.assert_allclose(
        [res.sigma2_study, res.sigma2_within], case["sigma2"], rtol=RTOL, atol=ATOL
    )
    for ours, key in [
        (res.estimate, "estimate"),
        (res.se, "se"),
        (res.zval, "zval"),
        (res.pval, "pval"),
        (res.ci_lb, "ci_lb"),
        (res.ci_ub, "ci_ub"),
        (res.q, "q"),
        (res.q_pval, "q_pval"),
        (res.typical_v, "typical_v"),
        (res.i2_total, "i2_total"),
    ]:
        np.testing.assert_allclose(ours, case[key], rtol=RTOL, atol=ATOL, err_msg=key)
    np.testing.assert_allclose(
        [res.i2_study, res.i2_within], case["i2_levels"], rtol=RTOL, atol=1e-6
    )
    assert res.q_df == case["q_df"]
    if case["test"] == "t":
        assert res.df == case["df"]
    # Same objective: our maximum is never below metafor's (up to rounding).
    assert res.loglik >= case["loglik"] - 1e-9


@pytest.mark.reference
def test_konstantopoulos_2011_published_variance_distribution() -> None:
    """Published multilevel I^2 (Cheung 2014 formula) for the REML three-level model of
    dat.konstantopoulos2011 (Konstantopoulos 2011, Res Synth Methods 2:61), as printed in the
    dmetar reference page for mlm.variance.distribution()
    (https://dmetar.protectlab.org/reference/mlm.variance.distribution.html, "Examples"):
    level 1 (sampling) 4.812686 % of the total variance, level 2 I^2 = 31.86, level 3 I^2 = 63.32,
    total I^2 = 95.19 %."""
    case = next(c for c in CASES if c["dataset"] == "konstantopoulos2011" and c["method"] == "REML")
    res = rma_three_level(case["yi"], case["vi"], case["study"], es_id=case["es_id"])
    assert round(res.i2_within, 2) == 31.86
    assert round(res.i2_study, 2) == 63.32
    assert round(res.i2_total, 2) == 95.19
    assert round(100.0 - res.i2_total, 4) == round(4.812686, 4)


def test_row_order_does_not_matter() -> None:
    case = CASES[0]
    rng = np.random.default_rng(20261121)
    perm = rng.permutation(len(case["yi"]))
    a = rma_three_level(case["yi"], case["vi"], case["study"])
    b = rma_three_level(
        np.asarray(case["yi"])[perm], np.asarray(case["vi"])[perm], np.asarray(case["study"])[perm]
    )
    np.testing.assert_allclose(
        [a.estimate, a.se, a.sigma2_study, a.sigma2_within],
        [b.estimate, b.se, b.sigma2_study, b.sigma2_within],
        rtol=1e-8,
    )


def test_simulated_components_are_recovered_roughly() -> None:
    """Simulated data (seed 7): 150 studies x 3 effects, sigma2 = 0.04 / 0.02, v = 0.01."""
    rng = np.random.default_rng(7)
    n_s, m = 150, 3
    study = np.repeat(np.arange(n_s), m)
    y = 0.3 + rng.normal(0, 0.2, n_s)[study] + rng.normal(0, np.sqrt(0.02), n_s * m)
    y += rng.normal(0, 0.1, n_s * m)
    res = rma_three_level(y, np.full(n_s * m, 0.01), study)
    assert res.converged
    assert abs(res.sigma2_study - 0.04) < 0.02
    assert abs(res.sigma2_within - 0.02) < 0.012
    assert abs(res.estimate - 0.3) < 0.06


def test_bad_input() -> None:
    with pytest.raises(InputError, match="vi"):
        rma_three_level([0.1, 0.2], [0.01, 0.0], ["a", "b"])
    with pytest.raises(InputError):
        rma_three_level([0.1, 0.2], [0.01, 0.02], ["a"])
    with pytest.raises(InputError, match="at least 2"):
        rma_three_level([0.1], [0.01], ["a"])
    with pytest.raises(InputError, match="method"):
        rma_three_level([0.1, 0.2], [0.01, 0.02], ["a", "b"], method="DL")  # type: ignore[arg-type]


def test_unidentifiable_split_warns() -> None:
    y, v = [0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.03, 0.02]
    with pytest.warns(UserWarning, match="not separately identifiable"):
        rma_three_level(y, v, ["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="one study"):
        rma_three_level(y, v, ["a", "a", "a", "a"])


@pytest.mark.parametrize("c", [1e-3, 1e3])
def test_convergence_is_scale_free(c: float) -> None:
    """Simulated (seed 7): the tolerance is relative to the variance scale, so rescaled data
    converge to rescaled components (the absolute score norm differs by c^-4)."""
    rng = np.random.default_rng(7)
    study = np.repeat(np.arange(40), 3)
    y = 0.3 + rng.normal(0, 0.2, 40)[study] + rng.normal(0, 0.15, 120)
    v = rng.uniform(0.005, 0.02, 120)
    ref = rma_three_level(y, v, study)
    res = rma_three_level(c * y, c * c * v, study)
    assert ref.converged and res.converged and res.rel_step <= 1e-9
    np.testing.assert_allclose(
        [res.sigma2_study / c**2, res.sigma2_within / c**2, res.estimate / c],
        [ref.sigma2_study, ref.sigma2_within, ref.estimate],
        rtol=1e-7,
    )
