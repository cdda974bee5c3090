"""inflamed.stats.network.bayes: the TSD2 consistency model by NUTS, against gemtc and the paper.

Questions answered here:

* Does a full-size fit of Cipriani 2009 (4 chains x (1,000 + 1,000)) agree with gemtc's stored
  posterior (``tests/reference/fixtures/gemtc_cipriani_efficacy.json``) in means, SDs, the
  heterogeneity SD and the rank probabilities, within Monte Carlo error?
* Does it reproduce the published odds ratios against fluoxetine (Cipriani et al., Lancet 2009)?
* Are two runs with the same seed identical (draw for draw)?
* Does the normal-identity (MD) branch recover the effects of SIMULATED data; does the fixed-effect
  model run; is the multi-arm correction the TSD2 conditional sequence?
* Do the diagnostics equal NumPyro's for the plain estimators, flag disagreeing chains, and name
  every flagged parameter?
* Are bad inputs refused with the usual named error; does importing the module leave JAX unloaded?

Tolerances (see ``docs/network_bayes.md``): a posterior mean must agree with gemtc's within
``4 * sqrt(mcse_ours^2 + mcse_gemtc^2) + 0.002`` on the log-OR scale (0.002: the priors are the
same; the only modelling difference is which arm of a study carries the flat N(0, 29.7^2) baseline
prior, whose effect on ``d`` is of order (0.2 / 29.7)^2, far below 0.002).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.stats.network.bayes import nma_bayes, rank_draws
from inflamed.stats.network.bayes_data import arm_network
from inflamed.stats.network.bayes_diagnostics import diagnose, ess, split_rhat

pytest.importorskip("numpyro")

ROOT = Path(__file__).resolve().parent
GEMTC = json.loads((ROOT / "reference" / "fixtures" / "gemtc_cipriani_efficacy.json").read_text())
CIPRIANI = pd.read_csv(ROOT / "fixtures" / "networks" / "cipriani2009.csv")
#: Cipriani et al. 2009, Lancet 373:746-758, doi:10.1016/S0140-6736(09)60046-5 (abstract): odds
#: ratios of response against fluoxetine.
PUBLISHED_OR = {"mirtazapine": 1.37, "escitalopram": 1.32, "venlafaxine": 1.28, "sertraline": 1.25}


def _cipriani(**kwargs):
    return nma_bayes(
        CIPRIANI.study,
        CIPRIANI.treatment,
        measure="OR",
        reference="fluoxetine",
        events=CIPRIANI.responders,
        n=CIPRIANI.sampleSize,
        small_values="bad",
        **kwargs,
    )


@pytest.fixture(scope="module")
def full_fit():
    """The one full-size fit of the suite (the defaults: 4 chains x (1,000 + 1,000))."""
    return _cipriani()


def _simulated_binary(seed: int = 7) -> pd.DataFrame:
    """SIMULATED network: 4 treatments, 9 two-arm trials and one three-arm trial."""
    rng = np.random.default_rng(seed)
    d = {"A": 0.0, "B": 0.5, "C": -0.3, "D": 0.2}
    designs = [("A", "B")] * 3 + [("A", "C")] * 3 + [("B", "D")] * 2 + [("C", "D"), ("A", "B", "C")]
    rows = []
    for i, arms in enumerate(designs):
        base = rng.normal(-0.5, 0.3)
        for t in arms:
            p = 1 / (1 + np.exp(-(base + d[t] - d[arms[0]])))
            rows.append(
                {"study": f"sim{i}", "treatment": t, "events": rng.binomial(150, p), "n": 150}
            )
    return pd.DataFrame(rows)


# --- the full-size fit against gemtc and the paper -------------------------------------------


def _mcse(fit, parameter: str) -> float:
    row = fit.diagnostics.set_index("parameter").loc[parameter]
    return float(row["mcse_mean"])


@pytest.mark.mcmc
def test_posterior_means_match_gemtc(full_fit):
    effects = full_fit.effects.set_index("treatment")
    for key, ref in GEMTC["parameters"].items():
        if key == "sd.d":
            ours, mcse = full_fit.tau, _mcse(full_fit, "tau")
        else:
            t = key.removeprefix("d.fluoxetine.")
            ours, mcse = effects.loc[t, "mean"], _mcse(full_fit, f"d[{t}]")
        bound = 4 * np.hypot(mcse, ref["time_series_se"]) + 0.002
        assert abs(ours - ref["mean"]) <= bound, (key, ours, ref["mean"], bound)


@pytest.mark.mcmc
def test_posterior_sds_match_gemtc(full_fit):
    """SDs agree within 4 standard errors of log(SD), Var(log sd) ~ 1/(2 ESS) on each side."""
    effects = full_fit.effects.set_index("treatment")
    diag = full_fit.diagnostics.set_index("parameter")
    for key, ref in GEMTC["parameters"].items():
        if key == "sd.d":
            continue
        t = key.removeprefix("d.fluoxetine.")
        ess_ours = diag.loc[f"d[{t}]", "ess_bulk"]
        bound = 4 * np.sqrt(1 / (2 * ess_ours) + 1 / (2 * ref["effective_size"]))
        assert abs(np.log(effects.loc[t, "sd"] / ref["sd"])) <= bound, (t, effects.loc[t, "sd"])


@pytest.mark.mcmc
def test_heterogeneity_interval_matches_gemtc(full_fit):
    ref = GEMTC["parameters"]["sd.d"]
    assert full_fit.tau_q975 == pytest.approx(ref["q975"], abs=0.02)
    assert full_fit.tau_q025 == pytest.approx(ref["q025"], abs=0.01)


@pytest.mark.mcmc
def test_rank_probabilities_match_gemtc(full_fit):
    """Each rank probability within 4 binomial MC SEs (ESS = the smaller of the two minimum ESS
    of d) plus 0.01 for gemtc's transcribed rows summing to 1.0002."""
    ess_ours = full_fit.diagnostics.query("parameter.str.startswith('d[')")["ess_bulk"].min()
    ess_gemtc = min(v["effective_size"] for k, v in GEMTC["parameters"].items() if k != "sd.d")
    for t, ref in GEMTC["rank_probabilities"].items():
        ours = full_fit.rank_probabilities.loc[t].to_numpy()
        ref = np.asarray(ref)
        se = np.sqrt(ref * (1 - ref) / min(ess_ours, ess_gemtc) * 2)
        assert np.all(np.abs(ours - ref) <= 4 * se + 0.01), (t, ours.round(3), ref.round(3))


@pytest.mark.mcmc
def test_published_odds_ratios(full_fit):
    """exp(posterior median) against the paper's ORs: 0.03 on the log scale covers rounding to two
    decimals (<= 0.004), 4 MCSEs (~0.01) and the paper's larger trial set (117 vs 111 trials)."""
    effects = full_fit.effects.set_index("treatment")
    for t, published in PUBLISHED_OR.items():
        assert abs(effects.loc[t, "q50"] - np.log(published)) <= 0.03, (
            t,
            np.exp(effects.loc[t, "q50"]),
        )
    best = sorted(PUBLISHED_OR, key=lambda t: -full_fit.sucra[t])
    assert best == list(PUBLISHED_OR)  # the paper's order: mirtazapine > ... > sertraline
    assert max(full_fit.sucra, key=full_fit.sucra.get) == "mirtazapine"
    assert min(full_fit.sucra, key=full_fit.sucra.get) == "reboxetine"


@pytest.mark.mcmc
def test_full_fit_reports_diagnostics_priors_and_json(full_fit):
    diag = full_fit.diagnostics
    assert len(diag) == 11 + 1 + 111 + 113  # d, tau, mu per study, delta per non-baseline arm
    assert (diag.query("parameter.str.startswith('d[')")["rhat"] < 1.01).all()
    flagged = {w.split(":")[0] for w in full_fit.warnings}
    expected = set(
        diag.loc[(diag.rhat > 1.01) | (diag.ess_bulk < 400) | (diag.ess_tail < 400), "parameter"]
    )
    assert (
        flagged - {str(full_fit.divergences) + " divergent transitions after warm-up"} == expected
    )
    assert "Uniform(0, 1.97753)" in full_fit.priors["tau"]
    assert full_fit.om_scale == pytest.approx(1.977527, abs=1e-6)
    out = json.loads(json.dumps(full_fit.to_dict()))
    assert out["q"] is None and out["tau"] == pytest.approx(full_fit.tau)
    assert out["pscores"] == pytest.approx(dict(full_fit.sucra))
    assert [e["treatment"] for e in out["effects"]] == list(full_fit.treatments)
    assert out["chain_method"] in ("parallel", "vectorized")
    assert any(full_fit.chain_method in line for line in full_fit.log)


# --- smaller fits ------------------------------------------------------------------------------

SMALL = {"chains": 2, "warmup": 300, "draws": 300}


@pytest.mark.mcmc
def test_same_seed_same_draws():
    sim = _simulated_binary()
    args = (sim.study, sim.treatment)
    kw = {"measure": "OR", "reference": "A", "events": sim.events, "n": sim.n, **SMALL}
    one, two = nma_bayes(*args, seed=5, **kw), nma_bayes(*args, seed=5, **kw)
    for key in one.samples:
        np.testing.assert_array_equal(one.samples[key], two.samples[key])
    pd.testing.assert_frame_equal(one.effects, two.effects)
    assert one.to_dict() == two.to_dict()
    # each chain gets its own key from the seed: the chains are not copies of each other
    assert not np.array_equal(one.samples["d"][0], one.samples["d"][1])


@pytest.mark.mcmc
def test_mean_difference_recovers_simulated_effects():
    """SIMULATED continuous network with known MDs; normal likelihood, identity link."""
    rng = np.random.default_rng(11)
    truth = {"P": 0.0, "X": -3.0, "Y": -1.5}
    rows = []
    designs = [("P", "X")] * 4 + [("P", "Y")] * 4 + [("X", "Y")] * 2 + [("P", "X", "Y")]
    for i, arms in enumerate(designs):
        base = rng.normal(20, 2)
        for t in arms:
            rows.append(
                {
                    "study": f"s{i}",
                    "treatment": t,
                    "n": 100,
                    "sd": 6.0,
                    "mean": base + truth[t] + rng.normal(0, 6 / 10),
                }
            )
    sim = pd.DataFrame(rows)
    fit = nma_bayes(
        sim.study,
        sim.treatment,
        measure="MD",
        reference="P",
        mean=sim["mean"],
        sd=sim.sd,
        n=sim.n,
        **SMALL,
    )
    eff = fit.effects.set_index("treatment")
    for t in ("X", "Y"):
        assert eff.loc[t, "q025"] < truth[t] < eff.loc[t, "q975"]
        assert abs(eff.loc[t, "mean"] - truth[t]) < 0.6
    assert fit.measure == "MD" and "mean difference" in fit.priors["d"]


@pytest.mark.mcmc
def test_fixed_effect_model_has_no_heterogeneity():
    sim = _simulated_binary()
    fit = nma_bayes(
        sim.study,
        sim.treatment,
        measure="OR",
        reference="A",
        events=sim.events,
        n=sim.n,
        model="fixed",
        **SMALL,
    )
    assert np.isnan(fit.tau) and "tau" not in fit.priors
    assert not fit.diagnostics.parameter.str.startswith(("tau", "delta")).any()
    assert fit.to_dict()["tau"] is None


def test_multi_arm_correction_is_the_tsd2_conditional_sequence():
    """L z from the Cholesky factor equals TSD2's sequence: arm k (k >= 1 after the baseline) has
    mean sum_{j<k} w_j / k and SD sqrt((k + 1) / (2k)) given the arms before it."""
    from inflamed.stats.network.bayes import _correlation_factor

    study = ["s"] * 4 + ["t"] * 2
    net = arm_network(
        study,
        ["A", "B", "C", "D", "A", "B"],
        measure="OR",
        reference="A",
        events=[1, 2, 3, 4, 5, 6],
        n=[10] * 6,
    )
    rows, cols, vals = _correlation_factor(net)
    z = np.random.default_rng(3).normal(size=4)
    w = np.zeros(4)
    np.add.at(w, rows, vals * z[cols])
    seq = []
    for k in (1, 2, 3):
        seq.append(sum(seq) / k + np.sqrt((k + 1) / (2 * k)) * z[k - 1])
    np.testing.assert_allclose(w[:3], seq, rtol=1e-12)
    assert w[3] == pytest.approx(z[3])  # a two-arm study: w = z


# --- diagnostics, ranking, input checks ---------------------------------------------------------


def test_diagnostics_equal_numpyro_estimators_and_flag_shifted_chains():
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    rng = np.random.default_rng(2)
    x = np.zeros((4, 2000))
    e = rng.normal(size=(4, 2000))
    for t in range(1, 2000):
        x[:, t] = 0.5 * x[:, t - 1] + e[:, t]  # AR(1): ESS about 8000 / 3
    assert ess(x) == pytest.approx(float(effective_sample_size(x)), rel=1e-10)
    assert split_rhat(x) == pytest.approx(float(split_gelman_rubin(x)), rel=1e-10)
    good = diagnose(x)
    assert good["rhat"] < 1.01 and 2000 < good["ess_bulk"] < 3500
    shifted = x + np.array([0, 0, 0, 3.0])[:, None]
    assert diagnose(shifted)["rhat"] > 1.1
    assert np.isnan(diagnose(np.ones((4, 100)))["rhat"])


def test_rank_probabilities_and_sucra():
    draws = np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 2.0]])
    probs, sucra = rank_draws(draws, ["R", "B", "C"], small_values="good")
    assert probs.loc["R"].tolist() == [1.0, 0.0, 0.0]
    assert probs.loc["B"].tolist() == [0.0, 0.5, 0.5]
    assert sucra == pytest.approx({"R": 1.0, "B": 0.25, "C": 0.25})
    _, bad = rank_draws(draws, ["R", "B", "C"], small_values="bad")
    assert bad == pytest.approx({"R": 0.0, "B": 0.75, "C": 0.75})


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"reference": "placebo"}, "reference"),
        ({"measure": "RR"}, "measure"),
        ({"events": [5, 11, 3, 4]}, "events"),
        ({"study": ["a", "a", "b", "c"]}, "study"),
        ({"treatment": ["A", "B", "C", "D"]}, "treatment"),
    ],
)
def test_bad_input_is_named(change, column):
    kw = {
        "study": ["a", "a", "b", "b"],
        "treatment": ["A", "B", "A", "C"],
        "measure": "OR",
        "reference": "A",
        "events": [5, 6, 3, 4],
        "n": [10] * 4,
        "row_offset": 2,
    }
    kw.update(change)
    with pytest.raises(InputError) as err:
        nma_bayes(kw.pop("study"), kw.pop("treatment"), **kw)
    assert err.value.column == column
    if column == "events":
        assert err.value.row == 3 and "more events than participants" in str(err.value)
    if column == "treatment":
        assert "{A, B}; {C, D}" in str(err.value)


def test_studies_without_events_are_kept_and_logged():
    """Unlike the contrast-based engine, the binomial model needs no correction: nothing dropped."""
    net = arm_network(
        ["a", "a", "b", "b", "z", "z"],
        ["A", "B", "A", "B", "A", "B"],
        measure="OR",
        reference="B",
        events=[3, 5, 0, 2, 0, 0],
        n=[10] * 6,
    )
    assert net.studies == ("a", "b", "z") and len(net.y) == 6
    assert net.treatments == ("B", "A")  # reference first
    assert any("Kept 1 studies" in line and "(z)" in line for line in net.log)
    # om_scale: largest |log OR| with 0.5 added to events and non-events (study b)
    assert net.om_scale == pytest.approx(abs(np.log(0.5 / 10.5) - np.log(2.5 / 8.5)))


def test_import_does_not_load_jax():
    code = (
        "import sys, inflamed.stats, inflamed.stats.network.bayes; "
        "print('jax' in sys.modules or 'numpyro' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
