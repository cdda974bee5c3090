"""The two public networks of ``tests/fixtures/networks/`` as arm-level rows (test helper).

Linde 2015 is stored wide (up to three arms per trial); it is made long here the same way the R
script ``tests/reference/R/network.R`` does: arms without a response count are left out and trials
with fewer than two such arms dropped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

NETWORKS = Path(__file__).resolve().parent / "fixtures" / "networks"


def cipriani2009() -> pd.DataFrame:
    """study, treatment, events (responders), n: 224 arms of 111 trials."""
    d = pd.read_csv(NETWORKS / "cipriani2009.csv")
    return d.rename(columns={"responders": "events", "sampleSize": "n"})


def linde2015(outcome: str = "resp") -> pd.DataFrame:
    """study (trial id), treatment, events (``outcome`` column), n, one row per reported arm."""
    wide = pd.read_csv(NETWORKS / "linde2015.csv", keep_default_na=True)
    parts = []
    for j in (1, 2, 3):
        parts.append(
            pd.DataFrame(
                {
                    "study": wide["id"].astype(str),
                    "arm": j,
                    "order": range(len(wide)),
                    "treatment": wide[f"treatment{j}"],
                    "events": wide[f"{outcome}{j}"],
                    "n": wide[f"n{j}"],
                }
            )
        )
    long = pd.concat(parts).sort_values(["order", "arm"], kind="stable")
    long = long[long["treatment"].notna() & (long["treatment"] != "")]
    long = long[long["events"].notna() & long["n"].notna()]
    counts = long.groupby("study")["arm"].transform("size")
    return long[counts >= 2][["study", "treatment", "events", "n"]].reset_index(drop=True)
