"""Load the stage artefacts the report reads into small frozen dataclasses.

Nothing here computes a result: the report only reads what the stages wrote
(``results/<review>/<stage>/...``, see docs/architecture.md "Stage artefacts"). An artefact that
is absent is not an error here; it is listed in ``missing_files`` and the report says so where it
would have shown it. Every file actually read is listed in ``files_read`` so the report can print
a digest of exactly what it was built from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.errors import InputError
from inflamed.io import read_artefact_csv
from inflamed.pipeline.layout import (
    CASCADE_FIGURES,
    OUTCOME_FIGURES,
    POOL_FILES,
    REVIEW_FIGURES,
)
from inflamed.report.requests import read_data_requests

__all__ = [
    "MechanismArtefacts",
    "OutcomeArtefacts",
    "ReviewArtefacts",
    "load_mechanism",
    "load_review",
    "read_run_config",
]


class _Reader:
    """Reads files, remembering which it read and which were absent."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.missing: list[str] = []

    def _exists(self, path: Path) -> bool:
        if path.is_file():
            self.read.append(path.as_posix())
            return True
        self.missing.append(path.as_posix())
        return False

    def json(self, path: Path) -> dict[str, Any] | None:
        if not self._exists(path):
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def csv(self, path: Path) -> pd.DataFrame | None:
        if not self._exists(path):
            return None
        return read_artefact_csv(path)

    def figure(self, path: Path) -> Path:
        self._exists(path)
        return path


@dataclass(frozen=True)
class OutcomeArtefacts:
    """The pool-stage artefacts and figures of one outcome (``None`` where absent)."""

    name: str
    spec: dict[str, Any]
    summary: dict[str, Any] | None
    studies: pd.DataFrame | None
    subgroups: dict[str, Any] | None
    small_study: dict[str, Any] | None
    leave_one_out: pd.DataFrame | None
    influence: pd.DataFrame | None
    cumulative: pd.DataFrame | None
    figures: dict[str, Path]
    paths: dict[str, str]

    @property
    def label(self) -> str:
        """Human-readable outcome name (config label, else the summary's, else the key)."""
        if self.spec.get("label"):
            return str(self.spec["label"])
        if self.summary and self.summary.get("label"):
            return str(self.summary["label"])
        return self.name


@dataclass(frozen=True)
class ReviewArtefacts:
    """Every artefact of one review that the report reads."""

    name: str
    title: str
    spec: dict[str, Any]
    results_dir: str
    outcomes: dict[str, OutcomeArtefacts]
    studies: pd.DataFrame | None
    risk_of_bias: pd.DataFrame | None
    published: pd.DataFrame | None
    prisma: pd.DataFrame | None
    effects: pd.DataFrame | None
    derivation_log: pd.DataFrame | None
    missing_data: pd.DataFrame | None
    pooled: pd.DataFrame | None
    who_benefits: dict[str, Any] | None
    crp_predictions: pd.DataFrame | None
    clinic_bridge: pd.DataFrame | None
    figures: dict[str, Path]
    paths: dict[str, str]
    files_read: tuple[str, ...] = field(default_factory=tuple)
    missing_files: tuple[str, ...] = field(default_factory=tuple)
    #: The ingested arm-level rows (``ingest/contrasts.csv``), for rows the extract stage set
    #: aside with a reason (e.g. no events in either arm) that the report must still show.
    contrasts: pd.DataFrame | None = None
    #: The extract stage's rows on each instrument's own scale (``extract/instrument_effects.csv``):
    #: results that enter only the MD analysis are results too (risk of bias per result).
    instrument_effects: pd.DataFrame | None = None
    #: The human-maintained data-request log shipped in the review folder (``data_requests.csv``).
    data_requests: pd.DataFrame | None = None

    def path(self, stage: str, name: str) -> str:
        """``<results_dir>/<review>/<stage>/<name>`` as a POSIX string (the report's locators)."""
        return (Path(self.results_dir) / self.name / stage / name).as_posix()


@dataclass(frozen=True)
class MechanismArtefacts:
    """The run-level mechanism (cascade model) artefacts."""

    results_dir: str
    cascade_fit: dict[str, Any] | None
    identifiability: pd.DataFrame | None
    interventions: pd.DataFrame | None
    sensitivity: pd.DataFrame | None
    figures: dict[str, Path]
    files_read: tuple[str, ...] = field(default_factory=tuple)
    missing_files: tuple[str, ...] = field(default_factory=tuple)


def read_run_config(path: str | Path) -> dict[str, Any]:
    """Read ``results/run_config.json`` (the validated configuration of the run).

    Raises
    ------
    InputError
        The file is absent or not a JSON object with a ``reviews`` mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "the run configuration was not found; run the pipeline first (snakemake --cores 2)",
            file=path,
            expected="results/run_config.json written by the run_config rule",
        )
    config = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict) or not isinstance(config.get("reviews"), dict):
        raise InputError(
            "the run configuration has no 'reviews' mapping",
            file=path,
            key="reviews",
            expected="the validated config as written by the run_config rule",
        )
    return config


def _outcome_names(config: Mapping[str, Any] | None, review: str, pool_dir: Path) -> list[str]:
    if config and review in config.get("reviews", {}):
        return sorted(config["reviews"][review].get("outcomes", {}))
    if pool_dir.is_dir():
        return sorted(p.name for p in pool_dir.iterdir() if p.is_dir())
    return []


def load_review(
    results_dir: str | Path, review: str, config: Mapping[str, Any] | None = None
) -> ReviewArtefacts:
    """Read one review's artefacts.

    Parameters
    ----------
    results_dir
        The run's results folder (``results``), relative to the working directory.
    review
        The review's name (a key of ``config["reviews"]``).
    config
        The validated run configuration (for outcome names, labels and the review title); without
        it the outcomes are the folders under ``pool/``.

    Returns
    -------
    ReviewArtefacts
        Absent artefacts are ``None`` and listed in ``missing_files``.
    """
    if config is not None and review not in config.get("reviews", {}):
        raise InputError(
            "unknown review",
            key="reviews",
            value=review,
            expected=f"one of {sorted(config.get('reviews', {}))}",
        )
    results = Path(results_dir)
    base = results / review
    spec = dict(config["reviews"][review]) if config is not None else {}
    reader = _Reader()
    paths: dict[str, str] = {}

    def at(stage: str, name: str) -> Path:
        path = base / stage / name
        paths[f"{stage}/{name}"] = path.as_posix()
        return path

    outcomes: dict[str, OutcomeArtefacts] = {}
    for name in _outcome_names(config, review, base / "pool"):
        folder = base / "pool" / name
        opaths = {part: (folder / file).as_posix() for part, file in POOL_FILES.items()}
        outcomes[name] = OutcomeArtefacts(
            name=name,
            spec=dict(spec.get("outcomes", {}).get(name, {})),
            summary=reader.json(folder / POOL_FILES["summary"]),
            studies=reader.csv(folder / POOL_FILES["studies"]),
            subgroups=reader.json(folder / POOL_FILES["subgroups"]),
            small_study=reader.json(folder / POOL_FILES["small_study"]),
            leave_one_out=reader.csv(folder / POOL_FILES["leave_one_out"]),
            influence=reader.csv(folder / POOL_FILES["influence"]),
            cumulative=reader.csv(folder / POOL_FILES["cumulative"]),
            figures={
                figure: reader.figure(base / "figures" / f"{name}_{figure}.png")
                for figure in OUTCOME_FIGURES
            },
            paths=opaths,
        )

    figures = {
        figure: reader.figure(base / "figures" / f"{figure}.png") for figure in REVIEW_FIGURES
    }
    figures["crp_bubble"] = reader.figure(base / "mechanism" / "crp_bubble.png")
    artefacts = ReviewArtefacts(
        name=review,
        title=str(spec.get("title") or review),
        spec=spec,
        results_dir=results.as_posix(),
        outcomes=outcomes,
        studies=reader.csv(at("ingest", "studies.csv")),
        risk_of_bias=reader.csv(at("ingest", "risk_of_bias.csv")),
        published=reader.csv(at("ingest", "published_estimates.csv")),
        prisma=reader.csv(at("ingest", "prisma.csv")),
        effects=reader.csv(at("extract", "effects.csv")),
        derivation_log=reader.csv(at("extract", "derivation_log.csv")),
        missing_data=reader.csv(at("extract", "missing_data.csv")),
        pooled=reader.csv(at("pool", "pooled.csv")),
        who_benefits=reader.json(at("mechanism", "who_benefits.json")),
        crp_predictions=reader.csv(at("mechanism", "crp_predictions.csv")),
        clinic_bridge=reader.csv(at("mechanism", "clinic_bridge.csv")),
        figures=figures,
        paths=paths,
        contrasts=reader.csv(at("ingest", "contrasts.csv")),
        instrument_effects=reader.csv(at("extract", "instrument_effects.csv")),
        data_requests=read_data_requests(spec["path"]) if spec.get("path") else None,
        files_read=(),
        missing_files=(),
    )
    return replace(artefacts, files_read=tuple(reader.read), missing_files=tuple(reader.missing))


def load_mechanism(results_dir: str | Path) -> MechanismArtefacts:
    """Read the run-level mechanism artefacts (``results/mechanism/...``)."""
    base = Path(results_dir) / "mechanism"
    reader = _Reader()
    return MechanismArtefacts(
        results_dir=Path(results_dir).as_posix(),
        cascade_fit=reader.json(base / "cascade_fit.json"),
        identifiability=reader.csv(base / "identifiability.csv"),
        interventions=reader.csv(base / "interventions.csv"),
        sensitivity=reader.csv(base / "sensitivity.csv"),
        figures={figure: reader.figure(base / f"{figure}.png") for figure in CASCADE_FIGURES},
        files_read=tuple(reader.read),
        missing_files=tuple(reader.missing),
    )
