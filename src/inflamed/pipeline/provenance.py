"""Provenance records and the run manifest: which rule made each artefact, from what, with what.

Each workflow job writes one small JSON record (:func:`write_record`) naming its rule, wildcards,
parameters (the config values it used) and the sha256 of every input. The final ``manifest`` job
(:func:`build_manifest`) hashes every artefact and joins it to the record of the job that made it,
so a reviewer can walk from any number back to the raw file it came from.

Records contain no timestamps and only paths relative to the working directory, so they are
byte-identical across reruns on the same inputs.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from inflamed.io import dumps_json, write_json

#: Packages whose versions decide the numbers and figures; recorded in every manifest.
TRACKED_PACKAGES = (
    "inflamed",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "jsonschema",
    "snakemake",
    "papermill",
    "nbconvert",
)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of the tracked packages (``"not installed"`` where absent) and of Python."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _relative(path: str | Path) -> str:
    path = Path(path)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
    return path.as_posix()


def _hash_inputs(paths: Iterable[str | Path]) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            hashes[_relative(file)] = sha256_file(file)
    return dict(sorted(hashes.items()))


@dataclass(frozen=True)
class ProvenanceRecord:
    """What one job did: rule, wildcards, params, input hashes and the outputs it declared."""

    rule: str
    wildcards: dict[str, str]
    params: dict[str, Any]
    inputs: dict[str, str]
    outputs: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "wildcards": self.wildcards,
            "params": self.params,
            "inputs": self.inputs,
            "outputs": self.outputs,
        }


def make_record(
    *,
    rule: str,
    wildcards: Mapping[str, str],
    params: Mapping[str, Any],
    inputs: Iterable[str | Path],
    outputs: Iterable[str | Path],
) -> ProvenanceRecord:
    """Build a record, hashing the inputs now (they are what this job actually read)."""
    return ProvenanceRecord(
        rule=rule,
        wildcards={str(k): str(v) for k, v in sorted(dict(wildcards).items())},
        params={str(k): v for k, v in sorted(dict(params).items())},
        inputs=_hash_inputs(inputs),
        outputs=sorted(_relative(p) for p in outputs),
    )


def write_record(path: str | Path, record: ProvenanceRecord) -> None:
    """Write a provenance record atomically."""
    write_json(path, record.to_dict())


def build_manifest(
    artefacts: Iterable[str | Path],
    records: Iterable[Mapping[str, Any]],
    *,
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """Join artefact hashes to the jobs that made them.

    Parameters
    ----------
    artefacts
        Every artefact to list (logs and benchmarks excluded by the caller).
    records
        Provenance records (as dicts) of the jobs of this run.
    config
        The validated configuration of the run (recorded whole, and digested).

    Returns
    -------
    dict
        ``{"artefacts": [...], "config": ..., "config_sha256": ..., "versions": ...}`` with one
        entry per artefact: ``path, sha256, bytes, rule, wildcards, params, inputs``.
    """
    made_by: dict[str, Mapping[str, Any]] = {}
    for record in records:
        for output in record["outputs"]:
            made_by[output] = record
    entries = []
    for artefact in sorted({_relative(a) for a in artefacts}):
        record = made_by.get(artefact, {})
        entries.append(
            {
                "path": artefact,
                "sha256": sha256_file(artefact),
                "bytes": Path(artefact).stat().st_size,
                "rule": record.get("rule"),
                "wildcards": record.get("wildcards", {}),
                "params": record.get("params", {}),
                "inputs": record.get("inputs", {}),
            }
        )
    config_text = dumps_json(config)
    return {
        "artefacts": entries,
        "config": config,
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),
        "versions": package_versions(),
    }


def digest_of(paths: Iterable[str | Path]) -> str:
    """One sha256 over the (path, sha256) pairs of ``paths``: a fingerprint of a set of files."""
    digest = hashlib.sha256()
    for path in sorted(_relative(p) for p in paths):
        digest.update(f"{path}\t{sha256_file(path)}\n".encode())
    return digest.hexdigest()
