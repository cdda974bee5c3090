"""Large reviews in the report: the full per-study table as a sortable HTML table, big figures linked.

A review with thousands of comparisons cannot be read from one forest plot (the figure stage
draws a summary forest and pages beyond config ``figures.forest_max_rows``), and embedding a
45 MB PNG as base64 made a 64 MB report. So, with one report build's settings from the run's
config (:func:`configure`):

* an outcome with more per-study rows than ``figures.forest_max_rows`` (the same "large" the
  figure stage uses) gets its whole ``studies.csv`` as a table whose headers sort it on a click
  (:data:`SORT_SCRIPT`: a few lines of inline JavaScript, no library, works offline);
* a PNG above ``report.embed_max_bytes`` is linked, not embedded
  (:func:`inflamed.report.html.set_embedding`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from inflamed.report.artefacts import OutcomeArtefacts
from inflamed.report.html import esc, fmt_number, html_table, is_missing, set_embedding
from inflamed.report.tables import SET_LABELS
from inflamed.stats.measures import RATIO_MEASURES

__all__ = ["SORT_SCRIPT", "configure", "large_review_rows", "studies_table"]

#: This build's settings (:func:`configure`); ``None`` rows: never a per-study table.
_SETTINGS: dict[str, Any] = {"rows": None}

#: Sorts every ``table.sortable`` by the clicked header: numbers as numbers (a Unicode minus
#: too), text case-blind, numbers before text ("n/a"), a second click reverses; stable.
SORT_SCRIPT = """<script>
(function () {
  function key(cell) {
    var text = (cell ? cell.textContent : "").trim();
    var n = Number(text.replace(/\\u2212/g, "-").replace(/%$/, ""));
    return text !== "" && !isNaN(n) ? n : text.toLowerCase();
  }
  function compare(x, y) {
    if (typeof x !== typeof y) { return typeof x === "number" ? -1 : 1; }
    return x < y ? -1 : x > y ? 1 : 0;
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) { return compare(key(a.cells[col]), key(b.cells[col])) * (up ? 1 : -1); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function init() {
    document.querySelectorAll("table.sortable:not([data-sort-ready])").forEach(function (table) {
      table.setAttribute("data-sort-ready", "1");
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
        th.tabIndex = 0;
        th.title = "Sort by this column";
        th.style.cursor = "pointer";
        th.addEventListener("click", function () { sortBy(table, col, th); });
        th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, col, th); } });
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
</script>"""


def configure(config: Mapping[str, Any], *, results_dir: str | Path = "results") -> None:
    """Take this report build's large-review settings from the run's validated config.

    ``figures.forest_max_rows`` (per-study rows beyond which an outcome is "large") and
    ``report.embed_max_bytes`` (PNG size beyond which a figure is linked). Keys absent from
    ``config`` (a hand-made config in a test) leave the feature off.
    """
    _SETTINGS["rows"] = (config.get("figures") or {}).get("forest_max_rows")
    set_embedding((config.get("report") or {}).get("embed_max_bytes"), results_dir)


def large_review_rows() -> int | None:
    """Per-study rows beyond which an outcome gets the sortable table (``None``: never)."""
    return _SETTINGS["rows"]


def _effect(value: Any, ratio: bool) -> str:
    if is_missing(value):
        return "n/a"
    return fmt_number(math.exp(float(value)) if ratio else float(value), 3)


def studies_table(outcome: OutcomeArtefacts, table_id: str) -> str:
    """The outcome's whole per-study table, sortable, when it has more rows than "large"; else "".

    Rows and numbers are the pool stage's ``studies.csv`` (ratios shown as ratios).
    """
    rows, studies = large_review_rows(), outcome.studies
    if rows is None or studies is None or len(studies) <= rows:
        return ""
    ratio = (outcome.summary or {}).get("measure") in RATIO_MEASURES
    frame = pd.DataFrame(
        {
            "Study": studies.get("label", studies["study_id"]).astype(str),
            "Analysis set": studies["analysis_set"].map(lambda s: SET_LABELS.get(s, s)),
            "Effect": [_effect(v, ratio) for v in studies["yi"]],
            "95% CI lower": [_effect(v, ratio) for v in studies["ci_lb"]],
            "95% CI upper": [_effect(v, ratio) for v in studies["ci_ub"]],
            "Weight (%)": [
                fmt_number(v, 2) for v in studies.get("weight", pd.Series([None] * len(studies)))
            ],
            "N": [
                fmt_number(float(t) + float(c), 0)
                if not (is_missing(t) or is_missing(c))
                else "n/a"
                for t, c in zip(studies["n_treat"], studies["n_ctrl"], strict=True)
            ],
        }
    )
    measure = (outcome.summary or {}).get("measure", "")
    return (
        f"<p><b>Every study ({len(frame)} rows, more than the {rows} a forest plot shows "
        f"readably).</b> Click a column header to sort; {esc(measure)} "
        f"{'as a ratio' if ratio else 'on its own scale'}; the same rows are in "
        f"<code>{esc(outcome.paths.get('studies', 'studies.csv'))}</code>.</p>"
        + html_table(frame, table_id=table_id, sortable=True)
        + SORT_SCRIPT
    )
