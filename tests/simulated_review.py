"""SIMULATED extraction sheets for workflow tests: generated in code, labelled simulated, not data.

Every number written here is drawn from a seeded random generator. The ``source`` column of
every row says so, so no simulated value can be mistaken for a transcribed one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SOURCE = "SIMULATED by tests/simulated_review.py (not real data)"

STUDY_COLUMNS = [
    "study_id",
    "first_author",
    "year",
    "registry_id",
    "doi",
    "drug",
    "mechanism_class",
    "dose",
    "add_on",
    "duration_weeks",
    "population",
    "inflammation_selection",
    "crp_cutoff",
    "crp_cutoff_rule",
    "crp_unit",
    "baseline_crp",
    "n_randomised_treat",
    "n_randomised_ctrl",
    "source",
    "source_location",
    "notes",
]
ARM_FIELDS = [
    "n",
    "mean",
    "sd",
    "se",
    "ci_lb",
    "ci_ub",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "events",
]
OUTCOME_COLUMNS = [
    "study_id",
    "contrast",
    "treat_arm",
    "ctrl_arm",
    "shared_ctrl",
    "subgroup",
    "subgroup_definition",
    "outcome",
    "instrument",
    "timepoint_weeks",
    "measure_kind",
    "change_direction",
    *[f"{f}_treat" for f in ARM_FIELDS],
    *[f"{f}_ctrl" for f in ARM_FIELDS],
    "source",
    "source_location",
    "extractor",
    "notes",
]
DOMAINS = [
    "D1_randomisation",
    "D2_deviations",
    "D3_missing_data",
    "D4_measurement",
    "D5_selection_of_reported_result",
    "overall",
]
CLASSES = [
    ("minocycline", "minocycline"),
    ("infliximab", "cytokine_inhibitor"),
    ("celecoxib", "nsaid_cox2"),
]


def _write(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def write_simulated_review(
    folder: Path, *, seed: int, n_studies: int = 12, prefix: str = "Sim"
) -> None:
    """Write a complete, valid sheets folder with ``n_studies`` simulated trials.

    Each trial reports HAM-D-17 endpoint scores (``depression_severity``) and response events
    (``response``) for its CRP-high stratum and its whole sample; a third of the trials also
    report a CRP-low stratum.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    studies, outcomes, rob = [], [], []
    for i in range(n_studies):
        sid = f"{prefix}{i:02d}"
        drug, mclass = CLASSES[i % len(CLASSES)]
        cutoff = float(rng.choice([1.0, 2.0, 3.0, 5.0]))
        n_t, n_c = int(rng.integers(15, 60)), int(rng.integers(15, 60))
        studies.append(
            {
                "study_id": sid,
                "first_author": f"Author{i:02d}",
                "year": 2005 + i,
                "drug": drug,
                "mechanism_class": mclass,
                "dose": "simulated",
                "add_on": "add_on",
                "duration_weeks": 8,
                "population": "simulated adults with depression",
                "inflammation_selection": "stratified",
                "crp_cutoff": cutoff,
                "crp_cutoff_rule": ">=",
                "crp_unit": "mg/L",
                "baseline_crp": round(float(cutoff + rng.uniform(0.5, 3)), 2),
                "n_randomised_treat": n_t,
                "n_randomised_ctrl": n_c,
                "source": SOURCE,
                "source_location": f"seed {seed}",
            }
        )
        subgroups = ["whole", "crp_high"] + (["crp_low"] if i % 3 == 0 else [])
        for subgroup in subgroups:
            scale = 1.0 if subgroup == "whole" else 0.5
            nt, nc = max(5, int(n_t * scale)), max(5, int(n_c * scale))
            benefit = {"crp_high": 3.0, "whole": 1.5, "crp_low": 0.0}[subgroup]
            common = {
                "study_id": sid,
                "contrast": f"{drug}_vs_placebo",
                "treat_arm": drug.title(),
                "ctrl_arm": "Placebo",
                "subgroup": subgroup,
                "subgroup_definition": "" if subgroup == "whole" else f"CRP split at {cutoff} mg/L",
                "timepoint_weeks": 8,
                "source": SOURCE,
                "source_location": f"seed {seed}",
                "extractor": "simulation",
            }
            outcomes.append(
                {
                    **common,
                    "outcome": "depression_severity",
                    "instrument": "HAMD17",
                    "measure_kind": "endpoint",
                    "n_treat": nt,
                    "n_ctrl": nc,
                    "mean_treat": round(float(rng.normal(14 - benefit, 1.5)), 2),
                    "sd_treat": round(float(rng.uniform(4, 7)), 2),
                    "mean_ctrl": round(float(rng.normal(14, 1.5)), 2),
                    "sd_ctrl": round(float(rng.uniform(4, 7)), 2),
                }
            )
            p_c = 0.3
            p_t = min(0.9, p_c + benefit / 20)
            outcomes.append(
                {
                    **common,
                    "outcome": "response",
                    "instrument": "HAMD17",
                    "measure_kind": "events",
                    "n_treat": nt,
                    "n_ctrl": nc,
                    "events_treat": int(rng.binomial(nt, p_t)),
                    "events_ctrl": int(rng.binomial(nc, p_c)),
                }
            )
        for domain in DOMAINS:
            rob.append(
                {
                    "study_id": sid,
                    "domain": domain,
                    "judgement": ["low", "some_concerns", "high"][int(rng.integers(0, 3))],
                    "support": "simulated",
                    "judged_by": "simulation",
                    "source": SOURCE,
                    "source_location": f"seed {seed}",
                }
            )
    _write(folder / "studies.csv", STUDY_COLUMNS, studies)
    _write(folder / "outcomes.csv", OUTCOME_COLUMNS, outcomes)
    _write(
        folder / "risk_of_bias.csv",
        ["study_id", "domain", "judgement", "support", "judged_by", "source", "source_location"],
        rob,
    )
    _write(
        folder / "published_estimates.csv",
        [
            "publication",
            "doi",
            "outcome",
            "subgroup",
            "measure",
            "estimate",
            "ci_lb",
            "ci_ub",
            "benefit_direction",
            "k",
            "n_participants",
            "source",
            "source_location",
            "notes",
        ],
        [
            {
                "publication": "Simulated meta-analysis",
                "outcome": "depression_severity",
                "subgroup": "crp_high",
                "measure": "SMD",
                "estimate": 0.35,
                "ci_lb": 0.05,
                "ci_ub": 0.64,
                "benefit_direction": "positive",
                "k": 11,
                "n_participants": 321,
                "source": SOURCE,
                "source_location": "simulated",
                "notes": "simulated",
            }
        ],
    )
    _write(
        folder / "prisma.csv",
        ["stage", "count", "status", "source", "source_location", "notes"],
        [
            {
                "stage": "identified_databases",
                "count": 40 + n_studies,
                "source": SOURCE,
                "source_location": "simulated",
            },
            {
                "stage": "records_screened",
                "count": 30 + n_studies,
                "source": SOURCE,
                "source_location": "simulated",
            },
            {
                "stage": "records_excluded",
                "count": 30,
                "source": SOURCE,
                "source_location": "simulated",
            },
            {
                "stage": "reports_assessed",
                "count": n_studies,
                "source": SOURCE,
                "source_location": "simulated",
            },
            {
                "stage": "studies_included",
                "count": n_studies,
                "source": SOURCE,
                "source_location": "simulated",
            },
        ],
    )
