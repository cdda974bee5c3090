"""Report tables read as words: do artefact keys become human column names, do prose columns get
a readable width, and does the comparison table keep to a laptop's width (fewer columns)?"""

from __future__ import annotations

import re

import pandas as pd

from inflamed.report.html import COLUMN_NAMES, LONG_TEXT, html_table, human_column
from inflamed.report.tables import characteristics_table, comparison_table


def test_keys_become_words() -> None:
    assert human_column("ci_lb") == "95% CI lower"
    assert human_column("source_location") == "Source location"
    assert human_column("CRP (mg/L)") == "CRP (mg/L)"  # already words: kept
    assert human_column("k") == "k"
    assert all("_" not in name for name in COLUMN_NAMES.values())


def test_html_table_headers_and_labels_are_words_and_prose_is_marked() -> None:
    frame = pd.DataFrame(
        {"study_id": ["A"], "ci_lb": [0.1], "notes": ["x" * (LONG_TEXT + 1)], "weeks": [8]}
    )
    out = html_table(frame)
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", out)
    assert headers == ["Study", "95% CI lower", "Notes", "Weeks"]
    assert 'data-label="95% CI lower"' in out and "ci_lb" not in out
    assert out.count('class="long-text"') == 2  # the notes header and its cell, nothing else


def test_a_raw_cell_counts_as_prose_by_its_shown_text_not_its_markup() -> None:
    # A number with long provenance attributes is short to a reader: no prose width for it.
    number = f'<span class="num" data-source="{"x" * LONG_TEXT}" data-value="1.0">1.0</span>'
    prose = "<b>" + "word " * (LONG_TEXT // 4) + "&amp;</b>"
    out = html_table(
        pd.DataFrame({"effect": [number], "notes": [prose]}), raw_columns=["effect", "notes"]
    )
    headers = re.findall(r"<th([^>]*)>([^<]*)</th>", out)
    assert headers == [
        (' scope="col" class="words"', "Effect"),  # short words: kept whole
        (' scope="col" class="long-text"', "Notes"),
    ]
    # A column holding a token longer than WORD_MAX (a DOI) may break anywhere, so tables fit.
    doi = pd.DataFrame({"ids": ["10.1001/2013.jamapsychiatry.4"], "status": ["not searched"]})
    classes = re.findall(r'<td data-label="[^"]*"([^>]*)>', html_table(doi))
    assert classes == ["", ' class="words"']


def test_comparison_table_has_eleven_columns() -> None:
    columns = list(comparison_table(None, None).columns)
    assert len(columns) == 11 and "source and notes" in columns


def test_sheet_keys_read_as_words_in_tables() -> None:
    from inflamed.ingest.prisma import OTHER_STAGES, STAGES, stage_words
    from inflamed.labels import key_words

    assert key_words("cytokine_inhibitor") == "cytokine inhibitor"
    assert key_words("nsaid_cox2") == "NSAID (COX-2)" and key_words("anti_il6") == "anti-IL-6"
    assert key_words("post_hoc") == "post hoc" and key_words("add_on") == "add-on"
    assert key_words("HAMD17") == "HAMD17" and key_words(None) == ""  # not a key: kept
    assert (
        stage_words("identified_other_websites") == "Records identified via other methods: websites"
    )
    assert stage_words("reports_excluded: no CRP measure") == "Reports excluded: no CRP measure"
    assert stage_words("studies_with_crp_high_arm_numbers") == "Studies with CRP high arm numbers"
    assert all("_" not in stage_words(s) for s in (*STAGES, *OTHER_STAGES))


def test_characteristics_show_words_not_keys() -> None:
    studies = pd.DataFrame(
        {
            "study_id": ["SIM2020"], "first_author": ["Sim"], "year": [2020],
            "mechanism_class": ["nsaid_cox2"], "add_on": ["add_on"],
            "inflammation_selection": ["post_hoc"],
            "crp_cutoff": [0.3], "crp_cutoff_mg_l": [3.0], "crp_unit": ["mg/dL"],
            "crp_cutoff_rule": [">=0.3"],
        }
    )  # fmt: skip
    row = characteristics_table(studies).iloc[0]
    assert row["CRP cut-off"] == "\u2265 3.0 mg/L (reported: >=0.3 mg/dL)"  # not ">=0.3 3.0 mg/L"
    assert (row["class"], row["add-on"], row["inflammation selection"]) == (
        "NSAID (COX-2)", "add-on", "post hoc",
    )  # fmt: skip
