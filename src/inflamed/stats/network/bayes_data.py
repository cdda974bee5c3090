"""Arm-level network data for the Bayesian model: checked, indexed, with gemtc's prior scale.

The Bayesian model (:mod:`inflamed.stats.network.bayes`) works on arms, not contrasts: each arm
keeps its own count (or mean) and the model carries a baseline per study. This module checks the
rows with the frequentist engine's checks (:func:`inflamed.stats.network.data.pairwise`: labels,
counts, SDs, at least two arms per study, one arm per treatment in a study; and a connected
network), checks the reference, and indexes the arms: studies in order of first appearance,
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
from inflamed.stats.network.data import check_connected, pairwise
from inflamed.stats.validation import as_float_array

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
    # The row checks (labels, counts or SDs, at least two arms per study, each treatment once per
    # study) and the connectivity check are the frequentist engine's: one definition of each.
    contrasts = pairwise(
        study,
        treatment,
        measure=measure,
        events=events,
        n=n,
        mean=mean,
        sd=sd,
        row_offset=row_offset,
    )
    check_connected(contrasts)
    studies = [str(v).strip() for v in study]
    treats = [str(v).strip() for v in treatment]
    k = len(studies)
    nn = as_float_array("n", n)
    if measure == "OR":
        y, se = as_float_array("events", events), np.full(k, np.nan)
    else:
        y, se = as_float_array("mean", mean), as_float_array("sd", sd) / np.sqrt(nn)
    by_study: dict[str, list[int]] = {}
    for i, s in enumerate(studies):
        by_study.setdefault(s, []).append(i)
    names = sorted(set(treats))
    if reference not in names:
        raise InputError(
            "the reference treatment is not in the network",
            column="reference",
            value=reference,
            expected="one of: " + ", ".join(names),
        )
    # pairwise drops studies without events (or with only events) in every arm; the binomial
    # likelihood needs no correction, so the Bayesian model keeps them
    kept = list(contrasts.dropped)
    log_kept = [
        f"Kept {len(kept)} studies with no events (or only events) in every arm "
        f"({', '.join(kept)}): they inform their own baseline only."
    ] * bool(kept)

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
    log += log_kept
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
