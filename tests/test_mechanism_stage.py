"""Which question each test answers: does the stage write every artefact, byte-identically on a
rerun, with honest identifiability on the shipped targets; are the Sobol estimators right on an
analytic case? The effects table is SIMULATED (seeded)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("inflamed.stats.pooling")

from inflamed.mechanism import run_mechanism_stage
from inflamed.mechanism.sensitivity import sobol_indices
from inflamed.mechanism.simulated import simulated_effects

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "data" / "mechanism" / "targets.csv"
FAST = {
    "mechanism": {
        "n_starts": 4,
        "n_profile_points": 7,
        "n_region_samples": 2000,
        "max_region_kept": 60,
        "sobol_n_base": 32,
        "dt": 0.1,
    }
}
EXPECTED = {
    "who_benefits.json",
    "crp_predictions.csv",
    "cascade_fit.json",
    "identifiability.csv",
    "profiles.csv",
    "interventions.csv",
    "sensitivity.csv",
    "clinic_bridge.csv",
} | {
    f"{f}.{e}"
    for f in ("model_diagram", "fit_vs_targets", "profiles", "interventions", "crp_bubble")
    for e in ("png", "svg")
}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    eff = simulated_effects(seed=1)
    a = run_mechanism_stage(eff, TARGETS, tmp_path_factory.mktemp("a"), seed=5, config=FAST)
    b = run_mechanism_stage(eff, TARGETS, tmp_path_factory.mktemp("b"), seed=5, config=FAST)
    return a, b


def test_every_artefact_is_written(two_runs) -> None:
    a, _ = two_runs
    assert set(a) == EXPECTED
    assert all(p.exists() and p.stat().st_size > 0 for p in a.values())


def test_rerun_is_byte_identical(two_runs) -> None:
    a, b = two_runs
    for name in EXPECTED:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_shipped_targets_identify_no_rate_constant_and_say_why(two_runs) -> None:
    a, _ = two_runs
    ident = pd.read_csv(a["identifiability.csv"])
    assert len(ident) == 12
    rates = ident[ident["parameter"].str.startswith("k_")]
    assert (rates["verdict"] == "structurally non-identifiable").all()
    assert rates["reason"].str.contains("steady-state").all()
    fit = json.loads(a["cascade_fit.json"].read_text())
    assert fit["fit"]["targets_with_assumed_se"] == ["T01"]
    # the report says "2 quantitative targets cannot inform 12 parameters" from these counts
    assert (fit["fit"]["n_fitted_values"], fit["fit"]["n_inequalities"]) == (2, 14)
    assert "Not identifiable from these data" in fit["identifiability"]["statement"]


def test_interventions_cover_five_types_before_and_after(two_runs) -> None:
    a, _ = two_runs
    itab = pd.read_csv(a["interventions.csv"])
    assert set(itab["timing"]) == {"before", "after"}
    assert {
        "il6_knockdown",
        "il6r_knockdown",
        "minocycline",
        "p2x7_antagonist",
        "anti_il6_antibody",
    } <= set(itab["intervention"])
    assert (itab["rescue_sd_region_min"] <= itab["rescue_sd_best"] + 1e-9).all()
    assert (itab["rescue_sd_best"] <= itab["rescue_sd_region_max"] + 1e-9).all()
    sens = pd.read_csv(a["sensitivity.csv"])
    # an intervention's rescue cannot depend on another intervention's efficiency
    other = sens[
        (sens["intervention"] == "minocycline") & (sens["input"] == "efficiency_il6_knockdown")
    ]
    assert np.allclose(other["total"].fillna(0.0), 0.0)


def test_crp_predictions_and_bridge(two_runs) -> None:
    a, _ = two_runs
    pred = pd.read_csv(a["crp_predictions.csv"])
    assert set(pred["crp_mg_l"]) == {1.0, 2.0, 3.0, 5.0}
    bridge = pd.read_csv(a["clinic_bridge.csv"])
    assert "comparison, not a fit" in bridge["note"].iloc[0]
    assert "minocycline" in set(bridge["pathway"]) or "microglia" in set(bridge["pathway"])
    # the bridge never ranks and never maps an IL-6 intervention to an anti-TNF trial
    assert not any("rank" in c for c in bridge.columns)
    il6 = bridge[bridge["pathway"] == "IL-6/IL-6R"]
    assert len(il6) and not il6["trials"].str.contains("RAISON|TREADWAY|MCINTYRE").any()


def test_sobol_estimators_on_an_additive_function() -> None:
    # Y = 1 X1 + 2 X2 + 0 X3, X ~ U(0, 1): S = ST = (1/5, 4/5, 0).
    rng = np.random.default_rng(0)
    n, d = 20000, 3
    a = rng.uniform(size=(n, d))
    b = rng.uniform(size=(n, d))
    w = np.array([1.0, 2.0, 0.0])
    ab = np.stack([np.where(np.arange(d) == i, b, a) @ w for i in range(d)])
    first, total = sobol_indices(a @ w, b @ w, ab)
    np.testing.assert_allclose(first, [0.2, 0.8, 0.0], atol=0.03)
    np.testing.assert_allclose(total, [0.2, 0.8, 0.0], atol=0.03)
