"""Resources a job asks its executor for, as functions of the size of its input.

A constant request is wrong at one end or the other: the shipped review's jobs need a few hundred
MB for seconds, a 5,000-comparison review's pool and figure jobs more memory and minutes. Under a
scheduler that enforces memory (SLURM) a job that outgrows its request is killed, and one that
outlasts its ``runtime`` is stopped. Each rule whose cost grows with the review therefore asks
for ``base + per_mb * input_mb`` (memory in MB, runtime in minutes), with a headroom factor, and
asks for more on each retry (``attempt``), so ``--retries 1`` recovers from an underestimate.

The coefficients come from ``benchmarks/bench_scale.py`` (simulated reviews on a 2-core machine;
``benchmarks/results/scale.json``). A first calibration, when leave-one-out and influence refit
every study (k^2), had the pool job at 520 MB and 93 s for 5,000 comparisons (``effects.csv``
about 1.6 MB, ``contrasts.csv`` about 4 MB) and a quadratic runtime term. Since the refits use
linear-cost subset sums (:mod:`inflamed.stats.subset_sums`) every stage grows linearly: at 5,000
comparisons pool 2 s / 166 MB, extract 2 s / 176 MB, a paged forest 24 s / 300 MB, report 7 s /
367 MB; at 50,000 pool 7 s / 358 MB, extract 9 s / 558 MB, report 44 s / 738 MB. The slopes below
are well above those (a shared node is slower than the benchmark machine); the forest's pages are
capped (``figures.forest_max_pages``), so its cost levels off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["COSTS", "Cost", "mem_mb", "runtime_min"]


@dataclass(frozen=True)
class Cost:
    """Linear cost model of one kind of job: ``base + per_mb * input_mb`` (MB and minutes)."""

    mem_base: float
    mem_per_mb: float
    min_base: float
    min_per_mb: float


#: Input MB is the size of the job's inputs as Snakemake sees them (``input.size_mb``).
COSTS: dict[str, Cost] = {
    "ingest": Cost(mem_base=400, mem_per_mb=12, min_base=5, min_per_mb=0.2),
    "extract": Cost(mem_base=400, mem_per_mb=25, min_base=5, min_per_mb=0.5),
    "pool": Cost(mem_base=400, mem_per_mb=40, min_base=5, min_per_mb=0.5),
    "figure": Cost(mem_base=500, mem_per_mb=20, min_base=5, min_per_mb=0.5),
    "report": Cost(mem_base=1000, mem_per_mb=5, min_base=10, min_per_mb=0.2),
}

#: Requests are this much above the model, so ordinary variation never reaches the limit.
HEADROOM = 1.5


def _kind(name: str) -> Cost:
    if name not in COSTS:
        raise KeyError(f"no cost model for {name!r}; expected one of {sorted(COSTS)}")
    return COSTS[name]


def mem_mb(kind: str, input_mb: float, attempt: int = 1) -> int:
    """Memory request in MB for a job of ``kind`` reading ``input_mb`` MB (doubles per retry).

    Non-decreasing in ``input_mb`` and ``attempt``.
    """
    cost = _kind(kind)
    size = max(0.0, float(input_mb))
    need = (cost.mem_base + cost.mem_per_mb * size) * HEADROOM
    return int(math.ceil(need * 2 ** (max(1, attempt) - 1) / 100.0) * 100)


def runtime_min(kind: str, input_mb: float, attempt: int = 1) -> int:
    """Runtime request in minutes for a job of ``kind`` reading ``input_mb`` MB (doubles per retry).

    Non-decreasing in ``input_mb`` and ``attempt``.
    """
    cost = _kind(kind)
    size = max(0.0, float(input_mb))
    need = (cost.min_base + cost.min_per_mb * size) * HEADROOM
    return math.ceil(need * 2 ** (max(1, attempt) - 1))
