"""Which question each test answers: can the fit recover known parameters from rich simulated
targets, and does the profile likelihood call a parameter non-identifiable when it is?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inflamed.mechanism.cascade import parse_arm, steady_state
from inflamed.mechanism.fitting import FitSettings, fit_cascade, profile_all, profile_parameter
from inflamed.mechanism.targets import COLUMNS, validate_targets

TRUE = {"a_E": 5.0, "K_P": 10.0, "g_M": 3.0, "K_R": 2.0, "delta": 1.5, "b_S": 4.0, "b_0": 0.5}
EFF = {"p2x7_knockdown": 0.7, "il6r_knockdown": 0.7, "minocycline": 0.7}
SIM_SOURCE = "https://example.org/SIMULATED"  # simulated targets: labelled, never shipped


def _node(arm: str, node: str) -> float:
    a = parse_arm(arm, EFF)
    return float(steady_state(TRUE, a.stress, a.knobs)[node])


def simulated_targets(rel_se: float = 0.01) -> pd.DataFrame:
    """SIMULATED targets computed from TRUE (seeded noise-free values, 1 % SE)."""
    specs = [
        ("atp_extracellular", "ratio", "stress", "control"),
        ("p2x7_activation", "ratio", "stress", "control"),
        ("microglia_activation", "ratio", "stress", "control"),
        ("microglia_activation", "ratio", "stress+p2x7_knockdown", "stress"),
        ("il6r_signalling", "value", "control", ""),
        ("il6r_signalling", "ratio", "stress", "control"),
        ("astrocyte_survival", "ratio", "stress", "control"),
        ("behaviour_deficit", "value", "stress", "control"),
        ("behaviour_rescue", "value", "stress+il6r_knockdown", "stress"),
    ]
    rows = []
    for i, (q, kind, arm, comp) in enumerate(specs):
        if q == "behaviour_rescue":
            val = _node(comp, "behaviour_deficit") - _node(arm, "behaviour_deficit")
        elif q == "behaviour_deficit":
            val = _node(arm, "behaviour_deficit") - _node(comp, "behaviour_deficit")
        elif comp:
            val = _node(arm, q) / _node(comp, q)
        else:
            val = _node(arm, q)
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            target_id=f"S{i}",
            quantity=q,
            kind=kind,
            relation="=",
            value=repr(val),
            uncertainty=repr(abs(val) * rel_se),
            uncertainty_type="SEM",
            unit="SD" if q.startswith("behaviour") else "ratio",
            intervention=arm,
            comparison=comp,
            source=SIM_SOURCE,
            source_location="simulated in tests/test_mechanism_fitting.py",
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


@pytest.fixture(scope="module")
def recovered():
    ts = validate_targets(simulated_targets())
    settings = FitSettings(n_starts=8, efficiencies=EFF)
    fit, obj = fit_cascade(ts, settings, seed=11)
    return fit, obj


def test_parameter_recovery(recovered) -> None:
    fit, _ = recovered
    assert fit.chi2 < 1e-6
    for name, value in TRUE.items():
        assert fit.estimates[name] == pytest.approx(value, rel=0.02), name


def test_profiles_call_rich_data_identifiable_and_rates_structurally_not(recovered) -> None:
    fit, obj = recovered
    for name in ("g_M", "delta", "b_S", "b_0"):
        prof = profile_parameter(obj, fit, name, 15)
        assert prof.verdict == "identifiable", (name, prof.reason)
        assert prof.ci_lb < TRUE[name] < prof.ci_ub
    rate = profile_parameter(obj, fit, "k_S", 7)
    assert rate.verdict == "structurally non-identifiable"
    assert "steady-state" in rate.reason
    assert np.allclose(rate.chi2, 0.0)


def test_a_parameter_deliberately_left_unconstrained_is_reported_as_such() -> None:
    # Drop the two behaviour targets: b_0 (stress effect outside the cascade) and b_S then enter
    # no target at all.
    frame = simulated_targets()
    frame = frame[~frame["quantity"].str.startswith("behaviour")]
    ts = validate_targets(frame)
    fit, obj = fit_cascade(ts, FitSettings(n_starts=4, efficiencies=EFF), seed=3)
    prof = profile_parameter(obj, fit, "b_0", 7)
    assert prof.verdict == "structurally non-identifiable"
    assert "does not change any target" in prof.reason
    assert prof.ci_lb is None and prof.ci_ub is None


def test_trade_off_is_flat_and_named() -> None:
    # Only the astrocyte ratio: five upstream gains trade off against each other.
    frame = simulated_targets()
    frame = frame[(frame["quantity"] == "astrocyte_survival")]
    ts = validate_targets(frame)
    fit, obj = fit_cascade(ts, FitSettings(n_starts=3, efficiencies=EFF), seed=5)
    profs = profile_all(obj, fit, 9)
    verdicts = {p.name: p.verdict for p in profs}
    assert verdicts["delta"] != "identifiable"
    assert all(v != "identifiable" for v in verdicts.values())


def test_fit_is_deterministic_for_a_seed() -> None:
    ts = validate_targets(simulated_targets())
    s = FitSettings(n_starts=3, efficiencies=EFF)
    a, _ = fit_cascade(ts, s, seed=42)
    b, _ = fit_cascade(ts, s, seed=42)
    assert a.estimates == b.estimates and a.start_chi2 == b.start_chi2


def test_inequality_penalty_is_zero_when_satisfied_and_positive_when_violated() -> None:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        target_id="I1",
        quantity="microglia_activation",
        kind="inequality",
        relation="<",
        value="1",
        unit="ratio",
        intervention="stress",
        comparison="control",
        source=SIM_SOURCE,
        source_location="simulated",
    )
    ts = validate_targets(pd.DataFrame([row], columns=list(COLUMNS)))
    fit, _obj = fit_cascade(ts, FitSettings(n_starts=2), seed=1)
    # stress raises M for any positive gain, so "M(stress) < M(control)" is violated everywhere in
    # the bounds: the fit can only shrink the violation and still pays a penalty.
    assert fit.chi2 > 0
    assert fit.predictions["I1"] > 1
    row["relation"] = ">"
    ts = validate_targets(pd.DataFrame([row], columns=list(COLUMNS)))
    fit, _obj = fit_cascade(ts, FitSettings(n_starts=2), seed=1)
    assert fit.chi2 == 0.0


def test_forward_steps_are_scipys_two_point_steps_bounds_included() -> None:
    """The batched Jacobian of the profile refits must be the one least_squares would build."""
    from scipy.optimize._numdiff import approx_derivative

    from inflamed.mechanism.fitting import _forward_steps

    lower, upper = np.array([-3.0, -3.0, 0.0, 0.0]), np.array([3.0, 3.0, 1.0, 1e-9])

    def f(x):
        return np.array([np.sin(x[0]) * x[1], x[2] ** 3 - x[0], np.exp(x[3]) + x[1] ** 2])

    for x in ([0.0, -1.2, 0.5, 0.0], [3.0, -3.0, 1.0, 1e-9], [2.9999999999, 0.7, 1e-12, 5e-10]):
        x = np.array(x)
        steps = _forward_steps(x, lower, upper)
        moved = (x + steps) - x
        ours = np.stack([(f(x + np.eye(4)[i] * steps[i]) - f(x)) / moved[i] for i in range(4)]).T
        theirs = approx_derivative(f, x, method="2-point", bounds=(lower, upper))
        np.testing.assert_array_equal(ours, theirs)
