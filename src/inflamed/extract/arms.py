"""Arm-level rows: recovering each arm's mean, SD and n by the allowed rules, and the effect.

:class:`ArmNumbers` fills one arm's mean and SD from what the source gives (SD from SE or CI,
mean and SD from median + IQR or range), but only in the ways the rules allow, and records every
step and every value it needed and did not get. :func:`arm_effect` computes a continuous
effect (treatment minus control, then the sign convention) and :func:`binary_effect` a 2x2 one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from inflamed.extract.tables import RowEffect, is_missing
from inflamed.stats import conversions, medians
from inflamed.stats.effect_sizes import escalc

__all__ = ["ArmNumbers", "arm_effect", "arm_usable", "binary_effect", "sign_step"]


class ArmNumbers:
    """Mean/SD/n of one arm, filled by the allowed rules, with the steps taken."""

    def __init__(self, row: Mapping[str, Any], arm: str, allowed: set[str]) -> None:
        self.n = row[f"n_{arm}"]
        self.mean = row[f"mean_{arm}"]
        self.sd = row[f"sd_{arm}"]
        self.steps: list[tuple[str, str, str]] = []
        self.missing: list[str] = []
        self.why: list[str] = []
        g = {
            k: row[f"{k}_{arm}"]
            for k in ("se", "ci_lb", "ci_ub", "median", "q1", "q3", "min", "max")
        }
        if is_missing(self.n):
            self.missing.append(f"n_{arm}")
            self.why.append(f"no analysed n for the {arm} arm")
            allowed = set()  # every imputation needs n
        if is_missing(self.mean) and not is_missing(g["median"]):
            if not is_missing(g["q1"]) and not is_missing(g["q3"]) and "median_iqr" in allowed:
                r = medians.mean_sd_from_median_iqr(g["median"], g["q1"], g["q3"], self.n)
                self.mean = r.mean
                if is_missing(self.sd):
                    self.sd = r.sd
                self.steps.append(
                    ("mean", f"{arm}: {r.derivation}", "approximately normal distribution")
                )
            elif (
                not is_missing(g["min"]) and not is_missing(g["max"]) and "median_range" in allowed
            ):
                r = medians.mean_sd_from_median_range(g["median"], g["min"], g["max"], self.n)
                self.mean = r.mean
                if is_missing(self.sd):
                    self.sd = r.sd
                self.steps.append(
                    ("mean", f"{arm}: {r.derivation}", "approximately normal distribution")
                )
        if is_missing(self.sd):
            if not is_missing(g["se"]) and "se" in allowed:
                r = conversions.sd_from_se(g["se"], self.n)
                self.sd = r.value
                self.steps.append(
                    (
                        "sd",
                        f"{arm}: {r.derivation} with n = {self.n:g}",
                        "SE refers to the arm mean and the analysed n",
                    )
                )
            elif not is_missing(g["ci_lb"]) and not is_missing(g["ci_ub"]) and "ci" in allowed:
                r = conversions.sd_from_ci(g["ci_lb"], g["ci_ub"], self.n)
                self.sd = r.value
                self.steps.append(
                    (
                        "sd",
                        f"{arm}: {r.derivation} with n = {self.n:g}",
                        "95% CI of the arm mean, t-based",
                    )
                )
        if is_missing(self.mean):
            self.missing.append(f"mean_{arm}")
            if not is_missing(g["median"]):
                self.why.append(
                    f"{arm} arm gives a median but no mean, and the rules (or a missing n) do not allow imputing it"
                )
            else:
                self.why.append(f"no mean for the {arm} arm")
        if is_missing(self.sd):
            self.missing.append(f"sd_{arm}")
            given = [k for k in ("se", "ci_lb", "q1", "min") if not is_missing(g[k])]
            if given:
                self.why.append(
                    f"no SD for the {arm} arm; {'/'.join(given)} given but imputing from it is not allowed "
                    f"(rules: {sorted(allowed) or 'none usable'})"
                )
            else:
                self.why.append(f"no SD, SE, CI, IQR or range for the {arm} arm")

    @property
    def usable(self) -> bool:
        return not self.missing


def arm_usable(row: Mapping[str, Any], otype: str, allowed: set[str]) -> bool:
    """Whether an arm-level row has what an effect of ``otype`` needs (after allowed imputations)."""
    if otype == "binary":
        return not any(
            is_missing(row[c]) for c in ("events_treat", "n_treat", "events_ctrl", "n_ctrl")
        )
    return ArmNumbers(row, "treat", allowed).usable and ArmNumbers(row, "ctrl", allowed).usable


def binary_effect(
    pick: Mapping[str, Any],
    measure: str,
    n_ctrl: float,
    events_ctrl: float,
    continuity_correction: float,
    event_is: str,
) -> RowEffect:
    """The 2x2 effect of one row (treatment vs control), or its exclusion when it has no information.

    Binary outcomes with no events (or only events) in both arms carry no information on a ratio
    scale; they are excluded from RR/OR (Cochrane Handbook 10.4.4.2).
    """
    es = escalc(
        measure,
        ai=[pick["events_treat"]],
        n1i=[pick["n_treat"]],
        ci=[events_ctrl],
        n2i=[n_ctrl],
        add=continuity_correction,
        drop00=measure in ("RR", "OR"),
    )
    yi, vi = float(es.yi[0]), float(es.vi[0])
    if math.isnan(yi):
        return RowEffect(
            excluded=(
                es.derivation[0],
                "no events (or only events) in both arms: no information on the ratio scale (Cochrane Handbook 10.4.4.2)",
            )
        )
    formula = f"{es.derivation[0]}; treatment vs control (events: {event_is})"
    return RowEffect(
        yi=yi,
        vi=vi,
        steps=[("effect_size", formula, "")],
        derivation=[es.derivation[0]],
        events=(pick["events_treat"], events_ctrl),
    )


def sign_step(instrument: str, higher_is_worse: str | None) -> tuple[bool, str]:
    """Whether to flip ``yi`` so that positive favours treatment, and the log text saying why."""
    if higher_is_worse == "true":
        return (
            True,
            f"yi = -yi: {instrument} is scored higher = worse, so positive favours treatment",
        )
    return (
        False,
        f"kept: {instrument} is scored higher = better, so positive already favours treatment",
    )


def arm_effect(
    pick: Mapping[str, Any],
    measure: str,
    n_ctrl: float,
    allowed: set[str],
    higher_is_worse: str | None,
) -> RowEffect:
    """The continuous effect of one arm-level row (treatment minus control, positive favours treatment).

    Pre - post changes (improvement positive) are first turned into post - pre by negating both
    means (logged); then effects on instruments scored higher = worse are flipped.
    """
    t, c = ArmNumbers(pick, "treat", allowed), ArmNumbers(pick, "ctrl", allowed)
    steps = list(t.steps + c.steps)
    m1, m2 = t.mean, c.mean
    if pick["measure_kind"] == "change" and pick["change_direction"] == "pre_minus_post":
        m1, m2 = -m1, -m2
        steps.append(
            ("direction", "change reported as pre - post; both means negated to post - pre", "")
        )
    es = escalc(measure, m1i=[m1], sd1i=[t.sd], n1i=[t.n], m2i=[m2], sd2i=[c.sd], n2i=[n_ctrl])
    yi, vi = float(es.yi[0]), float(es.vi[0])
    steps.append(("effect_size", f"{es.derivation[0]}; treatment - control", ""))
    if higher_is_worse is None:
        return RowEffect(
            refused=(
                "instrument",
                f"instrument {pick['instrument']!r} not in the instruments table: scoring direction unknown",
            )
        )
    flip, text = sign_step(pick["instrument"], higher_is_worse)
    steps.append(("sign", text, ""))
    derivation = [f for s, f, _ in steps if s in ("mean", "sd", "direction")]
    return RowEffect(
        yi=-yi if flip else yi,
        vi=vi,
        steps=steps,
        derivation=[*derivation, es.derivation[0], text],
    )
