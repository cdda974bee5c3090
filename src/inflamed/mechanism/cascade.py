"""The P2X7 -> microglia -> IL-6 -> astrocyte -> behaviour cascade: equations, steady state, ODE.

Status: a *consistency* model of a qualitative mechanism, normalised to basal levels. It is not a
validated pharmacological model; see ``docs/mechanism.md`` for what the current targets can pin down.

Model (dimensionless, time in days; ``s`` = stress input, 0 or 1; ``u_*`` = intervention efficiency
in [0, 1] acting on one edge)::

    E' = k_E (1 + a_E s - E)                          extracellular "danger" ATP (basal = 1)
    P  = (1 - u_p2x7) E / (K_P + E)                   microglial P2X7 activation (low affinity)
    M' = k_M ((1 - u_microglia)(1 + g_M P) - M)       microglial activation (resting = 1)
    L' = k_L ((1 - u_il6_production) M - L)           microglial IL-6
    x  = (1 - u_il6r)(1 - u_il6_free) L               IL-6 reaching astrocytic IL-6R
    R  = x / (K_R + x)                                astrocytic IL-6R signalling (fraction)
    S' = k_S (1 - S) - k_S delta R S                  surviving astrocytes (turnover k_S)
    T  = S                                            tonic astrocytic ATP release capacity
    B' = k_B (b_S (1 - T / T_ctrl) + b_0 s - B)       behavioural deficit, SD units of controls

Two ATP quantities are kept apart on purpose: ``E`` is the high extracellular ATP that opens the
low-affinity P2X7 receptor on microglia after stress; ``T`` is the *tonic* ATP released by
astrocytes (Cao et al. 2013; Illes et al. 2020), which acts on neurons (P2X2) and whose loss is
pro-depressive. Tonic release is taken proportional to the surviving astrocytes, so astrocyte loss
lowers ``T`` and raises the deficit. ``T_ctrl`` is the unstressed, untreated steady state.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from inflamed.errors import InputError


@dataclass(frozen=True)
class ParameterSpec:
    """One model parameter: name, bounds and whether it is searched on a log10 scale."""

    name: str
    lower: float
    upper: float
    log: bool
    unit: str
    description: str
    steady_state: bool  # does it enter the steady state (and so any steady-state target)?

    def to_free(self, value: Any) -> Any:
        """Map a natural-scale value to the optimiser's free scale (log10 or identity)."""
        return np.log10(value) if self.log else value

    def from_free(self, value: Any) -> Any:
        """Map a free-scale value back to the natural scale."""
        return 10.0**value if self.log else value

    @property
    def free_bounds(self) -> tuple[float, float]:
        """Bounds on the free scale."""
        return (float(self.to_free(self.lower)), float(self.to_free(self.upper)))


PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec(
        "a_E", 0.1, 100.0, True, "fold", "stress-induced rise of extracellular ATP over basal", True
    ),
    ParameterSpec(
        "K_P", 0.1, 1000.0, True, "basal ATP units", "P2X7 half-activation (low affinity)", True
    ),
    ParameterSpec("g_M", 0.01, 100.0, True, "fold", "maximal P2X7-driven microglial gain", True),
    ParameterSpec("K_R", 0.01, 100.0, True, "resting IL-6 units", "IL-6R half-saturation", True),
    ParameterSpec("delta", 0.01, 100.0, True, "1", "astrocyte loss / turnover at full IL-6R", True),
    ParameterSpec("b_S", 0.1, 100.0, True, "SD", "deficit per unit loss of tonic ATP", True),
    ParameterSpec(
        "b_0", 0.0, 5.0, False, "SD", "stress effect on behaviour outside the cascade", True
    ),
    ParameterSpec("k_E", 0.01, 10.0, True, "1/day", "extracellular ATP relaxation rate", False),
    ParameterSpec("k_M", 0.01, 10.0, True, "1/day", "microglial activation rate", False),
    ParameterSpec("k_L", 0.01, 10.0, True, "1/day", "IL-6 turnover rate", False),
    ParameterSpec("k_S", 0.01, 10.0, True, "1/day", "astrocyte turnover rate", False),
    ParameterSpec("k_B", 0.01, 10.0, True, "1/day", "behavioural relaxation rate", False),
)
PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in PARAMETERS)
SPEC: dict[str, ParameterSpec] = {p.name: p for p in PARAMETERS}

#: Edges an intervention can act on (the ``u_*`` knobs of the model).
KNOBS: tuple[str, ...] = ("p2x7", "microglia", "il6_production", "il6_free", "il6r")

#: Intervention -> (knob it reduces, description). Efficiencies are scenario settings (config).
INTERVENTIONS: dict[str, tuple[str, str]] = {
    "p2x7_knockdown": ("p2x7", "microglial P2X7R knockdown"),
    "p2x7_antagonist": ("p2x7", "P2X7 receptor antagonist"),
    "minocycline": ("microglia", "minocycline (microglial inhibition)"),
    "il6_knockdown": ("il6_production", "microglial IL-6 knockdown"),
    "il6r_knockdown": ("il6r", "astrocytic IL-6R knockdown"),
    "anti_il6_antibody": ("il6_free", "anti-IL-6 antibody (neutralises free IL-6)"),
    "anti_il6r_antibody": ("il6r", "anti-IL-6R antibody (blocks the receptor)"),
}

#: Model nodes that targets may refer to.
NODES: tuple[str, ...] = (
    "atp_extracellular",
    "p2x7_activation",
    "microglia_activation",
    "il6",
    "il6r_signalling",
    "astrocyte_survival",
    "tonic_atp",
    "behaviour_deficit",
)

DEFAULT_EFFICIENCY = 0.7


@dataclass(frozen=True)
class Arm:
    """An experimental arm: stress on/off and the efficiency applied to each knob."""

    name: str
    stress: float
    knobs: Mapping[str, Any]


def parse_arm(name: str, efficiencies: Mapping[str, Any] | None = None) -> Arm:
    """Parse ``control``, ``stress`` or ``<control|stress>+<intervention>[+...]`` into an :class:`Arm`.

    Parameters
    ----------
    name
        Arm label as written in ``targets.csv`` (``intervention`` / ``comparison`` columns).
    efficiencies
        Intervention name -> efficiency in [0, 1]; missing ones use ``DEFAULT_EFFICIENCY``.

    Returns
    -------
    Arm
    """
    efficiencies = dict(efficiencies or {})
    parts = [p.strip() for p in str(name).split("+")]
    if parts[0] not in ("control", "stress"):
        raise InputError(
            "arm must start with 'control' or 'stress'",
            value=name,
            expected="control | stress | stress+<intervention>",
        )
    knobs: dict[str, Any] = dict.fromkeys(KNOBS, 0.0)
    for part in parts[1:]:
        if part not in INTERVENTIONS:
            raise InputError(
                "unknown intervention in arm", value=part, expected=", ".join(sorted(INTERVENTIONS))
            )
        knob = INTERVENTIONS[part][0]
        eff = efficiencies.get(part, DEFAULT_EFFICIENCY)  # float or array (sampling)
        # two interventions on one knob combine multiplicatively on the remaining fraction
        knobs[knob] = 1.0 - (1.0 - knobs[knob]) * (1.0 - eff)
    return Arm(name=str(name), stress=1.0 if parts[0] == "stress" else 0.0, knobs=knobs)


def _p(params: Mapping[str, Any], name: str) -> Any:
    return params[name]


def steady_state(
    params: Mapping[str, Any], stress: Any, knobs: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """Steady state of every node (vectorised: params and inputs broadcast with numpy).

    Parameters
    ----------
    params
        Parameter name -> value or array (natural scale).
    stress
        Stress input (0 or 1; arrays broadcast).
    knobs
        Knob name -> efficiency in [0, 1] (arrays broadcast); missing knobs are 0.

    Returns
    -------
    dict
        Node name -> steady-state value. ``behaviour_deficit`` is relative to the untreated,
        unstressed steady state, so it is 0 in controls.

    Notes
    -----
    Setting every derivative of the ODE in the module docstring to zero gives the closed forms
    ``E = 1 + a_E s``, ``M = (1-u)(1 + g_M P)``, ``L = (1-u) M``, ``S = 1 / (1 + delta R)``; the
    rate constants cancel, which is why no steady-state target can identify them.
    """
    u = {k: np.asarray(knobs.get(k, 0.0), dtype=float) for k in KNOBS}
    s = np.asarray(stress, dtype=float)

    def chain(s_: Any, u_: Mapping[str, Any]) -> dict[str, np.ndarray]:
        e = 1.0 + _p(params, "a_E") * s_
        p = (1.0 - u_["p2x7"]) * e / (_p(params, "K_P") + e)
        m = (1.0 - u_["microglia"]) * (1.0 + _p(params, "g_M") * p)
        l6 = (1.0 - u_["il6_production"]) * m
        x = (1.0 - u_["il6r"]) * (1.0 - u_["il6_free"]) * l6
        r = x / (_p(params, "K_R") + x)
        surv = 1.0 / (1.0 + _p(params, "delta") * r)
        return {
            "atp_extracellular": e,
            "p2x7_activation": p,
            "microglia_activation": m,
            "il6": l6,
            "il6r_signalling": r,
            "astrocyte_survival": surv,
            "tonic_atp": surv,
        }

    out = chain(s, u)
    ctrl = chain(0.0, dict.fromkeys(KNOBS, 0.0))
    out["behaviour_deficit"] = (
        _p(params, "b_S") * (1.0 - out["tonic_atp"] / ctrl["tonic_atp"]) + _p(params, "b_0") * s
    )
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def control_state(params: Mapping[str, float]) -> np.ndarray:
    """ODE state ``[E, M, L, S, B]`` at the unstressed, untreated steady state."""
    ss = steady_state(params, 0.0, {})
    return np.array(
        [
            float(ss["atp_extracellular"]),
            float(ss["microglia_activation"]),
            float(ss["il6"]),
            float(ss["astrocyte_survival"]),
            0.0,
        ]
    )


def rhs(
    t: float, y: np.ndarray, params: Mapping[str, float], stress: Any, knobs: Any
) -> np.ndarray:
    """Right-hand side of the cascade ODE; ``stress(t)`` and ``knobs(t)`` are callables."""
    e, m, l6, surv, b = y
    s = stress(t)
    u = knobs(t)
    p = (1.0 - u["p2x7"]) * e / (params["K_P"] + e)
    x = (1.0 - u["il6r"]) * (1.0 - u["il6_free"]) * l6
    r = x / (params["K_R"] + x)
    t_ctrl = float(steady_state(params, 0.0, {})["tonic_atp"])
    return np.array(
        [
            params["k_E"] * (1.0 + params["a_E"] * s - e),
            params["k_M"] * ((1.0 - u["microglia"]) * (1.0 + params["g_M"] * p) - m),
            params["k_L"] * ((1.0 - u["il6_production"]) * m - l6),
            params["k_S"] * (1.0 - surv) - params["k_S"] * params["delta"] * r * surv,
            params["k_B"] * (params["b_S"] * (1.0 - surv / t_ctrl) + params["b_0"] * s - b),
        ]
    )


@dataclass(frozen=True)
class Protocol:
    """When stress starts, when the intervention starts and when behaviour is read out (days).

    ``before``: the intervention starts ``pre_days`` before stress onset (prophylactic);
    ``after``: it starts ``after_days`` after stress onset, once the stressed state is established
    (therapeutic). Stress is chronic (it continues to the readout) in both.
    """

    pre_days: float = 3.0
    after_days: float = 21.0
    treat_days: float = 14.0

    @property
    def t_start(self) -> float:
        return -self.pre_days

    @property
    def t_read(self) -> float:
        return self.after_days + self.treat_days

    def t_on(self, timing: str) -> float:
        if timing == "before":
            return -self.pre_days
        if timing == "after":
            return self.after_days
        raise InputError("unknown timing", value=timing, expected="before | after")


def simulate(
    params: Mapping[str, float],
    knobs: Mapping[str, float] | None = None,
    *,
    t_on: float = 0.0,
    protocol: Protocol | None = None,
    n_points: int = 200,
) -> dict[str, np.ndarray]:
    """Integrate the cascade ODE with ``scipy.integrate.solve_ivp`` (LSODA, tight tolerances).

    Starts at the control steady state at ``protocol.t_start``; stress is 1 from t = 0; the
    knobs switch on at ``t_on``. Returns ``t`` and the trajectories of the five states.
    """
    protocol = protocol or Protocol()
    on = dict.fromkeys(KNOBS, 0.0)
    on.update(knobs or {})
    off = dict.fromkeys(KNOBS, 0.0)
    breaks = sorted({protocol.t_start, 0.0, float(t_on), protocol.t_read})
    breaks = [b for b in breaks if protocol.t_start <= b <= protocol.t_read]
    y = control_state(params)
    ts, ys = [], []
    for a, b in itertools.pairwise(breaks):
        mid = 0.5 * (a + b)
        s_const = 1.0 if mid >= 0.0 else 0.0
        u_const = on if mid >= t_on else off
        sol = solve_ivp(
            rhs,
            (a, b),
            y,
            method="LSODA",
            args=(params, lambda _t, s=s_const: s, lambda _t, u=u_const: u),
            rtol=1e-8,
            atol=1e-10,
            t_eval=np.linspace(a, b, max(2, int(n_points * (b - a) / (breaks[-1] - breaks[0])))),
        )
        ts.append(sol.t)
        ys.append(sol.y)
        y = sol.y[:, -1]
    t = np.concatenate(ts)
    yy = np.concatenate(ys, axis=1)
    return {"t": t, "E": yy[0], "M": yy[1], "L": yy[2], "S": yy[3], "B": yy[4]}


def simulate_batch(
    params: Mapping[str, np.ndarray],
    knobs: Mapping[str, np.ndarray],
    t_on: float,
    protocol: Protocol | None = None,
    dt: float = 0.05,
) -> dict[str, np.ndarray]:
    """Behaviour and astrocyte state at the readout for many parameter sets at once.

    A staggered exponential integrator: over each step the linear relaxations are solved exactly
    with their input held at the mean of its start and end values (E first, then M, L, S, B).
    Unconditionally stable; checked against :func:`simulate` (LSODA) in the tests.

    Returns the final ``E, M, L, S, B`` arrays.
    """
    protocol = protocol or Protocol()
    n_steps = round((protocol.t_read - protocol.t_start) / dt)
    shape = np.broadcast(*[np.asarray(v) for v in params.values()]).shape
    y0 = steady_state(params, 0.0, {})
    e = np.broadcast_to(y0["atp_extracellular"], shape).astype(float)
    m = np.broadcast_to(y0["microglia_activation"], shape).astype(float)
    l6 = np.broadcast_to(y0["il6"], shape).astype(float)
    surv = np.broadcast_to(y0["astrocyte_survival"], shape).astype(float)
    t_ctrl = y0["tonic_atp"]
    b = np.zeros(shape)
    zero = {k: 0.0 for k in KNOBS}
    p_ = params
    decay = {k: np.exp(-np.asarray(p_[k]) * dt) for k in ("k_E", "k_M", "k_L", "k_B")}

    def relax(x: np.ndarray, target: Any, fac: Any) -> np.ndarray:
        return target + (x - target) * fac

    def p2x7(e_: Any, u: Mapping[str, Any]) -> Any:
        return (1.0 - u["p2x7"]) * e_ / (p_["K_P"] + e_)

    for i in range(n_steps):
        t0 = protocol.t_start + i * dt
        tm = t0 + 0.5 * dt
        s = 1.0 if tm >= 0.0 else 0.0
        u = knobs if tm >= t_on else zero
        e_new = relax(e, 1.0 + p_["a_E"] * s, decay["k_E"])
        p_mid = 0.5 * (p2x7(e, u) + p2x7(e_new, u))
        m_new = relax(m, (1.0 - u["microglia"]) * (1.0 + p_["g_M"] * p_mid), decay["k_M"])
        l_new = relax(l6, (1.0 - u["il6_production"]) * 0.5 * (m + m_new), decay["k_L"])
        x = (1.0 - u["il6r"]) * (1.0 - u["il6_free"]) * 0.5 * (l6 + l_new)
        r = x / (p_["K_R"] + x)
        rate = p_["k_S"] * (1.0 + p_["delta"] * r)
        s_new = relax(surv, p_["k_S"] / rate, np.exp(-rate * dt))
        b_target = p_["b_S"] * (1.0 - 0.5 * (surv + s_new) / t_ctrl) + p_["b_0"] * s
        b = relax(b, b_target, decay["k_B"])
        e, m, l6, surv = e_new, m_new, l_new, s_new
    return {"E": e, "M": m, "L": l6, "S": surv, "B": b}
