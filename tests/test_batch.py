"""inflamed.stats.batch.rma_batch equals a loop of inflamed.stats.pooling.rma (to 1e-6) on simulated data.

Simulated data (fixed seed, labelled simulated): m analyses of ragged k with log-normal variances
and true tau^2 spanning 0 (so truncation at 0 is exercised) to large.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from inflamed.errors import InputError
from inflamed.stats.batch import rma_batch
from inflamed.stats.pooling import rma

FIELDS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "se_tau2", "i2", "h2",
          "i2_ht", "q", "q_pval", "pi_lb", "pi_ub")  # fmt: skip


def _simulated(m: int = 60, kmax: int = 15, seed: int = 20261121):
    """SIMULATED data: not from any study."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, kmax + 1, size=m)
    tau2 = rng.choice([0.0, 0.01, 0.1, 0.5], size=m)
    V = np.exp(rng.normal(np.log(0.05), 0.8, size=(m, kmax)))
    Y = rng.normal(0.3, np.sqrt(V + tau2[:, None]))
    mask = np.arange(kmax)[None, :] < k[:, None]
    Y[~mask] = np.nan
    V[~mask] = np.nan
    return Y, V, mask


@pytest.mark.parametrize("method", ["FE", "DL", "HE", "SJ", "PM", "EB", "ML", "REML"])
@pytest.mark.parametrize("test", ["z", "t", "knha", "adhoc"])
def test_batch_equals_loop(method: str, test: str) -> None:
    Y, V, mask = _simulated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = rma_batch(Y, V, mask=mask, method=method, test=test)
        for i in range(Y.shape[0]):
            sel = mask[i]
            r = rma(Y[i, sel], V[i, sel], method=method, test=test)
            got = {f: getattr(b, f)[i] for f in FIELDS}
            want = r.to_dict()
            want["zval"] = r.zval[0]
            want["h2"] = r.h2
            for f in FIELDS:
                if want[f] is None or (isinstance(want[f], float) and np.isnan(want[f])):
                    assert np.isnan(got[f]), (i, f)
                    continue
                assert got[f] == pytest.approx(want[f], rel=1e-6, abs=1e-6), (i, f, got[f], want[f])


@pytest.mark.parametrize("pi", ["z", "t", "higgins"])
def test_batch_pi_variants(pi: str) -> None:
    Y, V, mask = _simulated(m=10)
    b = rma_batch(Y, V, mask=mask, pi=pi)
    for i in range(10):
        r = rma(Y[i, mask[i]], V[i, mask[i]], pi=pi)
        if np.isnan(r.pi_lb):
            assert np.isnan(b.pi_lb[i])
        else:
            assert b.pi_lb[i] == pytest.approx(r.pi_lb, abs=1e-6)
            assert b.pi_ub[i] == pytest.approx(r.pi_ub, abs=1e-6)


@pytest.mark.reference
@pytest.mark.filterwarnings("ignore:the Knapp-Hartung method")
def test_batch_matches_metafor_fixture() -> None:
    fx = json.loads(
        (
            Path(__file__).resolve().parent / "reference" / "fixtures" / "pooling_bcg_logrr.json"
        ).read_text()
    )
    for ref in fx["fits"]:
        b = rma_batch([fx["yi"]], [fx["vi"]], method=ref["method"], test=ref["test"])
        assert b.estimate[0] == pytest.approx(ref["beta"], abs=1e-6)
        assert b.tau2[0] == pytest.approx(ref["tau2"], abs=1e-6)
        assert b.ci_lb[0] == pytest.approx(ref["ci_lb"], abs=1e-6)
        if "pi_ub" in ref:  # metafor gives no PI for FE models
            assert b.pi_ub[0] == pytest.approx(ref["pi_ub"], abs=1e-6)


def test_batch_k1_rows_warn_and_k0_rows_fail() -> None:
    Y = np.array([[0.1, 0.2, 0.3], [0.5, np.nan, np.nan]])
    V = np.array([[0.01, 0.02, 0.03], [0.04, np.nan, np.nan]])
    mask = ~np.isnan(Y)
    with pytest.warns(UserWarning, match="k = 1"):
        b = rma_batch(Y, V, mask=mask)
    assert np.isnan(b.tau2[1])
    assert b.estimate[1] == 0.5
    assert b.se[1] == pytest.approx(0.2)
    mask[1, 0] = False
    with pytest.raises(InputError, match="k = 0"):
        rma_batch(Y, V, mask=mask)


def test_batch_bad_variance_names_analysis_and_study() -> None:
    with pytest.raises(InputError, match="analysis 1, study 2") as err:
        rma_batch([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], [[0.1, 0.1, 0.1], [0.1, 0.1, -1.0]])
    assert err.value.column == "V"
    with pytest.raises(InputError) as err:
        rma_batch([[0.1, np.nan]], [[0.1, 0.1]])
    assert err.value.column == "Y"


def test_summary_frame_has_one_row_per_analysis() -> None:
    Y, V, mask = _simulated(m=5)
    frame = rma_batch(Y, V, mask=mask).summary_frame()
    assert len(frame) == 5
    assert {"estimate", "tau2", "pi_lb", "converged"} <= set(frame.columns)
