"""Benchmark: Bayesian NMA of Cipriani 2009 (111 trials, 12 treatments) by NUTS, 4 chains.

Run from the repository root::

    python benchmarks/bench_network_bayes.py              # the goal run + yardsticks (3-5 min)
    python benchmarks/bench_network_bayes.py --quick      # 4 x (300 + 300), no yardsticks

It times ``inflamed.stats.network.bayes.nma_bayes`` end to end (input checks, JIT compilation,
sampling, diagnostics, summaries) on the real Cipriani 2009 efficacy network
(``tests/fixtures/networks/cipriani2009.csv``, gemtc 0.8-4, GPL-3), random-effects binomial-logit
model, default priors, seed 20261201, and records:

* wall time and the minimum bulk and tail ESS over every parameter (d, tau, each mu, each delta)
  and over d and tau alone, the largest R-hat, divergences. Goal: 4 chains x (1,000 + 1,000) on
  2 cores in <= 60 s with ESS >= 400 for every parameter;
* yardsticks in the same run: the same 4 chains as one vectorised program on one core
  (``chain_method="vectorized"``: what the default, one CPU device per chain, is chosen against)
  and a single chain of 1,000 + 1,000 (the cost of one chain, to see what four cost on top).

It writes ``benchmarks/results/network_bayes.json`` with the machine and its load average (the
machine is shared: timings move with the load). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from inflamed.io import write_json
from inflamed.stats.network.bayes import nma_bayes

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "fixtures" / "networks" / "cipriani2009.csv"


def _fit(data: pd.DataFrame, **kwargs) -> dict:
    start = time.perf_counter()
    res = nma_bayes(
        data.study,
        data.treatment,
        measure="OR",
        reference="fluoxetine",
        events=data.responders,
        n=data.sampleSize,
        small_values="bad",
        **kwargs,
    )
    seconds = time.perf_counter() - start
    diag = res.diagnostics
    main = diag[diag.parameter.str.startswith(("d[", "tau"))]
    low = diag.loc[diag.ess_bulk.idxmin()]
    return {
        "settings": {k: v for k, v in kwargs.items()},
        "seconds": seconds,
        "parameters": len(diag),
        "min_ess_bulk": float(diag.ess_bulk.min()),
        "min_ess_tail": float(diag.ess_tail.min()),
        "min_ess_bulk_d_tau": float(main.ess_bulk.min()),
        "min_ess_tail_d_tau": float(main.ess_tail.min()),
        "lowest_ess_parameter": str(low.parameter),
        "max_rhat": float(diag.rhat.max()),
        "divergences": res.divergences,
        "chain_method_used": res.chain_method,
        "warnings": len(res.warnings),
        "tau_mean": res.tau,
        "ess_per_second": float(diag.ess_bulk.min()) / seconds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 x (300 + 300), no yardsticks")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "network_bayes.json"
    )
    args = ap.parse_args(argv)
    data = pd.read_csv(DATA)
    size = {"warmup": 300, "draws": 300} if args.quick else {"warmup": 1000, "draws": 1000}
    runs = {"4 chains, auto (default)": _fit(data, chains=4, **size)}
    if not args.quick:
        runs["4 chains, vectorized (yardstick)"] = _fit(
            data, chains=4, chain_method="vectorized", **size
        )
        runs["1 chain (yardstick)"] = _fit(data, chains=1, **size)
    goal = runs["4 chains, auto (default)"]
    result = {
        "data": "Cipriani 2009 efficacy network (gemtc 0.8-4 `depression`), 224 arms, 111 trials, "
        "12 treatments; random effects, binomial-logit, gemtc default priors, seed 20261201",
        "goal": "4 chains x (1,000 + 1,000) on 2 cores: <= 60 s wall time, ESS >= 400 for every "
        "parameter",
        "goal_met": {
            "time": goal["seconds"] <= 60,
            "ess": min(goal["min_ess_bulk"], goal["min_ess_tail"]) >= 400,
        },
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "numpy": np.__version__,
            "jax": sys.modules["jax"].__version__,
            "numpyro": sys.modules["numpyro"].__version__,
        },
        "runs": runs,
    }
    write_json(args.out, result)
    width = max(len(k) for k in runs)
    print(f"{'run':{width}}  seconds  min ESS bulk/tail (all)  min ESS bulk/tail (d, tau)  R-hat")
    for name, r in runs.items():
        print(
            f"{name:{width}}  {r['seconds']:7.1f}  {r['min_ess_bulk']:9.0f} / {r['min_ess_tail']:<9.0f}"
            f"  {r['min_ess_bulk_d_tau']:9.0f} / {r['min_ess_tail_d_tau']:<9.0f}  {r['max_rhat']:.4f}"
        )
    print(f"load average: {result['machine']['load_average_1_5_15_min_at_end']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
