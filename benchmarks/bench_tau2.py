"""Benchmark and check: the global ML/REML search on SIMULATED data (issue 12), and rma's cost in k.

Run from the repository root::

    python benchmarks/bench_tau2.py              # 10,000 sets, about a minute
    python benchmarks/bench_tau2.py --sets 2000  # smaller

(a) Global maximisation: ``--sets`` simulated meta-analyses (numpy ``default_rng(99)``; k drawn
    from 2-5 or {10, 50, 200}; vi log-uniform over 6 or 12 decades; tau^2 log-uniform over the same
    range; REML and ML alternately). For each, the largest amount by which a dense grid's
    log-likelihood (3,000 points uniform in log(tau2 + min vi), 600 for k >= 50) exceeds the
    likelihood at inflamed's tau^2, how many sets are multimodal, and how many of them metafor-style
    plain Fisher scoring (``control={"safeguard": False}``) leaves at a non-global point or fails.
(b) Cost: milliseconds per ``rma`` fit (REML, knha) at k = 20, 500, 2,000, 5,000 and seconds for
    ``leave_one_out`` at k = 500 (the diagnostics refit once per study).

Writes ``benchmarks/results/tau2.json``. A measurement, not a test: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from inflamed.stats import ConvergenceError, leave_one_out, rma
from inflamed.stats.tau2 import estimate_tau2

PLAIN = {"safeguard": False, "threshold": 1e-12, "maxiter": 10000}


def _ll(t: np.ndarray, y: np.ndarray, v: np.ndarray, reml: bool) -> np.ndarray:
    s = v[None, :] + np.atleast_1d(t)[:, None]
    w = 1.0 / s
    mu = (w @ y) / w.sum(axis=1)
    ll = -0.5 * np.log(s).sum(axis=1) - 0.5 * (w * (y[None, :] - mu[:, None]) ** 2).sum(axis=1)
    return ll - 0.5 * np.log(w.sum(axis=1)) if reml else ll


def global_check(n_sets: int) -> dict[str, float | int]:
    rng = np.random.default_rng(99)
    worst, multimodal, plain_off = -np.inf, 0, 0
    for i in range(n_sets):
        k = int(rng.integers(2, 6)) if i % 2 else int(rng.choice([10, 50, 200]))
        dec = 12.0 if i % 3 == 0 else 6.0
        v = 10 ** rng.uniform(-dec / 2, dec / 2, k)
        y = rng.normal(size=k) * np.sqrt(v + 10 ** rng.uniform(-dec / 2, dec / 2))
        reml = bool(i % 2)
        method = "REML" if reml else "ML"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit = estimate_tau2(y, v, None, method)
            try:
                plain = estimate_tau2(y, v, None, method, PLAIN).tau2
            except ConvergenceError:
                plain = float("nan")
        multimodal += int((fit.n_local_maxima or 1) > 1)
        vmin = float(v.min())
        upper = 10 * (float(np.sum((y - y.mean()) ** 2)) + float(v.max()))
        n = 3000 if k < 50 else 600
        grid = np.concatenate([[0.0], vmin * np.expm1(np.linspace(0, np.log1p(upper / vmin), n))])
        best = float(_ll(grid, y, v, reml).max())
        worst = max(worst, best - float(_ll(np.array([fit.tau2]), y, v, reml)[0]))
        plain_off += int(not best - float(_ll(np.array([plain]), y, v, reml)[0]) <= 1e-8)
    return {
        "sets": n_sets,
        "worst_loglik_gap": worst,
        "multimodal": multimodal,
        "plain_fisher_not_global": plain_off,
    }


def cost() -> dict[str, float]:
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for k in (20, 500, 2000, 5000):
        v = rng.uniform(0.01, 0.2, k)
        y = rng.normal(0.3, np.sqrt(v + 0.05))
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < 1.0:
            rma(y, v)
            n += 1
        out[f"rma_ms_k{k}"] = 1000 * (time.perf_counter() - start) / n
        if k == 500:
            start = time.perf_counter()
            leave_one_out(y, v)
            out["leave_one_out_s_k500"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=10_000)
    args = parser.parse_args()
    result = {"global_search": global_check(args.sets), "cost": cost()}
    print(json.dumps(result, indent=2))
    path = Path(__file__).parent / "results" / "tau2.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
