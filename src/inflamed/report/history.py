"""The report's view of a living review's history: each outcome's estimate per data version.

The store is written by the pool stage (:mod:`inflamed.pipeline.history`); this module only reads
``results/<review>/pool/history.csv``, the ingest summary's registry block and the review's fetch
log (``<review folder>/registry/fetch_log.tsv``, written by ``inflamed fetch ctgov``), to say
when records were last fetched, which trials changed, and which outcomes' estimates moved between
the last two data versions. A review without a fetch log gets one line saying so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.ingest.fetch import FETCH_LOG
from inflamed.ingest.registry import REGISTRY_DIR
from inflamed.pipeline.layout import POOLED_HISTORY
from inflamed.stats.measures import is_ratio

__all__ = ["fetch_log_path", "history_section"]

#: Fetch outcomes after which the saved copy is new or differs from the previous one.
_CHANGED = ("new", "changed")
#: History columns whose change between two data versions means an outcome's estimate moved.
_ESTIMATE_COLUMNS = ("k", "estimable", "estimate", "ci_lb", "ci_ub")


def fetch_log_path(review: Any) -> Path | None:
    """``<review folder>/registry/fetch_log.tsv`` of a review (``None`` without a folder)."""
    folder = (getattr(review, "spec", None) or {}).get("path")
    return Path(folder) / REGISTRY_DIR / FETCH_LOG if folder else None


def _fetch_parts(review: Any) -> list[str]:
    """When records were last fetched and which trials changed, from the fetch log."""
    from inflamed.report.html import esc, html_table

    log = fetch_log_path(review)
    if log is None or not log.is_file():
        return [
            "<p>No registry record has been fetched for this review (<code>inflamed fetch ctgov "
            f"--review {esc(review.name)}</code> saves them); every estimate comes from the "
            "sheets.</p>"
        ]
    rows = pd.read_csv(log, sep="\t", dtype=str, keep_default_na=False)
    if rows.empty:
        return [f"<p>The fetch log {esc(log.as_posix())} has no requests yet.</p>"]
    last = rows.sort_values("retrieved_utc", kind="mergesort").groupby("nct_id").tail(1)
    changed = last[last["outcome"].isin(_CHANGED)]
    table = pd.DataFrame(
        {
            "Trial": last["nct_id"],
            "Last fetched (UTC)": last["retrieved_utc"],
            "HTTP status": last["http_status"],
            "What the last fetch found": last["outcome"] + ": " + last["message"],
        }
    ).sort_values("Trial", kind="mergesort")
    trials = ", ".join(changed["nct_id"]) or "none"
    return [
        f"<p>Registry records were last fetched on {esc(rows['retrieved_utc'].max())} (UTC; "
        f"{len(last)} trial(s), {len(rows)} request(s) in {esc(log.as_posix())}). Trials whose "
        f"saved record is new or changed at their last fetch: {esc(trials)}.</p>",
        html_table(table, table_id=f"fetch-log-{review.name}"),
    ]


def _moved(history: pd.DataFrame) -> str:
    """Which outcomes' primary estimates differ between the last two data versions."""
    from inflamed.report.html import esc

    versions = sorted(history["version"].unique())
    if len(versions) < 2:
        return "<p>Only one data version so far: nothing to compare yet.</p>"
    prev, last = versions[-2], versions[-1]
    primary = history[history["primary"].astype(str) == "True"]
    a = primary[primary["version"] == prev].set_index("outcome")
    b = primary[primary["version"] == last].set_index("outcome")
    moved = [
        str(b.at[o, "label"])
        for o in b.index
        if o not in a.index
        or any(str(a.at[o, c]) != str(b.at[o, c]) for c in _ESTIMATE_COLUMNS if c in b)
    ]
    return (
        f"<p>Between data versions {int(prev)} and {int(last)}, the primary estimate changed for: "
        f"{esc(', '.join(moved) or 'no outcome')}.</p>"
    )


def _registry_parts(ingest_dir: Path) -> list[str]:
    """What the saved registry records gave this run (``ingest_summary.json``'s ``registry``)."""
    from inflamed.report.html import esc, html_table

    path = ingest_dir / "ingest_summary.json"
    registry = (
        json.loads(path.read_text(encoding="utf-8")).get("registry") if path.is_file() else None
    )
    if not registry:
        return []
    if not registry["arm_level_rows_read"] and not registry["between_arm_rows"]:
        return []  # no saved record gave a row: the fetch line above already says so
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
            parts += _fetch_parts(review)
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
        parts.append(_moved(history) if len(history) else "")
        parts.append(html_table(frame, table_id=f"history-table-{review.name}"))
        parts += _fetch_parts(review)
        parts += _registry_parts(Path(review.results_dir) / review.name / "ingest")
    return '<div class="inflamed-report">' + "\n".join(parts) + "</div>"
