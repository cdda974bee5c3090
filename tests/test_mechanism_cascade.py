"""Which question each test answers: is the cascade integrated correctly (analytic special case,
steady state = long-time ODE limit, batch integrator = LSODA), and does it stay positive and bounded?"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inflamed.mechanism.cascade import (
    KNOBS,
    SPEC,
    Protocol,
    parse_arm,
    simulate,
    simulate_batch,
    steady_state,
)

BASE = {
    "a_E": 5.0,
    "K_P": 10.0,
    "g_M": 3.0,
    "K_R": 2.0,
    "delta": 1.5,
    "b_S": 4.0,
    "b_0": 0.5,
    "k_E": 2.0,
    "k_M": 0.8,
    "k_L": 1.5,
    "k_S": 0.2,
    "k_B": 1.0,
}


def test_extracellular_atp_matches_its_analytic_solution() -> None:
    # E' = k_E (1 + a_E - E) from E(0) = 1 has E(t) = 1 + a_E (1 - exp(-k_E t)).
    sol = simulate(
        BASE, protocol=Protocol(pre_days=0.0, after_days=5.0, treat_days=0.0), n_points=400
    )
    t = sol["t"]
    expected = 1 + BASE["a_E"] * (1 - np.exp(-BASE["k_E"] * t))
    np.testing.assert_allclose(sol["E"], expected, rtol=1e-6, atol=1e-7)


def test_astrocyte_survival_matches_closed_form_when_signalling_is_constant() -> None:
    # With R constant S(t) = S* + (S0 - S*) exp(-k_S (1 + delta R) t): use fast upstream rates so
    # R jumps to its stressed value, then compare late-time S with the closed form.
    p = dict(BASE, k_E=1e3, k_M=1e3, k_L=1e3)
    sol = simulate(
        p, protocol=Protocol(pre_days=0.0, after_days=10.0, treat_days=0.0), n_points=500
    )
    ss0 = steady_state(p, 0.0, {})
    ss1 = steady_state(p, 1.0, {})
    rate = p["k_S"] * (1 + p["delta"] * ss1["il6r_signalling"])
    t = sol["t"]
    closed = ss1["astrocyte_survival"] + (
        ss0["astrocyte_survival"] - ss1["astrocyte_survival"]
    ) * np.exp(-rate * t)
    late = t > 0.1
    np.testing.assert_allclose(sol["S"][late], closed[late], rtol=2e-3)


@pytest.mark.parametrize(
    "arm", ["stress", "stress+minocycline", "stress+il6r_knockdown", "stress+p2x7_antagonist"]
)
def test_steady_state_is_the_long_time_limit_of_the_ode(arm: str) -> None:
    a = parse_arm(arm, {})
    long = Protocol(pre_days=0.0, after_days=300.0, treat_days=0.0)
    sol = simulate(BASE, a.knobs, t_on=0.0, protocol=long)
    ss = steady_state(BASE, a.stress, a.knobs)
    assert sol["S"][-1] == pytest.approx(float(ss["astrocyte_survival"]), rel=1e-6)
    assert sol["B"][-1] == pytest.approx(float(ss["behaviour_deficit"]), rel=1e-6, abs=1e-9)


def test_batch_integrator_agrees_with_lsoda() -> None:
    rng = np.random.default_rng(7)
    n = 20
    params = {
        k: (10 ** rng.uniform(*SPEC[k].free_bounds, n) if SPEC[k].log else rng.uniform(0, 5, n))
        for k in SPEC
    }
    knobs = dict.fromkeys(KNOBS, 0.0)
    knobs["microglia"] = 0.7
    protocol = Protocol()
    for timing in ("before", "after"):
        out = simulate_batch(params, knobs, protocol.t_on(timing), protocol, dt=0.05)
        for i in range(n):
            p1 = {k: float(v[i]) for k, v in params.items()}
            ref = simulate(p1, knobs, t_on=protocol.t_on(timing), protocol=protocol)
            assert out["B"][i] == pytest.approx(ref["B"][-1], rel=5e-3, abs=5e-3)
            assert out["S"][i] == pytest.approx(ref["S"][-1], rel=5e-3, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=12, max_size=12),
    st.floats(0.0, 1.0),
)
def test_states_stay_positive_and_bounded(u: list[float], eff: float) -> None:
    params = {}
    for x, (name, spec) in zip(u, SPEC.items(), strict=True):
        lo, hi = spec.free_bounds
        params[name] = spec.from_free(lo + x * (hi - lo))
    knobs = dict.fromkeys(KNOBS, eff)
    for stress in (0.0, 1.0):
        ss = steady_state(params, stress, knobs)
        assert 0 < ss["astrocyte_survival"] <= 1
        assert 0 <= ss["il6r_signalling"] < 1
        assert 0 <= ss["p2x7_activation"] < 1
        assert ss["microglia_activation"] >= 0 and ss["il6"] >= 0
    out = simulate_batch({k: np.array([v]) for k, v in params.items()}, knobs, 0.0)
    assert 0 < out["S"][0] <= 1 and out["E"][0] >= 1 and out["M"][0] >= 0


def test_interventions_on_one_knob_combine_and_unknown_arm_fails() -> None:
    arm = parse_arm(
        "stress+il6r_knockdown+anti_il6r_antibody",
        {"il6r_knockdown": 0.5, "anti_il6r_antibody": 0.5},
    )
    assert arm.knobs["il6r"] == pytest.approx(0.75)
    with pytest.raises(Exception, match="start with"):
        parse_arm("sham")
