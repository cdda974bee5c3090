"""Tests for inflamed.stats.conversions.

Questions answered:

* Do the SD-from-SE/CI/t/p conversions reproduce the Cochrane Handbook's worked numbers?
* Does xi(n), computed with scipy, reproduce Wan et al. (2014) Table 1 for every n <= 50?
* Do the Wan/Luo mean and SD estimators recover the mean and SD of (simulated, seeded) normal
  samples, and are they location-scale equivariant?
* Does bad input stop with the column and row named?
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from inflamed.errors import InputError
from inflamed.stats.conversions import (
    sd_from_ci,
    sd_from_p,
    sd_from_se,
    sd_from_t,
)
from inflamed.stats.medians import (
    expected_normal_range,
    mean_sd_from_five_numbers,
    mean_sd_from_median_iqr,
    mean_sd_from_median_range,
    wan_eta,
    wan_xi,
)

# Wan X, Wang W, Liu J, Tong T (2014). BMC Med Res Methodol 14:135, Table 1 "Values of xi(n) in
# the formula (7) and the formula (12) for n <= 50",
# https://bmcmedresmethodol.biomedcentral.com/articles/10.1186/1471-2288-14-135/tables/1
WAN_TABLE_1 = {
    1: 0, 2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847, 9: 2.970,
    10: 3.078, 11: 3.173, 12: 3.259, 13: 3.336, 14: 3.407, 15: 3.472, 16: 3.532, 17: 3.588,
    18: 3.640, 19: 3.689, 20: 3.735, 21: 3.778, 22: 3.819, 23: 3.858, 24: 3.895, 25: 3.931,
    26: 3.964, 27: 3.997, 28: 4.027, 29: 4.057, 30: 4.086, 31: 4.113, 32: 4.139, 33: 4.165,
    34: 4.189, 35: 4.213, 36: 4.236, 37: 4.259, 38: 4.280, 39: 4.301, 40: 4.322, 41: 4.341,
    42: 4.361, 43: 4.379, 44: 4.398, 45: 4.415, 46: 4.433, 47: 4.450, 48: 4.466, 49: 4.482,
    50: 4.498,
}  # fmt: skip


@pytest.mark.parametrize("n", sorted(WAN_TABLE_1))
def test_xi_reproduces_wan_table_1(n: int) -> None:
    # The table has 3 decimals; 48 of 50 entries agree to rounding (5e-4). Two are off by a
    # little more: n = 10 (exact 3.07751 -> 3.078) and n = 12 (exact 3.25846, Table 1 prints
    # 3.259; the classical d2(12) constant is 3.258), hence the 6e-4 tolerance.
    assert expected_normal_range(n) == pytest.approx(WAN_TABLE_1[n], abs=6e-4)
    if n >= 2:
        assert wan_xi(n)[0] == pytest.approx(WAN_TABLE_1[n], abs=6e-4)


def test_xi_closed_forms() -> None:
    assert expected_normal_range(2) == pytest.approx(2 / np.sqrt(np.pi), rel=1e-10)
    blom = 2 * stats.norm.ppf((np.array([60.0, 200.0]) - 0.375) / (np.array([60.0, 200.0]) + 0.25))
    np.testing.assert_allclose(wan_xi([60, 200]), blom, rtol=1e-14)  # n > 50: Blom's form
    np.testing.assert_allclose(wan_xi([10], method="blom"), 2 * stats.norm.ppf(9.625 / 10.25))
    # eta(n) tends to the normal IQR in SD units, 2 * 0.6745
    assert wan_eta(10**7)[0] == pytest.approx(2 * stats.norm.ppf(0.75), rel=1e-6)


def test_sd_from_se() -> None:
    res = sd_from_se(2.0, 25)
    assert res.value == pytest.approx(10.0)
    assert "6.5.2.2" in res.derivation
    np.testing.assert_allclose(sd_from_se([1.0, 2.0], [4, 9]).value, [2.0, 6.0])


def test_sd_from_ci_handbook_divisors() -> None:
    # Cochrane Handbook 6.5.2.2: a 95% CI from n = 25 is 2 x 2.0639 = 4.128 standard errors
    # wide when based on t with 24 df; 3.92 when based on the normal distribution.
    t_based = sd_from_ci(0.0, 4.128, 25)
    assert t_based.value == pytest.approx(5.0, rel=1e-4)
    assert "t quantile" in t_based.derivation
    z_based = sd_from_ci(0.0, 3.92, 100, dist="z")
    assert z_based.value == pytest.approx(10.0, rel=1e-3)
    # 90% and 99% z intervals: 3.29 and 5.15 (Handbook 6.5.2.2)
    assert sd_from_ci(0.0, 3.29, 100, dist="z", level=90).value == pytest.approx(10.0, rel=1e-3)
    assert sd_from_ci(0.0, 5.15, 100, dist="z", level=99).value == pytest.approx(10.0, rel=1e-3)


def test_sd_from_p_and_t_handbook_example() -> None:
    # Cochrane Handbook 6.5.2.3: MD = 3.8, n = 25 and 22, p = 0.008 -> t = 2.78 (45 df),
    # SE of the difference = 3.8 / 2.78 = 1.37.
    res = sd_from_p(0.008, 25, 22, 3.8)
    se = res.value * np.sqrt(1 / 25 + 1 / 22)
    assert se == pytest.approx(1.37, abs=5e-3)
    assert stats.t.isf(0.004, 45) == pytest.approx(2.78, abs=5e-3)
    via_t = sd_from_t(stats.t.isf(0.004, 45), 25, 22, 3.8)
    assert via_t.value == pytest.approx(res.value, rel=1e-12)
    assert sd_from_t(-2.0, 10, 10, -4.0).value == pytest.approx(2 / np.sqrt(0.2))


def test_quantile_formulas_by_hand() -> None:
    n = 40
    w = 0.7 + 0.39 / n
    res = mean_sd_from_median_iqr(10.0, 8.0, 14.0, n)
    assert res.mean == pytest.approx(w * 11.0 + (1 - w) * 10.0, rel=1e-14)
    assert res.sd == pytest.approx(
        6.0 / (2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))), rel=1e-14
    )
    assert mean_sd_from_median_iqr(10.0, 8.0, 14.0, n, mean_method="wan").mean == pytest.approx(
        32 / 3
    )
    w1 = 4 / (4 + n**0.75)
    rng = mean_sd_from_median_range(10.0, 2.0, 24.0, n)
    assert rng.mean == pytest.approx(w1 * 13.0 + (1 - w1) * 10.0, rel=1e-14)
    assert rng.sd == pytest.approx(22.0 / WAN_TABLE_1[40], rel=1e-3)
    assert mean_sd_from_median_range(10.0, 2.0, 24.0, n, mean_method="wan").mean == pytest.approx(
        (2 + 2 * 10 + 24) / 4
    )
    five = mean_sd_from_five_numbers(2.0, 8.0, 10.0, 14.0, 24.0, n)
    w1, w2 = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
    assert five.mean == pytest.approx(w1 * 13 + w2 * 11 + (1 - w1 - w2) * 10, rel=1e-14)
    assert "Luo 2018" in five.derivation and "Wan 2014" in five.derivation


@pytest.mark.parametrize("n", [25, 101, 400])
def test_estimators_recover_normal_mean_and_sd_simulated(n: int) -> None:
    """Simulated data (seeded): N(50, 10^2) samples; averages over 200 replicates."""
    rng = np.random.default_rng(20140135 + n)
    x = rng.normal(50.0, 10.0, size=(200, n))
    q = np.quantile(x, [0.0, 0.25, 0.5, 0.75, 1.0], axis=1)
    nn = np.full(200, n)
    iqr = mean_sd_from_median_iqr(q[2], q[1], q[3], nn)
    rg = mean_sd_from_median_range(q[2], q[0], q[4], nn)
    five = mean_sd_from_five_numbers(q[0], q[1], q[2], q[3], q[4], nn)
    true_mean, true_sd = x.mean(axis=1).mean(), x.std(axis=1, ddof=1).mean()
    for est in (iqr, rg, five):
        assert np.mean(est.mean) == pytest.approx(true_mean, abs=0.5)
        assert np.mean(est.sd) == pytest.approx(true_sd, rel=0.06)


@settings(max_examples=60, deadline=None)
@given(
    loc=st.floats(-1e3, 1e3),
    scale=st.floats(0.01, 100),
    n=st.integers(5, 500),
    gaps=st.lists(st.floats(0.01, 10), min_size=4, max_size=4),
)
def test_location_scale_equivariance(loc, scale, n, gaps) -> None:
    a, q1, m, q3, b = np.cumsum([0.0, *gaps])
    base = mean_sd_from_five_numbers(a, q1, m, q3, b, n)
    moved = mean_sd_from_five_numbers(*(loc + scale * v for v in (a, q1, m, q3, b)), n)
    assert moved.mean == pytest.approx(loc + scale * base.mean, rel=1e-9, abs=1e-9)
    assert moved.sd == pytest.approx(scale * base.sd, rel=1e-9)
    assert base.sd > 0


def test_bad_input_names_column_and_row() -> None:
    with pytest.raises(InputError) as info:
        mean_sd_from_median_iqr([10.0, 10.0], [8.0, 11.0], [14.0, 14.0], [40, 40], row_offset=2)
    assert info.value.column == "q1" and info.value.row == 3
    with pytest.raises(InputError) as info:
        sd_from_se([1.0, 1.0], [10, -1], row_offset=2)
    assert info.value.column == "n" and info.value.row == 3
    with pytest.raises(InputError, match="missing"):
        sd_from_se([1.0, None], [10, 10])
    with pytest.raises(InputError, match="whole number"):
        mean_sd_from_median_range(5.0, 1.0, 9.0, 10.5)
    with pytest.raises(InputError, match="between 0 and 1"):
        sd_from_p(1.2, 10, 10, 1.0)
    with pytest.raises(InputError):
        sd_from_ci(5.0, 4.0, 10)
    with pytest.raises(InputError, match="distribution"):
        sd_from_ci(4.0, 5.0, 10, dist="chi")
