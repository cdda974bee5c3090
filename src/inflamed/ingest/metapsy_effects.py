"""inflamed's effect sizes from the raw arm data of a Metapsy dataset, and Metapsy's own ``.g``.

Sign conventions
----------------
*Metapsy*: ``.g`` is positive when arm 1 (the psychotherapy) is better, i.e. has *lower*
depression scores (``g = J (m2 - m1) / s_p``; checked on the 2024 release: Abas 2018 has
mean 3.8 on psychotherapy vs 5.5 on care as usual and ``.g`` = +0.55), and, for binary outcomes
(response, remission), positive when arm 1 has *more* events.
*inflamed*: :func:`inflamed.stats.effect_sizes.escalc` keeps metafor's arm 1 minus arm 2; the
extraction convention is "positive favours treatment". All Metapsy depression instruments are
scored higher = worse, so inflamed flips the sign of SMDs from post-test means and from change
scores (``yi = -escalc(...)``) and keeps binary effects as they are; the result is oriented as
Metapsy's ``.g``. Every flip is written in ``derivation``.

Status: on the Metapsy depression psychotherapy database (release 24.0.2, 900 rows), inflamed's g
from raw arm data agrees with ``.g`` within 1e-3 on 877 of 883 comparable rows (99.32 %); the six
disagreements are listed and explained by tests/test_ingest_metapsy.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from inflamed.ingest.metapsy import CHANGE, POST, data_kind
from inflamed.stats.effect_sizes import escalc, hedges_j

__all__ = ["compare_with_metapsy", "metapsy_effects"]


def metapsy_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """inflamed's Hedges' g for every row of a Metapsy dataset, from the raw data it gives.

    Parameters
    ----------
    frame
        Output of :func:`read_metapsy`.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order: ``.id``, ``study``, ``row_ref``, ``data_used``
        (one of :data:`DATA_KINDS` or ``none``), ``yi`` (Hedges' g, positive = arm 1 better, as
        Metapsy's ``.g``), ``vi``, ``measure`` (``SMD``), ``sign`` (what was flipped),
        ``derivation``, and Metapsy's own ``metapsy_g`` / ``metapsy_g_se`` for comparison.

    Notes
    -----
    Which data: the first complete set in Metapsy's priority order (post-test mean/SD/n of both
    arms; change-score mean/SD/n; events/totals; ``precalc_g``/``precalc_g_se``).

    * ``post_msd`` / ``change_msd``: :func:`~inflamed.stats.effect_sizes.escalc` ``SMD`` (exact
      Hedges J, variance 1/n1 + 1/n2 + g^2/(2(n1+n2)), metafor's vtype "LS"), sign flipped
      because the instruments score higher = worse. Metapsy's ``.g_se`` is computed with d in
      place of g in the last term (the esc package), so ``vi`` and ``.g_se^2`` differ slightly.
    * ``events``: log odds ratio (``escalc`` ``OR``, 0.5 added to every cell of a table with a
      zero) converted to d = ln(OR) sqrt(3)/pi (Chinn 2000, doi 10.1002/1097-0258(20001130)19:22
      <3127::AID-SIM784>3.0.CO;2-M), times Hedges' J(n1 + n2 - 2) as Metapsy does; variance
      var(ln OR) 3/pi^2 (uncorrected, as Metapsy's ``.g_se``). Events are responses or
      remissions (benefit), so no flip.
    * ``precalc_g``: Metapsy's precalculated g and SE, taken as they are (already oriented).
    """
    kind = data_kind(frame)
    n = len(frame)
    yi = np.full(n, np.nan)
    vi = np.full(n, np.nan)
    sign = np.full(n, "", dtype=object)
    deriv = np.full(n, "no usable raw data or precalculated g", dtype=object)
    for name, cols in (("post_msd", POST), ("change_msd", CHANGE)):
        idx = np.flatnonzero(kind == name)
        if idx.size:
            sub = frame.iloc[idx]
            es = escalc(
                "SMD",
                m1i=sub[cols[0]],
                sd1i=sub[cols[1]],
                n1i=sub[cols[2]],
                m2i=sub[cols[3]],
                sd2i=sub[cols[4]],
                n2i=sub[cols[5]],
            )
            yi[idx] = -es.yi
            vi[idx] = es.vi
            what = "post-test means" if name == "post_msd" else "change scores (post - pre)"
            sign[idx] = "flipped: instrument scored higher = worse"
            for j, d in zip(idx, es.derivation, strict=True):
                deriv[j] = (
                    f"{d}; from {what}; sign flipped (-g) so that positive = arm 1 better (lower scores)"
                )
    idx = np.flatnonzero(kind == "events")
    if idx.size:
        sub = frame.iloc[idx]
        es = escalc(
            "OR",
            ai=sub["event_arm1"],
            n1i=sub["totaln_arm1"],
            ci=sub["event_arm2"],
            n2i=sub["totaln_arm2"],
        )
        total = (sub["totaln_arm1"] + sub["totaln_arm2"]).to_numpy()
        j_corr = hedges_j(total - 2)
        yi[idx] = es.yi * math.sqrt(3) / math.pi * j_corr
        vi[idx] = es.vi * 3 / math.pi**2
        sign[idx] = "kept: event = response/remission (benefit)"
        for j, d in zip(idx, es.derivation, strict=True):
            deriv[j] = (
                f"{d}; g = ln(OR) * sqrt(3)/pi * J(n1+n2-2), v = var(ln OR) * 3/pi^2 (Chinn 2000; Hedges 1981)"
            )
    idx = np.flatnonzero(kind == "precalc_g")
    if idx.size:
        yi[idx] = frame["precalc_g"].to_numpy()[idx]
        vi[idx] = frame["precalc_g_se"].to_numpy()[idx] ** 2
        sign[idx] = "kept: Metapsy's precalculated g (already positive = arm 1 better)"
        deriv[idx] = "precalc_g and precalc_g_se^2 as given by Metapsy"
    out = pd.DataFrame(
        {
            ".id": frame[".id"] if ".id" in frame else "",
            "study": frame["study"],
            "row_ref": frame["row_ref"],
            "data_used": kind,
            "yi": yi,
            "vi": vi,
            "measure": "SMD",
            "sign": sign,
            "derivation": deriv,
            "metapsy_g": frame[".g"] if ".g" in frame else np.nan,
            "metapsy_g_se": frame[".g_se"] if ".g_se" in frame else np.nan,
        }
    )
    return out.reset_index(drop=True)


def compare_with_metapsy(effects: pd.DataFrame, *, tol: float = 1e-3) -> pd.DataFrame:
    """Compare inflamed's g with Metapsy's ``.g`` on rows where both come from the same raw data.

    Parameters
    ----------
    effects
        Output of :func:`metapsy_effects`.
    tol
        Absolute tolerance on g.

    Returns
    -------
    pandas.DataFrame
        The compared rows (raw data used: post_msd, change_msd or events; ``.g`` present) with
        ``diff = yi - metapsy_g``, ``agree`` and, for disagreements, ``explanation``: a sign
        reversal (Metapsy's ``.g`` has the opposite sign of its own raw arm data), a small
        difference (< 0.01: Metapsy computed from slightly different numbers, e.g. other n), or a
        large difference (``.g`` not reproducible from the row's raw columns, e.g. an entry error
        or other data used).
    """
    mask = (
        effects["data_used"].isin(["post_msd", "change_msd", "events"])
        & effects["metapsy_g"].notna()
    )
    out = effects.loc[mask].copy()
    out["diff"] = out["yi"] - out["metapsy_g"]
    out["agree"] = out["diff"].abs() < tol
    expl = np.full(len(out), "", dtype=object)
    for i, (ours, theirs, d) in enumerate(
        zip(out["yi"], out["metapsy_g"], out["diff"], strict=True)
    ):
        if abs(d) < tol:
            continue
        if abs(ours + theirs) < tol:
            expl[i] = (
                "sign reversal: Metapsy's .g has the opposite sign of the g its raw arm data give"
            )
        elif abs(d) < 0.01:
            expl[i] = (
                "small difference (< 0.01): Metapsy's .g was computed from slightly different numbers than the row's raw columns"
            )
        else:
            expl[i] = (
                "large difference: Metapsy's .g is not reproducible from the row's raw columns (entry error or other data used)"
            )
    out["explanation"] = expl
    return out.reset_index(drop=True)
