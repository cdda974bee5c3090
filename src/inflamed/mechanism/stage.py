"""Entry points the workflow calls: the cascade (once per run) and who-benefits (per review).

``run_cascade_stage`` reads only ``targets.csv`` (a review's data never refits the mouse model);
``run_who_benefits_stage`` reads one review's effects table and the cascade's ``interventions.csv``
(for the clinic bridge); ``run_mechanism_stage`` runs both into one folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.errors import InputError
from inflamed.figures.style import save_figure
from inflamed.io import read_artefact_csv, write_csv, write_json
from inflamed.mechanism import plots
from inflamed.mechanism.cascade import INTERVENTIONS, PARAMETERS, SPEC, Protocol
from inflamed.mechanism.fitting import CHI2_95_1DF, FitSettings, fit_cascade, profile_all
from inflamed.mechanism.interventions import (
    PATHWAY_DRUGS,
    SIMULATED,
    SamplingSettings,
    intervention_table,
    pathway_trials,
    rescue,
    sample_region,
)
from inflamed.mechanism.sensitivity import sensitivity_table
from inflamed.mechanism.targets import load_targets
from inflamed.mechanism.who_benefits import CRP_MODERATORS, MODERATORS, who_benefits


@dataclass(frozen=True)
class MechanismSettings:
    """Every declared setting of the stage (defaults here; config keys of the same name override).

    The scenario settings (efficiencies, protocol, assumed SE) are assumptions, not data; they are
    written into ``cascade_fit.json`` so a reader sees them beside the results.
    """

    crp_thresholds: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)
    moderator: str = "crp_cutoff_mg_l"
    crp_scale: str = "log"
    method: str = "REML"
    test: str = "knha"
    assumed_relative_sd: float = 0.1
    inequality_scale: float = 0.01
    n_starts: int = 20
    n_profile_points: int = 11
    efficiency: float = 0.7
    efficiency_range: tuple[float, float] = (0.4, 0.95)
    pre_days: float = 3.0
    after_days: float = 21.0
    treat_days: float = 14.0
    n_region_samples: int = 20000
    max_region_kept: int = 400
    sobol_n_base: int = 256
    dt: float = 0.05
    figures: tuple[str, ...] = ("png", "svg")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> MechanismSettings:
        """Build from the config's ``mechanism`` section (or a whole config containing it)."""
        config = dict(config or {})
        pooling = dict(config.get("pooling", {}) or {})
        section = dict(config.get("mechanism", config) or {})
        kwargs: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if name in section and name != "extra":
                val = section[name]
                kwargs[name] = tuple(val) if isinstance(val, list) else val
        if "method" in pooling and "method" not in kwargs:
            kwargs["method"] = pooling["method"]
        if "test" in pooling and "test" not in kwargs:
            kwargs["test"] = pooling["test"]
        if kwargs.get("moderator", "crp_cutoff_mg_l") not in CRP_MODERATORS:
            raise InputError(
                "unknown CRP moderator",
                column="mechanism.moderator",
                value=kwargs.get("moderator"),
                expected=" | ".join(CRP_MODERATORS),
            )
        return cls(**kwargs)

    @property
    def protocol(self) -> Protocol:
        return Protocol(self.pre_days, self.after_days, self.treat_days)

    @property
    def efficiencies(self) -> dict[str, float]:
        return dict.fromkeys(INTERVENTIONS, float(self.efficiency))


def _save(fig: Any, outdir: Path, stem: str, formats: tuple[str, ...]) -> dict[str, Path]:
    paths = {f"{stem}.{ext}": outdir / f"{stem}.{ext}" for ext in formats}
    save_figure(fig, *paths.values())
    return paths


def run_cascade_stage(
    targets_path: str | Path,
    outdir: str | Path,
    *,
    seed: int,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Fit the cascade, profile every parameter, simulate interventions, Sobol sensitivity.

    Writes ``cascade_fit.json``, ``identifiability.csv``, ``profiles.csv``, ``interventions.csv``,
    ``sensitivity.csv`` and the figures ``model_diagram``, ``fit_vs_targets``, ``profiles``,
    ``interventions`` (png + svg) into ``outdir``. Returns name -> path.
    """
    settings = MechanismSettings.from_config(config)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    targets = load_targets(targets_path)
    fs = FitSettings(
        assumed_relative_sd=settings.assumed_relative_sd,
        inequality_scale=settings.inequality_scale,
        n_starts=settings.n_starts,
        n_profile_points=settings.n_profile_points,
        efficiencies=settings.efficiencies,
    )
    fit, obj = fit_cascade(targets, fs, seed=seed)
    profiles = profile_all(obj, fit, settings.n_profile_points)
    ss = SamplingSettings(
        settings.n_region_samples,
        settings.max_region_kept,
        tuple(settings.efficiency_range),
        settings.dt,
    )
    region = sample_region(obj, fit, profiles, ss, settings.efficiencies, seed=seed + 1)
    sims = rescue(obj, region.theta, region.efficiencies, settings.protocol, dt=settings.dt)
    itab = intervention_table(sims, region.n_drawn)
    stab = sensitivity_table(
        obj, profiles, settings.protocol, ss, n_base=settings.sobol_n_base, seed=seed + 2
    )

    ident = pd.DataFrame(
        [
            {
                "parameter": p.name,
                "description": SPEC[p.name].description,
                "unit": SPEC[p.name].unit,
                "estimate": fit.estimates[p.name],
                "lower_bound": SPEC[p.name].lower,
                "upper_bound": SPEC[p.name].upper,
                "verdict": p.verdict,
                "ci_lb": p.ci_lb,
                "ci_ub": p.ci_ub,
                "reason": p.reason,
                "enters_steady_state": SPEC[p.name].steady_state,
            }
            for p in profiles
        ]
    )
    prof_long = pd.DataFrame(
        [
            {"parameter": p.name, "value": float(g), "delta_chi2": float(c)}
            for p in profiles
            for g, c in zip(p.grid, p.chi2, strict=True)
        ]
    )
    n_ident = int((ident["verdict"] == "identifiable").sum())
    summary = {
        "model": "steady-state / ODE cascade: stress -> extracellular ATP -> microglial P2X7 -> microglial activation -> IL-6 -> astrocytic IL-6R -> astrocyte survival -> tonic astrocytic ATP -> behaviour",
        "fit": fit.to_dict(),
        "objective": "chi2 = sum(((model - value) / se)^2) + sum((max(0, violation) / inequality_scale)^2); -2 log L up to a constant",
        "profile_threshold_delta_chi2": CHI2_95_1DF,
        "identifiability": {
            "n_parameters": len(profiles),
            "n_identifiable": n_ident,
            "verdicts": {p.name: p.verdict for p in profiles},
            "statement": (
                f"{n_ident} of {len(profiles)} parameters are identifiable from these targets. "
                + (
                    "Not identifiable from these data: "
                    + ", ".join(p.name for p in profiles if p.verdict != "identifiable")
                    + "."
                    if n_ident < len(profiles)
                    else ""
                )
            ),
        },
        "region_sampling": {
            "n_drawn": region.n_drawn,
            "n_accepted_kept": region.n_accepted,
            "n_profile_path_points": region.n_profile_points,
            "n_used": len(region.theta),
            "acceptance": f"chi2 - chi2_min <= {CHI2_95_1DF:.4f}",
        },
        "targets": {
            "n_total": len(targets.targets),
            "n_magnitude": len(targets.fitted),
            "n_inequality": len(targets.inequalities),
            "ids": [t.target_id for t in targets.targets],
        },
        "assumptions": {
            "assumed_relative_sd_for_targets_without_uncertainty": settings.assumed_relative_sd,
            "inequality_scale": settings.inequality_scale,
            "intervention_efficiency_in_fit": settings.efficiency,
            "intervention_efficiency_range_for_predictions": list(settings.efficiency_range),
            "protocol_days": asdict(settings.protocol),
            "hill_exponents": "fixed at 1 (not identifiable from endpoint data)",
            "rate_constant_bounds_per_day": {
                p.name: [p.lower, p.upper] for p in PARAMETERS if not p.steady_state
            },
        },
        "seed": seed,
    }
    paths: dict[str, Path] = {}
    for name, frame, sort in (
        ("identifiability.csv", ident, None),
        ("profiles.csv", prof_long, None),
        ("interventions.csv", itab, None),
        ("sensitivity.csv", stab, None),
    ):
        write_csv(outdir / name, frame, sort_by=sort)
        paths[name] = outdir / name
    write_json(outdir / "cascade_fit.json", summary)
    paths["cascade_fit.json"] = outdir / "cascade_fit.json"
    fmts = tuple(settings.figures)
    paths.update(_save(plots.model_diagram(), outdir, "model_diagram", fmts))
    paths.update(_save(plots.fit_vs_targets(obj, fit), outdir, "fit_vs_targets", fmts))
    paths.update(_save(plots.profiles_figure(profiles), outdir, "profiles", fmts))
    paths.update(_save(plots.interventions_figure(itab), outdir, "interventions", fmts))
    return paths


def clinic_bridge(
    interventions: pd.DataFrame, effects: pd.DataFrame, outcome: str | None
) -> pd.DataFrame:
    """Each simulated intervention beside the trials that test the same pathway.

    A comparison, not a fit: the model's rescue is in rodent behavioural SD units after stress.
    Trials are matched by drug (:data:`~inflamed.mechanism.interventions.PATHWAY_DRUGS`: IL-6/IL-6R
    to tocilizumab and sirukumab, microglia to minocycline), never by a drug class that mixes
    anti-TNF with anti-IL-6 trials, and no rank is given: the plausible rescue ranges span orders
    of magnitude.
    """
    after = interventions[interventions["timing"] == "after"]
    effects = effects if effects is not None else pd.DataFrame()
    studies = (
        effects[["study_id", "drug"]].drop_duplicates()
        if {"study_id", "drug"} <= set(effects.columns)
        else pd.DataFrame(columns=["study_id", "drug"])
    )
    with_outcome = (
        effects[effects["outcome"].astype(str) == outcome]
        if (outcome is not None and "outcome" in effects.columns)
        else effects.iloc[0:0]
    )
    rows = []
    for _, r in after.sort_values("intervention", kind="mergesort").iterrows():
        name = str(r["intervention"])
        pathway, drugs = PATHWAY_DRUGS.get(name, ("", ()))
        trials = pathway_trials(name, studies)
        k = len(set(with_outcome["study_id"].astype(str)) & set(trials)) if trials else 0
        rows.append(
            {
                "intervention": name,
                "pathway": pathway,
                "model_rescue_sd_best_after_stress": r["rescue_sd_best"],
                "model_rescue_sd_region_min": r["rescue_sd_region_min"],
                "model_rescue_sd_region_max": r["rescue_sd_region_max"],
                "trial_drugs": "; ".join(drugs)
                if drugs
                else "none (no drug of this pathway trialled)",
                "trials": "; ".join(trials) if trials else "none in this review",
                "clinical_outcome": outcome or "",
                "clinical_k": k,
            }
        )
    frame = pd.DataFrame(rows)
    frame["note"] = (
        "comparison, not a fit: rodent SD units and clinical effects are not commensurate; "
        "trials matched by the drug's pathway, never anti-TNF; no ranking"
    )
    return frame


def run_who_benefits_stage(
    effects: pd.DataFrame,
    outdir: str | Path,
    *,
    interventions: pd.DataFrame | str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    outcomes: list[str] | Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Part A for one review: ``who_benefits.json``, ``crp_predictions.csv``, ``clinic_bridge.csv``,
    ``crp_bubble.{png,svg}``.

    ``outcomes``: the review's outcomes in config order; the first one present in the effects
    table is the bridge and bubble-plot outcome.
    """
    settings = MechanismSettings.from_config(config)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    res = who_benefits(
        effects,
        moderators=MODERATORS,
        thresholds=settings.crp_thresholds,
        crp_scale=settings.crp_scale,
        method=settings.method,
        test=settings.test,
    )
    paths: dict[str, Path] = {}
    doc = res.to_dict()
    doc["settings"] = {
        "crp_thresholds": list(settings.crp_thresholds),
        "primary_moderator": settings.moderator,
        "crp_scale": settings.crp_scale,
        "method": settings.method,
        "test": settings.test,
    }
    write_json(outdir / "who_benefits.json", doc)
    paths["who_benefits.json"] = outdir / "who_benefits.json"
    write_csv(outdir / "crp_predictions.csv", res.to_frame())
    paths["crp_predictions.csv"] = outdir / "crp_predictions.csv"
    present = (
        list(dict.fromkeys(effects["outcome"].astype(str)))
        if "outcome" in effects.columns and len(effects)
        else []
    )
    order = list(outcomes) if outcomes is not None else []
    primary = next(
        (o for o in order if o in present), present[0] if present else (order[0] if order else None)
    )
    if interventions is None:
        itab = pd.DataFrame(
            columns=[
                "intervention",
                "timing",
                "rescue_sd_best",
                "rescue_sd_region_min",
                "rescue_sd_region_max",
                "rank_best_within_timing",
            ]
        )
    elif isinstance(interventions, pd.DataFrame):
        itab = interventions
    else:
        itab = read_artefact_csv(interventions)
    write_csv(outdir / "clinic_bridge.csv", clinic_bridge(itab, effects, primary))
    paths["clinic_bridge.csv"] = outdir / "clinic_bridge.csv"
    reg = next((r for r in res.between[settings.moderator] if r.outcome == primary), None)
    paths.update(
        _save(
            plots.crp_bubble(effects, reg, primary), outdir, "crp_bubble", tuple(settings.figures)
        )
    )
    return paths


def run_mechanism_stage(
    effects: pd.DataFrame,
    targets_path: str | Path,
    outdir: str | Path,
    *,
    seed: int,
    config: Mapping[str, Any] | None = None,
    outcomes: list[str] | Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Run the whole mechanism stage (cascade, then who-benefits) into one folder.

    Returns artefact name -> path for ``who_benefits.json``, ``crp_predictions.csv``,
    ``cascade_fit.json``, ``identifiability.csv``, ``profiles.csv``, ``interventions.csv``,
    ``sensitivity.csv``, ``clinic_bridge.csv`` and the figures ``model_diagram``,
    ``fit_vs_targets``, ``profiles``, ``interventions``, ``crp_bubble`` (.png and .svg).
    """
    paths = run_cascade_stage(targets_path, outdir, seed=seed, config=config)
    paths.update(
        run_who_benefits_stage(
            effects,
            outdir,
            interventions=paths["interventions.csv"],
            config=config,
            outcomes=outcomes,
        )
    )
    return dict(sorted(paths.items()))


__all__ = [
    "SIMULATED",
    "MechanismSettings",
    "clinic_bridge",
    "run_cascade_stage",
    "run_mechanism_stage",
    "run_who_benefits_stage",
]
