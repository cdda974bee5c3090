"""The workflow, driven through Snakemake's command line on SIMULATED fixture reviews.

Questions answered here: does the DAG have every stage; does a full run produce the report and
manifest; does a second run do nothing; is a forced rerun byte-identical; does a one-row edit
reschedule only that review's jobs; do a broken config and a broken sheet stop the run with the
promised message and leave the data untouched; is `snakemake --lint` clean.

The fixture project is a copy of the workflow with two simulated reviews (tests/simulated_review.py)
and the repository's real instruments and mechanism targets.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulated_review import write_simulated_review

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
COPIED = ["Snakefile", "README.md", "workflow", "notebooks", "profiles", "envs"]
REVIEWS = {"review-a": 101, "review-b": 202}


def fixture_config() -> dict:
    outcomes = {
        "depression_severity": {
            "type": "continuous",
            "measure": "SMD",
            "label": "Depressive symptom severity",
        },
        "response": {"type": "binary", "measure": "RR", "event_is": "benefit", "label": "Response"},
    }
    return {
        "reviews": {
            name: {
                "path": f"data/reviews/{name}",
                "outcomes": outcomes,
                "title": f"Simulated {name}",
            }
            for name in REVIEWS
        },
        "instruments": "data/instruments.csv",
        "mechanism": {"targets": "data/mechanism/targets.csv"},
        "pooling": {"small_study_min_k": 10},
    }


def make_project(root: Path) -> Path:
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    (root / "data" / "mechanism").mkdir(parents=True)
    shutil.copy2(REPO / "data" / "instruments.csv", root / "data" / "instruments.csv")
    for item in (REPO / "data" / "mechanism").iterdir():
        shutil.copy2(item, root / "data" / "mechanism" / item.name)
    for name, seed in REVIEWS.items():
        write_simulated_review(root / "data" / "reviews" / name, seed=seed, prefix=name[-1].upper())
    (root / "config.yaml").write_text(yaml.safe_dump(fixture_config(), sort_keys=True))
    return root


def snakemake(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    # No fixed PYTHONHASHSEED: users run with a random one, and every run here gets its own, so
    # the rerun tests see any output (or code digest) that depends on string hashing.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    result = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        )
    return result


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def artefact_hashes(project: Path) -> dict[str, str]:
    hashes = tree_hashes(project / "results")
    return {k: v for k, v in hashes.items() if not k.startswith(("logs/", "benchmarks/"))}


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Parse the job-count table that `snakemake -n` prints."""
    jobs: dict[str, int] = {}
    in_table = False
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    jobs[parts[0]] = int(parts[1])
            elif parts and not set(parts[0]) <= {"-"}:
                in_table = False
    return jobs


def test_dry_run_has_every_stage(tmp_path):
    project = make_project(tmp_path)
    jobs = planned_jobs(snakemake(project, "-n"))
    for rule in [
        "ingest",
        "extract",
        "pool",
        "pooled_table",
        "mechanism_cascade",
        "who_benefits",
        "outcome_figures",
        "review_figures",
        "rob_results_figure",
        "figure_comparison",
        "run_config",
        "report",
        "manifest",
        "all",
    ]:
        assert rule in jobs, f"rule {rule} missing from the DAG: {sorted(jobs)}"
    assert jobs["ingest"] == len(REVIEWS)
    assert jobs["pool"] == 2 * len(REVIEWS)
    assert jobs["mechanism_cascade"] == 1
    assert jobs["outcome_figures"] == 2 * len(REVIEWS)  # one process draws an outcome's figures


def test_full_run_writes_report_and_manifest(finished_project):
    import json

    report = finished_project / "results" / "report.html"
    manifest = json.loads((finished_project / "results" / "MANIFEST.json").read_text())
    assert report.stat().st_size > 10_000
    paths = {entry["path"] for entry in manifest["artefacts"]}
    assert "results/report.html" in paths
    assert "results/review-a/pool/depression_severity/summary.json" in paths
    by_path = {entry["path"]: entry for entry in manifest["artefacts"]}
    pooled = by_path["results/review-a/pool/depression_severity/summary.json"]
    assert pooled["rule"] == "pool"
    assert "results/review-a/extract/effects.csv" in pooled["inputs"]
    assert pooled["params"]["pooling"]["preset"] == "cochrane"
    assert manifest["versions"]["numpy"]
    for entry in manifest["artefacts"]:
        assert entry["rule"], f"no rule recorded for {entry['path']}"
        assert not Path(entry["path"]).is_absolute()


def test_second_run_does_nothing(finished_project):
    result = snakemake(finished_project, "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_forced_rerun_is_byte_identical(finished_project, tmp_path):
    before = artefact_hashes(finished_project)
    clone = tmp_path / "clone"
    shutil.copytree(finished_project, clone, ignore=shutil.ignore_patterns("results", ".snakemake"))
    snakemake(clone)
    after = artefact_hashes(clone)
    assert before.keys() == after.keys()
    differing = sorted(k for k in before if before[k] != after[k])
    assert not differing, f"artefacts differ between two clean runs: {differing}"


def test_one_row_change_reruns_only_that_review(finished_project, tmp_path):
    clone = tmp_path / "edited"
    shutil.copytree(finished_project, clone, ignore=shutil.ignore_patterns(".snakemake"))
    # Snakemake's metadata lives in .snakemake; without it every file looks new, so rerun once.
    snakemake(clone, "--touch")
    sheet = clone / "data" / "reviews" / "review-a" / "outcomes.csv"
    lines = sheet.read_text().splitlines()
    lines[1] = lines[1].replace("simulation", "simulation (edited)")
    sheet.write_text("\n".join(lines) + "\n")
    jobs = planned_jobs(snakemake(clone, "-n"))
    assert jobs.get("ingest") == 1
    assert "mechanism_cascade" not in jobs
    assert jobs.get("pool") == 2  # review-a's two outcomes, not review-b's
    result = snakemake(clone, "-n", "--quiet", "rules")
    assert "review-b" not in "".join(
        line for line in result.stdout.splitlines() if "wildcards" in line
    )


# ---- the rerun contract: a change reruns exactly the jobs whose inputs, params or code it touches --


def _touched_clone(finished_project: Path, tmp_path: Path, name: str) -> Path:
    """A copy of the finished project, with the Snakemake metadata that records each job's params."""
    clone = tmp_path / name
    shutil.copytree(finished_project, clone, ignore=shutil.ignore_patterns("locks", "incomplete"))
    assert not planned_jobs(snakemake(clone, "-n")), "the copy should have nothing to do"
    return clone


def test_a_review_title_reaches_only_the_report(finished_project, tmp_path):
    clone = _touched_clone(finished_project, tmp_path, "retitled")
    config = yaml.safe_load((clone / "config.yaml").read_text())
    config["reviews"]["review-a"]["title"] = "A new title"
    (clone / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=True))
    jobs = planned_jobs(snakemake(clone, "-n"))
    assert set(jobs) == {"run_config", "report", "manifest", "all"}, jobs


def test_a_comment_in_a_rule_script_reruns_nothing(finished_project, tmp_path):
    clone = _touched_clone(finished_project, tmp_path, "commented")
    script = clone / "workflow" / "scripts" / "pool.py"
    script.write_text(script.read_text() + "\n# A comment changes no result.\n")
    result = snakemake(clone, "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_code_change_in_a_rule_script_reruns_its_jobs(finished_project, tmp_path):
    clone = _touched_clone(finished_project, tmp_path, "recoded")
    script = clone / "workflow" / "scripts" / "pooled_table.py"
    script.write_text(script.read_text() + "\nUNUSED_CONSTANT = 1\n")
    jobs = planned_jobs(snakemake(clone, "-n"))
    assert jobs.get("pooled_table") == len(REVIEWS)
    assert "pool" not in jobs and "ingest" not in jobs, jobs


def test_a_library_change_reruns_exactly_the_rules_that_import_it():
    """The ``code`` param of a rule covers the library modules its script imports, transitively.

    (Checked on the digests rather than by editing the installed library, which every test shares.)
    """
    from inflamed.pipeline.code_digest import module_closure

    scripts = REPO / "workflow" / "scripts"
    pooling = (REPO / "src" / "inflamed" / "stats" / "pooling.py").resolve()
    cascade = (REPO / "src" / "inflamed" / "mechanism" / "cascade.py").resolve()
    uses = {s.stem: {p.resolve() for p in module_closure(s)} for s in scripts.glob("*.py")}
    assert pooling in uses["pool"] and pooling in uses["who_benefits"]
    assert pooling not in uses["ingest"] and pooling not in uses["review_figures"]
    assert cascade in uses["mechanism_cascade"] and cascade not in uses["pool"]


def test_every_config_key_is_read_by_some_code():
    """A config key no code reads is a promise nothing keeps: each schema key must have a reader."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    code = "\n".join(
        p.read_text(encoding="utf-8")
        for folder in ("src", "workflow", "notebooks")
        for p in sorted((REPO / folder).rglob("*"))
        if p.suffix in {".py", ".smk", ".ipynb"}
    )

    def keys(node: dict, prefix: str = "") -> list[str]:
        found = []
        for key, sub in node.get("properties", {}).items():
            found.append(prefix + key)
            found += keys(sub, f"{prefix}{key}.")
            if isinstance(sub.get("additionalProperties"), dict):
                found += keys(sub["additionalProperties"], f"{prefix}{key}.*.")
        return found

    unread = [k for k in keys(schema) if f"{k.split('.')[-1]!r}" not in code.replace('"', "'")]
    assert not unread, f"config keys no code reads: {unread}"


def test_broken_config_stops_with_message(tmp_path):
    project = make_project(tmp_path)
    config = yaml.safe_load((project / "config.yaml").read_text())
    config["pooling"]["method"] = "REMLX"
    (project / "config.yaml").write_text(yaml.safe_dump(config))
    data_before = tree_hashes(project / "data")
    result = snakemake(project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "pooling.method" in output and "REMLX" in output and "'REML'" in output
    assert tree_hashes(project / "data") == data_before
    assert not (project / "results").exists()


def test_broken_sheet_stops_with_message(tmp_path):
    project = make_project(tmp_path)
    sheet = project / "data" / "reviews" / "review-b" / "outcomes.csv"
    text = sheet.read_text().splitlines()
    header = text[0].split(",")
    cells = text[3].split(",")
    cells[header.index("sd_treat")] = "-2.5"
    text[3] = ",".join(cells)
    sheet.write_text("\n".join(text) + "\n")
    data_before = tree_hashes(project / "data")
    result = snakemake(project, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "outcomes.csv" in output and "row 4" in output and "sd_treat" in output
    assert tree_hashes(project / "data") == data_before
    assert not (project / "results").exists()


def test_lint_is_clean(tmp_path):
    project = make_project(tmp_path)
    result = snakemake(project, "--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr, result.stdout + result.stderr


def test_audit_report_builds(finished_project, tmp_path):
    import zipfile

    audit = tmp_path / "audit.zip"
    snakemake(finished_project, "--report", str(audit))
    names = zipfile.ZipFile(audit).namelist()
    assert any(name.endswith("report.html") for name in names)
    assert any("forest" in name and name.endswith(".png") for name in names), names[:20]


def test_one_study_label_in_pool_figure_input_and_report(finished_project):
    """The same study carries the same ``Author Year`` label in the pool stage's per-study table,
    the forest and risk-of-bias figure inputs and the report HTML (never its id)."""
    from inflamed.labels import study_label
    from inflamed.pipeline.figure_inputs import forest_input, read_csv, risk_of_bias_input

    base = finished_project / "results" / "review-a"
    studies = read_csv(base / "ingest" / "studies.csv")
    expected = {str(r["study_id"]): study_label(r) for _, r in studies.iterrows()}
    pool = base / "pool" / "depression_severity"
    per_study = read_csv(pool / "studies.csv")
    sid = str(per_study["study_id"].iloc[0])
    label = expected[sid]
    assert label != sid and label.split()[-1].isdigit()
    assert set(per_study.loc[per_study["study_id"] == sid, "label"]) == {label}
    forest = forest_input(pool / "studies.csv", pool / "summary.json", pool / "subgroups.json")
    shown = forest.frames["studies"]
    assert set(shown.loc[shown["study_id"] == sid, "label"]) == {label}
    rob = risk_of_bias_input(read_csv(base / "ingest" / "risk_of_bias.csv"), studies)
    assert label in set(rob["study_id"]) and sid not in set(rob["study_id"])
    html = (finished_project / "results" / "report.html").read_text(encoding="utf-8")
    assert label in html
    assert f"{sid} (" not in html
