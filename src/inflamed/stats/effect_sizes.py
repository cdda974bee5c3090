"""Study-level effect sizes (the trial-extraction maths), mirroring metafor's ``escalc()``.

Sign convention
---------------
Everything here keeps metafor's orientation: **arm 1 minus arm 2, arm 1 = treatment**
(``m1i - m2i`` for means; log(risk_1 / risk_2) and so on for events). The pipeline's
"positive favours treatment" convention for continuous outcomes is applied later, in the
extraction stage, and recorded in its derivation log (see ``docs/architecture.md``,
section *Conventions*). Nothing in this module flips a sign.

Status: agrees with metafor 3.8.1 ``escalc()`` to 1e-10 relative on the fixtures in
``tests/reference/fixtures/effect_sizes_*.json``.

Length (over 500 lines): every measure of ``escalc`` shares one argument-checking path, kept
in one module so that the metafor mirror reads in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import gammaln

from inflamed.stats.errors import InputError
from inflamed.stats.validation import (
    as_float_array,
    check_counts,
    check_integer,
    check_nonnegative,
    check_positive,
    check_same_length,
    locate,
)

__all__ = [
    "EffectSizes",
    "binary_cells",
    "continuity_correct",
    "escalc",
    "hedges_j",
]

Measure = Literal["SMD", "MD", "RR", "OR", "RD"]
To = Literal["only0", "all", "if0all", "none"]


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes for k studies.

    Attributes
    ----------
    yi
        Observed effects (log scale for ``RR`` and ``OR``), arm 1 minus arm 2.
    vi
        Sampling variances.
    measure
        ``"SMD"``, ``"MD"``, ``"RR"``, ``"OR"`` or ``"RD"``.
    derivation
        One string per study: formula, variance and any correction applied.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    derivation: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.yi.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``yi, vi, measure, derivation``."""
        return pd.DataFrame(
            {
                "yi": self.yi,
                "vi": self.vi,
                "measure": self.measure,
                "derivation": list(self.derivation),
            }
        )


def hedges_j(m: np.ndarray | float) -> np.ndarray:
    """Exact small-sample bias correction for Cohen's d.

    ``J(m) = Gamma(m/2) / (sqrt(m/2) * Gamma((m-1)/2))``, evaluated on the log scale with
    ``gammaln`` so that large m does not overflow. ``m`` is the degrees of freedom
    (n1 + n2 - 2); J is undefined for m <= 1 (returned as NaN).

    References
    ----------
    Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. J Educ Stat 6:107-128.
    """
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore"):
        j = np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))
    return np.where(m > 1, j, np.nan)


def continuity_correct(
    cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    add: float,
    to: str,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Add ``add`` to the four cells of each 2x2 table as metafor's ``to`` argument says.

    Parameters
    ----------
    cells
        ``(ai, bi, ci, di)``; NaN marks a dropped study (never corrected).
    add
        The amount added (metafor's default 1/2).
    to
        ``"only0"``: tables with at least one zero cell; ``"all"``: every table;
        ``"if0all"``: every table if any table has a zero cell; ``"none"``: nothing.

    Returns
    -------
    tuple
        The corrected cells and a boolean array marking the corrected tables.
    """
    ai, bi, ci, di = (np.asarray(c, dtype=float) for c in cells)
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError(
            "unknown continuity-correction rule",
            column="to",
            value=to,
            expected="'only0', 'all', 'if0all' or 'none'",
        )
    present = ~(np.isnan(ai) | np.isnan(bi) | np.isnan(ci) | np.isnan(di))
    has0 = present & ((ai == 0) | (bi == 0) | (ci == 0) | (di == 0))
    if to == "all":
        mask = present.copy()
    elif to == "only0":
        mask = has0
    elif to == "if0all":
        mask = present.copy() if has0.any() else np.zeros_like(present)
    else:
        mask = np.zeros_like(present)
    if add == 0:
        mask = np.zeros_like(present)
    inc = np.where(mask, add, 0.0)
    return (ai + inc, bi + inc, ci + inc, di + inc), mask


def _arr(name: str, values: Any, row_offset: int | None) -> np.ndarray | None:
    if values is None:
        return None
    return as_float_array(name, values, row_offset=row_offset)


def _require(measure: str, **arrays: np.ndarray | None) -> None:
    missing = [k for k, v in arrays.items() if v is None]
    if missing:
        raise InputError(
            f"measure {measure} needs {', '.join(arrays)}; missing: {', '.join(missing)}",
            column=missing[0],
            expected="an array with one value per study",
        )


def escalc(
    measure: str,
    *,
    m1i: Any = None,
    sd1i: Any = None,
    n1i: Any = None,
    m2i: Any = None,
    sd2i: Any = None,
    n2i: Any = None,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    row_offset: int | None = None,
) -> EffectSizes:
    """Compute effect sizes and sampling variances as metafor's ``escalc()`` does.

    Parameters
    ----------
    measure
        ``"SMD"`` (Hedges' g), ``"MD"`` (raw mean difference), ``"RR"`` (log risk ratio),
        ``"OR"`` (log odds ratio) or ``"RD"`` (risk difference).
    m1i, sd1i, n1i, m2i, sd2i, n2i
        Means, SDs and sizes of arm 1 (treatment) and arm 2 (control), for SMD and MD.
    ai, bi, ci, di
        2x2 cells for binary measures: events / non-events in arm 1 (``ai``, ``bi``) and arm 2
        (``ci``, ``di``). Instead of ``bi`` and ``di`` you may pass ``n1i`` and ``n2i``
        (then ``bi = n1i - ai``, ``di = n2i - ci``); if both are given they must agree.
    add, to
        Continuity correction for binary measures, exactly as metafor: ``add`` (default 1/2) is
        added to all four cells of the tables chosen by ``to`` (``"only0"`` default,
        ``"all"``, ``"if0all"``, ``"none"``). Each corrected row says so in ``derivation``.
    drop00
        Binary measures: if ``True``, studies with no events in either arm (or events for every
        participant in both arms) get ``yi = vi = NaN`` (metafor's ``drop00``; default False as
        in ``escalc``).
    vtype
        Variance type. SMD: ``"LS"`` (default; large-sample 1/n1 + 1/n2 + g^2/(2(n1+n2))),
        ``"UB"`` (unbiased), ``"LS2"``, ``"AV"``. MD: ``"LS"``/``"UB"`` (sd1^2/n1 + sd2^2/n2) or
        ``"HO"`` (pooled SD). RD: ``"LS"``, ``"UB"``, ``"AV"``. Ignored for RR and OR.
    row_offset
        Added to 0-based positions in error messages (the CLI passes 2; see
        :mod:`inflamed.stats.validation`).

    Returns
    -------
    EffectSizes
        ``yi``, ``vi`` and one derivation string per study.

    Raises
    ------
    InputError
        Missing, negative or impossible values (negative SD, n <= 0, events > n, non-integer
        counts), naming the argument and the element/row. Where metafor would return NA for a
        continuous measure (SMD with n1 + n2 < 4, or both SDs zero) inflamed raises instead, so
        that no NaN slips into the pipeline unannounced; binary rows that metafor leaves NA
        (``drop00``, uncorrected zero cells) stay NaN and say so in ``derivation``.

    Notes
    -----
    Orientation: arm 1 minus arm 2 (metafor's). A positive SMD means a higher mean on
    treatment; whether that is benefit depends on the instrument, and the extraction stage flips
    it so that positive favours treatment (``docs/architecture.md``).

    SMD: d = (m1 - m2) / s_p with s_p^2 = ((n1-1) sd1^2 + (n2-1) sd2^2) / (n1 + n2 - 2);
    g = J(m) d with the exact J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2
    (Hedges 1981). Default variance (metafor >= 3.0 ``vtype="LS"``):
    1/n1 + 1/n2 + g^2 / (2 (n1 + n2)). Log RR: variance 1/a - 1/n1 + 1/c - 1/n2; log OR:
    1/a + 1/b + 1/c + 1/d; RD: p1(1-p1)/n1 + p2(1-p2)/n2 (Borenstein et al. 2009, ch. 4-5;
    Viechtbauer 2010, metafor ``escalc`` help).

    References
    ----------
    Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
    36(3). doi:10.18637/jss.v036.i03
    """
    measure = str(measure).upper()
    if measure in ("SMD", "MD"):
        return _escalc_continuous(
            measure,
            m1i=_arr("m1i", m1i, row_offset),
            sd1i=_arr("sd1i", sd1i, row_offset),
            n1i=_arr("n1i", n1i, row_offset),
            m2i=_arr("m2i", m2i, row_offset),
            sd2i=_arr("sd2i", sd2i, row_offset),
            n2i=_arr("n2i", n2i, row_offset),
            vtype=vtype,
            row_offset=row_offset,
        )
    if measure in ("RR", "OR", "RD"):
        cells = binary_cells(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, row_offset=row_offset)
        return _escalc_binary(measure, cells, add=add, to=to, drop00=drop00, vtype=vtype)
    raise InputError(
        "unknown effect-size measure",
        column="measure",
        value=measure,
        expected="SMD, MD, RR, OR or RD",
    )


def binary_cells(
    *,
    ai: Any,
    bi: Any = None,
    ci: Any,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    row_offset: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate binary inputs and return the four 2x2 cells ``(ai, bi, ci, di)`` as floats.

    Accepts ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i`` (or both, which must agree). Counts must
    be whole numbers, arm sizes > 0 and 0 <= events <= arm size; errors name the column and row.
    """
    a = _arr("ai", ai, row_offset)
    c = _arr("ci", ci, row_offset)
    b = _arr("bi", bi, row_offset)
    d = _arr("di", di, row_offset)
    n1 = _arr("n1i", n1i, row_offset)
    n2 = _arr("n2i", n2i, row_offset)
    if a is None or c is None:
        _require("binary", ai=a, ci=c)
    assert a is not None and c is not None
    for arm, non, n, non_name, n_name in ((1, b, n1, "bi", "n1i"), (2, d, n2, "di", "n2i")):
        if non is None and n is None:
            raise InputError(
                f"arm {arm} needs either {non_name} (non-events) or {n_name} (arm size)",
                column=n_name,
                expected="one value per study",
            )
    arrays = {
        k: v
        for k, v in {"ai": a, "bi": b, "ci": c, "di": d, "n1i": n1, "n2i": n2}.items()
        if v is not None
    }
    check_same_length(arrays)
    for name, arr in arrays.items():
        check_integer(name, arr, row_offset=row_offset)
        check_nonnegative(name, arr, row_offset=row_offset)
    if n1 is not None and b is not None:
        _check_agree("n1i", n1, a + b, "ai + bi", row_offset)
    if n2 is not None and d is not None:
        _check_agree("n2i", n2, c + d, "ci + di", row_offset)
    n1 = a + b if n1 is None else n1
    n2 = c + d if n2 is None else n2
    check_counts("ai", a, "n1i", n1, row_offset=row_offset)
    check_counts("ci", c, "n2i", n2, row_offset=row_offset)
    return a, n1 - a, c, n2 - c


def _check_agree(
    name: str, n: np.ndarray, total: np.ndarray, what: str, row_offset: int | None
) -> None:
    bad = np.flatnonzero(n != total)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}{name} does not equal {what} ({total[i]:g})",
            row=row,
            column=name,
            value=float(n[i]),
            expected=f"{name} = {what}",
        )


def _escalc_continuous(
    measure: str,
    *,
    m1i: np.ndarray | None,
    sd1i: np.ndarray | None,
    n1i: np.ndarray | None,
    m2i: np.ndarray | None,
    sd2i: np.ndarray | None,
    n2i: np.ndarray | None,
    vtype: str,
    row_offset: int | None,
) -> EffectSizes:
    _require(measure, m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i)
    assert m1i is not None and sd1i is not None and n1i is not None
    assert m2i is not None and sd2i is not None and n2i is not None
    check_same_length({"m1i": m1i, "sd1i": sd1i, "n1i": n1i, "m2i": m2i, "sd2i": sd2i, "n2i": n2i})
    check_nonnegative("sd1i", sd1i, row_offset=row_offset)
    check_nonnegative("sd2i", sd2i, row_offset=row_offset)
    check_positive("n1i", n1i, row_offset=row_offset)
    check_positive("n2i", n2i, row_offset=row_offset)
    ni = n1i + n2i
    mi = ni - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        sdp = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
    if measure == "MD":
        yi = m1i - m2i
        if vtype in ("LS", "UB"):
            vi = sd1i**2 / n1i + sd2i**2 / n2i
            vtext = "vi = sd1^2/n1 + sd2^2/n2"
        elif vtype == "HO":
            _check_df(mi, 1, row_offset, "a pooled SD")
            vi = sdp**2 * (1 / n1i + 1 / n2i)
            vtext = "vi = sp^2 (1/n1 + 1/n2) (pooled SD)"
        else:
            raise InputError(
                "unknown vtype for MD", column="vtype", value=vtype, expected="'LS', 'UB' or 'HO'"
            )
        _check_positive_variance(vi, row_offset, "both SDs are zero")
        derivation = tuple(f"MD = m1 - m2; {vtext}" for _ in range(len(yi)))
        return EffectSizes(yi, vi, "MD", derivation)

    # SMD
    _check_df(mi, 2, row_offset, "Hedges' exact correction (n1i + n2i >= 4)")
    bad = np.flatnonzero(sdp <= 0)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}both SDs are zero, so the SMD is undefined",
            row=row,
            column="sd1i",
            value=0.0,
            expected="at least one positive SD",
        )
    cmi = hedges_j(mi)
    di = (m1i - m2i) / sdp
    yi = cmi * di
    if vtype == "LS":
        vi = 1 / n1i + 1 / n2i + yi**2 / (2 * ni)
        vtext = "vi = 1/n1 + 1/n2 + g^2/(2(n1+n2))"
    elif vtype == "UB":
        vi = 1 / n1i + 1 / n2i + (1 - (mi - 2) / (mi * cmi**2)) * yi**2
        vtext = "vi = 1/n1 + 1/n2 + (1 - (m-2)/(m J^2)) g^2 (unbiased)"
    elif vtype == "LS2":
        vi = cmi**2 * (1 / n1i + 1 / n2i + di**2 / (2 * ni))
        vtext = "vi = J^2 (1/n1 + 1/n2 + d^2/(2(n1+n2)))"
    elif vtype == "AV":
        mnwyi = np.sum(ni * yi) / np.sum(ni)
        vi = 1 / n1i + 1 / n2i + mnwyi**2 / (2 * ni)
        vtext = "vi = 1/n1 + 1/n2 + gbar^2/(2(n1+n2)), gbar = n-weighted mean g"
    else:
        raise InputError(
            "unknown vtype for SMD",
            column="vtype",
            value=vtype,
            expected="'LS', 'UB', 'LS2' or 'AV'",
        )
    derivation = tuple(f"SMD (Hedges g, exact J); {vtext}" for _ in range(len(yi)))
    return EffectSizes(yi, vi, "SMD", derivation)


def _check_df(mi: np.ndarray, minimum: int, row_offset: int | None, what: str) -> None:
    bad = np.flatnonzero(mi < minimum)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}too few participants for {what}",
            row=row,
            column="n1i",
            value=float(mi[i] + 2),
            expected=f"n1i + n2i >= {minimum + 2}",
        )


def _check_positive_variance(vi: np.ndarray, row_offset: int | None, why: str) -> None:
    bad = np.flatnonzero(vi <= 0)
    if bad.size:
        i = int(bad[0])
        row, where = locate(i, row_offset)
        raise InputError(
            f"{where}sampling variance is zero ({why})",
            row=row,
            column="sd1i",
            value=0.0,
            expected="a positive SD in at least one arm",
        )


def _escalc_binary(
    measure: str,
    cells: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    *,
    add: float,
    to: str,
    drop00: bool,
    vtype: str,
) -> EffectSizes:
    ai, bi, ci, di = (c.copy() for c in cells)
    k = ai.shape[0]
    dropped = np.zeros(k, dtype=bool)
    if drop00:
        dropped = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        for arr in (ai, bi, ci, di):
            arr[dropped] = np.nan
    (ai, bi, ci, di), corrected = continuity_correct((ai, bi, ci, di), add, to)
    n1i = ai + bi
    n2i = ci + di
    p1 = ai / n1i
    p2 = ci / n2i
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
            base = "log RR = log(a/n1) - log(c/n2); vi = 1/a - 1/n1 + 1/c - 1/n2"
        elif measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
            base = "log OR = log(ad/bc); vi = 1/a + 1/b + 1/c + 1/d"
        else:
            yi = p1 - p2
            if vtype == "LS":
                vi = p1 * (1 - p1) / n1i + p2 * (1 - p2) / n2i
                base = "RD = a/n1 - c/n2; vi = p1(1-p1)/n1 + p2(1-p2)/n2"
            elif vtype == "UB":
                vi = p1 * (1 - p1) / (n1i - 1) + p2 * (1 - p2) / (n2i - 1)
                base = "RD = a/n1 - c/n2; vi = p1(1-p1)/(n1-1) + p2(1-p2)/(n2-1) (unbiased)"
            elif vtype == "AV":
                ok = ~np.isnan(p1)
                mp1 = np.sum(n1i[ok] * p1[ok]) / np.sum(n1i[ok])
                mp2 = np.sum(n2i[ok] * p2[ok]) / np.sum(n2i[ok])
                vi = mp1 * (1 - mp1) / n1i + mp2 * (1 - mp2) / n2i
                base = "RD = a/n1 - c/n2; vi from n-weighted mean risks (AV)"
            else:
                raise InputError(
                    "unknown vtype for RD",
                    column="vtype",
                    value=vtype,
                    expected="'LS', 'UB' or 'AV'",
                )
    # as metafor: an infinite effect or variance (a zero cell left uncorrected) becomes NaN
    infinite = ~(np.isfinite(yi) & np.isfinite(vi)) & ~np.isnan(ai)
    yi = np.where(np.isinf(yi) | np.isinf(vi), np.nan, yi)
    vi = np.where(np.isnan(yi) | np.isinf(vi), np.nan, vi)
    derivation = []
    for i in range(k):
        if dropped[i]:
            derivation.append(
                f"{measure}: study dropped (no events or all events in both arms; drop00)"
            )
        elif infinite[i]:
            derivation.append(f"{base}; not estimable: zero cell without correction (to='{to}')")
        elif corrected[i]:
            derivation.append(f"{base}; {add:g} added to every cell (to='{to}')")
        else:
            derivation.append(base)
    return EffectSizes(yi, vi, measure, tuple(derivation))
