"""inflamed.stats.network against metafor rma.mv (fixtures from tests/reference/R/network.R).

Questions answered here:

* Do the contrasts, estimates, SEs, tau^2 (REML), Q and the Q decomposition of Cipriani 2009 and
  Linde 2015 (response, log OR) agree with metafor's rma.mv on the same coding? (1e-6)
* Does a three-arm study carry the shared-arm covariance, from arm rows and from contrast rows?
* Are zero cells corrected and all-zero studies dropped, each decision logged?
* Is a disconnected network refused, naming its sub-networks?
* Is the league table antisymmetric; do the P-scores sum to T/2 and flip with small_values?
* Does node-splitting on a triangle give the hand-computed direct, indirect and difference?
* With two treatments, does the NMA reduce to the pairwise rma (FE, DL, REML)?
* Is the "DL" tau^2 netmeta's formula, written independently on all pairwise contrasts with
  Rücker's adjusted multi-arm weights (netmeta's own representation)?
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from inflamed.errors import InputError
from inflamed.stats.network import (
    components,
    contrasts,
    decomp_design,
    nma,
    node_split,
    pairwise,
    pscores,
)
from inflamed.stats.pooling import rma
from network_data import cipriani2009, linde2015

FIXTURES = Path(__file__).resolve().parent / "reference" / "fixtures"
NETWORKS = {
    "cipriani2009": (cipriani2009, "fluoxetine"),
    "linde2015": (linde2015, "Placebo"),
}


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"network_{name}.json").read_text())


def _data(name: str):
    arms = NETWORKS[name][0]()
    return pairwise(arms.study, arms.treatment, measure="OR", events=arms.events, n=arms.n)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_contrasts_match_the_r_coding(name):
    fx, data = _fixture(name), _data(name)
    assert len(data.yi) == fx["n_contrasts"]
    assert len(data.studies) == fx["k"]
    np.testing.assert_allclose(data.yi, fx["yi"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(data.vi, fx["vi"], rtol=1e-12)


@pytest.mark.parametrize("method", ["FE", "REML"])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_estimates_and_ses_match_rma_mv(name, method):
    fx, data = _fixture(name), _data(name)
    ref = NETWORKS[name][1]
    fit = nma(data, reference=ref, method=method)
    rf = fx["fits"][method]
    assert fit.treatments == tuple(fx["treatments"])
    idx = [fit.treatments.index(t) for t in rf["treatments"]]
    np.testing.assert_allclose(fit.estimate[idx], rf["beta"], atol=1e-6)
    np.testing.assert_allclose(fit.se[idx], rf["se"], atol=1e-6)
    assert fit.tau2 == pytest.approx(rf["tau2"], abs=1e-8)
    assert fit.q == pytest.approx(rf["q"], rel=1e-10)
    assert fit.q_df == rf["q_df"]
    assert fit.q_pval == pytest.approx(rf["q_pval"], rel=1e-8)
    if method == "REML":
        assert fit.loglik == pytest.approx(rf["ll_reml"], abs=1e-8)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_design_decomposition_matches_per_design_rma_mv(name):
    fx, data = _fixture(name), _data(name)
    dec = decomp_design(data)
    assert dec.q_within == pytest.approx(fx["q_within"], rel=1e-10)
    assert dec.df_within == fx["df_within"]
    assert dec.q_between == pytest.approx(fx["q_between"], rel=1e-9)
    assert dec.df_between == fx["df_between"]
    by_design = {r["design"]: r for r in fx["designs"]}
    assert list(dec.designs["design"]) == list(by_design)
    for row in dec.designs.itertuples():
        assert row.q == pytest.approx(by_design[row.design]["q"], rel=1e-9, abs=1e-12)
        assert row.df == by_design[row.design]["df"]
    fit = nma(data, reference=NETWORKS[name][1], method="FE")
    assert (fit.q_het, fit.q_inc) == pytest.approx((dec.q_within, dec.q_between), rel=1e-12)
    assert dec.q_within + dec.q_between == pytest.approx(dec.q_total, rel=1e-12)


def test_cipriani_matches_the_published_odds_ratios():
    # Cipriani et al. 2009 (Lancet) report ORs of response vs fluoxetine of 1.37 (mirtazapine),
    # 1.32 (escitalopram), 1.28 (venlafaxine), 1.25 (sertraline) from a Bayesian random-effects
    # model; the frequentist REML fit agrees to the printed two decimals within 0.02.
    fit = nma(_data("cipriani2009"), reference="fluoxetine", method="REML")
    odds = dict(zip(fit.treatments, np.exp(fit.estimate), strict=True))
    for drug, published in [
        ("mirtazapine", 1.37),
        ("escitalopram", 1.32),
        ("venlafaxine", 1.28),
        ("sertraline", 1.25),
    ]:
        assert odds[drug] == pytest.approx(published, abs=0.02)


# --- multi-arm covariance ---------------------------------------------------------------------

THREE_ARM = {
    "study": ["s1", "s1", "s1"],
    "treatment": ["A", "B", "C"],
    "events": [10, 15, 20],
    "n": [50, 52, 49],
}


def test_three_arm_study_shares_the_baseline_variance():
    d = pairwise(**THREE_ARM, measure="OR")
    assert d.treat2 == ("A", "A") and d.treat1 == ("B", "C")
    s_a = 1 / 10 + 1 / 40
    s_b, s_c = 1 / 15 + 1 / 37, 1 / 20 + 1 / 29
    np.testing.assert_allclose(d.cov, [[s_a + s_b, s_a], [s_a, s_a + s_c]], rtol=1e-14)
    assert d.yi[0] == pytest.approx(np.log(15 / 37) - np.log(10 / 40), rel=1e-14)
    assert any("3 arms" in line for line in d.log)


def test_contrast_rows_reconstruct_the_multi_arm_covariance():
    arm = pairwise(**THREE_ARM, measure="OR")
    y_ba, y_ca = arm.yi
    s = {"A": 1 / 10 + 1 / 40, "B": 1 / 15 + 1 / 37, "C": 1 / 20 + 1 / 29}
    rows = [
        ("B", "A", y_ba, s["A"] + s["B"]),
        ("C", "A", y_ca, s["A"] + s["C"]),
        ("B", "C", y_ba - y_ca, s["B"] + s["C"]),
    ]
    con = contrasts(
        ["s1"] * 3,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [np.sqrt(r[3]) for r in rows],
        measure="OR",
    )
    np.testing.assert_allclose(con.cov, arm.cov, rtol=1e-12)
    np.testing.assert_allclose(con.yi, arm.yi, rtol=1e-12)
    with pytest.raises(InputError, match="covariance cannot be recovered"):
        contrasts(["s1"] * 2, ["B", "C"], ["A", "A"], [y_ba, y_ca], [0.3, 0.3])
    given = contrasts(
        ["s1"] * 2,
        ["B", "C"],
        ["A", "A"],
        [y_ba, y_ca],
        np.sqrt(np.diag(arm.cov)),
        shared_var=[s["A"], s["A"]],
    )
    np.testing.assert_allclose(given.cov, arm.cov, rtol=1e-12)


def test_contrast_level_network_equals_arm_level_network():
    arms = cipriani2009()
    arm = pairwise(arms.study, arms.treatment, measure="OR", events=arms.events, n=arms.n)
    # every study as all its pairwise contrasts (netmeta's input form)
    st, t1, t2, y, se = [], [], [], [], []
    study = np.asarray(arm.study)
    for s in arm.studies:
        idx = np.flatnonzero(study == s)
        names = [arm.treat2[idx[0]]] + [arm.treat1[i] for i in idx]
        eff = np.concatenate([[0.0], arm.yi[idx]])
        cov = np.zeros((len(names), len(names)))
        cov[1:, 1:] = arm.cov[np.ix_(idx, idx)]
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                st.append(s)
                t1.append(names[b])
                t2.append(names[a])
                y.append(eff[b] - eff[a])
                se.append(np.sqrt(cov[a, a] + cov[b, b] - 2 * cov[a, b]))
    con = contrasts(st, t1, t2, y, se, measure="OR")
    f1 = nma(arm, reference="fluoxetine")
    f2 = nma(con, reference="fluoxetine")
    np.testing.assert_allclose(f2.estimate, f1.estimate, atol=1e-10)
    np.testing.assert_allclose(f2.se, f1.se, atol=1e-10)
    assert f2.tau2 == pytest.approx(f1.tau2, abs=1e-10)


def test_fit_does_not_depend_on_arm_order_or_reference():
    arms = cipriani2009()
    a = pairwise(arms.study, arms.treatment, measure="OR", events=arms.events, n=arms.n)
    rev = arms.iloc[::-1]
    b = pairwise(rev.study, rev.treatment, measure="OR", events=rev.events, n=rev.n)
    fa = nma(a, reference="fluoxetine")
    fb = nma(b, reference="paroxetine")
    np.testing.assert_allclose(fa.league_estimate, fb.league_estimate, atol=1e-8)
    np.testing.assert_allclose(fa.league_se, fb.league_se, atol=1e-8)
    assert fa.tau2 == pytest.approx(fb.tau2, abs=1e-10)


# --- zero cells, dropped studies, connectivity -------------------------------------------------


def test_zero_cell_adds_half_to_every_arm_and_all_zero_study_is_dropped():
    d = pairwise(
        ["z", "z", "z", "ok", "ok", "none", "none"],
        ["A", "B", "C", "A", "B", "A", "C"],
        events=[0, 5, 7, 3, 4, 0, 0],
        n=[20, 21, 22, 30, 30, 10, 12],
        measure="OR",
    )
    # study z: 0.5 added to the events and 1 to n of all three arms
    assert d.yi[0] == pytest.approx(np.log(5.5 / 16.5) - np.log(0.5 / 20.5), rel=1e-14)
    assert d.vi[1] == pytest.approx(1 / 0.5 + 1 / 20.5 + 1 / 7.5 + 1 / 15.5, rel=1e-14)
    # study ok untouched
    assert d.yi[2] == pytest.approx(np.log(4 / 26) - np.log(3 / 27), rel=1e-14)
    assert d.dropped == ("none",)
    assert "none" not in d.study
    assert any("Study z" in x and "0.5 added" in x for x in d.log)
    assert any("Study none dropped" in x for x in d.log)


def test_full_cell_is_corrected_and_all_event_study_dropped():
    d = pairwise(
        ["f", "f", "all", "all"],
        ["A", "B", "A", "B"],
        events=[10, 4, 8, 9],
        n=[10, 10, 8, 9],
        measure="RR",
    )
    assert d.dropped == ("all",)
    assert d.yi[0] == pytest.approx(np.log(4.5 / 11) - np.log(10.5 / 11), rel=1e-14)


def test_disconnected_network_names_the_sub_networks():
    d = pairwise(
        ["1", "1", "2", "2", "3", "3"],
        ["A", "B", "B", "C", "D", "E"],
        events=[3, 4, 5, 6, 7, 8],
        n=[20] * 6,
        measure="OR",
    )
    assert components(d) == [["A", "B", "C"], ["D", "E"]]
    with pytest.raises(InputError, match=r"2 sub-networks.*\{A, B, C\}; \{D, E\}"):
        nma(d, reference="A")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(study=["1", "2", "2"], treatment=["A", "A", "B"], events=[1, 2, 3], n=[9, 9, 9]),
            "one arm only",
        ),
        (
            dict(study=["1", "1"], treatment=["A", "B"], events=[11, 2], n=[10, 9]),
            "more events than participants",
        ),
        (dict(study=["1", "1"], treatment=["A", "A"], events=[1, 2], n=[10, 9]), "two arms"),
    ],
)
def test_bad_arm_rows_are_refused_with_the_row(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        pairwise(**kwargs, measure="OR", row_offset=2)
    assert info.value.row is not None


def test_unknown_reference_is_refused():
    with pytest.raises(InputError, match="unknown reference"):
        nma(_data("cipriani2009"), reference="placebo")


# --- league table and P-scores -----------------------------------------------------------------


def test_league_table_is_antisymmetric_and_consistent():
    fit = nma(_data("linde2015"), reference="Placebo")
    league = fit.league_estimate
    np.testing.assert_allclose(league, -league.T, atol=1e-14)
    np.testing.assert_allclose(fit.league_se, fit.league_se.T, atol=1e-14)
    ref = fit.treatments.index("Placebo")
    np.testing.assert_allclose(league[:, ref], fit.estimate, atol=1e-14)
    np.testing.assert_allclose(fit.league_se[:, ref], fit.se, atol=1e-14)
    i, j, k = 0, 3, 5
    assert league[i, k] == pytest.approx(league[i, j] + league[j, k], abs=1e-12)
    frame = fit.league_frame()
    assert len(frame) == len(fit.treatments) * (len(fit.treatments) - 1)
    assert np.all(frame.ci_lb < frame.estimate) and np.all(frame.estimate < frame.ci_ub)


def test_pscores_sum_to_half_the_treatments_and_flip_with_direction():
    fit = nma(_data("cipriani2009"), reference="fluoxetine")
    good = pscores(
        fit.league_estimate, fit.league_se, small_values="good", treatments=fit.treatments
    )
    bad = pscores(fit.league_estimate, fit.league_se, small_values="bad", treatments=fit.treatments)
    assert sum(good.values()) == pytest.approx(len(fit.treatments) / 2, abs=1e-12)
    assert all(0 <= v <= 1 for v in good.values())
    for t in fit.treatments:
        assert good[t] + bad[t] == pytest.approx(1.0, abs=1e-12)
    # response is good, so small_values="bad": mirtazapine ranks above reboxetine
    assert fit.pscores == pytest.approx(good)
    assert bad["mirtazapine"] > bad["reboxetine"]


def test_pscores_by_hand_for_two_treatments():
    d = np.array([[0.0, -0.4], [0.4, 0.0]])
    s = np.array([[0.0, 0.2], [0.2, 0.0]])
    p = pscores(d, s, small_values="good", treatments=["A", "B"])
    assert p["A"] == pytest.approx(stats.norm.cdf(2.0), abs=1e-15)
    assert p["B"] == pytest.approx(stats.norm.cdf(-2.0), abs=1e-15)


# --- node-splitting ----------------------------------------------------------------------------

TRIANGLE = dict(
    study=["1", "2", "3"],
    treat1=["B", "C", "C"],
    treat2=["A", "A", "B"],
    yi=[0.5, 0.8, 0.1],
    sei=[0.2, 0.3, 0.25],
)


def test_node_split_on_a_triangle_by_hand():
    data = contrasts(**TRIANGLE)
    split = node_split(data, method="FE").frame().set_index("comparison")
    # A:B: direct = -0.5 (var 0.04); indirect via C = -(0.8) + 0.1 = -0.7 (var 0.09 + 0.0625)
    row = split.loc["A:B"]
    assert row.k_direct == 1
    assert row.direct == pytest.approx(-0.5, abs=1e-12)
    assert row.direct_se == pytest.approx(0.2, abs=1e-12)
    assert row.indirect == pytest.approx(-0.7, abs=1e-12)
    assert row.indirect_se == pytest.approx(np.sqrt(0.1525), abs=1e-12)
    network = (-0.5 / 0.04 - 0.7 / 0.1525) / (1 / 0.04 + 1 / 0.1525)
    assert row.network == pytest.approx(network, abs=1e-12)
    assert row["diff"] == pytest.approx(0.2, abs=1e-12)
    assert row.diff_se == pytest.approx(np.sqrt(0.04 + 0.1525), abs=1e-12)
    assert row.pval == pytest.approx(2 * stats.norm.sf(0.2 / np.sqrt(0.1925)), abs=1e-12)
    # one loop: every comparison has the same |z|, and z^2 is the total Q (df 1)
    assert np.allclose(np.abs(split.z), abs(row.z))
    fit = nma(data, reference="A", method="FE")
    assert fit.q == pytest.approx(row.z**2, rel=1e-12) and fit.q_df == 1
    # with a reference the comparison is written reference second
    assert "B:A" in set(node_split(data, method="FE", reference="A").frame().comparison)


def test_node_split_random_effects_widens_direct_by_tau2():
    data = _data("linde2015")
    fit = nma(data, reference="Placebo", method="REML")
    split = node_split(data, method="REML", fit=fit).frame()
    pairs = {p for d in data.designs().values() for p in combinations(d.split(":"), 2)}
    assert len(split) == len(pairs)
    only = split[split.k_direct == 1].iloc[0]
    study = [
        i
        for i, (a, b) in enumerate(zip(data.treat1, data.treat2, strict=True))
        if {a, b} == {only.treat1, only.treat2}
    ]
    if len(study) == 1:  # a two-arm study's contrast: direct SE^2 = v + tau^2
        assert only.direct_se**2 == pytest.approx(data.vi[study[0]] + fit.tau2, rel=1e-12)
    has = split.indirect.notna()
    assert np.allclose(split["diff"][has], (split.direct - split.indirect)[has])
    assert np.allclose(
        1 / split.network_se[has] ** 2,
        1 / split.direct_se[has] ** 2 + 1 / split.indirect_se[has] ** 2,
    )


# --- reduction to pairwise meta-analysis ------------------------------------------------------


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_two_treatments_reduce_to_pairwise_rma(method):
    yi = np.array([0.3, -0.1, 0.5, 0.2, 0.9, 0.05])
    vi = np.array([0.04, 0.09, 0.05, 0.02, 0.1, 0.03])
    data = contrasts([str(i) for i in range(6)], ["B"] * 6, ["A"] * 6, yi, np.sqrt(vi))
    fit = nma(data, reference="A", method=method)
    ref = rma(yi, vi, method=method, test="z")
    assert fit.estimate[1] == pytest.approx(float(ref.beta[0]), abs=1e-8)
    assert fit.se[1] == pytest.approx(float(ref.se[0]), abs=1e-8)
    # rma's REML stops at metafor's default threshold (1e-5 in the step); ours at 1e-13
    assert fit.tau2 == pytest.approx(ref.tau2, abs=1e-8)
    assert fit.q == pytest.approx(ref.q, rel=1e-12)
    if method != "FE":  # netmeta's prediction interval: t with Q_df - 1 = k - 2 df
        half = stats.t.ppf(0.975, 4) * np.sqrt(fit.se[1] ** 2 + fit.tau2)
        assert fit.pi_ub[1] - fit.estimate[1] == pytest.approx(half, rel=1e-12)


@pytest.mark.parametrize("measure", ["RR", "RD", "MD", "SMD"])
def test_other_measures_match_escalc_for_two_arm_studies(measure):
    from inflamed.stats.effect_sizes import escalc

    rng = np.random.default_rng(3)  # simulated arms
    k = 5
    e1, e2 = rng.integers(3, 20, k), rng.integers(3, 20, k)
    n1, n2 = e1 + rng.integers(5, 30, k), e2 + rng.integers(5, 30, k)
    m1, m2 = rng.normal(10, 2, k), rng.normal(11, 2, k)
    s1, s2 = rng.uniform(2, 4, k), rng.uniform(2, 4, k)
    study = np.repeat([str(i) for i in range(k)], 2)
    treat = np.tile(["ctl", "trt"], k)
    inter = lambda a, b: np.ravel(np.column_stack([a, b]))  # noqa: E731
    if measure in {"RR", "RD"}:
        d = pairwise(study, treat, measure=measure, events=inter(e2, e1), n=inter(n2, n1))
        es = escalc(measure, ai=e1, n1i=n1, ci=e2, n2i=n2)
    else:
        d = pairwise(
            study,
            treat,
            measure=measure,
            mean=inter(m2, m1),
            sd=inter(s2, s1),
            n=inter(n2 + 0.0, n1 + 0.0),
        )
        es = escalc(measure, m1i=m1, sd1i=s1, n1i=n1, m2i=m2, sd2i=s2, n2i=n2)
    np.testing.assert_allclose(d.yi, es.yi, rtol=1e-12)
    np.testing.assert_allclose(d.vi, es.vi, rtol=1e-12)


# --- netmeta's method-of-moments tau^2, in netmeta's own (graph-theoretical) form -------------


def _netmeta_form(data):
    """All pairwise contrasts with Rücker's (2012) multi-arm adjusted weights, B and study ids."""
    study = np.asarray(data.study)
    treatments = data.treatments
    col = {t: j for j, t in enumerate(treatments)}
    te, w_rows, b_rows, labels = [], [], [], []
    for s in data.studies:
        idx = np.flatnonzero(study == s)
        arms = [data.treat2[idx[0]]] + [data.treat1[i] for i in idx]
        eff = np.concatenate([[0.0], data.yi[idx]])
        cov = np.zeros((len(arms), len(arms)))
        cov[1:, 1:] = data.cov[np.ix_(idx, idx)]
        a = len(arms)
        var = np.array(
            [[cov[p, p] + cov[q, q] - 2 * cov[p, q] for q in range(a)] for p in range(a)]
        )
        centre = np.eye(a) - 1 / a
        lap = np.linalg.pinv(-0.5 * centre @ var @ centre)
        for p, q in combinations(range(a), 2):
            te.append(eff[p] - eff[q])
            w_rows.append(-lap[p, q] if a > 2 else 1 / var[p, q])
            row = np.zeros(len(treatments))
            row[col[arms[p]]], row[col[arms[q]]] = 1, -1
            b_rows.append(row)
            labels.append(s)
    return np.array(te), np.diag(w_rows), np.array(b_rows), np.array(labels)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_dl_tau2_equals_netmeta_formula_on_adjusted_pairwise_weights(name):
    data = _data(name)
    te, w, b, labels = _netmeta_form(data)
    lap_plus = np.linalg.pinv(b.T @ w @ b)
    hat = b @ lap_plus @ b.T @ w
    resid = te - hat @ te
    q = resid @ w @ resid
    df = len(data.yi) - (len(data.treatments) - 1)  # sum over studies of (arms - 1)
    same = (labels[:, None] == labels[None, :]).astype(float)
    tau2 = max(0.0, (q - df) / np.trace((np.eye(len(te)) - hat) @ (b @ b.T * same / 2) @ w))
    fit = nma(data, reference=NETWORKS[name][1], method="DL")
    assert fit.q == pytest.approx(q, rel=1e-10)
    assert fit.q_df == df
    assert fit.tau2 == pytest.approx(tau2, rel=1e-10)
