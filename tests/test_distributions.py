"""inflamed.stats.distributions gives exactly what scipy.stats gives, edges included."""

import numpy as np
import pytest
from scipy import stats

from inflamed.stats import distributions as dist

X = np.r_[-5, -1, 0, 1e-12, 0.3, 1, 1.96, 2.5, 10, 50, np.inf, -np.inf, np.nan]
Q = np.r_[0, 1e-300, 1e-10, 0.025, 0.5, 0.95, 0.975, 1 - 1e-12, 1, np.nan, -0.1, 1.1]
DF = [-1, 0, 0.5, 1, 2, 3.7, 10, 100, 1e6, np.inf, np.nan]


def same(ours, theirs) -> None:
    np.testing.assert_array_equal(np.asarray(ours, float), np.asarray(theirs, float))


@pytest.mark.parametrize("name", ["cdf", "sf"])
def test_normal_probabilities(name):
    same(getattr(dist, f"norm_{name}")(X), getattr(stats.norm, name)(X))


@pytest.mark.parametrize("name", ["ppf", "isf"])
def test_normal_quantiles(name):
    same(getattr(dist, f"norm_{name}")(Q), getattr(stats.norm, name)(Q))


@pytest.mark.parametrize("df", DF)
@pytest.mark.parametrize("name", ["cdf", "sf"])
def test_chi2_and_t_probabilities(name, df):
    same(getattr(dist, f"chi2_{name}")(X, df), getattr(stats.chi2, name)(X, df))
    if name == "sf":
        same(dist.t_sf(X, df), stats.t.sf(X, df))


@pytest.mark.parametrize("df", DF)
def test_quantiles(df):
    same(dist.chi2_ppf(Q, df), stats.chi2.ppf(Q, df))
    same(dist.t_ppf(Q, df), stats.t.ppf(Q, df))
    same(dist.t_isf(Q, df), stats.t.isf(Q, df))


def test_scalars_stay_scalars():
    for value in (dist.norm_ppf(0.975), dist.chi2_sf(3.84, 1), dist.t_ppf(0.975, 4)):
        assert np.ndim(value) == 0
        assert isinstance(float(value), float)


def test_importing_the_engine_leaves_scipy_stats_out():
    """Why the module exists: rule processes must not pay for scipy.stats at start-up."""
    import subprocess
    import sys

    code = (
        "import sys, inflamed.stats.pooling, inflamed.stats.distributions, inflamed.pool, "
        "inflamed.figures.style, inflamed.pipeline.figure_inputs; "
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
