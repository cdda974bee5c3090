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
:func:`history_section` is the report's view: per review and outcome, the primary estimate of
each version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.io import write_bytes, write_csv
from inflamed.pipeline.layout import POOLED_HISTORY

__all__ = ["HISTORY_COLUMNS", "history_section", "inputs_key", "update_history"]

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
RATIO = {"RR", "OR"}


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


def _registry_parts(ingest_dir: Path) -> list[str]:
    """What the saved registry records gave this run (``ingest_summary.json``'s ``registry``)."""
    from inflamed.report.html import esc, html_table

    path = ingest_dir / "ingest_summary.json"
    registry = (
        json.loads(path.read_text(encoding="utf-8")).get("registry") if path.is_file() else None
    )
    if not registry:
        return []
    where = esc(path.as_posix())
    parts = [
        f"<p>Registry records (saved by <code>inflamed fetch ctgov</code>): "
        f"{registry['arm_level_rows_read']} arm-level row(s) read, "
        f"{registry['arm_level_rows_added']} added to the sheets' rows, "
        f"{len(registry['disagreements_with_sheets'])} value(s) differing from the sheets (the "
        f"sheets were kept), {len(registry['between_arm_rows'])} between-arm row(s) listed but not "
        f"pooled; not yet fetched: {esc(', '.join(registry['not_fetched']) or 'none')}. "
        f"Source: {where}.</p>"
    ]
    if registry["disagreements_with_sheets"]:
        parts.append(html_table(pd.DataFrame(registry["disagreements_with_sheets"])))
    unmapped = registry["unmapped_measures"]
    if unmapped:
        items = "".join(f"<li>{esc(u['nct_id'])}: {esc(u['title'])}</li>" for u in unmapped)
        parts.append(f"<p>Registry measures no mapping entry covers:</p><ul>{items}</ul>")
    return parts


def history_section(reviews: Sequence[Any]) -> str:
    """The report's "Estimates over data versions" section (one table per review).

    ``reviews`` are :class:`inflamed.report.ReviewArtefacts`; each one's
    ``<results_dir>/<review>/pool/history.csv`` is read (a review without it is said so).
    """
    from inflamed.report.html import esc, format_estimate, heading, html_table

    parts = [heading(2, "history", "Living review: estimates over data versions, registry records")]
    for review in reviews:
        path = Path(review.results_dir) / review.name / "pool" / POOLED_HISTORY
        parts.append(heading(3, f"history-{review.name}", review.title))
        if not path.is_file():
            parts.append(f"<p>No history yet ({esc(path.as_posix())} is absent).</p>")
            continue
        history = pd.read_csv(path, dtype={"inputs_sha256": str, "data_sha256": str})
        primary = history[history["primary"].astype(str) == "True"]  # bool or text, as read
        rows = []
        for r in primary.itertuples(index=False):
            ratio = r.measure in RATIO
            est = (r.ratio_estimate, r.ratio_ci_lb, r.ratio_ci_ub) if ratio else (r.estimate, r.ci_lb, r.ci_ub)  # fmt: skip
            rows.append(
                {
                    "outcome": r.label,
                    "version": int(r.version),
                    "data version": str(r.data_sha256)[:12],
                    "inputs": str(r.inputs_sha256)[:12],
                    "k": "" if pd.isna(r.k) else int(r.k),
                    "estimate (95% CI)": format_estimate(*est)
                    if str(r.estimable) == "True"
                    else "not estimable",
                    "measure": r.measure,
                }
            )
        frame = pd.DataFrame(rows)
        if not frame.empty:
            frame = frame.sort_values(["outcome", "version"], kind="mergesort")
        n = int(history["version"].max()) if len(history) else 0
        parts.append(
            f"<p>{n} version(s) of this review's inputs have been pooled so far; each is named by "
            "the hashes of its inputs (data version: the review's raw files), not by a date. "
            f"Source: {esc(path.as_posix())}.</p>"
        )
        parts.append(html_table(frame, table_id=f"history-table-{review.name}"))
        parts += _registry_parts(Path(review.results_dir) / review.name / "ingest")
    return '<div class="inflamed-report">' + "\n".join(parts) + "</div>"
