"""Recover the mean and SD a meta-analysis needs from what a trial report gives instead.

Every function returns a small frozen result carrying the value(s), a one-line ``derivation``
string for the derivation log and the ``reference`` (method source). Inputs may be scalars or
arrays; with scalar inputs the values are Python floats, otherwise 1-D numpy arrays.

Status: closed forms, checked against the published worked examples and tables cited in
``tests/test_conversions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy import integrate, stats

from inflamed.stats.errors import InputError
from inflamed.stats.validation import (
    as_float_array,
    check_positive,
    check_same_length,
    locate,
)

__all__ = [
    "Conversion",
    "MeanSD",
    "expected_normal_range",
    "mean_sd_from_five_numbers",
    "mean_sd_from_median_iqr",
    "mean_sd_from_median_range",
    "sd_from_ci",
    "sd_from_p",
    "sd_from_se",
    "sd_from_t",
    "wan_eta",
    "wan_xi",
]

HANDBOOK_6 = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023"
)
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


@dataclass(frozen=True)
class Conversion:
    """One derived quantity.

    Attributes
    ----------
    value
        The derived value (float for scalar input, else a 1-D array).
    derivation
        Formula and assumptions, one line, for the derivation log.
    reference
        The method's source.
    """

    value: Any
    derivation: str
    reference: str


@dataclass(frozen=True)
class MeanSD:
    """A mean and SD estimated from quantiles (see :func:`mean_sd_from_median_iqr`)."""

    mean: Any
    sd: Any
    derivation: str
    reference: str


def _prepare(args: dict[str, Any], row_offset: int | None) -> tuple[dict[str, np.ndarray], bool]:
    scalar = all(np.ndim(v) == 0 for v in args.values())
    arrays = {k: as_float_array(k, v, row_offset=row_offset) for k, v in args.items()}
    k = max(len(a) for a in arrays.values())
    arrays = {name: (np.repeat(a, k) if len(a) == 1 else a) for name, a in arrays.items()}
    check_same_length(arrays)
    return arrays, scalar


def _out(x: np.ndarray, scalar: bool) -> Any:
    return float(x[0]) if scalar else x


def _check_ordered(
    lo_name: str, lo: np.ndarray, hi_name: str, hi: np.ndarray, row_offset: int | None
) -> None:
    bad = np.flatnonzero(lo > hi)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}{lo_name} ({lo[i]:g}) is larger than {hi_name} ({hi[i]:g})",
            row=row,
            column=lo_name,
            value=float(lo[i]),
            expected=f"{lo_name} <= {hi_name}",
        )


# ---------------------------------------------------------------------------------------------
# SD from SE, CI, t, p (Cochrane Handbook section 6.5.2)
# ---------------------------------------------------------------------------------------------


def sd_from_se(se: Any, n: Any, *, row_offset: int | None = None) -> Conversion:
    """SD of an arm from the standard error of its mean.

    Parameters
    ----------
    se
        Standard error of the arm mean (> 0).
    n
        Number of participants in the arm (> 0).
    row_offset
        Spreadsheet-row offset for error messages (see :mod:`inflamed.stats.validation`).

    Returns
    -------
    Conversion
        ``value = se * sqrt(n)``.

    Notes
    -----
    Cochrane Handbook v6.4, section 6.5.2.2: SD = SE x sqrt(N).
    """
    a, scalar = _prepare({"se": se, "n": n}, row_offset)
    check_positive("se", a["se"], row_offset=row_offset)
    check_positive("n", a["n"], row_offset=row_offset)
    sd = a["se"] * np.sqrt(a["n"])
    return Conversion(
        _out(sd, scalar),
        "SD = SE * sqrt(n) (Cochrane Handbook 6.5.2.2)",
        HANDBOOK_6 + ", section 6.5.2.2",
    )


def sd_from_ci(
    ci_lb: Any,
    ci_ub: Any,
    n: Any,
    *,
    level: float = 95.0,
    dist: Literal["t", "z"] = "t",
    row_offset: int | None = None,
) -> Conversion:
    """SD of an arm from a confidence interval of its mean.

    Parameters
    ----------
    ci_lb, ci_ub
        Lower and upper confidence limits of the arm mean.
    n
        Number of participants in the arm.
    level
        Confidence level of the interval, in percent.
    dist
        ``"t"`` (quantile of Student's t with n - 1 df; right when the report computed the CI from
        t, which the Handbook advises assuming for small arms) or ``"z"`` (normal quantile, 3.92
        for a 95 % CI when divided over the width: the Handbook's large-sample rule).

    Returns
    -------
    Conversion
        ``value = sqrt(n) * (ci_ub - ci_lb) / (2 * q)``.

    Notes
    -----
    Cochrane Handbook v6.4, section 6.5.2.2: SD = sqrt(N) x (upper - lower) / 3.92 for a 95 % CI
    from a normal distribution; for small samples 3.92 is replaced by 2 x t_{0.975, N-1}. The
    quantile used is recorded in ``derivation``.
    """
    if dist not in ("t", "z"):
        raise InputError("unknown distribution", column="dist", value=dist, expected="'t' or 'z'")
    if not 0 < level < 100:
        raise InputError(
            "level out of range", column="level", value=level, expected="0 < level < 100"
        )
    a, scalar = _prepare({"ci_lb": ci_lb, "ci_ub": ci_ub, "n": n}, row_offset)
    check_positive("n", a["n"], row_offset=row_offset)
    _check_ordered("ci_lb", a["ci_lb"], "ci_ub", a["ci_ub"], row_offset)
    p = 1 - (1 - level / 100) / 2
    if dist == "t":
        if np.any(a["n"] < 2):
            i = int(np.flatnonzero(a["n"] < 2)[0])
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}a t-based CI needs n >= 2", row=row, column="n", value=float(a["n"][i])
            )
        q = stats.t.ppf(p, a["n"] - 1)
        how = f"t quantile t({p:g}, n-1)"
    else:
        q = np.full_like(a["n"], stats.norm.ppf(p))
        how = f"normal quantile z({p:g}) = {q[0]:.6f}"
    sd = np.sqrt(a["n"]) * (a["ci_ub"] - a["ci_lb"]) / (2 * q)
    return Conversion(
        _out(sd, scalar),
        f"SD = sqrt(n) * (ci_ub - ci_lb) / (2 * q), {level:g}% CI of the mean, {how} "
        "(Cochrane Handbook 6.5.2.2)",
        HANDBOOK_6 + ", section 6.5.2.2",
    )


def sd_from_t(
    t: Any, n1: Any, n2: Any, mean_difference: Any, *, row_offset: int | None = None
) -> Conversion:
    """Pooled within-group SD from a two-sample t statistic and the mean difference.

    Parameters
    ----------
    t
        The t statistic of the between-group comparison (sign ignored).
    n1, n2
        Participants in arm 1 (treatment) and arm 2 (control).
    mean_difference
        The difference in means the t statistic tests (sign ignored).

    Returns
    -------
    Conversion
        ``value = |MD| / |t| / sqrt(1/n1 + 1/n2)``: the SD to use for *both* arms.

    Notes
    -----
    Cochrane Handbook v6.4, section 6.5.2.3: SE = MD / t, then SD = SE / sqrt(1/N_E + 1/N_C),
    which assumes equal SDs in the two groups (a pooled-variance t test).
    """
    a, scalar = _prepare(
        {"t": t, "n1": n1, "n2": n2, "mean_difference": mean_difference}, row_offset
    )
    check_positive("n1", a["n1"], row_offset=row_offset)
    check_positive("n2", a["n2"], row_offset=row_offset)
    check_positive("t", np.abs(a["t"]), row_offset=row_offset)
    se = np.abs(a["mean_difference"]) / np.abs(a["t"])
    sd = se / np.sqrt(1 / a["n1"] + 1 / a["n2"])
    return Conversion(
        _out(sd, scalar),
        "SD (pooled, both arms) = |MD| / |t| / sqrt(1/n1 + 1/n2) (Cochrane Handbook 6.5.2.3)",
        HANDBOOK_6 + ", section 6.5.2.3",
    )


def sd_from_p(
    p: Any, n1: Any, n2: Any, mean_difference: Any, *, row_offset: int | None = None
) -> Conversion:
    """Pooled within-group SD from a two-sided p value of a two-sample t test.

    Parameters
    ----------
    p
        Exact two-sided p value (0 < p < 1); "p < 0.05" style bounds are not exact and must not
        be passed.
    n1, n2
        Participants in arm 1 and arm 2.
    mean_difference
        The difference in means.

    Returns
    -------
    Conversion
        ``t = t_{1 - p/2, n1 + n2 - 2}``, then as :func:`sd_from_t`.

    Notes
    -----
    Cochrane Handbook v6.4, section 6.5.2.3: the t value is obtained from the p value with
    n1 + n2 - 2 degrees of freedom; then SE = MD / t and SD = SE / sqrt(1/n1 + 1/n2).
    """
    a, scalar = _prepare(
        {"p": p, "n1": n1, "n2": n2, "mean_difference": mean_difference}, row_offset
    )
    bad = np.flatnonzero((a["p"] <= 0) | (a["p"] >= 1))
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}p must be strictly between 0 and 1",
            row=row,
            column="p",
            value=float(a["p"][i]),
            expected="0 < p < 1",
        )
    check_positive("n1", a["n1"], row_offset=row_offset)
    check_positive("n2", a["n2"], row_offset=row_offset)
    df = a["n1"] + a["n2"] - 2
    t = stats.t.isf(a["p"] / 2, df)
    inner = sd_from_t(t, a["n1"], a["n2"], a["mean_difference"], row_offset=row_offset)
    return Conversion(
        _out(np.asarray(inner.value), scalar),
        "t = t_{1-p/2, n1+n2-2}; SD (pooled, both arms) = |MD| / t / sqrt(1/n1 + 1/n2) "
        "(Cochrane Handbook 6.5.2.3)",
        HANDBOOK_6 + ", section 6.5.2.3",
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
        return 1.0 - stats.norm.cdf(x) ** n - stats.norm.sf(x) ** n

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
    blom = 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))
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
    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


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
    a, scalar = _prepare({"median": median, "q1": q1, "q3": q3, "n": n}, row_offset)
    _check_n_for_quantiles(a["n"], row_offset)
    _check_ordered("q1", a["q1"], "median", a["median"], row_offset)
    _check_ordered("median", a["median"], "q3", a["q3"], row_offset)
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
        _out(mean, scalar),
        _out(sd, scalar),
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
    a, scalar = _prepare(
        {"median": median, "minimum": minimum, "maximum": maximum, "n": n}, row_offset
    )
    _check_n_for_quantiles(a["n"], row_offset)
    _check_ordered("minimum", a["minimum"], "median", a["median"], row_offset)
    _check_ordered("median", a["median"], "maximum", a["maximum"], row_offset)
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
        _out(mean, scalar),
        _out(sd, scalar),
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
    a, scalar = _prepare(
        {"minimum": minimum, "q1": q1, "median": median, "q3": q3, "maximum": maximum, "n": n},
        row_offset,
    )
    _check_n_for_quantiles(a["n"], row_offset)
    _check_ordered("minimum", a["minimum"], "q1", a["q1"], row_offset)
    _check_ordered("q1", a["q1"], "median", a["median"], row_offset)
    _check_ordered("median", a["median"], "q3", a["q3"], row_offset)
    _check_ordered("q3", a["q3"], "maximum", a["maximum"], row_offset)
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
        _out(mean, scalar),
        _out(sd, scalar),
        "mean = w1(min+max)/2 + w2(q1+q3)/2 + (1-w1-w2)median, w1 = 2.2/(2.2+n^0.75), "
        "w2 = 0.7-0.72/n^0.55 (Luo 2018); SD = (max-min)/(2 xi(n)) + (q3-q1)/(2 eta(n)) "
        f"(Wan 2014, xi method '{xi_method}'); assumes approximately normal data",
        f"{LUO_2018}; {WAN_2014}",
    )
