"""Forest plots of large reviews: a pooled summary forest plus the study rows on pages.

One row per study is readable up to a few dozen studies; a database-scale review (hundreds or
thousands of comparisons) drawn on one figure is metres tall and every weight prints as "0.0%".
Beyond ``max_rows`` study rows the forest is therefore split: :func:`summary_forest` draws one row
per block (analysis set or subgroup) with its pooled estimate, and :func:`forest_pages` draws the
study rows block by block, at most ``max_rows`` to a page, each page with the block's pooled
estimate (over all of the block's studies, not the page's) and a shared x axis so pages compare.
The full per-study table stays in the pool stage's ``studies.csv``.

``max_pages`` bounds the drawing: a page costs about a second of text rendering, and a reader
does not page through hundreds of forest pages (50,000 comparisons would be 834 pages); beyond it
the rows are in the table only, and the summary forest says how many rows the pages show.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from inflamed.errors import InputError
from inflamed.figures._common import (
    fmt_num,
    interval_rows_figure,
    is_ratio,
    measure_label,
    measure_short,
    numeric_column,
    padded_limits,
    ratio_limits,
    require_columns,
)
from inflamed.figures.forest import OVERALL, POOLED_COLUMNS, STUDY_COLUMNS, forest_plot
from inflamed.figures.style import apply_style

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_ROWS",
    "ForestPage",
    "forest_pages",
    "needs_pages",
    "page_count",
    "summary_forest",
]

#: Study rows beyond which the forest is paged (the config key ``figures.forest_max_rows``).
DEFAULT_MAX_ROWS = 60
#: Most pages drawn (the config key ``figures.forest_max_pages``).
DEFAULT_MAX_PAGES = 25


@dataclass(frozen=True)
class ForestPage:
    """One page of a paged forest: which block and which of its rows (1-based, inclusive)."""

    block: str | None
    first: int
    last: int
    block_k: int
    figure: Figure


def _blocks(studies: pd.DataFrame) -> list[tuple[str | None, np.ndarray]]:
    """Row positions of each block (subgroup), in order of first appearance."""
    if "subgroup" not in studies.columns:
        return [(None, np.arange(len(studies)))]
    groups = studies["subgroup"].astype(object).where(studies["subgroup"].notna(), None)
    names = list(dict.fromkeys(groups.tolist()))
    return [(name, np.flatnonzero((groups == name).to_numpy())) for name in names]


def needs_pages(studies: pd.DataFrame, max_rows: int = DEFAULT_MAX_ROWS) -> bool:
    """Whether a forest of these study rows should be paged (more than ``max_rows`` rows)."""
    return len(studies) > max_rows


def page_count(
    studies: pd.DataFrame, max_rows: int = DEFAULT_MAX_ROWS, max_pages: int | None = None
) -> int:
    """How many pages :func:`forest_pages` draws: each block starts a page; at most ``max_pages``."""
    pages = sum(math.ceil(len(rows) / max_rows) for _, rows in _blocks(studies))
    return pages if max_pages is None else min(pages, max_pages)


def rows_on_pages(
    studies: pd.DataFrame, max_rows: int = DEFAULT_MAX_ROWS, max_pages: int | None = None
) -> int:
    """How many study rows the pages of :func:`forest_pages` show."""
    shown, budget = 0, max_pages
    for _, rows in _blocks(studies):
        pages = math.ceil(len(rows) / max_rows)
        if budget is not None:
            pages = min(pages, budget)
            budget -= pages
        shown += min(len(rows), pages * max_rows)
    return shown


def _shared_xlim(studies: pd.DataFrame, pooled: pd.DataFrame, ratio: bool) -> tuple[float, float]:
    values = np.concatenate(
        [
            numeric_column(studies, c, argument="studies", allow_missing=True)
            for c in ("yi", "ci_lb", "ci_ub")
        ]
        + [
            numeric_column(pooled, c, argument="pooled", allow_missing=True)
            for c in ("estimate", "ci_lb", "ci_ub")
        ]
    )
    finite = values[np.isfinite(values)]
    if ratio:
        return ratio_limits(np.exp(finite).tolist())
    return padded_limits(finite.tolist(), include=0.0)


def forest_pages(
    studies: pd.DataFrame,
    pooled: pd.DataFrame,
    *,
    measure: str,
    outcome_label: str,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_pages: int | None = None,
    subgroup_labels: Mapping[str, str] | None = None,
    model_label: str = "Random-effects model",
    log_scale: bool | None = None,
    **options: Any,
) -> Iterator[ForestPage]:
    """Draw the study rows of a forest on pages of at most ``max_rows`` rows, one at a time.

    Parameters
    ----------
    studies, pooled, measure, outcome_label, subgroup_labels, model_label, log_scale
        As :func:`inflamed.figures.forest.forest_plot`. Each block (``subgroup``) of ``studies``
        needs its row in ``pooled`` (or, without blocks, an ``overall`` row or a single row).
    max_rows
        Most study rows on one page (at least 1).
    max_pages
        Most pages drawn (None: every row); later rows are left to the table.
    **options
        Passed to :func:`~inflamed.figures.forest.forest_plot` (``favours``, ``level``, ...);
        ``xlim`` defaults to one axis covering every row, so pages can be compared.

    Yields
    ------
    ForestPage
        Pages in block order, then row order; each figure has at most ``max_rows`` study rows.
        Pages are drawn as they are asked for, so a caller that saves and closes each one holds
        one figure in memory however many pages there are.

    Raises
    ------
    InputError
        ``max_rows`` below 1, a missing column, or a block without its pooled row.
    """
    if int(max_rows) < 1:
        raise InputError("max_rows must be at least 1", column="max_rows", value=max_rows)
    require_columns(studies, STUDY_COLUMNS, argument="studies")
    require_columns(pooled, POOLED_COLUMNS, argument="pooled")
    ratio = is_ratio(measure, log_scale)
    names = dict(subgroup_labels or {})
    pooled = pooled.reset_index(drop=True)
    index = {str(s): i for i, s in enumerate(pooled["subgroup"].astype(str))}
    if "xlim" not in options:
        options["xlim"] = _shared_xlim(studies, pooled, ratio)
    blocks = _blocks(studies)
    total = page_count(studies, max_rows, max_pages)
    number = 0
    for block, rows in blocks:
        if number >= total:
            return
        key = str(block) if block is not None else OVERALL
        row = index.get(key)
        if row is None and block is None and len(pooled) == 1:
            row = 0
        if row is None:
            raise InputError(
                "pooled has no row for this block of studies",
                column="subgroup",
                value=key,
                expected=f"one of {sorted(index)}",
            )
        name = names.get(key, key) if block is not None else ""
        block_pooled = pooled.iloc[[row]].assign(subgroup=OVERALL)
        for start in range(0, len(rows), max_rows):
            if number >= total:
                return
            part = rows[start : start + max_rows]
            page_studies = studies.iloc[part].drop(columns=["subgroup"], errors="ignore")
            where = f"{name}: " if name else ""
            title = (
                f"{outcome_label} \u2014 {where}studies {start + 1}\u2013{start + len(part)} "
                f"of {len(rows)} (page {number + 1} of {total})"
            )
            figure = forest_plot(
                page_studies,
                block_pooled,
                measure=measure,
                outcome_label=title,
                model_label=f"{model_label}, all {len(rows)} studies",
                log_scale=log_scale,
                **options,
            )
            number += 1
            yield ForestPage(block, start + 1, start + len(part), len(rows), figure)


def summary_forest(
    pooled: pd.DataFrame,
    *,
    measure: str,
    outcome_label: str,
    subgroup_labels: Mapping[str, str] | None = None,
    log_scale: bool | None = None,
    pages: int | None = None,
    rows_shown: int | None = None,
    level: float = 95,
    order: Sequence[str] | None = None,
) -> Figure:
    """One row per block (analysis set or subgroup): its pooled estimate, k and heterogeneity.

    Parameters
    ----------
    pooled
        As for :func:`inflamed.figures.forest.forest_plot` (``subgroup``, ``estimate``, ``ci_lb``,
        ``ci_ub``, ``k``; optional ``i2``, ``tau2``). Log ratios for ratio measures.
    measure, outcome_label, subgroup_labels, log_scale, level
        As :func:`~inflamed.figures.forest.forest_plot`.
    pages, rows_shown
        How many pages the study rows are drawn on and how many rows they show (named in the
        title), if paged.
    order
        Block order (default: the rows' order).

    Returns
    -------
    matplotlib.figure.Figure
    """
    apply_style()  # fonts, and fixed SVG ids: the same bytes on every rerun
    require_columns(pooled, POOLED_COLUMNS, argument="pooled")
    ratio = is_ratio(measure, log_scale)
    names = dict(subgroup_labels or {})
    frame = pooled.reset_index(drop=True)
    if order is not None:
        rank = {str(s): i for i, s in enumerate(order)}
        frame = frame.sort_values(
            "subgroup", key=lambda s: s.astype(str).map(lambda x: rank.get(x, len(rank)))
        )
    est, lb, ub = (
        numeric_column(frame, c, argument="pooled") for c in ("estimate", "ci_lb", "ci_ub")
    )
    k = numeric_column(frame, "k", argument="pooled")
    i2 = (
        numeric_column(frame, "i2", argument="pooled", allow_missing=True)
        if "i2" in frame.columns
        else np.full(len(frame), np.nan)
    )
    tr = np.exp if ratio else (lambda a: a)
    labels = [
        f"{names.get(str(s), str(s))} (k = {kk:.0f})"
        for s, kk in zip(frame["subgroup"], k, strict=True)
    ]
    het = [f"I\u00b2 = {fmt_num(x, 0)}%" if math.isfinite(x) else "\u2013" for x in i2]
    where = ""
    if pages:
        total = int(np.nansum(k))
        shown = total if rows_shown is None else rows_shown
        where = f"; study rows on {pages} pages" + (
            "" if shown >= total else f" (first {shown:,} of {total:,} rows; all in studies.csv)"
        )
    fig, _ = interval_rows_figure(
        labels,
        np.asarray(tr(est)),
        np.asarray(tr(lb)),
        np.asarray(tr(ub)),
        ratio=ratio,
        xlabel=measure_label(measure, ratio),
        title=f"{outcome_label}: pooled estimates{where}",
        header="Analysis set",
        right_header=f"{measure_short(measure)} [{level:g}% CI]",
        extra_right=het,
        extra_header="Heterogeneity",
    )
    return fig
