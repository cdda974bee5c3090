"""Mechanism stage: who benefits (Part A) and the P2X7 -> IL-6 -> astrocyte cascade (Part B).

Entry point for the workflow: :func:`run_mechanism_stage`.
"""

from __future__ import annotations

from typing import Any


def run_mechanism_stage(*args: Any, **kwargs: Any) -> Any:
    """Run the whole stage (see :func:`inflamed.mechanism.stage.run_mechanism_stage`)."""
    from inflamed.mechanism.stage import run_mechanism_stage as _run

    return _run(*args, **kwargs)


__all__ = ["run_mechanism_stage"]
