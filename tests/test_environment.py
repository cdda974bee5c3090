"""The set-up promises: pinned dependencies, per-stage conda envs in step with the pins, and CI
running exactly the README's test command."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib"}


def lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_every_lock_line_is_an_exact_pin():
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line.strip()), line


def test_direct_dependencies_are_pinned():
    pins = lock()
    for name in [
        "snakemake",
        "pandas",
        "numpy",
        "scipy",
        "statsmodels",
        "seaborn",
        "papermill",
        "pytest",
        "matplotlib",
        "jsonschema",
        "nbconvert",
        "ipykernel",
        "hypothesis",
        "requests",
    ]:
        assert name in pins, f"{name} is not pinned in requirements.lock"


def test_conda_envs_match_the_lock():
    pins = lock()
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert {p.stem for p in envs} >= {"ingest", "extract", "pool", "mechanism", "figures", "report"}
    for path in envs:
        env = yaml.safe_load(path.read_text())
        for dep in env["dependencies"]:
            if not isinstance(dep, str) or "=" not in dep:
                continue
            name, version = dep.split("=", 1)
            if name == "python":
                assert version == "3.11"
                continue
            name = CONDA_TO_PYPI.get(name, name)
            assert pins.get(name) == version, (
                f"{path.name}: {dep} but requirements.lock has {pins.get(name)}"
            )


def test_every_rule_names_an_existing_env():
    for rules in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', rules.read_text()):
            assert (rules.parent / env).resolve().exists(), f"{rules.name}: {env} missing"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert len(commands) == 2, "the quick start must show exactly two commands"
    run_pipeline, run_tests = commands
    assert "snakemake --cores" in run_pipeline
    assert run_tests in (REPO / ".ci" / "run").read_text()
