"""Time `inflamed fetch ctgov` on five records served by a local stand-in for the registry.

::

    python benchmarks/bench_fetch.py             # 5 timed runs after a warm-up
    python benchmarks/bench_fetch.py --serve     # only serve; prints the command to time

The server (tests/ctgov_server.py, 127.0.0.1, no internet) serves the real recorded record
NCT00463580 (tests/fixtures/ctgov) and, for the review's four other registered trials, **simulated**
copies of it whose only change is the NCT id. Every second request of a record gets a version with
one week-12 value changed, so each run saves five records and computes five non-empty diffs (the
slow path), not five "unchanged". Each run is a whole `inflamed` process (interpreter start and
imports included), timed from outside; results go to ``benchmarks/results/fetch.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from ctgov_server import Reply, serve  # noqa: E402
from inflamed.io import write_json  # noqa: E402

RECORD = REPO / "tests" / "fixtures" / "ctgov" / "NCT00463580.json"
#: The review's registered trials with posted results (issue 13); all but the first are simulated.
TRIALS = ("NCT00463580", "NCT02473289", "NCT02363738", "NCT03006393", "NCT03004443")


def _versions(nct: str) -> list[bytes]:
    record = json.loads(RECORD.read_bytes())
    record["protocolSection"]["identificationModule"]["nctId"] = nct
    first = json.dumps(record, indent=2).encode()
    om = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    week12 = next(c for c in om["classes"] if c["title"] == "Week 12")
    week12["categories"][0]["measurements"][0]["value"] = "99.9"  # simulated change
    return [first, json.dumps(record, indent=2).encode()]


def _project(root: Path) -> Path:
    review = root / "review"
    review.mkdir()
    rows = "\n".join(f"SIM{i},{nct}" for i, nct in enumerate(TRIALS))
    (review / "studies.csv").write_text(f"study_id,registry_id\n{rows}\n", encoding="utf-8")
    config = root / "config.yaml"
    config.write_text(f"reviews:\n  bench:\n    path: {review}\n", encoding="utf-8")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help="serve until interrupted")
    args = parser.parse_args()
    versions = {nct: _versions(nct) for nct in TRIALS}
    # Alternate the two versions: 2n+1 replies cover n runs of the warm-up plus the timed runs.
    routes = {
        f"/api/v2/studies/{nct}": [Reply(200, v[i % 2]) for i in range(2 * args.runs + 200)]
        for nct, v in versions.items()
    }
    root = Path(tempfile.mkdtemp(prefix="bench-fetch-"))
    try:
        config = _project(root)
        inflamed = Path(sys.executable).with_name("inflamed")
        with serve(routes) as (base, hits):
            command = [str(inflamed), "fetch", "ctgov", "--review", "bench", "--config",
                       str(config), "--base-url", base]  # fmt: skip
            if args.serve:
                # A background job ignores SIGINT: let `kill PID` end it cleanly too.
                signal.signal(signal.SIGTERM, signal.default_int_handler)
                print(" ".join(command), flush=True)
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    return
            subprocess.run(command, check=True, capture_output=True)  # warm-up
            walls = []
            for _ in range(args.runs):
                start = time.perf_counter()
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                walls.append(time.perf_counter() - start)
                assert done.stdout.count(": changed") == len(TRIALS), done.stdout
        out = {
            "what": "inflamed fetch ctgov, 5 records (1 real, 4 simulated copies), local server",
            "runs": args.runs,
            "wall_s_median": statistics.median(walls),
            "wall_s_min": min(walls),
            "wall_s_max": max(walls),
            "requests": sum(hits.values()),
            "machine": f"{platform.machine()}, {platform.python_version()}",
        }
        write_json(REPO / "benchmarks" / "results" / "fetch.json", out)
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
