"""Mean and SD from the median and quantiles a trial reports (Wan 2014; Luo 2018).

Like :mod:`inflamed.stats.conversions`, every function returns a :class:`MeanSD` carrying the
values, a one-line derivation for the derivation log and the method's reference. Checked against
the published worked examples and tables cited in ``tests/test_conversions.py``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy import integrate

from inflamed.stats.conversions import MeanSD
from inflamed.stats.distributions import norm_cdf, norm_ppf, norm_sf
from inflamed.stats.errors import InputError
from inflamed.stats.validation import (
    broadcast_arrays,
    check_ordered,
    check_positive,
    locate,
    scalar_or_array,
)

__all__ = [
    "expected_normal_range",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "wan_eta",
    "wan_xi",
]

WAN_2014 = (
    "Wan X, Wang W, Liu J, Tong T. Estimating the sample mean and standard deviation from the "
    "sample size, median, range and/or interquartile range. BMC Med Res Methodol 2014;14:135. "
    "doi:10.1186/1471-2288-14-135"
)
LUO_2018 = (
    "Luo D, Wan X, Liu J, Tong T. Optimally estimating the sample mean from the sample size, "
    "median, mid-range, and/or mid-quartile range. Stat Methods Med Res 2018;27(6):1785-1805. "
    "doi:10.1177/0962280216669183"
)


# ---------------------------------------------------------------------------------------------
# Mean and SD from median and quantiles (Wan 2014; Luo 2018)
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def expected_normal_range(n: int) -> float:
    """Expected range of ``n`` independent standard normal draws, by numerical integration.

    ``E[Z_(n) - Z_(1)] = integral over x of 1 - Phi(x)^n - (1 - Phi(x))^n``; for n = 2 this is
    2 / sqrt(pi) = 1.1284. These are the values Wan et al. (2014) tabulate as xi(n) in Table 1.
    """
    if n < 1 or n != int(n):
        raise InputError("sample size must be a positive integer", column="n", value=n)
    if n == 1:
        return 0.0

    def integrand(x: float) -> float:
        return 1.0 - norm_cdf(x) ** n - norm_sf(x) ** n

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12, limit=200)
    return float(value)


def wan_xi(n: Any, method: Literal["wan", "blom"] = "wan") -> np.ndarray:
    """Wan et al. (2014) xi(n): the divisor turning a range into an SD.

    Parameters
    ----------
    n
        Sample size(s).
    method
        ``"wan"``: the exact expected range of n standard normals (numerical integration with
        scipy) for n <= 50, as Wan et al. tabulate in Table 1, and Blom's closed form
        2 * Phi^-1((n - 0.375) / (n + 0.25)) for n > 50 (their formula for large n).
        ``"blom"``: Blom's closed form for every n (what the R packages meta and estmeansd
        use; differs from Table 1 by up to 0.05 at n = 2 and < 0.005 for n >= 10).

    Returns
    -------
    numpy.ndarray
        xi(n) for each n.
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    blom = 2 * norm_ppf((n - 0.375) / (n + 0.25))
    if method == "blom":
        return blom
    if method != "wan":
        raise InputError(
            "unknown xi method", column="method", value=method, expected="'wan' or 'blom'"
        )
    out = blom.copy()
    for i, ni in enumerate(n):
        if ni <= 50:
            out[i] = expected_normal_range(int(ni))
    return out


def wan_eta(n: Any) -> np.ndarray:
    """Wan et al. (2014) eta(n) = 2 * Phi^-1((0.75 n - 0.125) / (n + 0.25)): IQR-to-SD divisor.

    Notes
    -----
    This is Wan et al.'s closed form (Blom's approximation to twice the expected third-quartile
    order statistic), used for every n, because the exact order statistic is defined only for
    n = 4Q + 1; it tends to 1.349 (the normal IQR in SD units) as n grows.
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    return 2 * norm_ppf((0.75 * n - 0.125) / (n + 0.25))


def _check_n_for_quantiles(n: np.ndarray, row_offset: int | None) -> None:
    check_positive("n", n, row_offset=row_offset)
    bad = np.flatnonzero(n != np.round(n))
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}sample size must be a whole number",
            row=row,
            column="n",
            value=float(n[i]),
            expected="an integer",
        )


def mean_sd_from_median_iqr(
    median: Any,
    q1: Any,
    q3: Any,
    n: Any,
    *,
    mean_method: Literal["luo", "wan"] = "luo",
    row_offset: int | None = None,
) -> MeanSD:
    """Mean and SD from the median, first and third quartiles and n (scenario S3 / C3).

    Parameters
    ----------
    median, q1, q3
        Sample median and quartiles (``q1 <= median <= q3``).
    n
        Sample size (whole number, > 0).
    mean_method
        ``"luo"`` (default): Luo et al. (2018) weighted estimator
        w (q1 + q3)/2 + (1 - w) median with w = 0.7 + 0.39/n.
        ``"wan"``: Wan et al. (2014) (q1 + median + q3) / 3.

    Returns
    -------
    MeanSD
        ``sd = (q3 - q1) / eta(n)`` (Wan et al. 2014, scenario C3).

    Notes
    -----
    Both estimators assume roughly normal data; for skewed outcomes the derivation log should
    flag the imputation. References: Wan 2014 (SD); Luo 2018 (mean, scenario S3).
    """
    a, scalar = broadcast_arrays({"median": median, "q1": q1, "q3": q3, "n": n}, row_offset)
    _check_n_for_quantiles(a["n"], row_offset)
    check_ordered("q1", a["q1"], "median", a["median"], row_offset)
    check_ordered("median", a["median"], "q3", a["q3"], row_offset)
    nn = a["n"]
    if mean_method == "luo":
        w = 0.7 + 0.39 / nn
        mean = w * (a["q1"] + a["q3"]) / 2 + (1 - w) * a["median"]
        mtext, ref = "mean = w(q1+q3)/2 + (1-w)median, w = 0.7 + 0.39/n (Luo 2018)", LUO_2018
    elif mean_method == "wan":
        mean = (a["q1"] + a["median"] + a["q3"]) / 3
        mtext, ref = "mean = (q1+median+q3)/3 (Wan 2014)", WAN_2014
    else:
        raise InputError(
            "unknown mean method",
            column="mean_method",
            value=mean_method,
            expected="'luo' or 'wan'",
        )
    sd = (a["q3"] - a["q1"]) / wan_eta(nn)
    return MeanSD(
        scalar_or_array(mean, scalar),
        scalar_or_array(sd, scalar),
        f"{mtext}; SD = (q3-q1)/eta(n), eta(n) = 2*Phi^-1((0.75n-0.125)/(n+0.25)) (Wan 2014); "
        "assumes approximately normal data",
        f"{ref}; {WAN_2014}" if ref is not WAN_2014 else WAN_2014,
    )


def mean_sd_from_median_range(
    median: Any,
    minimum: Any,
    maximum: Any,
    n: Any,
    *,
    mean_method: Literal["luo", "wan"] = "luo",
    xi_method: Literal["wan", "blom"] = "wan",
    row_offset: int | None = None,
) -> MeanSD:
    """Mean and SD from the median, minimum, maximum and n (scenario S1 / C1).

    Parameters
    ----------
    median, minimum, maximum
        Sample median and range limits.
    n
        Sample size.
    mean_method
        ``"luo"`` (default): w (min + max)/2 + (1 - w) median with w = 4 / (4 + n^0.75)
        (Luo et al. 2018). ``"wan"``: (min + 2 median + max) / 4 (Wan et al. 2014 / Hozo 2005).
    xi_method
        How xi(n) is computed, see :func:`wan_xi`.

    Returns
    -------
    MeanSD
        ``sd = (max - min) / xi(n)`` (Wan et al. 2014, formula for scenario C1).
    """
    a, scalar = broadcast_arrays(
        {"median": median, "minimum": minimum, "maximum": maximum, "n": n}, row_offset
    )
    _check_n_for_quantiles(a["n"], row_offset)
    check_ordered("minimum", a["minimum"], "median", a["median"], row_offset)
    check_ordered("median", a["median"], "maximum", a["maximum"], row_offset)
    nn = a["n"]
    if np.any(nn < 2):
        i = int(np.flatnonzero(nn < 2)[0])
        row, where = locate(i, row_offset)
        raise InputError(f"{where}a range needs n >= 2", row=row, column="n", value=float(nn[i]))
    if mean_method == "luo":
        w = 4 / (4 + nn**0.75)
        mean = w * (a["minimum"] + a["maximum"]) / 2 + (1 - w) * a["median"]
        mtext, ref = "mean = w(min+max)/2 + (1-w)median, w = 4/(4+n^0.75) (Luo 2018)", LUO_2018
    elif mean_method == "wan":
        mean = (a["minimum"] + 2 * a["median"] + a["maximum"]) / 4
        mtext, ref = "mean = (min+2*median+max)/4 (Wan 2014)", WAN_2014
    else:
        raise InputError(
            "unknown mean method",
            column="mean_method",
            value=mean_method,
            expected="'luo' or 'wan'",
        )
    sd = (a["maximum"] - a["minimum"]) / wan_xi(nn, xi_method)
    xtext = (
        "xi(n) = exact expected normal range for n <= 50 (Wan 2014 Table 1), "
        "2*Phi^-1((n-0.375)/(n+0.25)) for n > 50"
        if xi_method == "wan"
        else "xi(n) = 2*Phi^-1((n-0.375)/(n+0.25)) (Blom)"
    )
    return MeanSD(
        scalar_or_array(mean, scalar),
        scalar_or_array(sd, scalar),
        f"{mtext}; SD = (max-min)/xi(n), {xtext} (Wan 2014); assumes approximately normal data",
        f"{ref}; {WAN_2014}" if ref is not WAN_2014 else WAN_2014,
    )


def mean_sd_from_five_numbers(
    minimum: Any,
    q1: Any,
    median: Any,
    q3: Any,
    maximum: Any,
    n: Any,
    *,
    xi_method: Literal["wan", "blom"] = "wan",
    row_offset: int | None = None,
) -> MeanSD:
    """Mean and SD from the five-number summary and n (scenario S2 / C2).

    Returns
    -------
    MeanSD
        mean (Luo et al. 2018): w1 (min + max)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) median with
        w1 = 2.2 / (2.2 + n^0.75), w2 = 0.7 - 0.72 / n^0.55;
        SD (Wan et al. 2014): (max - min) / (2 xi(n)) + (q3 - q1) / (2 eta(n)).
    """
    a, scalar = broadcast_arrays(
        {"minimum": minimum, "q1": q1, "median": median, "q3": q3, "maximum": maximum, "n": n},
        row_offset,
    )
    _check_n_for_quantiles(a["n"], row_offset)
    check_ordered("minimum", a["minimum"], "q1", a["q1"], row_offset)
    check_ordered("q1", a["q1"], "median", a["median"], row_offset)
    check_ordered("median", a["median"], "q3", a["q3"], row_offset)
    check_ordered("q3", a["q3"], "maximum", a["maximum"], row_offset)
    nn = a["n"]
    w1 = 2.2 / (2.2 + nn**0.75)
    w2 = 0.7 - 0.72 / nn**0.55
    mean = (
        w1 * (a["minimum"] + a["maximum"]) / 2
        + w2 * (a["q1"] + a["q3"]) / 2
        + (1 - w1 - w2) * a["median"]
    )
    sd = (a["maximum"] - a["minimum"]) / (2 * wan_xi(nn, xi_method)) + (a["q3"] - a["q1"]) / (
        2 * wan_eta(nn)
    )
    return MeanSD(
        scalar_or_array(mean, scalar),
        scalar_or_array(sd, scalar),
        "mean = w1(min+max)/2 + w2(q1+q3)/2 + (1-w1-w2)median, w1 = 2.2/(2.2+n^0.75), "
        "w2 = 0.7-0.72/n^0.55 (Luo 2018); SD = (max-min)/(2 xi(n)) + (q3-q1)/(2 eta(n)) "
        f"(Wan 2014, xi method '{xi_method}'); assumes approximately normal data",
        f"{LUO_2018}; {WAN_2014}",
    )
