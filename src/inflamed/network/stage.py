"""The network stage: one outcome of one network review, from the arm sheet to artefacts.

This module only orchestrates; the statistics live in the engine :mod:`inflamed.stats.network`
(contrasts from arms, common-effect and REML random-effects NMA, design-by-treatment
decomposition, node-splitting, P-scores) and :mod:`inflamed.stats.network.bayes` (the NICE DSU
TSD2 random-effects model, SUCRA, rank probabilities). It writes, under
``results/<network>/network/<outcome>/``:

``arms.csv``                   the arms analysed (after the data decisions)
``data_log.csv``               one row per data decision (arm or study left out, 0.5 added, ...)
``effects.csv``                every treatment vs the reference, per frequentist model
``league.csv``                 every pair, per frequentist model (long form)
``pscores.csv``                P-scores per frequentist model
``design_decomposition.csv``   Q total / within designs / between designs, then per design
``node_split.csv``             direct vs indirect evidence per comparison (REML)
``frequentist.json``           tau^2, Q statistics, k, designs, models and settings
``bayes_effects.csv``, ``rank_probabilities.csv``, ``diagnostics.csv``, ``bayes.json``
                               the Bayesian fit (when the network runs model ``bayes``)
``rankings.csv``               P-scores and SUCRA side by side (:func:`write_rankings`)

The file names are defined once, in :mod:`inflamed.pipeline.layout`.

Estimates are on the analysis scale (log odds ratio, log risk ratio; RD, MD, SMD as they are);
``scale`` in the JSON says which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inflamed.io import write_csv, write_json
from inflamed.network.sheet import NetworkArms, outcome_arms, read_network
from inflamed.pipeline.layout import NETWORK_BAYES_FILES, NETWORK_FILES
from inflamed.stats.measures import is_ratio

__all__ = [
    "bayes_available",
    "load_arms",
    "run_bayes",
    "run_frequentist",
    "write_rankings",
]


def bayes_available() -> bool:
    """Whether the Bayesian engine's NumPyro/JAX stack is installed here.

    Looked up, not imported: the workflow asks while Snakemake builds the job graph, and the engine
    imports JAX and NumPyro only when it samples.
    """
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("jax", "numpyro"))


def load_arms(sheet: str | Path, *, outcome: str, measure: str) -> NetworkArms:
    """Read the network sheet and keep the arms of ``outcome`` (decisions in ``.log``)."""
    frame, rows = read_network(sheet)
    return outcome_arms(frame, rows, outcome=outcome, measure=measure, file=Path(sheet).as_posix())


def _scale(measure: str) -> str:
    return f"log {measure}" if is_ratio(measure) else measure


def _contrasts(arms: NetworkArms) -> Any:
    from inflamed.stats.network import pairwise

    frame = arms.frame
    if arms.measure in ("OR", "RR", "RD"):
        return pairwise(
            list(frame["study"]),
            list(frame["treatment"]),
            measure=arms.measure,
            events=frame["events"].to_numpy(),
            n=frame["n"].to_numpy(),
        )
    return pairwise(
        list(frame["study"]),
        list(frame["treatment"]),
        measure=arms.measure,
        mean=frame["mean"].to_numpy(),
        sd=frame["sd"].to_numpy(),
        n=frame["n"].to_numpy(),
    )


def _log_frame(arms: NetworkArms, engine_log: Sequence[str]) -> pd.DataFrame:
    entries = [("sheet", line) for line in arms.log] + [("contrasts", line) for line in engine_log]
    return pd.DataFrame(entries, columns=["step", "decision"])


def run_frequentist(
    arms: NetworkArms,
    outdir: str | Path,
    *,
    reference: str,
    small_values: str,
    models: Sequence[str],
    level: float = 95.0,
    split_method: str = "REML",
) -> dict[str, Any]:
    """Fit the frequentist models of one outcome and write the frequentist artefacts.

    Parameters
    ----------
    arms
        The outcome's arms (:func:`load_arms`).
    outdir
        ``results/<network>/network/<outcome>/``.
    reference
        Treatment every estimate is expressed against.
    small_values
        ``"good"`` when a low estimate favours the treatment (dropout) or ``"bad"`` (response);
        decides the direction of the P-scores.
    models
        Frequentist models to fit: ``"FE"`` (common effect) and/or ``"REML"`` (random effects).
        Node-splitting and the design decomposition use ``split_method`` (REML unless only FE
        is run).
    level
        Confidence level in percent.

    Returns
    -------
    dict
        The content of ``frequentist.json``.
    """
    from inflamed.stats.network import decomp_design, nma, node_split

    outdir = Path(outdir)
    data = _contrasts(arms)
    fits = {
        m: nma(data, reference=reference, method=m, level=level, small_values=small_values)
        for m in models
    }
    method = split_method if split_method in fits else next(iter(fits))
    effects = pd.concat(
        [fit.effects_frame().assign(model=m) for m, fit in fits.items()], ignore_index=True
    )
    league = pd.concat(
        [fit.league_frame().assign(model=m) for m, fit in fits.items()], ignore_index=True
    )
    pscores = pd.DataFrame(
        [
            {"model": m, "treatment": t, "pscore": float(fit.pscores[t])}
            for m, fit in fits.items()
            for t in fit.treatments
        ]
    )
    # The decomposition of Q as netmeta's decomp.design reports it (common-effect weights).
    decomposition = decomp_design(data, method="FE")
    split = node_split(data, method=method, level=level, fit=fits[method])
    write_csv(outdir / NETWORK_FILES["arms"], arms.frame)
    write_csv(outdir / NETWORK_FILES["data_log"], _log_frame(arms, data.log))
    write_csv(outdir / NETWORK_FILES["effects"], _first(effects, "model"))
    write_csv(outdir / NETWORK_FILES["league"], _first(league, "model"))
    write_csv(outdir / NETWORK_FILES["pscores"], pscores)
    write_csv(outdir / NETWORK_FILES["design_decomposition"], _decomposition_frame(decomposition))
    write_csv(outdir / NETWORK_FILES["node_split"], split.frame().assign(model=method))
    summary = {
        "reference": reference,
        "measure": arms.measure,
        "scale": _scale(arms.measure),
        "small_values": small_values,
        "level": level,
        "treatments": list(fits[method].treatments),
        "studies": int(arms.frame["study"].nunique()),
        "arms": len(arms.frame),
        "participants": float(arms.frame["n"].sum()),
        "dropped_studies": list(data.dropped),
        "inconsistency_method": method,
        "models": {m: _fit_summary(fit) for m, fit in fits.items()},
        "design_decomposition": _decomposition_summary(decomposition),
    }
    write_json(outdir / NETWORK_FILES["frequentist"], summary)
    return summary


def _first(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame[[column, *[c for c in frame.columns if c != column]]]


def _fit_summary(fit: Any) -> dict[str, Any]:
    keys = ("method", "tau2", "tau", "q", "q_df", "q_pval", "q_het", "q_het_df", "q_het_pval")
    keys += ("q_inc", "q_inc_df", "q_inc_pval", "k", "n_designs", "n_contrasts")
    return {key: getattr(fit, key) for key in keys}


def _decomposition_summary(decomposition: Any) -> dict[str, Any]:
    return {
        f"{part}_{key}": getattr(decomposition, f"{key}_{part}")
        for part in ("total", "within", "between")
        for key in ("q", "df", "pval")
    } | {"tau2": decomposition.tau2}


def _decomposition_frame(decomposition: Any) -> pd.DataFrame:
    """The three Q rows, then one row per design (its within-design Q), in one table."""
    parts = decomposition.frame().assign(level="network")
    designs = decomposition.designs.copy()
    designs.insert(0, "level", "design")
    table = pd.concat([parts, designs], ignore_index=True)
    first = ["level", "part", "design", "k", "q", "df", "pval"]
    return table[[c for c in first if c in table] + [c for c in table if c not in first]]


def run_bayes(
    arms: NetworkArms,
    outdir: str | Path,
    *,
    reference: str,
    small_values: str,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Fit the Bayesian random-effects model of one outcome and write its artefacts.

    ``settings`` holds ``seed``, ``chains``, ``warmup`` and ``draws`` (config ``bayes`` block).
    Convergence problems (R-hat > 1.01, ESS < 400) are not errors: they are written to
    ``diagnostics.csv`` and ``bayes.json`` (``warnings``) and flagged in the report.
    """
    from inflamed.stats.network.bayes import nma_bayes

    outdir = Path(outdir)
    frame = arms.frame
    columns: dict[str, Any] = {"n": frame["n"].to_numpy()}
    if arms.measure in ("OR", "RR", "RD"):
        columns["events"] = frame["events"].to_numpy()
    else:
        columns |= {"mean": frame["mean"].to_numpy(), "sd": frame["sd"].to_numpy()}
    fit = nma_bayes(
        list(frame["study"]),
        list(frame["treatment"]),
        measure=arms.measure,
        reference=reference,
        small_values=small_values,
        seed=int(settings["seed"]),
        chains=int(settings["chains"]),
        warmup=int(settings["warmup"]),
        draws=int(settings["draws"]),
        **columns,
    )
    ranks = fit.rank_probabilities.copy()
    ranks.index.name = "treatment"
    ranks.columns = [f"rank_{c}" for c in ranks.columns]
    write_csv(outdir / NETWORK_BAYES_FILES["bayes_effects"], fit.effects)
    write_csv(outdir / NETWORK_BAYES_FILES["rank_probabilities"], ranks.reset_index())
    write_csv(outdir / NETWORK_BAYES_FILES["diagnostics"], fit.diagnostics)
    summary = {
        "reference": fit.reference,
        "measure": fit.measure,
        "scale": _scale(fit.measure),
        "model": fit.model,
        "treatments": list(fit.treatments),
        "tau": fit.tau,
        "tau_sd": fit.tau_sd,
        "tau_q025": fit.tau_q025,
        "tau_q975": fit.tau_q975,
        "sucra": dict(fit.sucra),
        "warnings": list(fit.warnings),
        "priors": dict(fit.priors),
        "seed": fit.seed,
        "chains": fit.chains,
        "warmup": fit.warmup,
        "draws": fit.draws,
        "max_rhat": float(np.nanmax(fit.diagnostics["rhat"])),
        "min_ess_bulk": float(np.nanmin(fit.diagnostics["ess_bulk"])),
        "min_ess_tail": float(np.nanmin(fit.diagnostics["ess_tail"])),
    }
    write_json(outdir / NETWORK_BAYES_FILES["bayes"], summary)
    return summary


def write_rankings(
    path: str | Path, pscores: pd.DataFrame, bayes: Mapping[str, Any] | None
) -> pd.DataFrame:
    """P-scores of every frequentist model and SUCRA (when fitted) in one table.

    One row per treatment, columns ``pscore_<model>`` and ``sucra``; sorted by the REML P-score
    (else the first P-score column), highest first, ties by name, so the order is stable.
    """
    wide = pscores.pivot(index="treatment", columns="model", values="pscore")
    wide.columns = [f"pscore_{m}" for m in wide.columns]
    if bayes is not None:
        wide["sucra"] = pd.Series(bayes["sucra"], dtype=float)
    table = wide.reset_index()
    first = "pscore_REML" if "pscore_REML" in table else table.columns[1]
    table = table.sort_values([first, "treatment"], ascending=[False, True], kind="mergesort")
    write_csv(path, table.reset_index(drop=True))
    return table
