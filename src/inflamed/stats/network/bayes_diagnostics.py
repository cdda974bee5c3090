"""Convergence diagnostics of MCMC draws: rank-normalised split R-hat, bulk and tail ESS, MCSE.

Plain NumPy/SciPy over arrays of shape ``(chains, draws)``, so the diagnostics need no JAX and no
ArviZ. The definitions are those of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat for assessing convergence of
MCMC", Bayesian Analysis 16(2):667-718, doi:10.1214/20-BA1221, as the Stan reference manual states
them:

* chains are split in halves (a drifting chain then looks like two disagreeing chains);
* R-hat is the larger of the split R-hat of the rank-normalised draws and of the rank-normalised
  folded draws ``|x - median(x)|`` (the folded one catches chains that differ in spread);
* bulk ESS is the ESS of the rank-normalised split draws; tail ESS is the smaller ESS of the
  indicators ``x <= q05`` and ``x <= q95``;
* ESS itself uses Geyer's initial monotone sequence on the autocorrelations averaged over chains.

The rules the project applies to every parameter (:data:`RHAT_MAX`, :data:`ESS_MIN`) are those of
the same paper: R-hat below 1.01 and an ESS of at least 100 per chain (400 for four chains).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from inflamed.stats.distributions import norm_ppf

__all__ = [
    "ESS_MIN",
    "RHAT_MAX",
    "diagnose",
    "diagnostics_table",
    "ess",
    "flag",
    "mcse_mean",
    "split_rhat",
]

#: A parameter whose R-hat exceeds this is flagged.
RHAT_MAX = 1.01
#: A parameter whose bulk or tail ESS is below this is flagged.
ESS_MIN = 400.0


def _as_chains(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] < 4:
        raise ValueError(f"draws must have shape (chains, draws >= 4); got {x.shape}")
    return x


def _split(x: np.ndarray) -> np.ndarray:
    """Split each chain in two halves (the middle draw of an odd-length chain is dropped)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half :]], axis=0)


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Biased autocovariance (divided by n) of each chain at every lag, by FFT."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()  # zero padding: no circular wrap-around
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=1)[:, :n] / n


def ess(x: np.ndarray) -> float:
    """Effective sample size of draws ``(chains, draws)`` (Geyer's initial monotone sequence).

    The chains are used as given (no splitting, no rank normalisation): :func:`diagnose` does that.
    Returns NaN for draws that do not vary.
    """
    x = _as_chains(x)
    m, n = x.shape
    acov = _autocovariance(x)
    chain_var = acov[:, 0] * n / (n - 1)
    mean_var = chain_var.mean()
    var_plus = mean_var * (n - 1) / n + (x.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    if not np.isfinite(var_plus) or var_plus <= 0:
        return float("nan")
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # combined autocorrelation per lag
    rho[0] = 1.0
    # Sum autocorrelations in pairs (lag 2k, 2k + 1) while the pair sum stays positive ...
    pairs = rho[: 2 * ((n - 1) // 2)].reshape(-1, 2).sum(axis=1)
    positive = np.flatnonzero(pairs <= 0)
    k = int(positive[0]) if positive.size else pairs.size
    pairs = pairs[:k]
    # ... and force the pair sums to be non-increasing (Geyer's monotone sequence).
    pairs = np.minimum.accumulate(pairs)
    tau = -1.0 + 2.0 * pairs.sum()
    total = m * n
    tau = max(tau, 1.0 / np.log10(total))
    return float(total / tau)


def split_rhat(x: np.ndarray) -> float:
    """Split R-hat of draws ``(chains, draws)`` (no rank normalisation); NaN if they do not vary."""
    s = _split(_as_chains(x))
    n = s.shape[1]
    within = s.var(axis=1, ddof=1).mean()
    between = n * s.mean(axis=1).var(ddof=1)
    if within <= 0:
        return float("nan")
    return float(np.sqrt(((n - 1) / n * within + between / n) / within))


def _rank_normal(x: np.ndarray) -> np.ndarray:
    """Rank-normalise all draws together (Blom's offsets 3/8, as Vehtari et al. 2021)."""
    from scipy.stats import rankdata  # here, not at the top: see inflamed.stats.distributions

    ranks = rankdata(x, method="average").reshape(x.shape)
    return norm_ppf((ranks - 0.375) / (x.size + 0.25))


def mcse_mean(x: np.ndarray) -> float:
    """Monte Carlo standard error of the posterior mean: sd / sqrt(ESS of the split draws)."""
    s = _split(_as_chains(x))
    return float(s.std(ddof=1) / np.sqrt(ess(s)))


def diagnose(x: np.ndarray) -> dict[str, float]:
    """R-hat (rank-normalised, folded, split), bulk ESS, tail ESS and MCSE of the mean.

    Parameters
    ----------
    x
        Draws of one scalar parameter, shape ``(chains, draws)``.

    Returns
    -------
    dict
        ``rhat``, ``ess_bulk``, ``ess_tail``, ``mcse_mean``; NaN where the draws do not vary.
    """
    x = _as_chains(x)
    if np.ptp(x) == 0:
        nan = float("nan")
        return {"rhat": nan, "ess_bulk": nan, "ess_tail": nan, "mcse_mean": nan}
    s = _split(x)
    folded = np.abs(x - np.median(x))
    rhat = max(split_rhat(_rank_normal(x)), split_rhat(_rank_normal(folded)))
    q05, q95 = np.quantile(x, [0.05, 0.95])
    tail = min(ess((s <= q05).astype(float)), ess((s <= q95).astype(float)))
    return {
        "rhat": rhat,
        "ess_bulk": ess(_split(_rank_normal(x))),
        "ess_tail": tail,
        "mcse_mean": mcse_mean(x),
    }


def diagnostics_table(
    samples: Mapping[str, np.ndarray], names: Mapping[str, list[str]]
) -> pd.DataFrame:
    """One row per scalar parameter: ``parameter, rhat, ess_bulk, ess_tail, mcse_mean``.

    ``samples[key]`` has shape ``(chains, draws, ...)``; ``names[key]`` labels its trailing entries.
    """
    rows = []
    for key, labels in names.items():
        x = samples[key].reshape(*samples[key].shape[:2], -1)
        for j, label in enumerate(labels):
            rows.append({"parameter": label, **diagnose(x[:, :, j])})
    return pd.DataFrame(rows, columns=["parameter", "rhat", "ess_bulk", "ess_tail", "mcse_mean"])


def flag(diag: pd.DataFrame, divergences: int) -> tuple[str, ...]:
    """One sentence per parameter with R-hat > RHAT_MAX or bulk/tail ESS < ESS_MIN, and one for
    divergent transitions."""
    out = []
    for r in diag.itertuples():
        if r.rhat > RHAT_MAX:
            out.append(f"{r.parameter}: R-hat {r.rhat:.3f} > {RHAT_MAX} (chains disagree).")
        for kind, value in (("bulk", r.ess_bulk), ("tail", r.ess_tail)):
            if value < ESS_MIN:
                out.append(f"{r.parameter}: {kind} ESS {value:.0f} < {ESS_MIN:.0f}.")
    if divergences:
        out.append(
            f"{divergences} divergent transitions after warm-up: the posterior may be "
            "explored incompletely (raise target_accept)."
        )
    return tuple(out)
