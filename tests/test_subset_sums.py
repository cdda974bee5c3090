"""Leave-one-out and cumulative fits from sums (linear cost) equal the refits.

Questions answered: does :mod:`inflamed.stats.subset_sums` give the numbers of the refit path
(:func:`inflamed.stats.batch.rma_batch` on every subset) to 1e-10, for random k, sampling variances
over several decades and tau^2 from 0 to large, for every estimator it handles? Does it certify most
rows of an ordinary large data set (so the linear path is really taken), and hand a deletion with a
multimodal likelihood to the exact path, whose global search decides? All data are simulated here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from inflamed.stats import refits
from inflamed.stats.cumulative import cumulative_meta_analysis
from inflamed.stats.influence import leave_one_out
from inflamed.stats.pooling import rma
from inflamed.stats.refits import MODEL_COLUMNS, fit_in_slices
from inflamed.stats.subset_sums import (
    RHO_MAX,
    _tail,
    deletion_sums_fit,
    prefix_sums_fit,
    refit_deletions,
)

TOL = 1e-10
METHODS = ("REML", "ML", "PM", "EB", "DL", "HE", "FE")
FIXTURE = Path(__file__).parent / "reference" / "fixtures" / "robustness_cases.json"


def _simulated(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Simulated: k in 3..120, v log-uniform over up to 5 decades, tau^2 0, small or large."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 121))
    decades = float(rng.uniform(0.5, 5.0))
    v = 10.0 ** rng.uniform(-decades, 0.0, k) * float(rng.choice([1e-3, 1.0, 1e3]))
    tau2 = float(rng.choice([0.0, 0.01, 1.0, 100.0])) * float(np.median(v))
    y = rng.normal(0.2, 1.0, k) * np.sqrt(v + tau2)
    return y, v, tau2


def _close(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=TOL, atol=TOL)


def _prefix_refits(y, v, kw):
    cols = np.arange(y.size)

    def select(steps):
        width = int(steps.max()) + 1
        return np.broadcast_to(cols[:width], (steps.size, width)), cols[None, :width] <= steps[
            :, None
        ]

    return fit_in_slices(y, v, y.size - 2, y.size, lambda rows: select(rows + 2), kw)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(12))
def test_linear_path_equals_refits(method, seed):
    y, v, _ = _simulated(seed)
    kw = {"method": method, "test": ("knha", "z", "t", "adhoc")[seed % 4]}
    full = rma(y, v, **kw)
    cols, ok = deletion_sums_fit(y, v, full.tau2, kw)
    ref = refit_deletions(y, v, kw, np.arange(y.size))
    for c in (*MODEL_COLUMNS, "s2w", "sum_w_all"):
        _close(cols[c][ok], ref[c][ok])
    if y.size >= 3:
        pcols, pok = prefix_sums_fit(y, v, full.tau2, kw)
        pref = _prefix_refits(y, v, kw)
        rows = pok[2:]
        for c in (*MODEL_COLUMNS, "s2w"):
            _close(pcols[c][2:][rows], pref[c][rows])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("method", ["REML", "PM", "DL"])
def test_large_review_is_certified(method):
    """A simulated review of 400 studies: (almost) every deletion takes the linear path."""
    rng = np.random.default_rng(7)
    v = 1 / rng.integers(15, 200, 400) + 1 / rng.integers(15, 200, 400)
    y = rng.normal(0.5, np.sqrt(v + 0.1))
    kw = {"method": method, "test": "knha"}
    _, ok = deletion_sums_fit(y, v, rma(y, v, **kw).tau2, kw)
    assert ok.mean() > 0.99
    _, pok = prefix_sums_fit(y, v, rma(y, v, **kw).tau2, kw)
    assert pok[100:].all()


def test_leave_one_out_refits_only_what_is_not_certified(monkeypatch):
    calls = []
    real = refits.rma_batch

    def spy(*args, **kwargs):
        calls.append(np.shape(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(refits, "rma_batch", spy)
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.3, 300)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    loo = leave_one_out(y, v, method="REML", test="knha")
    assert sum(shape[0] for shape in calls) < 10  # of 300 deletions
    calls.clear()
    cumulative_meta_analysis(y, v, method="REML", test="knha")
    # the first steps' tau^2 lies far from the full data's (outside the series' radius): those
    # small subsets are refitted
    assert sum(shape[0] for shape in calls) < 150
    assert max(shape[1] for shape in calls) < 150
    keep = np.arange(300) != 17
    assert loo.tau2[17] == pytest.approx(rma(y[keep], v[keep], method="REML").tau2, rel=1e-10)


def test_multimodal_deletion_goes_to_the_global_search():
    """The robustness fixture's REML likelihood has two local maxima; with one extra study
    appended, its deletion is not certified and leave-one-out returns the global maximum."""
    case = json.loads(FIXTURE.read_text())["cases"]["local_maximum"]
    y0, v0 = np.array(case["yi"]), np.array(case["vi"])
    y, v = np.append(y0, float(np.mean(y0))), np.append(v0, float(np.max(v0)) * 50)
    kw = {"method": "REML", "test": "z"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        full = rma(y, v, **kw)
        _, ok = deletion_sums_fit(y, v, full.tau2, kw)
        loo = leave_one_out(y, v, **kw)
    assert not ok[-1]
    assert loo.tau2[-1] == pytest.approx(case["global_tau2"], rel=1e-9)


def test_series_bound():
    """The truncation bound at RHO_MAX is below 1e-14 and grows beyond it."""
    assert _tail(RHO_MAX, 3) <= 1e-14 < _tail(RHO_MAX * 1.05, 3)
    assert 0.2 < RHO_MAX < 0.5
