"""Recover the SD a meta-analysis needs from what a trial report gives instead (SE, CI, t, p).

Medians and quantiles: :mod:`inflamed.stats.medians`. Change-score SDs: :func:`change_sd_from_prepost`.

Every function returns a small frozen result carrying the value(s), a one-line ``derivation``
string for the derivation log and the ``reference`` (method source). Inputs may be scalars or
arrays; with scalar inputs the values are Python floats, otherwise 1-D numpy arrays.

Status: closed forms, checked against the published worked examples and tables cited in
``tests/test_conversions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from inflamed.stats.distributions import norm_ppf, t_isf, t_ppf
from inflamed.stats.errors import InputError
from inflamed.stats.validation import (
    as_float_array,
    broadcast_arrays,
    check_nonnegative,
    check_ordered,
    check_positive,
    check_same_length,
    locate,
    scalar_or_array,
)

__all__ = [
    "Conversion",
    "MeanSD",
    "change_sd_from_prepost",
    "sd_from_ci",
    "sd_from_p",
    "sd_from_se",
    "sd_from_t",
]

HANDBOOK_6 = (
    "Higgins JPT, Li T, Deeks JJ (eds). Chapter 6: Choosing effect measures and computing "
    "estimates of effect. Cochrane Handbook for Systematic Reviews of Interventions v6.4, 2023"
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
    a, scalar = broadcast_arrays({"se": se, "n": n}, row_offset)
    check_positive("se", a["se"], row_offset=row_offset)
    check_positive("n", a["n"], row_offset=row_offset)
    sd = a["se"] * np.sqrt(a["n"])
    return Conversion(
        scalar_or_array(sd, scalar),
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
    a, scalar = broadcast_arrays({"ci_lb": ci_lb, "ci_ub": ci_ub, "n": n}, row_offset)
    check_positive("n", a["n"], row_offset=row_offset)
    check_ordered("ci_lb", a["ci_lb"], "ci_ub", a["ci_ub"], row_offset)
    p = 1 - (1 - level / 100) / 2
    if dist == "t":
        if np.any(a["n"] < 2):
            i = int(np.flatnonzero(a["n"] < 2)[0])
            row, where = locate(i, row_offset)
            raise InputError(
                f"{where}a t-based CI needs n >= 2", row=row, column="n", value=float(a["n"][i])
            )
        q = t_ppf(p, a["n"] - 1)
        how = f"t quantile t({p:g}, n-1)"
    else:
        q = np.full_like(a["n"], norm_ppf(p))
        how = f"normal quantile z({p:g}) = {q[0]:.6f}"
    sd = np.sqrt(a["n"]) * (a["ci_ub"] - a["ci_lb"]) / (2 * q)
    return Conversion(
        scalar_or_array(sd, scalar),
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
    a, scalar = broadcast_arrays(
        {"t": t, "n1": n1, "n2": n2, "mean_difference": mean_difference}, row_offset
    )
    check_positive("n1", a["n1"], row_offset=row_offset)
    check_positive("n2", a["n2"], row_offset=row_offset)
    check_positive("t", np.abs(a["t"]), row_offset=row_offset)
    se = np.abs(a["mean_difference"]) / np.abs(a["t"])
    sd = se / np.sqrt(1 / a["n1"] + 1 / a["n2"])
    return Conversion(
        scalar_or_array(sd, scalar),
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
    a, scalar = broadcast_arrays(
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
    t = t_isf(a["p"] / 2, df)
    inner = sd_from_t(t, a["n1"], a["n2"], a["mean_difference"], row_offset=row_offset)
    return Conversion(
        scalar_or_array(np.asarray(inner.value), scalar),
        "t = t_{1-p/2, n1+n2-2}; SD (pooled, both arms) = |MD| / t / sqrt(1/n1 + 1/n2) "
        "(Cochrane Handbook 6.5.2.3)",
        HANDBOOK_6 + ", section 6.5.2.3",
    )


# ---------------------------------------------------------------------------------------------
# Change-score SD (Cochrane Handbook section 6.5.2.8)
# ---------------------------------------------------------------------------------------------


def change_sd_from_prepost(
    sd_pre: Any, sd_post: Any, r: float = 0.5, *, row_offset: int | None = None
) -> Conversion:
    """SD of change scores from baseline and endpoint SDs and an assumed pre-post correlation.

    Parameters
    ----------
    sd_pre, sd_post
        Baseline and endpoint SDs of one arm.
    r
        Pre-post correlation; 0.5 unless a better value is known (an assumption, recorded).

    Returns
    -------
    Conversion
        ``sqrt(sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post)`` with the assumption in
        ``derivation``.

    Notes
    -----
    Cochrane Handbook v6.4, section 6.5.2.8 (imputing a change-from-baseline SD using a
    correlation coefficient). The result should be used with a sensitivity analysis on r.
    """
    if not -1 <= r <= 1:
        raise InputError("correlation out of range", column="r", value=r, expected="-1 <= r <= 1")
    scalar = np.ndim(sd_pre) == 0 and np.ndim(sd_post) == 0
    pre = as_float_array("sd_pre", sd_pre, row_offset=row_offset)
    post = as_float_array("sd_post", sd_post, row_offset=row_offset)
    check_same_length({"sd_pre": pre, "sd_post": post})
    check_nonnegative("sd_pre", pre, row_offset=row_offset)
    check_nonnegative("sd_post", post, row_offset=row_offset)
    sd = np.sqrt(pre**2 + post**2 - 2 * r * pre * post)
    return Conversion(
        float(sd[0]) if scalar else sd,
        f"SD_change = sqrt(SD_pre^2 + SD_post^2 - 2 r SD_pre SD_post); pre-post r = {r:g} assumed",
        HANDBOOK_6 + ", section 6.5.2.8",
    )
