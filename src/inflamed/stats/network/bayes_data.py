"""Arm-level network data for the Bayesian model: checked, indexed, with gemtc's prior scale.

The Bayesian model (:mod:`inflamed.stats.network.bayes`) works on arms, not contrasts: each arm
keeps its own count (or mean) and the model carries a baseline per study. This module checks the
rows (labels, counts, SDs, at least two arms per study, one arm per treatment in a study, the
reference present, a connected network) and indexes them: studies in order of first appearance,
each study's baseline arm = its first row, treatments sorted with the reference at index 0.

No continuity correction is applied to the data: the binomial likelihood takes zero and full cells
as they are. The prior scale ``om_scale`` is guessed as gemtc guesses it (``guess.scale`` in gemtc's
``R/priors.R``): the largest absolute per-study maximum-likelihood relative effect over every pair
of arms within every study; for log odds ratios each arm gets 0.5 added to its events and to its
non-events first (gemtc's ``mtc.rel.mle.binom.logit`` with its default forced correction), for
mean differences it is the plain difference of arm means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inflamed.stats.errors import InputError
from inflamed.stats.validation import as_float_array, check_counts, check_positive, locate

__all__ = ["BAYES_MEASURES", "ArmNetwork", "arm_network"]

#: Measures the Bayesian model fits: binomial-logit (OR) and normal-identity (MD).
BAYES_MEASURES = ("OR", "MD")


@dataclass(frozen=True)
class ArmNetwork:
    """Arm-level rows indexed for the model (one entry per arm, rows grouped by study).

    Attributes
    ----------
    measure
        ``"OR"`` (``y`` = events, ``n`` = participants) or ``"MD"`` (``y`` = mean, ``se`` =
        sd / sqrt(n)).
    studies
        Study labels in order of first appearance.
    treatments
        All treatments, reference first, then the others sorted.
    arm_study, arm_treat
        Index into ``studies`` / ``treatments`` of every arm.
    arm_pos
        Position of the arm within its study (0 = the study's baseline arm, its first row).
    y, n, se
        Events (or means), participants, standard errors of the means (NaN for OR).
    om_scale
        gemtc's guessed outcome scale (see the module docstring).
    log
        One plain sentence per data decision.
    """

    measure: str
    studies: tuple[str, ...]
    treatments: tuple[str, ...]
    arm_study: np.ndarray
    arm_treat: np.ndarray
    arm_pos: np.ndarray
    y: np.ndarray
    n: np.ndarray
    se: np.ndarray
    om_scale: float
    log: tuple[str, ...]

    @property
    def reference(self) -> str:
        return self.treatments[0]


def _labels(name: str, values: Sequence[Any], row_offset: int | None) -> list[str]:
    out = []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
            row, where = locate(i, row_offset)
            raise InputError(f"{where}label is missing", row=row, column=name, expected="a label")
        out.append(str(v).strip())
    return out


def _check_connected(arms: dict[str, list[str]]) -> None:
    """Raise naming the sub-networks if the treatments do not form one connected network."""
    parent: dict[str, str] = {}

    def find(t: str) -> str:
        parent.setdefault(t, t)
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for treats in arms.values():
        for t in treats[1:]:
            a, b = find(treats[0]), find(t)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for t in sorted(parent):
        groups.setdefault(find(t), []).append(t)
    if len(groups) > 1:
        parts = sorted(groups.values(), key=lambda g: (-len(g), g))
        named = "; ".join("{" + ", ".join(p) + "}" for p in parts)
        raise InputError(
            f"the network is disconnected: {len(parts)} sub-networks share no study: {named}",
            column="treatment",
            expected="one connected network (add studies linking the sub-networks, or analyse "
            "each sub-network on its own)",
        )


def _om_scale(measure: str, y: np.ndarray, n: np.ndarray, by_study: dict[str, list[int]]) -> float:
    scale = 0.0
    for idx in by_study.values():
        if measure == "OR":
            r, m = y[idx], n[idx]
            arm = np.log((r + 0.5) / (m - r + 0.5))
        else:
            arm = y[idx]
        scale = max(scale, float(np.max(np.abs(arm[:, None] - arm[None, :]))))
    return scale


def arm_network(
    study: Sequence[Any],
    treatment: Sequence[Any],
    *,
    measure: str,
    reference: str,
    events: Sequence[Any] | None = None,
    n: Sequence[Any] | None = None,
    mean: Sequence[Any] | None = None,
    sd: Sequence[Any] | None = None,
    row_offset: int | None = None,
) -> ArmNetwork:
    """Check and index arm-level rows (one row per arm) for the Bayesian model.

    Parameters
    ----------
    study, treatment
        Study label and treatment of each arm; a study's first row is its baseline arm.
    measure
        ``"OR"`` (needs ``events`` and ``n``) or ``"MD"`` (needs ``mean``, ``sd`` and ``n``).
    reference
        Treatment the effects are expressed against.
    row_offset
        Spreadsheet row of element 0 (the command line passes 2), for error messages.

    Raises
    ------
    InputError
        Naming the row and column of the first bad value, a study with one arm or a repeated
        treatment, an unknown reference, or the sub-networks of a disconnected network.
    """
    measure = str(measure).upper()
    if measure not in BAYES_MEASURES:
        raise InputError(
            "the Bayesian model fits odds ratios (binomial, logit link) or mean differences "
            "(normal, identity link) only",
            column="measure",
            value=measure,
            expected=" or ".join(BAYES_MEASURES),
        )
    studies = _labels("study", list(study), row_offset)
    treats = _labels("treatment", list(treatment), row_offset)
    if len(studies) != len(treats):
        raise InputError("study and treatment differ in length", column="treatment")
    k = len(studies)
    if measure == "OR":
        if events is None or n is None:
            raise InputError("OR needs events and n", column="events", expected="counts")
        y = as_float_array("events", events, row_offset=row_offset)
        nn = as_float_array("n", n, row_offset=row_offset)
        check_counts("events", y, "n", nn, row_offset=row_offset)
        se = np.full(k, np.nan)
    else:
        if mean is None or sd is None or n is None:
            raise InputError("MD needs mean, sd and n", column="mean", expected="numbers")
        y = as_float_array("mean", mean, row_offset=row_offset)
        sdv = check_positive(
            "sd", as_float_array("sd", sd, row_offset=row_offset), row_offset=row_offset
        )
        nn = check_positive(
            "n", as_float_array("n", n, row_offset=row_offset), row_offset=row_offset
        )
        se = sdv / np.sqrt(nn) if len(sdv) == len(nn) else sdv
    for name, arr in (("events" if measure == "OR" else "mean", y), ("n", nn), ("sd", se)):
        if len(arr) != k:
            raise InputError(f"{name} has {len(arr)} values for {k} arms", column=name)

    by_study: dict[str, list[int]] = {}
    for i, s in enumerate(studies):
        by_study.setdefault(s, []).append(i)
    arms: dict[str, list[str]] = {}
    for s, idx in by_study.items():
        arms[s] = [treats[i] for i in idx]
        if len(idx) < 2:
            row, where = locate(idx[0], row_offset)
            raise InputError(
                f"{where}study {s!r} has one arm only ({arms[s][0]})",
                row=row,
                column="study",
                value=s,
                expected="at least two arms per study (one row per arm)",
            )
        seen: set[str] = set()
        for i in idx:
            if treats[i] in seen:
                row, where = locate(i, row_offset)
                raise InputError(
                    f"{where}study {s!r} has two arms of treatment {treats[i]!r}",
                    row=row,
                    column="treatment",
                    value=treats[i],
                    expected="each treatment once per study (merge arms of the same treatment)",
                )
            seen.add(treats[i])
    names = sorted(set(treats))
    if reference not in names:
        raise InputError(
            "the reference treatment is not in the network",
            column="reference",
            value=reference,
            expected="one of: " + ", ".join(names),
        )
    _check_connected(arms)

    order = [i for idx in by_study.values() for i in idx]  # rows grouped by study, row order kept
    t_index = {t: j for j, t in enumerate([reference, *(t for t in names if t != reference)])}
    s_index = {s: j for j, s in enumerate(by_study)}
    pos = np.concatenate([np.arange(len(idx)) for idx in by_study.values()])
    om = _om_scale(measure, y, nn, by_study)
    if not om > 0:
        raise InputError(
            "no study shows any difference between its arms, so the prior scale cannot be guessed",
            column="events" if measure == "OR" else "mean",
            expected="at least one study whose arms differ",
        )
    log = [
        f"{len(by_study)} studies, {k} arms, {len(names)} treatments; effects against {reference}.",
        f"Prior scale om_scale = {om:.6g}: the largest absolute per-study "
        + (
            "log odds ratio (0.5 added to events and non-events of each arm, as gemtc)."
            if measure == "OR"
            else "mean difference (as gemtc)."
        ),
    ]
    multi = [s for s, idx in by_study.items() if len(idx) > 2]
    if multi:
        log.append(
            f"{len(multi)} multi-arm studies ({', '.join(multi)}): their random effects "
            "share the study's baseline arm (correlation 1/2, TSD2 conditional form)."
        )
    return ArmNetwork(
        measure=measure,
        studies=tuple(by_study),
        treatments=tuple(t_index),
        arm_study=np.array([s_index[studies[i]] for i in order], dtype=np.int64),
        arm_treat=np.array([t_index[treats[i]] for i in order], dtype=np.int64),
        arm_pos=pos.astype(np.int64),
        y=y[order],
        n=nn[order],
        se=se[order],
        om_scale=om,
        log=tuple(log),
    )
