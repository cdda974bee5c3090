"""The report's "Registry CRP-stratum differences": contrast-level rows and their MD analysis.

Some trials report a CRP subgroup only as a between-arm difference (a registry's least-squares
mean difference by baseline CRP stratum), not as arm means. Such rows cannot enter a
standardised-mean-difference analysis without a pooled SD; the report lists each of them, as
the source reported it, and the mean difference in the instrument's own points where it was
pooled (:func:`inflamed.pool.instrument_md`). Everything is read from the ingest stage's
``contrasts.csv`` and the outcome's ``summary.json``.
"""

from __future__ import annotations

import pandas as pd

from inflamed.labels import study_label
from inflamed.report.artefacts import OutcomeArtefacts, ReviewArtefacts
from inflamed.report.html import esc, fmt_int, html_table, is_missing, num
from inflamed.report.layout import slug
from inflamed.report.tables import SET_LABELS

__all__ = ["md_only_suffix", "md_set_text", "registry_strata_block"]

#: Two-sided 95 % normal quantile: the interval printed beside a reported SE.
_Z95 = 1.959963984540054

_STRATA = {"crp_high": "CRP-high (the trial's cut-off)", "crp_high_other": "CRP-high, another cut-off", "crp_low": "CRP-low", "whole": "All participants"}  # fmt: skip


def _rows(review: ReviewArtefacts, outcome: str) -> pd.DataFrame:
    frame = review.contrasts
    if frame is None or frame.empty or "diff" not in frame:
        return pd.DataFrame()
    rows = frame[(frame["outcome"] == outcome) & frame["diff"].notna()]
    return rows.sort_values(["study_id", "subgroup", "row_ref"], kind="mergesort")


def _label(review: ReviewArtefacts, study_id: str) -> str:
    studies = review.studies
    if studies is not None and "study_id" in studies:
        match = studies[studies["study_id"] == study_id]
        if len(match):
            return study_label(match.iloc[0].to_dict())
    return study_id


def _interval(row: pd.Series) -> tuple[float, float, str]:
    if not is_missing(row.get("diff_se")):
        half = _Z95 * float(row["diff_se"])
        return row["diff"] - half, row["diff"] + half, "from the reported SE"
    level = 95.0 if is_missing(row.get("diff_ci_level")) else float(row["diff_ci_level"])
    return row["diff_ci_lb"], row["diff_ci_ub"], f"{level:g}% CI as reported"


def _direction(row: pd.Series) -> str:
    return (
        "negative favours treatment"
        if row.get("diff_direction") == "negative_favours_treatment"
        else "positive favours treatment"
    )


def md_set_text(outcome: OutcomeArtefacts, set_name: str) -> str:
    """ "HAMD17 mean difference 3.10 (95% CI ...), k = 1, N = 22, from a between-arm difference"
    for an analysis set whose only numbers are contrast-level rows on an instrument's own scale,
    or "" when the set has none. The front matter says it beside "no study" on the SMD scale.
    """
    md = (outcome.summary or {}).get("instrument_md", {})
    source = outcome.paths.get("summary", "summary.json")
    parts = []
    for instrument, block in md.items():
        s = block.get("sets", {}).get(set_name)
        if not s or not s.get("contrast_level_rows") or not s.get("estimable"):
            continue
        where = f"{source}#/instrument_md/{instrument}/sets/{set_name}"
        result = s["result"]
        n = s.get("n_participants")
        parts.append(
            f"{esc(instrument)} mean difference (points, positive favours treatment) "
            f"{num(result['estimate'], where + '/result/estimate')} (95% CI "
            f"{num(result['ci_lb'], where + '/result/ci_lb')} to "
            f"{num(result['ci_ub'], where + '/result/ci_ub')}), k = "
            f"{num(s['k'], where + '/k', kind='int')}"
            + (f", N = {num(n, where + '/n_participants', kind='int')}" if n else "")
            + ", from a reported between-arm difference"
        )
    return "; ".join(parts)


def md_only_suffix(outcome: OutcomeArtefacts, set_name: str) -> str:
    """What follows "no study" for a set with no study on the outcome's scale but a reported
    between-arm difference: " on the SMD scale; HAMD17 mean difference ..." ("" when none)."""
    text = md_set_text(outcome, set_name)
    measure = (outcome.summary or {}).get("measure", "")
    return f" on the {esc(measure)} scale; {text}" if text else ""


def _md_text(outcome: OutcomeArtefacts) -> str:
    md = (outcome.summary or {}).get("instrument_md", {})
    source = outcome.paths.get("summary", "summary.json")
    parts = []
    for instrument, block in md.items():
        for set_name, s in block.get("sets", {}).items():
            if not s.get("contrast_level_rows") or not s.get("estimable"):
                continue
            where = f"{source}#/instrument_md/{instrument}/sets/{set_name}"
            result = s["result"]
            single = s.get("k") == 1
            parts.append(
                f"<li>{esc(SET_LABELS.get(set_name, set_name))}, mean difference in "
                f"{esc(instrument)} points (positive favours treatment): "
                f"{num(result['estimate'], where + '/result/estimate')} (95% CI "
                f"{num(result['ci_lb'], where + '/result/ci_lb')} to "
                f"{num(result['ci_ub'], where + '/result/ci_ub')}), k = "
                f"{num(s['k'], where + '/k', kind='int')}"
                + (" (a single trial: its own estimate, not a pooled one)" if single else "")
                + f", of which {num(s['contrast_level_rows'], where + '/contrast_level_rows', kind='int')} "
                "from a reported between-arm difference.</li>"
            )
    if not parts:
        return ""
    return (
        "<p>Pooled on the mean-difference scale in the instrument's own points (never across "
        "instruments; no standardised mean difference without a pooled SD):</p><ul>"
        + "".join(parts)
        + "</ul>"
    )


def registry_strata_block(review: ReviewArtefacts, outcome: OutcomeArtefacts) -> str:
    """The "Registry CRP-stratum differences" table of one outcome ("" when it has none)."""
    rows = _rows(review, outcome.name)
    if rows.empty:
        return ""
    source = review.paths.get("ingest/contrasts.csv", "contrasts.csv")
    table = []
    for _, row in rows.iterrows():
        where = f"{source}#row_ref={row['row_ref']}"
        lb, ub, how = _interval(row)
        n = row.get("diff_n")
        link = str(row.get("source", ""))
        link_html = (
            f'<a href="{esc(link)}">{esc(link)}</a>' if link.startswith("http") else esc(link)
        )
        table.append(
            {
                "trial": esc(_label(review, row["study_id"])),
                "CRP stratum": esc(
                    f"{_STRATA.get(row['subgroup'], row['subgroup'])}: {row['subgroup_definition']}"
                ),
                "difference (95% CI)": (
                    f"{num(row['diff'], where + '/diff', 1)} ({esc(f'{lb:.1f} to {ub:.1f}')}; "
                    f"{esc(how)})"
                ),
                "scale": esc(
                    f"{row['instrument']} points, {row['measure_kind']}, week "
                    f"{fmt_int(row['timepoint_weeks'])}; {_direction(row)}"
                ),
                "n in stratum": (
                    num(n, where + "/diff_n", kind="int") + " (both arms; per-arm n not reported)"
                    if not is_missing(n)
                    else "not reported"
                ),
                "pooled": "no: another cut-off than the trial's own"
                if row["subgroup"] == "crp_high_other"
                else "MD analysis only (no pooled SD for an SMD)"
                if is_missing(row.get("sd_pooled"))
                else "yes",
                "source": f"{link_html}<br>{esc(row.get('source_location', ''))}",
            }
        )
    frame = pd.DataFrame(table)
    intro = (
        "<p><b>Registry CRP-stratum differences.</b> Trials that report a CRP subgroup only as a "
        "difference between arms (for example a least-squares mean difference by baseline "
        "CRP stratum in a registry record) are listed here as reported, with the 95% confidence "
        "interval computed from the standard error (normal approximation). Strata at another "
        "cut-off than the trial's own are shown, not pooled: they overlap with it, and the "
        "choice among several cut-offs of one post hoc analysis is a concern for risk of bias "
        "in the selection of the reported result.</p>"
    )
    return (
        intro
        + html_table(
            frame,
            table_id=slug("registry-strata", review.name, outcome.name),
            caption=f"Between-arm differences reported by CRP stratum: {outcome.label}",
            raw_columns=[
                "trial",
                "CRP stratum",
                "difference (95% CI)",
                "scale",
                "n in stratum",
                "source",
            ],
        )
        + _md_text(outcome)
    )
