"""SIMULATED effects tables for tests and demonstrations of Part A. Not data.

Every table made here has ``review = "simulated"`` and a ``notes`` column saying so; the numbers
come from a seeded random generator and a known model, never from a source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from inflamed.mechanism.who_benefits import MECHANISM_CLASSES


def simulated_effects(
    *,
    seed: int,
    k_whole: int = 12,
    k_stratified: int = 4,
    intercept: float = 0.1,
    slope_ln_crp: float = 0.2,
    interaction: float = 0.3,
    tau: float = 0.05,
    n_per_arm: int = 40,
    outcome: str = "depressive_symptoms",
) -> pd.DataFrame:
    """A SIMULATED effects table with a known CRP dependence (positive = favours treatment).

    Whole-trial rows follow ``yi ~ N(intercept + slope * ln(crp_cutoff), tau^2 + vi)``; stratified
    trials give a crp_low row (true effect ``intercept``) and a crp_high row
    (``intercept + interaction``).
    """
    rng = np.random.default_rng(seed)
    rows = []
    vi = 2.0 / n_per_arm + 0.01
    cutoffs = np.array([1.0, 2.0, 3.0, 5.0, 1.5, 4.0])
    for i in range(k_whole):
        crp = float(cutoffs[i % len(cutoffs)])
        mu = intercept + slope_ln_crp * np.log(crp)
        rows.append(
            {
                "review": "simulated",
                "study_id": f"sim{i:02d}",
                "contrast": "drug_vs_placebo",
                "subgroup": "whole",
                "outcome": outcome,
                "measure": "SMD",
                "yi": float(rng.normal(mu, np.sqrt(tau**2 + vi))),
                "vi": vi,
                "n_treat": n_per_arm,
                "n_ctrl": n_per_arm,
                "crp_cutoff_mg_l": crp,
                "baseline_crp_mg_l": crp * 1.5,
                "mechanism_class": MECHANISM_CLASSES[i % len(MECHANISM_CLASSES)],
                "year": 2000 + i,
                "notes": "SIMULATED (seeded); not data",
            }
        )
    for j in range(k_stratified):
        for sg, mu in (("crp_low", intercept), ("crp_high", intercept + interaction)):
            rows.append(
                {
                    "review": "simulated",
                    "study_id": f"strat{j:02d}",
                    "contrast": "drug_vs_placebo",
                    "subgroup": sg,
                    "outcome": outcome,
                    "measure": "SMD",
                    "yi": float(rng.normal(mu, np.sqrt(vi))),
                    "vi": vi,
                    "n_treat": n_per_arm,
                    "n_ctrl": n_per_arm,
                    "crp_cutoff_mg_l": 3.0,
                    "baseline_crp_mg_l": np.nan,
                    "mechanism_class": "minocycline",
                    "year": 2010 + j,
                    "notes": "SIMULATED (seeded); not data",
                }
            )
    columns = [
        "review",
        "study_id",
        "contrast",
        "subgroup",
        "outcome",
        "measure",
        "yi",
        "vi",
        "n_treat",
        "n_ctrl",
        "crp_cutoff_mg_l",
        "baseline_crp_mg_l",
        "mechanism_class",
        "year",
        "notes",
    ]
    return pd.DataFrame(rows, columns=columns)
