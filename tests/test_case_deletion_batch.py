"""Leave-one-out, influence and cumulative refits through the batch engine equal the per-model loop.

Question answered: does routing the k refits through ``rma_batch`` (the large-review path) change
any number? Each test compares the batch path with ``rma`` called once per omitted study, on random
simulated data sets (generated here), to 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

from inflamed.stats import cumulative as cumul_mod
from inflamed.stats import refits
from inflamed.stats import subset_sums as subset_mod
from inflamed.stats.cumulative import cumulative_meta_analysis
from inflamed.stats.influence import case_deletion, influence_diagnostics, leave_one_out
from inflamed.stats.pooling import rma
from inflamed.stats.refits import MODEL_COLUMNS, model_row

TOL = 1e-10


def _simulated(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A simulated set of k effects (random effects model, tau^2 drawn per set)."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.3, k)
    tau2 = rng.choice([0.0, 0.02, 0.2])
    y = rng.normal(0.3, np.sqrt(v + tau2))
    return y, v


SETTINGS = [
    {"method": "REML", "test": "knha", "pi": "t", "i2_def": "metafor"},
    {"method": "REML", "test": "z", "pi": "auto", "i2_def": "metafor"},
    {"method": "DL", "test": "z", "pi": "higgins", "i2_def": "ht"},
    {"method": "PM", "test": "t"},
    {"method": "ML", "test": "adhoc"},
]


def _close(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=TOL, atol=TOL)


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("seed,k", [(1, 3), (2, 7), (3, 25), (4, 60)])
def test_leave_one_out_batch_equals_loop(settings, seed, k):
    y, v = _simulated(seed, k)
    batch = leave_one_out(y, v, **settings)
    for i in range(k):
        keep = np.arange(k) != i
        row = model_row(rma(y[keep], v[keep], **settings))
        for col in MODEL_COLUMNS:
            _close(getattr(batch, col)[i], row[col])


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("seed,k", [(5, 4), (6, 12), (7, 40)])
def test_influence_batch_equals_loop(settings, seed, k):
    y, v = _simulated(seed, k)
    batch = influence_diagnostics(y, v, **settings)
    # A column of ones as a moderator without intercept is the same model, fitted by the loop.
    loop = influence_diagnostics(y, v, mods=np.ones((k, 1)), intercept=False, **settings)
    for col in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight"):
        _close(getattr(batch, col), getattr(loop, col))
    _close(batch.dfbetas, loop.dfbetas)
    assert np.array_equal(batch.influential, loop.influential)


def test_case_deletion_is_both_results_in_slices(monkeypatch):
    """Small slices (several batch calls) give the same numbers as one call and as the two functions."""
    y, v = _simulated(8, 30)
    settings = SETTINGS[0]
    loo, infl = case_deletion(y, v, **settings)
    monkeypatch.setattr(refits, "BATCH_CELLS", 50)  # 1 refit of 29 studies per slice
    loo_sliced, infl_sliced = case_deletion(y, v, **settings)
    for col in MODEL_COLUMNS:
        _close(getattr(loo, col), getattr(loo_sliced, col))
        _close(getattr(loo, col), getattr(leave_one_out(y, v, **settings), col))
    _close(infl.rstudent, infl_sliced.rstudent)
    _close(infl.cook_d, influence_diagnostics(y, v, **settings).cook_d)


def test_batch_path_is_taken(monkeypatch):
    """The batch engine, not the loop, fits the refits of a model without moderators."""
    calls = []
    real = refits.rma_batch

    def spy(*args, **kwargs):
        calls.append(np.shape(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(refits, "rma_batch", spy)
    y, v = _simulated(9, 10)
    leave_one_out(y, v, method="REML", test="knha")
    assert all(shape[1] == 9 for shape in calls)  # only rows the linear path cannot certify
    calls.clear()
    monkeypatch.setattr(subset_mod, "deletion_sums_fit", lambda *args: None)
    leave_one_out(y, v, method="REML", test="knha")
    assert calls == [(10, 9)]


@pytest.mark.filterwarnings("ignore:k = 1")
@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("seed,k", [(10, 2), (11, 3), (12, 17), (13, 50)])
def test_cumulative_batch_equals_loop(settings, seed, k, monkeypatch):
    y, v = _simulated(seed, k)
    year = np.random.default_rng(seed).integers(2000, 2010, k)  # ties keep input order
    batch = cumulative_meta_analysis(y, v, year, **settings)
    perm = sorted(range(k), key=lambda i: year[i])
    assert list(batch.added) == perm
    for j in range(k):
        row = model_row(rma(y[perm[: j + 1]], v[perm[: j + 1]], **settings))
        for col in MODEL_COLUMNS:
            _close(getattr(batch, col)[j], row[col])
    monkeypatch.setattr(refits, "BATCH_CELLS", 3 * k)  # several slices
    sliced = cumulative_meta_analysis(y, v, year, **settings)
    for col in MODEL_COLUMNS:
        _close(getattr(batch, col), getattr(sliced, col))


def test_cumulative_batch_path_is_taken(monkeypatch):
    calls = []
    real = refits.rma_batch

    def spy(*args, **kwargs):
        calls.append(np.shape(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(refits, "rma_batch", spy)
    y, v = _simulated(14, 6)
    monkeypatch.setattr(cumul_mod, "prefix_sums_fit", lambda *args: None)
    cumulative_meta_analysis(y, v, **SETTINGS[0])
    assert calls == [(5, 6)]
    assert cumul_mod.fit_in_slices is refits.fit_in_slices
