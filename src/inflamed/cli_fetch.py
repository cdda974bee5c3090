"""``inflamed fetch ctgov``: the command-line face of :mod:`inflamed.ingest.fetch`.

::

    inflamed fetch ctgov --review NAME [NCT ...] [--config config.yaml] [--base-url URL]
        [--attempts N] [--timeout S]

Building the parser imports nothing heavy (``inflamed --version`` stays instant); the download
code, and with it requests and pandas, is imported when the command runs. Defaults (API root,
attempts, timeout) are defined once, in :mod:`inflamed.ingest.fetch`.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_fetch_parser"]


def _run(args: argparse.Namespace) -> int:
    from inflamed.ingest.fetch import cmd_fetch_ctgov

    return cmd_fetch_ctgov(args)


def add_fetch_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``inflamed fetch ctgov`` on the command line's sub-parsers."""
    fetch = sub.add_parser("fetch", help="download registry records into a review's folder")
    source = fetch.add_subparsers(dest="source", required=True)
    ctgov = source.add_parser(
        "ctgov", help="ClinicalTrials.gov API v2 study records (with results)"
    )
    ctgov.add_argument("nct_ids", nargs="*", metavar="NCT", help="default: the studies sheet's")
    ctgov.add_argument("--review", required=True, help="review name under reviews: in the config")
    ctgov.add_argument("--config", default="config.yaml", help="config file (default: %(default)s)")
    ctgov.add_argument(
        "--base-url", help="API root; <URL>/studies/<NCT> is requested (default: the public API v2)"
    )
    ctgov.add_argument("--attempts", type=int, help="requests per record at most (default: 4)")
    ctgov.add_argument("--timeout", type=float, help="seconds per request (default: 30)")
    ctgov.set_defaults(func=_run)
    return fetch
