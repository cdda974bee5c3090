"""A SIMULATED arm-level network for tests: numbers drawn in code, never real trial data.

:func:`write_simulated_network` writes a network sheet (codebook ``network``) with five
treatments and a placebo, eleven studies (one three-arm study, one study with a zero cell) and
two binary outcomes, ``response`` and ``dropout``. Every row says it is simulated.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HEADER = [
    "study",
    "treatment",
    "n",
    "response_events",
    "dropout_events",
    "source",
    "source_location",
    "notes",
]
TRUE_LOG_OR = {
    "placebo": 0.0,
    "drug_a": 0.5,
    "drug_b": 0.3,
    "drug_c": 0.4,
    "drug_d": 0.1,
    "drug_e": 0.6,
}
DESIGNS = [
    ("placebo", "drug_a"),
    ("placebo", "drug_a"),
    ("placebo", "drug_b"),
    ("placebo", "drug_b"),
    ("drug_a", "drug_b"),
    ("placebo", "drug_c"),
    ("drug_b", "drug_c"),
    ("placebo", "drug_d"),
    ("drug_c", "drug_d"),
    ("placebo", "drug_a", "drug_e"),
    ("drug_b", "drug_e"),
]


def simulated_rows(seed: int = 7) -> list[list[str]]:
    """Rows of the sheet (without the header); deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    rows = []
    for index, design in enumerate(DESIGNS, start=1):
        base = rng.normal(-0.4, 0.3)
        for treatment in design:
            n = int(rng.integers(40, 120))
            p = 1 / (1 + np.exp(-(base + TRUE_LOG_OR[treatment])))
            response = int(rng.binomial(n, p))
            dropout = int(rng.binomial(n, 0.2))
            if index == 8 and treatment == "drug_d":
                dropout = 0  # a zero cell: the stage must log the continuity correction
            rows.append(
                [
                    f"Sim{index:02d}",
                    treatment,
                    str(n),
                    str(response),
                    str(dropout),
                    "simulated (tests/simulated_network.py)",
                    f"seed {seed}, study {index}",
                    "SIMULATED data, not a real trial",
                ]
            )
    return rows


def write_simulated_network(folder: str | Path, *, seed: int = 7) -> Path:
    """Write ``arms.csv`` into ``folder`` and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "arms.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(simulated_rows(seed))
    return path
