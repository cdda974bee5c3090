"""inflamed: a reproducible evidence-synthesis workflow for inflammation-targeted treatment of depression.

The importable library behind the Snakemake workflow. Stages live in small modules named after what
they hold (``effect_sizes``, ``pooling``, ``ingest``, ``extract``, ``mechanism``, ``figures``); the
workflow's rule scripts are thin adapters over them.
"""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__`` is looked up on first use: importlib.metadata costs ~70 ms at start-up,
    which every ``import inflamed.<module>`` (and ``inflamed --version``) would otherwise pay."""
    if name != "__version__":
        raise AttributeError(f"module 'inflamed' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("inflamed")
    except PackageNotFoundError:  # running from a source tree that was not installed
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
