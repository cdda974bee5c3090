"""Shared fixtures. One full pipeline run per test session serves every workflow-level test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def finished_project(tmp_path_factory) -> Path:
    """The SIMULATED two-review fixture project after one full `snakemake` run.

    Tests read it; a test that edits files works on a copy.
    """
    from test_workflow import make_project, snakemake

    project = make_project(tmp_path_factory.mktemp("project"))
    snakemake(project)
    return project
