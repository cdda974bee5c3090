"""Simulated interventions on the fitted cascade, with uncertainty carried over from the fit.

Status: predictions of a consistency model; the before/after contrast depends on rate constants
that no current target informs, so their spread is a statement of ignorance, not of precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from inflamed.mechanism.cascade import INTERVENTIONS, KNOBS, SPEC, Protocol, simulate_batch
from inflamed.mechanism.fitting import CHI2_95_1DF, FitResult, Objective, Profile

#: Interventions the stage simulates (the brief's five, anti-IL-6 and anti-IL-6R kept apart).
SIMULATED: tuple[str, ...] = (
    "il6_knockdown",
    "il6r_knockdown",
    "minocycline",
    "p2x7_antagonist",
    "anti_il6_antibody",
    "anti_il6r_antibody",
)
TIMINGS: tuple[str, ...] = ("before", "after")

#: The pathway each simulated intervention acts on and the drugs whose clinical trials test that
#: pathway (matched against the studies' ``drug`` column). Anti-TNF drugs (infliximab) act on
#: another cytokine and test none of these pathways, so they are never a counterpart; nor is a
#: drug class such as ``cytokine_inhibitor`` that mixes anti-TNF with anti-IL-6 trials.
PATHWAY_DRUGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "il6_knockdown": ("IL-6/IL-6R", ("tocilizumab", "sirukumab")),
    "il6r_knockdown": ("IL-6/IL-6R", ("tocilizumab", "sirukumab")),
    "anti_il6_antibody": ("IL-6/IL-6R", ("tocilizumab", "sirukumab")),
    "anti_il6r_antibody": ("IL-6/IL-6R", ("tocilizumab", "sirukumab")),
    "minocycline": ("microglia", ("minocycline",)),
    "p2x7_antagonist": ("P2X7", ()),
    "p2x7_knockdown": ("P2X7", ()),
}

#: Drugs that never count as a counterpart of a simulated intervention (another pathway).
ANTI_TNF: frozenset[str] = frozenset({"infliximab", "adalimumab", "etanercept"})

#: A region whose max/min ratio reaches this many orders of magnitude is too wide to rank on.
RANKABLE_SPAN_LOG10 = 1.0


def _drugs(cell: object) -> set[str]:
    """The drugs of one ``drug`` cell (``"minocycline; aspirin"`` names two)."""
    return {d.strip().lower() for d in str(cell).split(";") if d.strip()}


def pathway_trials(intervention: str, studies: pd.DataFrame) -> tuple[str, ...]:
    """Study ids whose drug tests the same pathway as ``intervention`` (sorted, never anti-TNF).

    Parameters
    ----------
    intervention
        A key of :data:`PATHWAY_DRUGS`.
    studies
        Rows with ``study_id`` and ``drug`` (the studies sheet or the effects table).
    """
    _, drugs = PATHWAY_DRUGS.get(intervention, ("", ()))
    if not drugs or studies is None or not len(studies) or "drug" not in studies.columns:
        return ()
    wanted = set(drugs) - ANTI_TNF
    hits = {
        str(r["study_id"])
        for _, r in studies.iterrows()
        if _drugs(r["drug"]) & wanted and not (_drugs(r["drug"]) & ANTI_TNF)
    }
    return tuple(sorted(hits))


def region_span_log10(lo: float, hi: float) -> float:
    """Orders of magnitude between the region's smallest and largest rescue (inf across zero)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return float("inf")
    if lo <= 0.0 < hi or hi <= 0.0:
        # The sign itself is uncertain, or there is no rescue: no ratio can order it.
        return float("inf")
    return float(np.log10(hi / lo))


@dataclass(frozen=True)
class SamplingSettings:
    """Declared scenario ranges: efficiency range per intervention, samples, integrator step."""

    n_samples: int = 20000
    max_kept: int = 400
    efficiency_range: tuple[float, float] = (0.4, 0.95)
    dt: float = 0.05


def parameter_box(obj: Objective, profiles: Sequence[Profile]) -> tuple[np.ndarray, np.ndarray]:
    """Free-scale box of the profile-likelihood 95 % region of each parameter.

    Where a profile never crosses the threshold on a side, the box runs to that bound.
    """
    lo, hi = obj.lower.copy(), obj.upper.copy()
    for i, prof in enumerate(profiles):
        spec = SPEC[prof.name]
        if prof.ci_lb is not None:
            lo[i] = spec.to_free(prof.ci_lb)
        if prof.ci_ub is not None:
            hi[i] = spec.to_free(prof.ci_ub)
    return lo, hi


@dataclass(frozen=True)
class RegionSample:
    """Parameter vectors (free scale) and efficiencies inside the 95 % likelihood region."""

    theta: np.ndarray  # (n, p); row 0 is the best fit
    efficiencies: dict[str, np.ndarray]
    n_drawn: int
    n_accepted: int
    n_profile_points: int = 0


def sample_region(
    obj: Objective,
    fit: FitResult,
    profiles: Sequence[Profile],
    settings: SamplingSettings,
    nominal_efficiencies: Mapping[str, float],
    *,
    seed: int,
) -> RegionSample:
    """Draw parameter sets uniformly in the profile box and keep those with chi2 - min <= 3.84.

    Notes
    -----
    The range of a prediction over ``{theta: chi2(theta) - chi2_min <= chi2_{0.95,1}}`` is its
    profile-likelihood 95 % confidence interval (Kreutz et al. 2012, BMC Syst Biol 6:120); the
    min/max over accepted draws approximate it from inside. Intervention efficiencies are scenario
    settings: they are drawn from ``efficiency_range`` and enter the acceptance test wherever a
    target involves the intervention. Rate constants, which no target informs, are drawn over
    their whole bounds. The optimised points along every profile with delta chi2 <= 3.84 are
    added (with nominal efficiencies): they reach the edges of the region that uniform draws rarely
    hit. At most ``max_kept`` uniform draws are kept.
    """
    rng = np.random.default_rng(seed)
    lo, hi = parameter_box(obj, profiles)
    n = max(1, settings.n_samples)
    theta = rng.uniform(lo, hi, size=(n, len(lo)))
    effs = {name: rng.uniform(*settings.efficiency_range, size=n) for name in INTERVENTIONS}
    effs_all = dict(effs)
    chi = obj.chi2(theta, effs_all)
    keep = np.flatnonzero(chi - fit.chi2 <= CHI2_95_1DF)[: settings.max_kept]
    # the profile paths reach the edges of the region that uniform draws rarely hit
    path = [
        prof.others[j]
        for prof in profiles
        for j in range(len(prof.grid))
        if prof.chi2[j] <= CHI2_95_1DF
    ]
    path_theta = np.array(path) if path else np.empty((0, len(lo)))
    nominal = {name: float(nominal_efficiencies.get(name, 0.7)) for name in INTERVENTIONS}
    theta_acc = np.vstack([fit.theta[None, :], path_theta, theta[keep]])
    n_fixed = 1 + len(path_theta)
    eff_acc = {
        k: np.concatenate([np.full(n_fixed, nominal[k]), effs[k][keep]]) for k in INTERVENTIONS
    }
    return RegionSample(theta_acc, eff_acc, n, len(keep), len(path_theta))


def rescue(
    obj: Objective,
    theta: np.ndarray,
    efficiencies: Mapping[str, np.ndarray],
    protocol: Protocol,
    *,
    interventions: Sequence[str] = SIMULATED,
    dt: float = 0.05,
) -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """Behavioural rescue ``B(stress) - B(stress + X)`` at the readout for each X and timing.

    Returns ``{(intervention, timing): {"rescue", "fraction", "deficit_untreated"}}``; the fraction
    is rescue / untreated deficit (it depends on ``b_0``, which the targets do not inform).
    """
    nat = obj.natural(theta)
    zero = {k: 0.0 for k in KNOBS}
    base = simulate_batch(nat, zero, t_on=protocol.t_read + 1.0, protocol=protocol, dt=dt)["B"]
    out: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for name in interventions:
        knob = INTERVENTIONS[name][0]
        knobs: dict[str, Any] = dict(zero)
        knobs[knob] = np.asarray(efficiencies[name])
        for timing in TIMINGS:
            b = simulate_batch(nat, knobs, t_on=protocol.t_on(timing), protocol=protocol, dt=dt)[
                "B"
            ]
            r = base - b
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(base > 0, r / base, np.nan)
            out[(name, timing)] = {"rescue": r, "fraction": frac, "deficit_untreated": base}
    return out


def intervention_table(
    sims: Mapping[tuple[str, str], Mapping[str, np.ndarray]], n_drawn: int
) -> pd.DataFrame:
    """One row per intervention x timing: best-fit rescue, region min/max and median."""
    rows = []
    for (name, timing), d in sims.items():
        r = np.asarray(d["rescue"])
        f = np.asarray(d["fraction"])
        rows.append(
            {
                "intervention": name,
                "description": INTERVENTIONS[name][1],
                "acts_on": INTERVENTIONS[name][0],
                "timing": timing,
                "rescue_sd_best": float(r[0]),
                "rescue_sd_region_min": float(np.min(r)),
                "rescue_sd_region_median": float(np.median(r)),
                "rescue_sd_region_max": float(np.max(r)),
                "fraction_rescued_best": float(f[0]),
                "fraction_rescued_region_min": float(np.nanmin(f)),
                "fraction_rescued_region_max": float(np.nanmax(f)),
                "n_region_samples": len(r),
                "n_drawn": int(n_drawn),
            }
        )
    frame = pd.DataFrame(rows)
    frame["pathway"] = [PATHWAY_DRUGS.get(n, ("", ()))[0] for n in frame["intervention"]]
    frame["region_span_log10"] = [
        region_span_log10(lo, hi)
        for lo, hi in zip(frame["rescue_sd_region_min"], frame["rescue_sd_region_max"], strict=True)
    ]
    # A ranking by the best fit is only meaningful when every region of the timing is narrow:
    # where a plausible range spans orders of magnitude, the order is an artefact of one point.
    rank = frame.groupby("timing")["rescue_sd_best"].rank(ascending=False, method="min")
    wide = frame.groupby("timing")["region_span_log10"].transform("max") >= RANKABLE_SPAN_LOG10
    frame["rank_best_within_timing"] = rank.where(~wide).astype("Int64")
    frame["ranking"] = np.where(
        wide,
        "not ranked: the plausible range spans orders of magnitude",
        "ranked by best-fit rescue",
    )
    return frame.sort_values(["timing", "intervention"], kind="mergesort").reset_index(drop=True)
