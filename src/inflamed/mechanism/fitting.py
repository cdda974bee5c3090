"""Fitting the cascade to its targets: weighted least squares, multi-start, profile likelihood.

Status: the objective is ``chi2 = sum(((pred - value) / se)^2) + sum(penalty^2)``, which is
``-2 log L`` up to a constant for independent Gaussian target errors. Inequality (direction-only)
targets enter as one-sided quadratic penalties ``max(0, violation) / inequality_scale``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from inflamed.mechanism.cascade import (
    KNOBS,
    PARAMETERS,
    SPEC,
    ParameterSpec,
    parse_arm,
    steady_state,
)
from inflamed.mechanism.targets import Target, TargetSet
from inflamed.stats.distributions import chi2_ppf

CHI2_95_1DF = float(chi2_ppf(0.95, 1))


@dataclass(frozen=True)
class FitSettings:
    """Declared fitting assumptions (config ``mechanism`` section).

    ``assumed_relative_sd``: relative SE given to a value/ratio target whose source reports no
    uncertainty (flagged as assumed in the output). ``inequality_scale``: the violation (in the
    target's unit) that costs one unit of chi-square. ``efficiencies``: intervention efficiency used
    when a target involves an intervention arm (scenario setting, not data).
    """

    assumed_relative_sd: float = 0.1
    inequality_scale: float = 0.01
    n_starts: int = 20
    n_profile_points: int = 17
    efficiencies: Mapping[str, float] = field(default_factory=dict)


def target_scale(t: Target, settings: FitSettings) -> tuple[float, bool]:
    """Standard error used for a value/ratio target and whether it was assumed."""
    se = t.standard_error
    if se is not None and se > 0:
        return se, False
    return max(abs(t.value), 1e-12) * settings.assumed_relative_sd, True


class Objective:
    """Vectorised chi-square of a parameter vector (free scale) against a target set."""

    def __init__(
        self,
        targets: TargetSet,
        settings: FitSettings,
        params: Sequence[ParameterSpec] = PARAMETERS,
    ) -> None:
        self.targets = targets
        self.settings = settings
        self.params = tuple(params)
        self.names = tuple(p.name for p in self.params)
        self.lower = np.array([p.free_bounds[0] for p in self.params])
        self.upper = np.array([p.free_bounds[1] for p in self.params])
        self.scales = [target_scale(t, settings) for t in targets.fitted]
        self._cache: tuple[list[str], np.ndarray, dict[str, np.ndarray]] | None = None

    def natural(self, theta: np.ndarray) -> dict[str, Any]:
        theta = np.asarray(theta, dtype=float)
        return {p.name: p.from_free(theta[..., i]) for i, p in enumerate(self.params)}

    def _arms(
        self, efficiencies: Mapping[str, Any]
    ) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
        names: list[str] = []
        for t in self.targets.targets:
            for a in (t.intervention, t.comparison):
                if a and a not in names:
                    names.append(a)
        if "control" not in names:
            names.append("control")
        arms = [parse_arm(a, efficiencies) for a in names]
        stress = np.array([a.stress for a in arms])
        knobs = {
            k: np.stack(
                np.broadcast_arrays(*[np.asarray(a.knobs[k], dtype=float) for a in arms]), axis=-1
            )
            for k in KNOBS
        }
        return names, stress, knobs

    def predictions(
        self, theta: np.ndarray, efficiencies: Mapping[str, Any] | None = None
    ) -> dict[str, np.ndarray]:
        """Model value of every target (vectorised: one steady-state call over all arms)."""
        eff = efficiencies if efficiencies is not None else self.settings.efficiencies
        if efficiencies is None and self._cache is not None:
            names, stress, knobs = self._cache
        else:
            names, stress, knobs = self._arms(eff)
            if efficiencies is None:
                self._cache = (names, stress, knobs)
        nat = {k: np.asarray(v)[..., None] for k, v in self.natural(theta).items()}
        ss = steady_state(nat, stress, knobs)
        col = {a: i for i, a in enumerate(names)}
        out: dict[str, np.ndarray] = {}
        bd = ss["behaviour_deficit"]
        for t in self.targets.targets:
            i = col[t.intervention]
            j = col[t.comparison] if t.comparison else None
            if t.quantity == "behaviour_rescue":
                out[t.target_id] = bd[..., j] - bd[..., i]
            elif t.quantity == "behaviour_deficit":
                out[t.target_id] = bd[..., i] - (bd[..., j] if j is not None else 0.0)
            elif j is None:
                out[t.target_id] = ss[t.quantity][..., i]
            else:
                out[t.target_id] = ss[t.quantity][..., i] / ss[t.quantity][..., j]
        return out

    def residuals(
        self, theta: np.ndarray, efficiencies: Mapping[str, Any] | None = None
    ) -> np.ndarray:
        """Residual vector (last axis = targets); works on a (n, p) batch as well."""
        pred = self.predictions(theta, efficiencies)
        res = []
        for t, (se, _) in zip(self.targets.fitted, self.scales, strict=True):
            res.append((pred[t.target_id] - t.value) / se)
        for t in self.targets.inequalities:
            v = pred[t.target_id]
            viol = (t.value - v) if t.relation == ">" else (v - t.value)
            res.append(np.maximum(viol, 0.0) / self.settings.inequality_scale)
        if not res:
            return np.zeros((*np.shape(theta)[:-1], 0))
        return np.stack(np.broadcast_arrays(*res), axis=-1)

    def chi2(self, theta: np.ndarray, efficiencies: Mapping[str, Any] | None = None) -> np.ndarray:
        r = self.residuals(theta, efficiencies)
        return np.sum(r**2, axis=-1)


@dataclass(frozen=True)
class FitResult:
    """Best fit over all starts."""

    names: tuple[str, ...]
    theta: np.ndarray  # free scale
    estimates: dict[str, float]  # natural scale
    chi2: float
    n_starts: int
    start_chi2: tuple[float, ...]
    n_data: int
    n_inequalities: int
    assumed_se: tuple[str, ...]
    predictions: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimates": self.estimates,
            "chi2": self.chi2,
            "n_starts": self.n_starts,
            "start_chi2_sorted": sorted(self.start_chi2),
            "n_fitted_values": self.n_data,
            "n_inequalities": self.n_inequalities,
            "targets_with_assumed_se": list(self.assumed_se),
            "predictions_at_best_fit": self.predictions,
        }


def _forward_steps(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Forward-difference steps as scipy.optimize.approx_derivative takes them ("2-point").

    sqrt(eps) * max(1, |x|), signed as x (+ at 0); a step that would leave the bounds is reversed
    if the reversed one fits, else shrunk to the distance to the farther bound.
    """
    step = np.sqrt(np.finfo(float).eps) * np.where(x >= 0, 1.0, -1.0) * np.maximum(1.0, np.abs(x))
    below, above = x - lower, upper - x
    leaves = ((x + step) < lower) | ((x + step) > upper)
    fits = np.abs(step) <= np.maximum(below, above)
    step = np.where(leaves & fits, -step, step)
    step = np.where(~fits & (above >= below), above, step)
    return np.where(~fits & (above < below), -below, step)


def _solve(obj: Objective, x0: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimise chi2 over the ``free`` mask starting at ``x0`` (others held fixed)."""
    idx = np.flatnonzero(free)
    if len(idx) == 0 or len(obj.targets.targets) == 0:
        return x0.copy(), float(obj.chi2(x0))

    def fun(z: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[idx] = z
        return obj.residuals(x)

    lower, upper = obj.lower[idx], obj.upper[idx]

    def jac(z: np.ndarray) -> np.ndarray:
        # scipy's "2-point" forward differences, with its step and bound rules, but the p + 1
        # points go through the (batch-capable) model in one call instead of p + 1 calls.
        steps = _forward_steps(z, lower, upper)
        points = np.repeat(x0[None, :], len(idx) + 1, axis=0)
        points[:, idx] = z
        points[np.arange(1, len(idx) + 1), idx] = z + steps
        moved = points[np.arange(1, len(idx) + 1), idx] - z  # the steps as representable
        values = obj.residuals(points)
        return ((values[1:] - values[0]) / moved[:, None]).T

    z0 = np.clip(x0[idx], lower + 1e-9, upper - 1e-9)
    sol = least_squares(
        fun,
        z0,
        jac=jac,
        bounds=(lower, upper),
        method="trf",
        xtol=1e-8,
        ftol=1e-10,
        gtol=1e-8,
        max_nfev=150,
    )
    x = x0.copy()
    x[idx] = sol.x
    return x, float(np.sum(sol.fun**2))


def fit_cascade(
    targets: TargetSet, settings: FitSettings, *, seed: int
) -> tuple[FitResult, Objective]:
    """Fit every steady-state parameter by bounded least squares from ``n_starts`` seeded starts.

    Parameters
    ----------
    targets
        Validated targets.
    settings
        Declared fitting assumptions.
    seed
        Seed of the start points (uniform on the free-scale box).

    Returns
    -------
    (FitResult, Objective)

    Notes
    -----
    Rate constants do not enter any steady-state target; they stay at the centre of their
    (log) range in the fit and are reported as structurally non-identifiable by the profiles.
    """
    obj = Objective(targets, settings)
    rng = np.random.default_rng(seed)
    free = np.array([p.steady_state for p in obj.params])
    centre = 0.5 * (obj.lower + obj.upper)
    best_x, best_f = None, np.inf
    chis = []
    for i in range(max(1, settings.n_starts)):
        x0 = centre.copy()
        if i > 0:
            x0[free] = rng.uniform(obj.lower[free], obj.upper[free])
        x, f = _solve(obj, x0, free)
        chis.append(f)
        if f < best_f - 1e-12:
            best_x, best_f = x, f
    assert best_x is not None
    nat = {k: float(v) for k, v in obj.natural(best_x).items()}
    pred = {k: float(v) for k, v in obj.predictions(best_x).items()}
    assumed = tuple(t.target_id for t, (_, a) in zip(targets.fitted, obj.scales, strict=True) if a)
    res = FitResult(
        names=obj.names,
        theta=best_x,
        estimates=nat,
        chi2=best_f,
        n_starts=len(chis),
        start_chi2=tuple(chis),
        n_data=len(targets.fitted),
        n_inequalities=len(targets.inequalities),
        assumed_se=assumed,
        predictions=pred,
    )
    return res, obj


@dataclass(frozen=True)
class Profile:
    """Profile likelihood of one parameter and the identifiability verdict drawn from it."""

    name: str
    grid: np.ndarray  # natural scale
    chi2: np.ndarray  # profile chi2 minus the global minimum
    others: np.ndarray  # (n_grid, n_params) optimised free-scale vectors
    verdict: str
    ci_lb: float | None
    ci_ub: float | None
    reason: str


def _crossing(grid: np.ndarray, delta: np.ndarray, i_min: int, side: int) -> float | None:
    """Interpolated grid value where the profile crosses the 95 % threshold on one side."""
    rng_ = range(i_min, len(grid) - 1) if side > 0 else range(i_min, 0, -1)
    for j in rng_:
        k = j + side
        if delta[k] >= CHI2_95_1DF > delta[j]:
            w = (CHI2_95_1DF - delta[j]) / (delta[k] - delta[j])
            return float(grid[j] + w * (grid[k] - grid[j]))
    return None


def profile_parameter(obj: Objective, fit: FitResult, name: str, n_points: int) -> Profile:
    """Profile chi-square of ``name`` over its whole bounded range, re-optimising the others.

    Notes
    -----
    The grid is uniform on the parameter's free scale (log10 where the spec says so). From the best
    fit the profile walks outwards in both directions, warm-starting each point at the previous
    optimum (Raue et al. 2009, Bioinformatics 25:1923). Verdicts: *identifiable* (the profile
    crosses the chi2(1) 95 % threshold 3.84 on both sides: CI is where it does);
    *practically non-identifiable* (it crosses on one side only: one-sided bound) or (not flat but
    below the threshold everywhere in the bounds); *structurally non-identifiable* (flat to
    numerical tolerance: the parameter does not enter any target, or other parameters compensate
    for it exactly).
    """
    spec = SPEC[name]
    i = obj.names.index(name)
    lo, hi = spec.free_bounds
    grid_free = np.unique(np.append(np.linspace(lo, hi, n_points), fit.theta[i]))
    n_points = len(grid_free)
    free = np.array([p.steady_state for p in obj.params])
    free[i] = False
    chis = np.empty(n_points)
    others = np.empty((n_points, len(obj.names)))
    start = int(np.argmin(np.abs(grid_free - fit.theta[i])))
    for direction in (+1, -1):
        x_prev = fit.theta.copy()
        j = start if direction > 0 else start - 1
        while 0 <= j < n_points:
            x0 = x_prev.copy()
            x0[i] = grid_free[j]
            if spec.steady_state:
                x, f = _solve(obj, x0, free)
            else:  # the objective does not depend on it: the optimum of the others is unchanged
                x, f = x0, float(obj.chi2(x0))
            chis[j] = f
            others[j] = x
            x_prev = x
            j += direction
    best = min(fit.chi2, float(chis.min()))
    delta = chis - best
    grid = np.array([spec.from_free(g) for g in grid_free])
    i_min = int(np.argmin(delta))
    flat_tol = 1e-3
    span = float(delta.max() - delta.min())
    ub = _crossing(grid_free, delta, i_min, +1)
    lb = _crossing(grid_free, delta, i_min, -1)
    if spec.steady_state:
        ub = _refine(obj, i, free, grid_free, others, delta, best, ub)
        lb = _refine(obj, i, free, grid_free, others, delta, best, lb)
    ci_lb = float(spec.from_free(lb)) if lb is not None else None
    ci_ub = float(spec.from_free(ub)) if ub is not None else None
    if span < flat_tol:
        verdict = "structurally non-identifiable"
        reason = _flat_reason(obj, fit, name, others, grid_free)
    elif ci_lb is not None and ci_ub is not None:
        verdict = "identifiable"
        reason = "profile crosses the 95% threshold on both sides"
    elif ci_lb is not None or ci_ub is not None:
        verdict = "practically non-identifiable"
        side = "upper" if ci_ub is None else "lower"
        reason = f"profile flat towards the {side} bound: only a one-sided 95% limit"
    else:
        verdict = "practically non-identifiable"
        reason = "profile varies but stays below the 95% threshold across the whole bounded range"
    return Profile(name, grid, delta, others, verdict, ci_lb, ci_ub, reason)


def _refine(
    obj: Objective,
    i: int,
    free: np.ndarray,
    grid_free: np.ndarray,
    others: np.ndarray,
    delta: np.ndarray,
    best: float,
    crossing: float | None,
    steps: int = 4,
) -> float | None:
    """Bisect the 95 % crossing between the two grid points that bracket it."""
    if crossing is None:
        return None
    j = int(np.searchsorted(grid_free, crossing))
    a, b = j - 1, j
    xa, xb = grid_free[a], grid_free[b]
    da, db = delta[a], delta[b]
    inside_is_a = da < db
    x_in, x_out = (xa, xb) if inside_is_a else (xb, xa)
    warm = others[a] if inside_is_a else others[b]
    for _ in range(steps):
        mid = 0.5 * (x_in + x_out)
        x0 = warm.copy()
        x0[i] = mid
        x, f = _solve(obj, x0, free)
        if f - best < CHI2_95_1DF:
            x_in, warm = mid, x
        else:
            x_out = mid
    return float(0.5 * (x_in + x_out))


def _flat_reason(
    obj: Objective, fit: FitResult, name: str, others: np.ndarray, grid_free: np.ndarray
) -> str:
    i = obj.names.index(name)
    spec = SPEC[name]
    if not spec.steady_state:
        return "does not enter any steady-state target (rate constants cancel at steady state)"
    # does the parameter change any prediction when moved alone?
    base = obj.predictions(fit.theta)
    moved = False
    for g in (grid_free[0], grid_free[-1]):
        x = fit.theta.copy()
        x[i] = g
        pred = obj.predictions(x)
        if any(abs(float(pred[k]) - float(base[k])) > 1e-9 for k in base):
            moved = True
    fitted_ids = {t.target_id for t in obj.targets.fitted}
    if not moved:
        return "does not change any target prediction"
    # which targets respond, and which parameters compensate along the profile path?
    responds = []
    for t in obj.targets.targets:
        x = fit.theta.copy()
        x[i] = grid_free[-1]
        if abs(float(obj.predictions(x)[t.target_id]) - float(base[t.target_id])) > 1e-9:
            responds.append(t.target_id)
    if not any(r in fitted_ids for r in responds):
        return (
            "enters only slack inequality constraints ("
            + ", ".join(responds)
            + "): no magnitude target constrains it"
        )
    width = obj.upper - obj.lower
    moves = (others.max(axis=0) - others.min(axis=0)) / np.where(width > 0, width, 1.0)
    moves[i] = 0.0
    order = [obj.names[j] for j in np.argsort(-moves) if moves[j] > 0.05][:3]
    if order:
        return (
            "flat: compensated by "
            + ", ".join(order)
            + " (fewer informative targets than parameters)"
        )
    return "flat within the bounds"


def profile_all(obj: Objective, fit: FitResult, n_points: int) -> list[Profile]:
    """Profiles for every parameter, in declaration order."""
    return [profile_parameter(obj, fit, p.name, n_points) for p in obj.params]
