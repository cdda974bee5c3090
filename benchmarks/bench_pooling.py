"""Benchmark: REML + Hartung-Knapp on 10,000 SIMULATED meta-analyses of k = 20.

Run from the repository root::

    python benchmarks/bench_pooling.py            # full run (about a minute, most of it in R)
    python benchmarks/bench_pooling.py --m 2000   # smaller

It times the same simulated data through

(a) ``inflamed.stats.batch.rma_batch`` (vectorised over analyses),
(b) a Python loop of ``inflamed.stats.pooling.rma``,
(c) statsmodels ``combine_effects`` in a loop: statsmodels has no REML, so its closest iterative
    estimator, Paule-Mandel (``method_re="iterated"``), with its HKSJ ("random effect wls") CI;
    its numbers are compared with inflamed's PM + knha (like with like),
(d) metafor ``rma(method = "REML", test = "knha")`` in an R loop through ``Rscript`` when R with
    metafor is on PATH, timed inside R (``proc.time``), with the same convergence threshold as
    inflamed (1e-10); analyses where metafor stops with "Fisher scoring did not converge" are
    refitted with ``stepadj = 0.5`` inside the timed loop and counted.

It prints a table and writes ``benchmarks/results/pooling.json`` (analyses per second, speed-up
against metafor, max absolute differences, single-analysis latency). This is a measurement, not a
test: nothing here passes or fails.

The data are SIMULATED (numpy default_rng(seed)): v_ij ~ Uniform(0.01, 0.1) (sampling variances of
SMDs from trials of roughly 40-400 patients), theta_i = 0.3, tau^2 = 0.05, y_ij ~ N(theta, v_ij +
tau^2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy

from inflamed.io import write_json
from inflamed.stats.batch import rma_batch
from inflamed.stats.pooling import rma

ROOT = Path(__file__).resolve().parents[1]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
Y <- as.matrix(read.csv(args[1], header = FALSE))
V <- as.matrix(read.csv(args[2], header = FALSE))
m <- nrow(Y)
out <- matrix(NA_real_, m, 5)
failed <- 0L
ctrl <- list(threshold = 1e-10, maxiter = 1000)
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(m)) {
  res <- tryCatch(rma(Y[i, ], V[i, ], method = "REML", test = "knha", control = ctrl),
                  error = function(e) NULL)
  if (is.null(res)) {
    failed <- failed + 1L
    res <- rma(Y[i, ], V[i, ], method = "REML", test = "knha",
               control = c(ctrl, list(stepadj = 0.5)))
  }
  out[i, ] <- c(res$beta[1], res$se, res$ci.lb, res$ci.ub, res$tau2)
}
elapsed <- proc.time()[["elapsed"]] - t0
write.table(out, args[3], sep = ",", row.names = FALSE, col.names = FALSE)
cat(sprintf('{"elapsed": %.6f, "failed": %d, "metafor": "%s", "r": "%s"}\n', elapsed, failed,
            as.character(packageVersion("metafor")), R.version.string), file = args[4])
"""


def simulate(m: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SIMULATED data (see module docstring)."""
    rng = np.random.default_rng(seed)
    V = rng.uniform(0.01, 0.1, size=(m, k))
    Y = rng.normal(0.3, np.sqrt(V + 0.05))
    return Y, V


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run_metafor(Y: np.ndarray, V: np.ndarray) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    check = subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('metafor', quietly = TRUE))"],
        capture_output=True,
    )
    if check.returncode != 0:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        np.savetxt(t / "Y.csv", Y, delimiter=",", fmt="%.17g")
        np.savetxt(t / "V.csv", V, delimiter=",", fmt="%.17g")
        (t / "bench.R").write_text(R_SCRIPT)
        subprocess.run(
            ["Rscript", str(t / "bench.R"), str(t / "Y.csv"), str(t / "V.csv"),
             str(t / "out.csv"), str(t / "meta.json")],
            check=True,
        )  # fmt: skip
        meta = json.loads((t / "meta.json").read_text())
        est = np.loadtxt(t / "out.csv", delimiter=",", ndmin=2)
    meta["results"] = est
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--m", type=int, default=10_000, help="number of meta-analyses")
    ap.add_argument("--k", type=int, default=20, help="studies per meta-analysis")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--no-r", action="store_true", help="skip metafor")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pooling.json")
    a = ap.parse_args(argv)
    Y, V = simulate(a.m, a.k, a.seed)
    rows: dict[str, dict] = {}

    # (a) batch
    batch = rma_batch(Y, V, method="REML", test="knha")
    t_batch = best_of(lambda: rma_batch(Y, V, method="REML", test="knha"), 3)
    rows["inflamed.stats.batch.rma_batch"] = {"seconds": t_batch}

    # (b) loop of rma
    loop_est = np.empty((a.m, 5))

    def loop() -> None:
        for i in range(a.m):
            r = rma(Y[i], V[i], method="REML", test="knha")
            loop_est[i] = (r.beta[0], r.se[0], r.ci_lb[0], r.ci_ub[0], r.tau2)

    t_loop = best_of(loop, 1)
    rows["inflamed.stats.pooling.rma (loop)"] = {"seconds": t_loop}
    batch_est = np.column_stack([batch.estimate, batch.se, batch.ci_lb, batch.ci_ub, batch.tau2])
    rows["inflamed.stats.batch.rma_batch"]["max_abs_diff_vs_rma_loop"] = float(
        np.max(np.abs(batch_est - loop_est))
    )

    # (c) statsmodels combine_effects (PM + HKSJ: its closest to REML + HK)
    from statsmodels.stats.meta_analysis import combine_effects

    sm_est = np.empty((a.m, 5))

    def sm_loop() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(a.m):
                r = combine_effects(Y[i], V[i], method_re="iterated", use_t=True)
                lo, hi = r.conf_int(use_t=True)[3]  # random effects, HKSJ (wls) scale
                sm_est[i] = (r.mean_effect_re, r.sd_eff_w_re_hksj, lo, hi, r.tau2)

    t_sm = best_of(sm_loop, 1)
    pm = rma_batch(Y, V, method="PM", test="knha")
    pm_est = np.column_stack([pm.estimate, pm.se, pm.ci_lb, pm.ci_ub, pm.tau2])
    rows["statsmodels combine_effects (PM + HKSJ, loop)"] = {
        "seconds": t_sm,
        "max_abs_diff_vs_inflamed_PM_knha": float(np.max(np.abs(sm_est - pm_est))),
        "note": "statsmodels has no REML; Paule-Mandel (method_re='iterated') is its closest",
    }

    # (d) metafor
    mf = None if a.no_r else run_metafor(Y, V)
    if mf is not None:
        diff = np.abs(mf["results"] - batch_est)
        rows[f"metafor {mf['metafor']} rma() (R loop)"] = {
            "seconds": mf["elapsed"],
            "max_abs_diff_vs_inflamed_batch": float(np.max(diff)),
            "max_abs_diff_by_quantity": dict(
                zip(
                    ["estimate", "se", "ci_lb", "ci_ub", "tau2"],
                    map(float, diff.max(axis=0)),
                    strict=True,
                )
            ),
            "fisher_scoring_failures_refitted_with_stepadj_0.5": mf["failed"],
            "r_version": mf["r"],
        }

    for row in rows.values():
        row["analyses_per_second"] = a.m / row["seconds"]
    if mf is not None:
        mf_rate = a.m / mf["elapsed"]
        for row in rows.values():
            row["speedup_vs_metafor"] = row["analyses_per_second"] / mf_rate

    # single-analysis latency (median of repeated calls on the first simulated analysis)
    lat = []
    for _ in range(2000):
        t0 = time.perf_counter()
        rma(Y[0], V[0], method="REML", test="knha")
        lat.append(time.perf_counter() - t0)
    latency_us = statistics.median(lat) * 1e6

    result = {
        "data": f"SIMULATED: {a.m} meta-analyses x k = {a.k}, numpy default_rng({a.seed}), "
        "v ~ U(0.01, 0.1), tau2 = 0.05, theta = 0.3",
        "model": "REML + Hartung-Knapp(-Sidik-Jonkman), 95% CI",
        "m": a.m,
        "k": a.k,
        "single_analysis_latency_us_median": latency_us,
        "methods": rows,
        "machine": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    write_json(a.out, result)

    print(f"{result['data']}\n{result['model']}\n")
    print(f"{'method':52s} {'seconds':>9s} {'analyses/s':>12s} {'vs metafor':>11s}  max |diff|")
    for name, row in rows.items():
        sp = row.get("speedup_vs_metafor")
        d = next(
            (v for kk, v in row.items() if kk.startswith("max_abs_diff") and isinstance(v, float)),
            None,
        )
        print(
            f"{name:52s} {row['seconds']:9.3f} {row['analyses_per_second']:12.0f} "
            f"{(f'{sp:10.1f}x' if sp else '         -')}  {'' if d is None else f'{d:.2e}'}"
        )
    print(f"\nsingle analysis (rma, k = {a.k}): median {latency_us:.0f} us")
    print(f"wrote {a.out.relative_to(ROOT) if a.out.is_relative_to(ROOT) else a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
