"""inflamed: a reproducible evidence-synthesis workflow for inflammation-targeted treatment of depression.

The importable library behind the Snakemake workflow. Stages live in small modules named after what
they hold (``effect_sizes``, ``pooling``, ``ingest``, ``extract``, ``mechanism``, ``figures``); the
workflow's rule scripts are thin adapters over them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("inflamed")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
