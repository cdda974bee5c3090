"""The living review's cumulative history (inflamed.report.history).

Questions answered:
* Does a run on new inputs append a version, and a run on the same inputs append nothing
  (store and artefact byte-identical)?
* Is the key the inputs' hashes (same bytes elsewhere = same key), not a time or a path?
* Does the report section show each version's primary estimate (ratio scale for RR/OR)?
* Does it say when registry records were last fetched, which trials changed at their last fetch
  and which outcomes' estimates moved between the last two data versions, and, with no fetch
  log, say so in one line?
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from inflamed.pipeline.history import HISTORY_COLUMNS, inputs_key, update_history
from inflamed.report.history import history_section


def _pooled(estimate: float, k: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"outcome": "depression_severity", "label": "Severity", "measure": "SMD",
             "analysis_set": "crp_high", "primary": True, "k": k, "n_participants": 40.0,
             "estimable": True, "estimate": estimate, "ci_lb": estimate - 0.3,
             "ci_ub": estimate + 0.3, "ratio_estimate": None, "ratio_ci_lb": None,
             "ratio_ci_ub": None},
            {"outcome": "response", "label": "Response", "measure": "RR",
             "analysis_set": "crp_high", "primary": True, "k": 1, "n_participants": 30.0,
             "estimable": False, "estimate": None, "ci_lb": None, "ci_ub": None,
             "ratio_estimate": None, "ratio_ci_lb": None, "ratio_ci_ub": None},
        ]
    )  # fmt: skip


def _files(folder: Path, summary: dict, data: str) -> tuple[list[Path], list[Path]]:
    (folder / "severity").mkdir(parents=True, exist_ok=True)
    s = folder / "severity" / "summary.json"
    s.write_text(json.dumps(summary), encoding="utf-8")
    d = folder / "review" / "outcomes.csv"
    d.parent.mkdir(exist_ok=True)
    d.write_text(data, encoding="utf-8")
    return [s], [d]


def test_new_inputs_append_a_version_same_inputs_append_nothing(tmp_path):
    store, out = tmp_path / "history" / "r.csv", tmp_path / "results" / "history.csv"
    summaries, data = _files(tmp_path / "a", {"estimate": -0.2}, "x\n1\n")
    update_history(store, out, _pooled(-0.2, 2), summaries=summaries, data_files=data)
    first = store.read_bytes()
    update_history(store, out, _pooled(-0.2, 2), summaries=summaries, data_files=data)
    assert store.read_bytes() == first and out.read_bytes() == first
    summaries, data = _files(tmp_path / "a", {"estimate": -0.35}, "x\n1\n2\n")
    history = update_history(store, out, _pooled(-0.35, 3), summaries=summaries, data_files=data)
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["version"].tolist() == [1, 1, 2, 2]
    sev = history[history["outcome"] == "depression_severity"]
    assert sev["estimate"].tolist() == [-0.2, -0.35] and sev["k"].tolist() == [2, 3]
    assert history["data_sha256"].nunique() == 2 and history["inputs_sha256"].nunique() == 2
    assert out.read_bytes() == store.read_bytes()


def test_key_is_the_inputs_hashes_not_their_place(tmp_path):
    a, _ = _files(tmp_path / "one", {"estimate": 1}, "")
    b, _ = _files(tmp_path / "two" / "deeper", {"estimate": 1}, "")
    c, _ = _files(tmp_path / "three", {"estimate": 2}, "")
    assert inputs_key(a) == inputs_key(b) != inputs_key(c)


def test_report_section_shows_the_path(tmp_path):
    summaries, data = _files(tmp_path / "a", {"estimate": -0.2}, "x\n")
    out = tmp_path / "results" / "crp" / "pool" / "history.csv"
    update_history(tmp_path / "h.csv", out, _pooled(-0.2, 2), summaries=summaries, data_files=data)
    summaries, data = _files(tmp_path / "a", {"estimate": -0.35}, "y\n")
    update_history(tmp_path / "h.csv", out, _pooled(-0.35, 3), summaries=summaries, data_files=data)
    review = SimpleNamespace(name="crp", title="CRP review", results_dir=str(tmp_path / "results"))
    html = history_section([review])
    assert "2 version(s)" in html
    assert "-0.20 (-0.50 to 0.10)" in html and "-0.35 (-0.65 to -0.05)" in html
    assert html.count("not estimable") == 2  # response, both versions
    assert "Registry records" not in html  # no registry block in this run
    ingest = tmp_path / "results" / "crp" / "ingest"
    ingest.mkdir()
    registry = {"arm_level_rows_read": 5, "arm_level_rows_added": 1, "between_arm_rows": [{}],
                "not_fetched": ["NCT02473289"], "unmapped_measures": [{"nct_id": "NCT1", "title": "IL-6"}],
                "disagreements_with_sheets": [{"column": "mean_treat", "sheet": 16.6, "registry": 17.0}]}  # fmt: skip
    (ingest / "ingest_summary.json").write_text(json.dumps({"registry": registry}))
    html = history_section([review])
    assert "5 arm-level row(s) read, 1 added" in html and "1 value(s) differing" in html
    assert "NCT02473289" in html and "IL-6" in html and "17.0" in html
    absent = SimpleNamespace(name="other", title="Other", results_dir=str(tmp_path / "results"))
    assert "No history yet" in history_section([absent])


def test_report_says_what_changed_since_the_last_fetch(tmp_path):
    summaries, data = _files(tmp_path / "a", {"estimate": -0.2}, "x\n")
    out = tmp_path / "results" / "crp" / "pool" / "history.csv"
    update_history(tmp_path / "h.csv", out, _pooled(-0.2, 2), summaries=summaries, data_files=data)
    folder = tmp_path / "data" / "crp"
    review = SimpleNamespace(
        name="crp", title="CRP", results_dir=str(tmp_path / "results"), spec={"path": str(folder)}
    )
    html = history_section([review])
    assert "No registry record has been fetched" in html and "inflamed fetch ctgov" in html
    assert "Only one data version so far" in html
    log = folder / "registry" / "fetch_log.tsv"
    log.parent.mkdir(parents=True)
    log.write_text(
        "retrieved_utc\tnct_id\turl\thttp_status\tsha256\tbytes\toutcome\tmessage\n"
        "2026-11-01T09:00:00Z\tNCT00463580\thttp://x/studies/NCT00463580\t200\tab\t10\tnew\tsaved\n"
        "2026-11-30T10:00:00Z\tNCT00463580\thttp://x/studies/NCT00463580\t200\tcd\t12\tchanged"
        "\tsaved; results differ\n"
        "2026-11-30T10:00:02Z\tNCT02473289\thttp://x/studies/NCT02473289\t200\tef\t9\tunchanged"
        "\tsame bytes as the saved copy\n",
        encoding="utf-8",
    )
    summaries, data = _files(tmp_path / "a", {"estimate": -0.35}, "y\n")
    update_history(tmp_path / "h.csv", out, _pooled(-0.35, 3), summaries=summaries, data_files=data)
    html = history_section([review])
    assert "No registry record has been fetched" not in html
    assert "last fetched on 2026-11-30T10:00:02Z" in html
    assert "new or changed at their last fetch: NCT00463580." in html  # not the unchanged one
    assert "changed: saved; results differ" in html and "2026-11-01" not in html
    assert "Between data versions 1 and 2, the primary estimate changed for: Severity." in html
