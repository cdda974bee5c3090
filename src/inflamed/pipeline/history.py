"""A living review's estimates over successive data versions (cumulative history).

Each run of the ``pooled_table`` rule calls :func:`update_history`: the pooled estimates of every
outcome are appended to a store kept between runs (``<history_dir>/<review>.csv``, config
``history_dir``) under a key made of the **hashes of the run's inputs**, never a time: the sha256
of the review's raw files and of every pooled summary (which change with the settings too), so a
fetch that brings a new record in is a new version even when no estimate moves. A run whose
key is already stored appends nothing, so rerunning on the same inputs leaves the store and the
artefact (``results/<review>/pool/history.csv``, a copy of the store) byte-identical. Versions are
numbered in the order they were first seen; ``data_sha256`` (the review's raw files) tells a new
data version (e.g. after ``inflamed fetch``) from a change of settings on the same data.

The store is the one file the workflow keeps between runs; delete it to start the path afresh.
The report's view of it is :func:`inflamed.report.history.history_section`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from inflamed.io import write_bytes, write_csv

__all__ = ["HISTORY_COLUMNS", "inputs_key", "update_history"]

#: Columns of the store and of ``history.csv``; the estimates are those of ``pooled.csv``.
HISTORY_COLUMNS = [
    "version",
    "inputs_sha256",
    "data_sha256",
    "outcome",
    "label",
    "measure",
    "analysis_set",
    "primary",
    "k",
    "n_participants",
    "estimable",
    "estimate",
    "ci_lb",
    "ci_ub",
    "ratio_estimate",
    "ratio_ci_lb",
    "ratio_ci_ub",
]


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def inputs_key(paths: Sequence[str | Path]) -> str:
    """One sha256 over the sorted ``(file name, sha256)`` pairs of ``paths``.

    Names are taken relative to nothing but the file's last two parts (``outcome/summary.json``),
    so the same inputs in another checkout or results folder give the same key.
    """
    digest = hashlib.sha256()
    for name, sha in sorted(("/".join(Path(p).parts[-2:]), _sha256(p)) for p in paths):
        digest.update(f"{name}\t{sha}\n".encode())
    return digest.hexdigest()


def update_history(
    store: str | Path,
    output: str | Path,
    pooled: pd.DataFrame,
    *,
    summaries: Sequence[str | Path],
    data_files: Sequence[str | Path],
) -> pd.DataFrame:
    """Append this run's estimates to ``store`` if its inputs are new; copy the store to ``output``.

    Parameters
    ----------
    store
        The CSV kept between runs (created when absent).
    output
        The artefact (``results/<review>/pool/history.csv``).
    pooled
        This run's ``pooled.csv`` frame (:func:`inflamed.pool.pooled_table`).
    summaries
        The pooled summaries the table was built from.
    data_files
        The review's raw input files (their hashes alone make ``data_sha256``; with the
        summaries' they make the key ``inputs_sha256``).

    Returns
    -------
    pandas.DataFrame
        The whole history (:data:`HISTORY_COLUMNS`), oldest version first.
    """
    store = Path(store)
    key = inputs_key([*summaries, *data_files])
    history = (
        pd.read_csv(store, dtype={"inputs_sha256": str, "data_sha256": str}, keep_default_na=False)
        if store.is_file()
        else pd.DataFrame(columns=HISTORY_COLUMNS)
    )
    if key not in set(history["inputs_sha256"]):
        version = int(pd.to_numeric(history["version"]).max()) + 1 if len(history) else 1
        rows = pooled.reindex(columns=HISTORY_COLUMNS).assign(
            version=version, inputs_sha256=key, data_sha256=inputs_key(data_files)
        )
        history = pd.concat([history, rows], ignore_index=True) if len(history) else rows
        # Earlier rows were read as text, so they are written back exactly as they were.
        write_csv(store, history[HISTORY_COLUMNS])
    write_bytes(output, store.read_bytes())
    return pd.read_csv(store, dtype={"inputs_sha256": str, "data_sha256": str})
