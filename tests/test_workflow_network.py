"""The network rules, driven through Snakemake's command line on a SIMULATED network.

Questions answered here: are the network rules in the DAG (one job per network x outcome, one
scatter per network); do the network targets build and a second run do nothing; is a clean
rebuild byte-identical; does a broken network sheet stop the run before any job with the file,
row and column; is `snakemake --lint` clean with a network configured. The fixture project is
tests/test_workflow.py's, plus the network of tests/simulated_network.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from inflamed.pipeline.layout import NETWORK_FILES, NETWORK_RANKINGS
from simulated_network import write_simulated_network
from test_workflow import make_project, planned_jobs, snakemake, tree_hashes

pytestmark = pytest.mark.workflow

NETWORK = "sim-network"
OUTCOMES = ("dropout", "response")
TABLES = [*NETWORK_FILES.values(), NETWORK_RANKINGS]
FIGURES = ["network_graph", "forest", "league_heatmap", "ranking", "node_split"]


def network_project(root: Path) -> Path:
    project = make_project(root)
    write_simulated_network(project / "data" / "reviews" / NETWORK)
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["networks"] = {
        NETWORK: {
            "title": "Simulated network",
            "path": f"data/reviews/{NETWORK}",
            "reference": "placebo",
            "models": ["FE", "REML"],
            "efficacy": "response",
            "acceptability": "dropout",
            "outcomes": {
                "response": {"label": "Response", "measure": "OR", "small_values": "bad"},
                "dropout": {"label": "Dropout", "measure": "OR", "small_values": "good"},
            },
        }
    }
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=True))
    return project


def targets() -> list[str]:
    base = f"results/{NETWORK}/network"
    files = [f"{base}/{o}/{t}" for o in OUTCOMES for t in TABLES]
    files += [
        f"{base}/figures/{o}_{f}.{e}" for o in OUTCOMES for f in FIGURES for e in ("png", "svg")
    ]
    files += [f"{base}/figures/efficacy_acceptability.{e}" for e in ("png", "svg")]
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    project = network_project(tmp_path_factory.mktemp("network-project"))
    snakemake(project, *targets())
    return project


def test_dry_run_has_the_network_rules(tmp_path):
    jobs = planned_jobs(snakemake(network_project(tmp_path), "-n"))
    assert jobs["network_frequentist"] == len(OUTCOMES)
    assert jobs["network_rankings"] == len(OUTCOMES)
    assert jobs["network_figures"] == len(OUTCOMES)
    assert jobs["network_efficacy_acceptability"] == 1
    assert "network_bayes" not in jobs  # not configured for this network
    assert jobs["report"] == 1  # the report waits for the network artefacts


def test_network_targets_build_and_second_run_does_nothing(built):
    for path in targets():
        assert (built / path).is_file(), path
    assert (built / f"results/provenance/network_frequentist/{NETWORK}/response.json").is_file()
    result = snakemake(built, "-n", *targets())
    assert "Nothing to be done" in result.stdout + result.stderr


def test_network_rebuild_is_byte_identical(built, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(built, clone, ignore=shutil.ignore_patterns("results", ".snakemake"))
    snakemake(clone, *targets())
    before = tree_hashes(built / "results" / NETWORK)
    after = tree_hashes(clone / "results" / NETWORK)
    assert before == after


def test_broken_network_sheet_stops_before_any_job(tmp_path):
    project = network_project(tmp_path)
    sheet = project / "data" / "reviews" / NETWORK / "arms.csv"
    lines = sheet.read_text().splitlines()
    cells = lines[4].split(",")
    cells[3] = "lots"  # response_events of row 5
    lines[4] = ",".join(cells)
    sheet.write_text("\n".join(lines) + "\n")
    result = snakemake(project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "arms.csv" in output and "row 5" in output and "response_events" in output
    assert not (project / "results").exists()


def test_lint_is_clean_with_a_network(tmp_path):
    result = snakemake(network_project(tmp_path), "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr
