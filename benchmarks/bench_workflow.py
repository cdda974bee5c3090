"""Benchmark the workflow: cold full run, no-op rerun, rerun after a one-row data change.

Runs in a throw-away copy of the repository (the shipped default review and config), so the
working tree is never touched. Prints a table and writes ``benchmarks/results/workflow.json``:
wall time of each scenario, the jobs Snakemake scheduled, and where the time goes (Snakemake's
own start-up, measured as a dry run of a finished project; the report rule, kernel start-up
included; figure rules; statistics rules), from the per-job ``results/benchmarks/*.tsv`` files.

Usage::

    .venv/bin/python benchmarks/bench_workflow.py [--cores 2]

Goals (the house issue): cold <= 45 s, no-op <= 2 s, one-row change <= 15 s rerunning only the jobs that
depend on the changed review.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COPIED = [
    "Snakefile",
    "config.yaml",
    "README.md",
    "workflow",
    "notebooks",
    "profiles",
    "envs",
    "data",
]
REVIEW_SHEET = Path("data/reviews/anti-inflammatory-crp/outcomes.csv")


def snakemake(project: Path, cores: int, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", str(cores), *args],
        cwd=project,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout + result.stderr


def jobs_run(log: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for line in log.splitlines():
        if line.strip().startswith("Finished jobid:") and "(Rule:" in line:
            counts[line.split("(Rule:")[1].strip(" )")] += 1
    return dict(sorted(counts.items()))


def rule_seconds(project: Path) -> dict[str, float]:
    """Sum of the per-job wall times Snakemake's `benchmark:` files recorded, by rule."""
    totals: dict[str, float] = defaultdict(float)
    for tsv in (project / "results" / "benchmarks").rglob("*.tsv"):
        rule = tsv.relative_to(project / "results" / "benchmarks").parts[0]
        with open(tsv, encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                totals[rule] += float(row["s"])
    return dict(sorted(totals.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--without-networks",
        action="store_true",
        help="run the default config with its networks: block emptied (the house goal is for this)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inflamed-bench-") as tmp:
        project = Path(tmp)
        for name in COPIED:
            source = REPO / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
        if args.without_networks:  # Snakemake merges --config into the file's dicts: edit the copy
            config = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
            config.pop("networks", None)
            (project / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

        cold, cold_log = snakemake(project, args.cores)
        by_rule = rule_seconds(project)
        noop, noop_log = snakemake(project, args.cores)
        startup, _ = snakemake(project, args.cores, "-n")

        sheet = project / REVIEW_SHEET
        lines = sheet.read_text(encoding="utf-8").splitlines()
        header = lines[0].split(",")
        notes = header.index("notes")
        cells = next(csv.reader([lines[1]]))
        cells[notes] = (cells[notes] + " (benchmark edit)").strip()
        buffer = []
        writer = csv.writer(_Collect(buffer), lineterminator="")
        writer.writerow(cells)
        lines[1] = buffer[0]
        sheet.write_text("\n".join(lines) + "\n", encoding="utf-8")
        change, change_log = snakemake(project, args.cores)

    figure_time = sum(v for k, v in by_rule.items() if "figure" in k)
    stats_time = sum(by_rule.get(k, 0.0) for k in ("ingest", "extract", "pool", "who_benefits"))
    result = {
        "machine": {"python": platform.python_version(), "cores": args.cores},
        "networks": not args.without_networks,
        "cold_full_run_s": round(cold, 2),
        "noop_rerun_s": round(noop, 2),
        "one_row_change_s": round(change, 2),
        "snakemake_startup_dry_run_s": round(startup, 2),
        "jobs": {
            "cold": jobs_run(cold_log),
            "noop": jobs_run(noop_log),
            "one_row_change": jobs_run(change_log),
        },
        "seconds_by_rule_cold": {k: round(v, 2) for k, v in by_rule.items()},
        "where_the_time_goes_cold": {
            "report_rule_incl_kernel_s": round(by_rule.get("report", 0.0), 2),
            "figure_rules_s": round(figure_time, 2),
            "statistics_rules_s": round(stats_time, 2),
            "mechanism_cascade_s": round(by_rule.get("mechanism_cascade", 0.0), 2),
        },
        # cold <= 45 s without the network stage, <= 90 s with it (the network issue)
        "goals": {
            "cold_s": 90 if not args.without_networks else 45,
            "noop_s": 2,
            "one_row_change_s": 15,
        },
    }
    name = "workflow_without_networks.json" if args.without_networks else "workflow.json"
    out = REPO / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


class _Collect:
    """A file-like sink for csv.writer that keeps the written row."""

    def __init__(self, buffer: list[str]) -> None:
        self.buffer = buffer

    def write(self, text: str) -> None:
        self.buffer.append(text)


if __name__ == "__main__":
    main()
