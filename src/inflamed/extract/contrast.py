"""Contrast-level rows (generic inverse-variance input): a between-arm difference with its SE or CI.

A row of outcomes.csv may give the difference between arms (``diff``, e.g. a least-squares mean
difference from a registry record) instead of arm means; :mod:`inflamed.ingest.contrast_checks`
has already refused malformed rows. Here such a row becomes an effect:

* **MD** (the instrument's points): ``yi`` = ``diff``, sign turned so that positive favours
  treatment by the row's ``diff_direction`` (what a negative value means, as the source says);
  ``vi`` = SE^2. Without ``diff_se`` the SE comes from the confidence interval with the normal
  quantile, SE = (ub - lb) / (2 z), z = the (1 + level/100)/2 quantile of N(0, 1), as metafor's
  ``conv.wald`` does and as the Cochrane Handbook (section 6.3.1) gives for large samples; the
  t quantile it advises for small samples needs per-arm n, which such rows rarely give.
* **SMD** only where a pooled SD is sourced (``sd_pooled`` with ``sd_pooled_source``) *and* the
  total n is reported (``diff_n``): Hedges' g = J * MD / sd_pooled with
  J = 1 - 3 / (4 (N - 2) - 1), and vi = SE^2 / sd_pooled^2 + g^2 / (2 N), the large-sample
  variance metafor uses for SMDs (``vtype = "LS"``), whose first term is SE^2 / sd^2 when the SE
  rests on the pooled SD. Without either value the row is refused for the SMD analysis and the
  refusal goes to the missing table: nothing is guessed.

Other measures (ratio measures, RD) cannot take a mean difference; the row is refused for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inflamed.extract.tables import RowEffect, is_missing
from inflamed.stats.distributions import norm_ppf

__all__ = ["contrast_effect", "contrast_refusal", "is_contrast", "se_from_ci"]


def is_contrast(row: Mapping[str, Any]) -> bool:
    """Whether a (normalised) contrasts-table row is contrast-level (``diff`` given)."""
    return not is_missing(row.get("diff"))


def se_from_ci(lb: float, ub: float, level: float = 95.0) -> tuple[float, str]:
    """Standard error of a difference from its confidence interval (normal quantile).

    Returns the SE and the formula as text, e.g. ``SE = (1.2 - -3.4) / (2 x 1.959964) = 1.173``.
    """
    z = float(norm_ppf(0.5 + level / 200.0))
    se = (ub - lb) / (2.0 * z)
    return se, f"SE = ({ub:g} - {lb:g}) / (2 x {z:.6f}) = {se:.6g} (normal quantile, {level:g}% CI)"


def contrast_refusal(row: Mapping[str, Any], otype: str, measure: str) -> tuple[str, str] | None:
    """``(fields, why)`` when a contrast-level row cannot give an effect on ``measure``, else None."""
    what = f"contrast-level row (MD in {row['instrument']} points)"
    if otype != "continuous":
        return "diff", f"{what} for a {otype} outcome: a mean difference cannot give {measure}"
    if measure == "MD":
        return None
    if measure != "SMD":
        return "diff", f"{what}: a mean difference cannot give {measure}"
    lacking = [c for c in ("sd_pooled", "diff_n") if is_missing(row.get(c))]
    if not lacking:
        return None
    why = {
        "sd_pooled": "no pooled SD is sourced",
        "diff_n": "the number analysed is not reported (needed for the small-sample correction)",
    }
    return ", ".join(lacking), (
        f"{what}: {' and '.join(why[c] for c in lacking)}, so no SMD is computed (none is "
        "guessed); the row enters the mean-difference analysis in the instrument's points"
    )


def contrast_effect(row: Mapping[str, Any], measure: str, higher_is_worse: str | None) -> RowEffect:
    """The effect of a contrast-level row on the MD or SMD scale (positive favours treatment).

    Call :func:`contrast_refusal` first; this assumes the row can give ``measure``. The sign
    follows the row's ``diff_direction`` (the source's own statement); the log notes when it
    disagrees with a treatment-minus-control reading of the instrument's scoring direction, so a
    reviewer can check the row.
    """
    steps: list[tuple[str, str, str]] = []
    d = float(row["diff"])
    if not is_missing(row.get("diff_se")):
        se = float(row["diff_se"])
        se_text = f"SE = {se:g} as reported"
    else:
        level = row.get("diff_ci_level")
        level = 95.0 if is_missing(level) else float(level)
        se, se_text = se_from_ci(float(row["diff_ci_lb"]), float(row["diff_ci_ub"]), level)
        steps.append(("se", se_text, "the interval is symmetric on the MD scale (Wald)"))
    md_text = (
        f"MD = {d:g} {row['instrument']} points as reported ({row['measure_kind']}), {se_text}"
    )
    if measure == "SMD":
        sd, n = float(row["sd_pooled"]), float(row["diff_n"])
        j = 1.0 - 3.0 / (4.0 * (n - 2.0) - 1.0)
        g = j * d / sd
        vi = se**2 / sd**2 + g**2 / (2.0 * n)
        formula = (
            f"{md_text}; SMD (Hedges' g) = J x MD / sd_pooled = {j:.6f} x {d:g} / {sd:g} = "
            f"{g:.6g}, J = 1 - 3 / (4 (N - 2) - 1), N = {n:g}; vi = SE^2 / sd_pooled^2 + g^2 / (2N) "
            f"= {vi:.6g}"
        )
        steps.append(("effect_size", formula, f"sd_pooled from {row['sd_pooled_source']}"))
        yi = g
    else:
        yi, vi = d, se**2
        formula = f"{md_text}; vi = SE^2 = {vi:.6g}"
        steps.append(
            (
                "effect_size",
                formula,
                "generic inverse variance: the difference as the source estimated it",
            )
        )
    flip = row["diff_direction"] == "negative_favours_treatment"
    text = (
        "yi = -yi: the source says a negative difference favours treatment, so positive favours treatment"
        if flip
        else "kept: the source says a positive difference favours treatment"
    )
    expected_flip = {"true": True, "false": False}.get(str(higher_is_worse))
    note = ""
    if expected_flip is not None and expected_flip != flip:
        note = (
            f"check: {row['instrument']} is scored higher = {'worse' if expected_flip else 'better'}, "
            "so a treatment-minus-control difference would favour treatment when "
            f"{'negative' if expected_flip else 'positive'}; the row says otherwise (control minus "
            "treatment?)"
        )
    steps.append(("sign", text, note))
    return RowEffect(yi=-yi if flip else yi, vi=vi, steps=steps, derivation=[formula, text])
