"""Benchmark: frequentist network meta-analysis of Cipriani 2009 (111 trials, 12 antidepressants).

Run from the repository root::

    python benchmarks/bench_network.py              # inflamed, and metafor when Rscript is there
    python benchmarks/bench_network.py --no-r       # inflamed only

Timed in-process, median of ``--repeats`` runs after one warm-up:

(a) ``full``: arm rows -> :func:`pairwise` (log OR) -> :func:`nma` (REML) -> the long league
    table (``league_frame``) -> :func:`node_split` (back-calculation) -> P-scores (part of ``nma``).
    The issue's goal is <= 50 ms for this.
(b) ``fit``: :func:`nma` alone (REML) on prepared contrasts; and the same with FE.
(c) ``metafor``: ``rma.mv(yi, V, mods = X, random = ~ comp | study, rho = 1/2, method = "REML")``
    on the same contrasts, timed inside R (``proc.time``, median of the same repeats), when
    ``Rscript`` with metafor is on PATH. metafor's time covers the fit only (no league table, no
    node-splitting), so it is a yardstick for (b), not for (a).

Writes ``benchmarks/results/network.json``. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from inflamed.io import write_json
from inflamed.stats.network import nma, node_split, pairwise

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "fixtures" / "networks" / "cipriani2009.csv"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE)
V <- as.matrix(read.csv(args[2], header = FALSE))
reps <- as.integer(args[3])
trts <- sort(unique(c(dat$treat1, dat$treat2)), method = "radix")
others <- trts[trts != "fluoxetine"]
dat$comp <- factor(paste(dat$treat1, dat$treat2))
times <- numeric(reps)
for (r in seq_len(reps)) {
  t0 <- proc.time()[["elapsed"]]
  X <- sapply(others, function(t) (dat$treat1 == t) - (dat$treat2 == t))
  res <- rma.mv(dat$yi, V, mods = X, intercept = FALSE, random = ~ comp | study,
                struct = "CS", rho = 1/2, data = dat, method = "REML")
  times[r] <- proc.time()[["elapsed"]] - t0
}
cat(format(median(times), digits = 17), format(res$tau2, digits = 17), "\n")
"""


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def run_metafor(data, repeats: int) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        frame = data.frame()
        frame.to_csv(Path(tmp) / "dat.csv", index=False)
        np.savetxt(Path(tmp) / "V.csv", data.cov, delimiter=",", fmt="%.17g")
        (Path(tmp) / "bench.R").write_text(R_SCRIPT)
        files = [str(Path(tmp) / name) for name in ("bench.R", "dat.csv", "V.csv")]
        proc = subprocess.run(
            [rscript, *files, str(repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return None
    seconds, tau2 = (float(x) for x in proc.stdout.split())
    version = subprocess.run(
        [rscript, "-e", 'cat(as.character(packageVersion("metafor")))'],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {"fit_ms_median": seconds * 1000, "tau2": tau2, "metafor": version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "network.json"))
    a = parser.parse_args(argv)

    arms = pd.read_csv(DATA)

    def full() -> None:
        data = pairwise(
            arms.study, arms.treatment, measure="OR", events=arms.responders, n=arms.sampleSize
        )
        fit = nma(data, reference="fluoxetine", method="REML", small_values="bad")
        fit.league_frame()
        node_split(data, method="REML", fit=fit).frame()

    data = pairwise(
        arms.study, arms.treatment, measure="OR", events=arms.responders, n=arms.sampleSize
    )
    fit = nma(data, reference="fluoxetine", method="REML")
    rows = {
        "full (pairwise + REML + league + node-split + P-scores)": median_ms(full, a.repeats),
        "fit REML (nma only)": median_ms(
            lambda: nma(data, reference="fluoxetine", method="REML"), a.repeats
        ),
        "fit FE (nma only)": median_ms(
            lambda: nma(data, reference="fluoxetine", method="FE"), a.repeats
        ),
    }
    r = None if a.no_r else run_metafor(data, a.repeats)
    result = {
        "data": "Cipriani 2009 (tests/fixtures/networks/cipriani2009.csv): 111 trials, "
        "12 treatments, 113 contrasts, response as log OR",
        "goal_ms": 50,
        "repeats": a.repeats,
        "inflamed_ms_median": rows,
        "inflamed_tau2_reml": fit.tau2,
        "metafor_rma_mv": r,
        "machine": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    if r is not None:
        result["speedup_fit_vs_metafor"] = r["fit_ms_median"] / rows["fit REML (nma only)"]
        result["tau2_abs_diff_vs_metafor"] = abs(r["tau2"] - fit.tau2)
    write_json(a.out, result)
    for name, ms in rows.items():
        print(f"{name:58s} {ms:8.2f} ms")
    if r is not None:
        print(f"{'metafor rma.mv REML (fit only, timed in R)':58s} {r['fit_ms_median']:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
