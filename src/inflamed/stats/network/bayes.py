"""Bayesian network meta-analysis: the NICE DSU TSD2 arm-based consistency model, fitted by NUTS.

The model (Dias, Welton, Sutton & Ades, NICE DSU Technical Support Document 2, 2011, updated 2016;
the model gemtc fits) for arm ``k`` of study ``i`` with treatment ``t_ik`` and baseline arm ``b``:

* binary outcome: ``r_ik ~ Binomial(n_ik, p_ik)``, ``logit(p_ik) = mu_i + delta_ik`` (OR);
* continuous outcome: ``y_ik ~ Normal(theta_ik, se_ik^2)``, ``theta_ik = mu_i + delta_ik`` with
  ``se_ik = sd_ik / sqrt(n_ik)`` (MD);
* ``delta_ib = 0``; random effects: ``delta_ik ~ Normal(d[t_ik] - d[t_ib], tau^2)`` with the
  multi-arm correction of TSD2: arm ``k`` (k = 1, 2, ... after the baseline) has, given the arms
  before it, mean ``d[t_ik] - d[t_ib] + sum_{j<k} w_ij / k`` and variance ``tau^2 (k + 1) / (2k)``,
  ``w_ij = delta_ij - (d[t_ij] - d[t_ib])`` (correlation 1/2 between the arms of one study);
  fixed effect: ``delta_ik = d[t_ik] - d[t_ib]``;
* study baselines ``mu_i`` unconstrained, ``d[reference] = 0``.

The random effects are sampled non-centred (``w = tau * L z``, ``z ~ N(0, 1)``, ``L`` the Cholesky
factor of each study's correlation matrix, which is the TSD2 conditional sequence written at once).

Priors (gemtc's defaults): ``d[t] ~ Normal(0, (15 om_scale)^2)`` for every treatment against the
reference, ``mu_i ~ Normal(0, (15 om_scale)^2)``, ``tau ~ Uniform(0, om_scale)``, ``om_scale`` as
in :mod:`inflamed.stats.network.bayes_data`. They are stored in every result.

Sampling: NumPyro's NUTS on JAX (CPU, double precision), ``chains`` chains, by default one CPU
device per chain (``chain_method="parallel"``, the fastest on two cores, see
``docs/network_bayes.md``) when the process has not started JAX yet, else as one vectorised program;
a fixed PRNG seed: the same seed and chain method on the same machine give identical draws. JAX and NumPyro are imported inside :func:`nma_bayes`, so importing this module
(and the command line) stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from inflamed.stats.errors import InputError
from inflamed.stats.network.bayes_data import ArmNetwork, arm_network
from inflamed.stats.network.bayes_diagnostics import diagnostics_table, flag

__all__ = ["BayesNMAResult", "nma_bayes", "rank_draws"]


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class BayesNMAResult:
    """Posterior summaries, rankings and diagnostics of a Bayesian NMA.

    Attributes
    ----------
    effects
        One row per treatment (reference row all zero): ``treatment, mean, sd, q025, q50, q975``
        of ``d`` against the reference, on the log scale for OR.
    tau, tau_sd, tau_q025, tau_q975
        Posterior mean, SD and 95 % interval of the heterogeneity SD (NaN for ``model="fixed"``).
    sucra, rank_probabilities
        SUCRA per treatment and the rankogram (index treatment, columns ranks 1..T, 1 = best).
    diagnostics
        ``parameter, rhat, ess_bulk, ess_tail, mcse_mean`` for every sampled parameter (``d``,
        ``tau``, every ``mu`` and every random effect ``delta``).
    warnings
        One sentence per parameter with R-hat > 1.01 or bulk/tail ESS < 400, and one for divergent
        transitions.
    priors
        The priors used, in words with their numbers.
    tau2
        Posterior mean of tau^2 (the command line's ``tau2``).
    """

    measure: str
    reference: str
    treatments: tuple[str, ...]
    model: str
    effects: pd.DataFrame
    tau: float
    tau_sd: float
    tau_q025: float
    tau_q975: float
    sucra: Mapping[str, float]
    rank_probabilities: pd.DataFrame
    diagnostics: pd.DataFrame
    warnings: tuple[str, ...]
    priors: Mapping[str, str]
    seed: int
    chains: int
    warmup: int
    draws: int
    tau2: float = float("nan")
    small_values: str = "good"
    divergences: int = 0
    om_scale: float = float("nan")
    k: int = 0
    log: tuple[str, ...] = ()
    chain_method: str = ""
    samples: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict with the command line's keys (``effects``: estimate = posterior mean,
        se = posterior SD, ci = 2.5 %/97.5 % quantiles; ``pscores`` = SUCRA) and the Bayesian
        extras."""
        effects = [
            {
                "treatment": r.treatment,
                "estimate": float(r.mean),
                "se": float(r.sd),
                "ci_lb": float(r.q025),
                "ci_ub": float(r.q975),
                "median": float(r.q50),
            }
            for r in self.effects.itertuples()
        ]
        return {
            "method": "bayes",
            "measure": self.measure,
            "model": self.model,
            "reference": self.reference,
            "treatments": list(self.treatments),
            "effects": effects,
            "tau2": _num(self.tau2),
            "tau": _num(self.tau),
            "tau_sd": _num(self.tau_sd),
            "tau_ci": [_num(self.tau_q025), _num(self.tau_q975)],
            **dict.fromkeys(["q", "q_df", "q_pval", "q_het", "q_het_df", "q_inc", "q_inc_df"]),
            "pscores": {t: float(v) for t, v in self.sucra.items()},
            "small_values": self.small_values,
            "rank_probabilities": {
                t: [float(p) for p in row] for t, row in self.rank_probabilities.iterrows()
            },
            "diagnostics": [
                {
                    "parameter": r.parameter,
                    **{
                        c: _num(getattr(r, c))
                        for c in ("rhat", "ess_bulk", "ess_tail", "mcse_mean")
                    },
                }
                for r in self.diagnostics.itertuples()
            ],
            "warnings": list(self.warnings),
            "divergences": self.divergences,
            "priors": dict(self.priors),
            "seed": self.seed,
            "chains": self.chains,
            "warmup": self.warmup,
            "draws": self.draws,
            "chain_method": self.chain_method,
            "k": self.k,
        }


def _check_direction(small_values: str) -> None:
    if small_values not in ("good", "bad"):
        raise InputError(
            "unknown direction", column="small_values", value=small_values, expected="good or bad"
        )


def rank_draws(
    draws: np.ndarray, treatments: Sequence[str], *, small_values: str = "good"
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Rank probabilities and SUCRA from posterior draws of effects against a common reference.

    Parameters
    ----------
    draws
        Shape ``(S, T)``: one column per treatment (the reference column all zero).
    treatments
        Names of the columns.
    small_values
        ``"good"`` if a low effect is desirable (rank 1 = lowest), ``"bad"`` otherwise.

    Returns
    -------
    tuple
        ``(rank_probabilities, sucra)``: a frame indexed by treatment with columns 1..T
        (probability of each rank, 1 = best) and ``{treatment: SUCRA}``, SUCRA =
        ``(T - mean rank) / (T - 1)`` (Salanti, Ades & Ioannidis 2011, J Clin Epidemiol 64:163).
    """
    _check_direction(small_values)
    x = np.asarray(draws, dtype=float)
    t = x.shape[1]
    order = np.argsort(x if small_values == "good" else -x, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, t + 1)[None, :].repeat(len(x), 0), axis=1)
    probs = np.stack([(ranks == r).mean(axis=0) for r in range(1, t + 1)], axis=1)
    frame = pd.DataFrame(
        probs, index=pd.Index(list(treatments), name="treatment"), columns=list(range(1, t + 1))
    )
    sucra = (t - ranks.mean(axis=0)) / (t - 1)
    return frame, {name: float(v) for name, v in zip(treatments, sucra, strict=True)}


def _correlation_factor(net: ArmNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse Cholesky factor of the random effects' correlation, as (row, col, value) triples.

    Row/column index the non-baseline arms in data order; within a study the correlation matrix
    is ``(I + J) / 2`` (TSD2: correlation 1/2), its Cholesky factor reproduces the conditional
    sequence of TSD2 exactly.
    """
    nb = np.flatnonzero(net.arm_pos > 0)
    rows, cols, vals = [], [], []
    at = 0
    for s in range(len(net.studies)):
        m = int(np.sum(net.arm_study[nb] == s))
        factor = np.linalg.cholesky((np.eye(m) + np.ones((m, m))) / 2)
        r, c = np.tril_indices(m)
        rows.append(r + at)
        cols.append(c + at)
        vals.append(factor[r, c])
        at += m
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _choose_chain_method(requested: str, chains: int) -> str:
    """``"auto"``: one CPU device per chain when JAX can still be given them, else vectorised.

    XLA runs one host device per thread, so ``"parallel"`` uses every core while a vectorised run
    uses one; the device count can only be set before JAX's backend starts (the flag is left
    alone if the user set it).
    """
    import os

    if requested != "auto" or chains == 1:
        if requested == "parallel" and chains > 1:
            import jax

            # NumPyro would fall back to running the chains one after another; say so
            return "parallel" if jax.local_device_count() >= chains else "sequential"
        return "sequential" if requested == "auto" else requested

    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        import numpyro

        # at least 4 (the default chain count): a first small fit must not cap later ones
        numpyro.set_host_device_count(max(chains, 4))  # no effect once JAX's backend started
    import jax

    return "parallel" if jax.local_device_count() >= chains else "vectorized"


def _sample(
    net: ArmNetwork,
    model: str,
    seed: int,
    chains: int,
    warmup: int,
    draws: int,
    target_accept: float,
    chain_method: str,
) -> tuple[dict[str, np.ndarray], int, str]:
    """Run NUTS; return draws by chain (``d`` with the reference column), divergences, method."""
    chain_method = _choose_chain_method(chain_method, chains)
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    n_t, n_s = len(net.treatments), len(net.studies)
    nb = np.flatnonzero(net.arm_pos > 0)
    base = np.flatnonzero(net.arm_pos == 0)[net.arm_study[nb]]  # baseline arm of each nb arm
    rows, cols, vals = _correlation_factor(net)
    prior_sd = 15.0 * net.om_scale

    with jax.enable_x64(True):
        t_nb, t_base = jnp.asarray(net.arm_treat[nb]), jnp.asarray(net.arm_treat[base])
        arm_study, j_nb = jnp.asarray(net.arm_study), jnp.asarray(nb)
        y, n, se = jnp.asarray(net.y), jnp.asarray(net.n), jnp.asarray(net.se)
        j_rows, j_cols, j_vals = jnp.asarray(rows), jnp.asarray(cols), jnp.asarray(vals)

        def tsd2() -> None:
            d_free = numpyro.sample("d", dist.Normal(0.0, prior_sd).expand([n_t - 1]))
            d = jnp.concatenate([jnp.zeros(1), d_free])
            mu = numpyro.sample("mu", dist.Normal(0.0, prior_sd).expand([n_s]))
            delta = d[t_nb] - d[t_base]
            if model == "random":
                tau = numpyro.sample("tau", dist.Uniform(0.0, net.om_scale))
                z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([len(nb)]))
                w = jax.ops.segment_sum(j_vals * z[j_cols], j_rows, num_segments=len(nb))
                delta = numpyro.deterministic("delta", delta + tau * w)
            linear = mu[arm_study].at[j_nb].add(delta)
            if net.measure == "OR":
                numpyro.sample("y", dist.Binomial(n, logits=linear), obs=y)
            else:
                numpyro.sample("y", dist.Normal(linear, se), obs=y)

        mcmc = MCMC(
            NUTS(tsd2, target_accept_prob=target_accept),
            num_warmup=warmup,
            num_samples=draws,
            num_chains=chains,
            chain_method=chain_method,
            progress_bar=False,
        )
        mcmc.run(jax.random.PRNGKey(seed), extra_fields=("diverging",))
        raw = mcmc.get_samples(group_by_chain=True)
        out = {k: np.asarray(v, dtype=float) for k, v in raw.items() if k != "z"}
        diverging = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["diverging"])
    ref = np.zeros((*out["d"].shape[:2], 1))
    out["d"] = np.concatenate([ref, out["d"]], axis=2)
    return out, int(diverging.sum()), chain_method


def _parameter_names(net: ArmNetwork, model: str) -> dict[str, list[str]]:
    nb = np.flatnonzero(net.arm_pos > 0)
    names = {
        "d": [f"d[{t}]" for t in net.treatments[1:]],
        "mu": [f"mu[{s}]" for s in net.studies],
    }
    if model == "random":
        names["tau"] = ["tau"]
        names["delta"] = [
            f"delta[{net.studies[net.arm_study[i]]}, {net.treatments[net.arm_treat[i]]}]"
            for i in nb
        ]
    return names


def nma_bayes(
    study: Sequence[Any],
    treatment: Sequence[Any],
    *,
    measure: str,
    reference: str,
    events: Sequence[Any] | None = None,
    n: Sequence[Any] | None = None,
    mean: Sequence[Any] | None = None,
    sd: Sequence[Any] | None = None,
    model: str = "random",
    small_values: str = "good",
    seed: int = 20261201,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    target_accept: float = 0.9,
    chain_method: str = "auto",
    row_offset: int | None = None,
) -> BayesNMAResult:
    """Fit the TSD2 arm-based consistency model (random or fixed effects) by NUTS.

    Parameters
    ----------
    study, treatment
        Study label and treatment of each arm (one row per arm; a study's first row is its
        baseline arm).
    measure
        ``"OR"`` with ``events`` and ``n`` (binomial likelihood, logit link) or ``"MD"`` with
        ``mean``, ``sd`` and ``n`` (normal likelihood, identity link).
    reference
        Treatment the effects are expressed against (``d[reference] = 0``).
    model
        ``"random"`` (common heterogeneity SD ``tau``) or ``"fixed"``.
    small_values
        ``"good"`` if a low effect is desirable (for ranking), else ``"bad"``.
    seed, chains, warmup, draws
        PRNG seed, number of chains, warm-up and kept iterations per chain.
    target_accept
        NUTS target acceptance probability (0.9: smaller steps than NumPyro's 0.8, which the
        heterogeneity SD of sparse networks needs to avoid divergences).
    chain_method
        ``"auto"`` (default): ``"parallel"``, one CPU device per chain, when JAX's backend has not
        started yet in this process (the fastest on two cores: XLA then uses every core), else
        ``"vectorized"`` (all chains in one program on one core). Or NumPyro's ``"parallel"``,
        ``"vectorized"``, ``"sequential"``. The method used is in ``result.chain_method``: the
        same seed, method and machine give identical draws; another method gives other draws
        of the same posterior.
    row_offset
        Spreadsheet row of element 0, for error messages (the command line passes 2).

    Returns
    -------
    BayesNMAResult

    Notes
    -----
    See the module docstring for the model and priors and ``docs/network_bayes.md`` for the
    diagnostics rules and the validation against gemtc and the published Cipriani 2009 results.
    Status: validated on Cipriani 2009 (OR); the MD branch is checked on simulated data only.
    """
    if model not in ("random", "fixed"):
        raise InputError("unknown model", column="model", value=model, expected="random or fixed")
    _check_direction(small_values)
    if chain_method not in ("auto", "vectorized", "sequential", "parallel"):
        raise InputError(
            "unknown chain method",
            column="chain_method",
            value=chain_method,
            expected="auto, vectorized, sequential or parallel",
        )
    for name, value, low in (("chains", chains, 1), ("warmup", warmup, 1), ("draws", draws, 4)):
        if int(value) != value or value < low:
            raise InputError(
                f"{name} must be a whole number >= {low}",
                column=name,
                value=value,
                expected=f"an integer >= {low}",
            )
    net = arm_network(
        study,
        treatment,
        measure=measure,
        reference=reference,
        events=events,
        n=n,
        mean=mean,
        sd=sd,
        row_offset=row_offset,
    )
    samples, divergences, method = _sample(
        net,
        model,
        int(seed),
        int(chains),
        int(warmup),
        int(draws),
        float(target_accept),
        chain_method,
    )
    names = _parameter_names(net, model)
    diag = diagnostics_table({**samples, "d": samples["d"][:, :, 1:]}, names)

    order = np.argsort(net.treatments, kind="stable")  # report treatments sorted
    treatments = tuple(net.treatments[i] for i in order)
    d = samples["d"].reshape(-1, len(net.treatments))[:, order]
    q = np.quantile(d, [0.025, 0.5, 0.975], axis=0)
    effects = pd.DataFrame(
        {
            "treatment": treatments,
            "mean": d.mean(axis=0),
            "sd": d.std(axis=0, ddof=1),
            "q025": q[0],
            "q50": q[1],
            "q975": q[2],
        }
    )
    ranks, sucra = rank_draws(d, treatments, small_values=small_values)
    if model == "random":
        tau = samples["tau"].ravel()
        t_lo, t_hi = np.quantile(tau, [0.025, 0.975])
        tau_stats = (tau.mean(), tau.std(ddof=1), t_lo, t_hi, np.mean(tau**2))
    else:
        tau_stats = (float("nan"),) * 5
    om, scale = net.om_scale, 15.0 * net.om_scale
    what = "log odds ratio" if net.measure == "OR" else "mean difference"
    priors = {
        "d": f"Normal(0, (15 * om_scale)^2) = Normal(0, {scale:.6g}^2) for the {what} of each "
        f"treatment against {reference}",
        "mu": f"Normal(0, (15 * om_scale)^2) = Normal(0, {scale:.6g}^2) for each study baseline "
        + ("(log odds of the baseline arm)" if net.measure == "OR" else "(baseline arm mean)"),
        "om_scale": f"{om:.6g}: the largest absolute per-study maximum-likelihood {what} "
        "(gemtc's guess.scale)",
    }
    if model == "random":
        priors["tau"] = f"Uniform(0, om_scale) = Uniform(0, {om:.6g}) for the heterogeneity SD"
    return BayesNMAResult(
        measure=net.measure,
        reference=reference,
        treatments=treatments,
        model=model,
        effects=effects,
        tau=float(tau_stats[0]),
        tau_sd=float(tau_stats[1]),
        tau_q025=float(tau_stats[2]),
        tau_q975=float(tau_stats[3]),
        sucra=sucra,
        rank_probabilities=ranks,
        diagnostics=diag,
        warnings=flag(diag, divergences),
        priors=priors,
        seed=int(seed),
        chains=int(chains),
        warmup=int(warmup),
        draws=int(draws),
        tau2=float(tau_stats[4]),
        small_values=small_values,
        divergences=divergences,
        om_scale=om,
        k=len(net.studies),
        log=(*net.log, f"{chains} chains run {method} (NumPyro chain_method), seed {seed}."),
        chain_method=method,
        samples=samples,
    )
