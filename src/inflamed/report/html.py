"""Small HTML building blocks for the report: numbers that carry their source, tables, images.

Every number the report quotes in its text is written by :func:`num`, which wraps it in
``<span class="num" data-source="PATH#LOCATOR" data-value="FULL PRECISION">ROUNDED</span>``; a
reader (or a test, via :func:`resolve_source`) can follow ``data-source`` back to the artefact
value it was rounded from. Locators are JSON pointers for JSON artefacts
(``summary.json#/sets/crp_high/result/estimate``) and ``key=value&key=value/column`` for CSV
artefacts (``pooled.csv#outcome=response&analysis_set=whole/estimate``).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.io import read_artefact_csv

__all__ = [
    "REPORT_CSS",
    "embed_png",
    "esc",
    "fmt_int",
    "fmt_number",
    "fmt_p",
    "format_estimate",
    "heading",
    "html_table",
    "human_column",
    "is_missing",
    "num",
    "resolve_source",
    "set_embedding",
]

#: Inline style sheet: readable on a phone (fluid images, scrollable tables), printable (no
#: scroll boxes, no page breaks inside figures or table rows), no external resources.
REPORT_CSS = """
<style>
/* Tables may use a laptop's full width (80rem); running text keeps a readable line length. */
.inflamed-report { font-size: 1rem; line-height: 1.45; max-width: 80rem; }
.inflamed-report p, .inflamed-report ul, .inflamed-report ol, .inflamed-report figure,
.inflamed-report h1, .inflamed-report h2, .inflamed-report h3 { max-width: 70rem; }
.inflamed-report img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
.inflamed-report figure { margin: 0.8rem 0; }
.inflamed-report figcaption { font-size: 0.9rem; color: #333; }
/* Figures are numbered in reading order across the whole report. */
body { counter-reset: figure; }
.inflamed-report figure { counter-increment: figure; }
.inflamed-report figcaption::before { content: "Figure " counter(figure) ". "; font-weight: 600; }
.inflamed-report .table-wrap { overflow-x: auto; max-width: 100%; margin: 0.6rem 0; }
.inflamed-report table { border-collapse: collapse; font-size: 0.88rem; }
.inflamed-report th, .inflamed-report td { border: 1px solid #bbb; padding: 0.25rem 0.45rem;
  vertical-align: top; text-align: left !important; }
.inflamed-report th { background: #eee; }
.inflamed-report td { min-width: 3rem; }
.inflamed-report td.long-text { min-width: 16rem; }
.inflamed-report table.sof td { min-width: 7rem; }
.inflamed-report table.sof td:nth-child(-n+4) { min-width: 3rem; }
.inflamed-report caption { caption-side: top; text-align: left; font-weight: 600; }
.inflamed-report .can-cannot { border: 2px solid #1f4e79; background: #f3f7fb; border-radius: 0.3rem;
  padding: 0.2rem 0.9rem 0.4rem; margin: 0.8rem 0; }
.inflamed-report .can-cannot h2 { margin-top: 0.4rem; }
.inflamed-report .missing { color: #8a3b00; font-style: italic; }
.inflamed-report .note { font-size: 0.9rem; color: #333; }
.inflamed-report .certainty { font-weight: 600; padding: 0.1rem 0.3rem; border-radius: 0.2rem;
  white-space: nowrap; }
.inflamed-report .certainty-high { background: #d9f0d3; }
.inflamed-report .certainty-moderate { background: #fff2b3; }
.inflamed-report .certainty-low { background: #fdd9b5; }
.inflamed-report .certainty-very-low { background: #f6c1c1; }
.inflamed-report .certainty-no-evidence { background: #e0e0e0; }
.inflamed-report h1 { font-size: clamp(1.45rem, 4.5vw, 2.2rem); line-height: 1.2; }
.inflamed-report .can-cannot h2 { font-size: clamp(1.2rem, 3.5vw, 1.6rem); }
.inflamed-report .footnotes { font-size: 0.85rem; padding-left: 1.2rem; list-style: none; }
.inflamed-report td, .inflamed-report li, .inflamed-report p { overflow-wrap: anywhere; }
/* A column of short words keeps them whole ("counted", not "counte|d"): with "anywhere" the
   table may squeeze it to a letter's width. Columns holding long tokens (DOIs, URLs) still
   break anywhere, so a table keeps to the page. */
.inflamed-report td.words { overflow-wrap: break-word; }
/* Phone width: every table reflows into one card per row, each cell labelled by its column. */
@media (max-width: 40rem) {
  .inflamed-report { font-size: 0.95rem; }
  .inflamed-report table, .inflamed-report tbody, .inflamed-report tr, .inflamed-report td,
  .inflamed-report caption { display: block; width: 100%; box-sizing: border-box; }
  .inflamed-report thead { position: absolute; width: 1px; height: 1px; overflow: hidden;
    clip: rect(0 0 0 0); }
  .inflamed-report tr { border: 1px solid #bbb; margin: 0 0 0.6rem; }
  .inflamed-report td, .inflamed-report table.sof td { border: none;
    border-bottom: 1px solid #e3e3e3; min-width: 0 !important; font-size: 0.85rem; }
  .inflamed-report td::before { content: attr(data-label); display: block; font-weight: 600;
    color: #444; font-size: 0.78rem; }
  .inflamed-report td:empty { display: none; }
  /* Figures keep a readable size and scroll sideways inside their own box, not the page. */
  .inflamed-report figure { overflow-x: auto; }
  .inflamed-report figure img { max-width: none; width: 40rem; }
  .inflamed-report figcaption { position: sticky; left: 0; max-width: calc(100vw - 3rem); }
}
@media print {
  .inflamed-report .table-wrap { overflow: visible; }
  .inflamed-report table { width: 100% !important; table-layout: fixed; font-size: 7pt; }
  .inflamed-report th, .inflamed-report td, .inflamed-report table.sof td {
    min-width: 0 !important; overflow-wrap: anywhere; padding: 0.1rem 0.2rem; }
  .inflamed-report figure, .inflamed-report img, .inflamed-report tr { break-inside: avoid; }
  .inflamed-report h2 { break-after: avoid; }
  .inflamed-report a { color: inherit; }
  .inflamed-report .certainty { border: 1px solid #555; }
}
</style>
"""


#: Column names shown to a reader for artefact keys that "replace _ by a space" leaves cryptic.
#: Every report table passes its header through :func:`human_column` (one place).
COLUMN_NAMES = {
    "ci_lb": "95% CI lower",
    "ci_ub": "95% CI upper",
    "pi_lb": "95% PI lower",
    "pi_ub": "95% PI upper",
    "k": "k",
    "k_trials": "Trials (k)",
    "clinical_k": "Clinical trials (k)",
    "n": "N",
    "sd": "SD",
    "se": "SE",
    "i2": "I\u00b2",
    "tau2": "\u03c4\u00b2",
    "crp": "CRP",
    "sha256": "SHA-256",
    "key": "Item",
    "study_id": "Study",
    "tau\u00b2": "\u03c4\u00b2",
    "model_rescue_sd_best_after_stress": "Model rescue after stress (SD), best fit",
    "model_rescue_sd_region_min": "Model rescue (SD), plausible region: lowest",
    "model_rescue_sd_region_max": "Model rescue (SD), plausible region: highest",
    "rescue_sd_best": "Rescue (SD), best fit",
    "rescue_sd_region_min": "Rescue (SD), plausible region: lowest",
    "rescue_sd_region_max": "Rescue (SD), plausible region: highest",
    "region_span_log10": "Span of the plausible region (orders of magnitude)",
}


#: Characters beyond which a column counts as prose (class ``long-text``, a wider minimum).
LONG_TEXT = 160
#: Longest word (characters) of a column whose words are kept whole (class ``words``).
WORD_MAX = 14


def _shown_text(value: Any, is_html: bool) -> str:
    text = str(value)
    return html.unescape(re.sub(r"<[^>]+>", "", text)) if is_html else text


def _longest_word(value: Any, is_html: bool) -> int:
    """Characters of the longest run without a space in a cell (what a line cannot break)."""
    if is_missing(value):
        return 0
    return max((len(w) for w in _shown_text(value, is_html).split()), default=0)


def _shown_length(value: Any, is_html: bool) -> int:
    """Characters a reader sees in a cell (tags dropped and entities read as one in HTML)."""
    if is_missing(value):
        return 0
    return len(_shown_text(value, is_html))


def human_column(name: Any) -> str:
    """A column header in words: ``ci_lb`` -> "95% CI lower", ``source_location`` -> "Source location".

    Known artefact keys come from :data:`COLUMN_NAMES`; any other snake_case key has its
    underscores replaced and its first letter capitalised (headers already in words keep theirs).
    """
    text = str(name)
    if text in COLUMN_NAMES:
        return COLUMN_NAMES[text]
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words[:1].islower() else words


def esc(text: Any) -> str:
    """HTML-escape ``text`` (``None`` and NaN become an empty string)."""
    if is_missing(text):
        return ""
    return html.escape(str(text), quote=True)


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` and empty strings."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def fmt_number(value: Any, digits: int = 2) -> str:
    """Round to ``digits`` decimals; ``"n/a"`` for a missing value; never ``-0.00``."""
    if is_missing(value):
        return "n/a"
    text = f"{float(value):.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text


def fmt_int(value: Any) -> str:
    """An integer count; ``"n/a"`` for a missing value."""
    if is_missing(value):
        return "n/a"
    return str(round(float(value)))


def fmt_p(value: Any) -> str:
    """A p value as journals print it: ``p < 0.001`` or ``p = 0.034``."""
    if is_missing(value):
        return "p = n/a"
    value = float(value)
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def format_estimate(estimate: Any, ci_lb: Any, ci_ub: Any, digits: int = 2) -> str:
    """``0.35 (0.05 to 0.64)``: an estimate with its interval, rounded to ``digits`` decimals.

    "to" rather than a dash, so negative limits stay readable (``-0.34 (-0.57 to -0.11)``).
    """
    if is_missing(estimate):
        return "not estimable"
    return f"{fmt_number(estimate, digits)} ({fmt_number(ci_lb, digits)} to {fmt_number(ci_ub, digits)})"


def num(value: Any, source: str, digits: int = 2, *, kind: str = "float") -> str:
    """A number quoted in the text, tagged with the artefact location it comes from.

    Parameters
    ----------
    value
        The artefact value (full precision).
    source
        ``PATH#LOCATOR`` (see the module docstring); resolved by :func:`resolve_source`.
    digits
        Decimals shown (``kind="float"``).
    kind
        ``float``, ``int`` (a count), ``percent`` (a 0-100 value shown with one decimal and %)
        or ``exp`` (a log ratio shown as the ratio; ``data-value`` keeps the log value).

    Returns
    -------
    str
        The ``<span class="num">`` element.
    """
    if kind == "int":
        text = fmt_int(value)
    elif kind == "percent":
        text = "n/a" if is_missing(value) else f"{fmt_number(value, 1)}%"
    elif kind == "exp":
        text = "n/a" if is_missing(value) else fmt_number(math.exp(float(value)), digits)
    else:
        text = fmt_number(value, digits)
    full = "" if is_missing(value) else repr(float(value))
    return (
        f'<span class="num" data-source="{esc(source)}" data-value="{esc(full)}" '
        f'data-kind="{esc(kind)}" data-digits="{digits}">{esc(text)}</span>'
    )


def _json_pointer(obj: Any, pointer: str) -> Any:
    for part in [p for p in pointer.split("/") if p != ""]:
        part = part.replace("~1", "/").replace("~0", "~")
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def resolve_source(source: str, root: str | Path = ".") -> Any:
    """The artefact value a ``data-source`` locator points to.

    Parameters
    ----------
    source
        ``path/to/file.json#/json/pointer``, ``path/to/file.csv#key=value&key=value/column``
        (the key columns must select exactly one row) or ``path/to/file.csv#rows`` (the number
        of data rows, for counts such as "11 included trials").
    root
        Directory the path is relative to.

    Raises
    ------
    KeyError
        The locator does not select a value (or selects several CSV rows).
    """
    path, _, locator = source.partition("#")
    file = Path(root) / path
    if file.suffix == ".json":
        return _json_pointer(json.loads(file.read_text(encoding="utf-8")), locator)
    frame = read_artefact_csv(file)
    if locator == "rows":
        return len(frame)
    selector, _, column = locator.rpartition("/")
    mask = pd.Series(True, index=frame.index)
    for condition in filter(None, selector.split("&")):
        key, _, wanted = condition.partition("=")
        mask &= frame[key].astype(str) == wanted
    rows = frame.loc[mask, column]
    if len(rows) != 1:
        raise KeyError(f"{source} selects {len(rows)} rows, expected 1")
    return rows.iloc[0]


def heading(level: int, anchor: str, text: str) -> str:
    """``<hN id="anchor">text</hN>``."""
    return f'<h{level} id="{esc(anchor)}">{esc(text)}</h{level}>'


#: The report build's figure settings (:func:`set_embedding`): PNGs above ``max_bytes`` are linked
#: from ``link_root`` (the folder of report.html) instead of embedded. One report per process.
_EMBEDDING: dict[str, Any] = {"max_bytes": None, "link_root": "results"}


def set_embedding(max_bytes: int | None, link_root: str | Path = "results") -> None:
    """Embed PNGs up to ``max_bytes`` (``None``: all); link larger ones relative to ``link_root``.

    Set once per report build from config ``report.embed_max_bytes``
    (:func:`inflamed.report.large.configure`): a 45 MB forest plot embedded as base64 made a
    64 MB report.
    """
    _EMBEDDING["max_bytes"] = None if max_bytes is None else int(max_bytes)
    _EMBEDDING["link_root"] = str(link_root)


def _linked_png(path: Path, alt: str, caption: str) -> str:
    href = Path(os.path.relpath(path, _EMBEDDING["link_root"])).as_posix()
    size = path.stat().st_size / 1e6
    return (
        f'<figure class="linked-figure"><p><a href="{esc(href)}" data-file="{esc(path.as_posix())}">'
        f"Open the figure ({esc(path.name)}, {size:.1f} MB PNG)</a>: too large to embed in this "
        f"report (above config report.embed_max_bytes); it sits beside the report in the results "
        f"folder.</p><figcaption>{esc(caption or alt)}</figcaption></figure>"
    )


def embed_png(path: str | Path, alt: str | None = None, *, caption: str | None = None) -> str:
    """A PNG embedded as base64 (self-contained HTML), or a visible note when it is absent.

    Parameters
    ----------
    path
        The PNG file.
    alt
        Alternative text (read by screen readers, shown when images are off); by default the
        file name in words (``depression_severity_forest.png`` -> "depression severity forest").
    caption
        Optional caption under the figure (plain text; escaped).
    """
    path = Path(path)
    alt = alt or path.stem.replace("_", " ")
    caption = caption or alt  # every figure has a numbered legend (numbered by the style sheet)
    if not path.is_file():
        return (
            f'<p class="missing">Figure not available: {esc(path.as_posix())} was not produced.</p>'
        )
    limit = _EMBEDDING["max_bytes"]
    if limit is not None and path.stat().st_size > limit:
        return _linked_png(path, alt, caption)
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption_html = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}" '
        f'data-file="{esc(path.as_posix())}"/>{caption_html}</figure>'
    )


def html_table(
    frame: pd.DataFrame,
    *,
    table_id: str | None = None,
    caption: str | None = None,
    raw_columns: Iterable[str] = (),
    row_ids: Sequence[str] | None = None,
    row_classes: Sequence[str] | None = None,
    empty_text: str = "Nothing to show.",
    table_class: str | None = None,
    sortable: bool = False,
) -> str:
    """Render ``frame`` as a scrollable, printable HTML table.

    Cells are escaped except in ``raw_columns`` (which hold HTML made by this module, e.g.
    :func:`num` spans). An empty frame renders ``empty_text`` instead of an empty table.
    ``sortable`` adds class ``sortable``: a click on a header sorts the rows
    (:data:`inflamed.report.large.SORT_SCRIPT`, inline, no network).
    """
    if sortable:
        table_class = f"{table_class} sortable" if table_class else "sortable"
    raw = set(raw_columns)
    id_attr = f' id="{esc(table_id)}"' if table_id else ""
    class_attr = f' class="{esc(table_class)}"' if table_class else ""
    if frame is None or frame.empty:
        return f'<p class="missing"{id_attr}>{esc(empty_text)}</p>'
    # Human column names: artefact keys such as ``source_location`` are shown in words.
    names = {c: human_column(c) for c in frame.columns}
    # Columns of long prose (sources, notes) get a readable width; the others share the rest.
    # A raw (HTML) cell is measured by the text a reader sees, not by its markup: a number's
    # provenance attributes would otherwise make a short column look like prose.
    long = {
        c
        for c in frame.columns
        if frame[c].map(lambda v, r=c in raw: _shown_length(v, r)).max() > LONG_TEXT
    }
    words = {
        c
        for c in frame.columns
        if c not in long
        and frame[c].map(lambda v, r=c in raw: _longest_word(v, r)).max() <= WORD_MAX
    }
    cls = {
        c: ' class="long-text"' if c in long else ' class="words"' if c in words else ""
        for c in frame.columns
    }
    head = "".join(f'<th scope="col"{cls[c]}>{esc(names[c])}</th>' for c in frame.columns)
    body = []
    columns = list(enumerate(frame.columns))
    # ``frame.values`` holds what iterrows would give (one common dtype per row), without a
    # Series per row: large reviews have tables of thousands of rows
    for i, row in enumerate(frame.values):
        attrs = ""
        if row_ids is not None:
            attrs += f' id="{esc(row_ids[i])}"'
        if row_classes is not None and row_classes[i]:
            attrs += f' class="{esc(row_classes[i])}"'
        cells = "".join(
            f'<td data-label="{esc(names[c])}"{cls[c]}>{"" if is_missing(row[j]) else row[j]}</td>'
            if c in raw
            else f'<td data-label="{esc(names[c])}"{cls[c]}>{esc(row[j])}</td>'
            for j, c in columns
        )
        body.append(f"<tr{attrs}>{cells}</tr>")
    caption_html = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table{id_attr}{class_attr}>{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def definition_table(items: Mapping[str, Any], *, table_id: str | None = None) -> str:
    """A two-column key/value table from a flat mapping (values escaped)."""
    frame = pd.DataFrame({"item": list(items), "value": [str(v) for v in items.values()]})
    return html_table(frame, table_id=table_id)
