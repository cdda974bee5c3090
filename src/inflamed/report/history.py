"""The report's view of a living review's history: each outcome's estimate per data version.

The store is written by the pool stage (:mod:`inflamed.pipeline.history`); this module only reads
``results/<review>/pool/history.csv`` and the ingest summary's registry block.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.pipeline.layout import POOLED_HISTORY
from inflamed.stats.measures import is_ratio

__all__ = ["history_section"]


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
        f"sheets were kept), {len(registry['between_arm_rows'])} between-arm difference(s) read "
        f"({registry.get('contrast_level_rows_added', 0)} added as contrast-level rows, the others "
        f"already in the sheets); not yet fetched: {esc(', '.join(registry['not_fetched']) or 'none')}. "
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
            ratio = is_ratio(r.measure)
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
