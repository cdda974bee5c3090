"""Large reviews in the report: is a PNG above config ``report.embed_max_bytes`` linked instead of
embedded, and does an outcome with more rows than ``figures.forest_max_rows`` get its whole
per-study table, sortable, while a small one does not? (Sorting in a real browser:
``tests/test_report_browser.py``.) The per-study rows are SIMULATED, made up in code.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from inflamed.pipeline.config import load_config
from inflamed.report import large
from inflamed.report.artefacts import OutcomeArtefacts, ReviewArtefacts
from inflamed.report.html import embed_png, set_embedding

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _reset():
    yield
    set_embedding(None)
    large.configure({})


def _png(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8))
    return path


def test_a_figure_above_the_limit_is_linked_relative_to_the_report(tmp_path: Path) -> None:
    results = tmp_path / "results"
    big = _png(results / "rev" / "figures" / "forest.png", 5_000)
    small = _png(results / "rev" / "figures" / "funnel.png", 50)
    large.configure({"report": {"embed_max_bytes": 1_000}}, results_dir=results)
    linked = embed_png(big, "Forest plot", caption="Forest plot (k = 5,000).")
    assert "base64" not in linked and 'href="rev/figures/forest.png"' in linked
    assert "<figcaption>Forest plot (k = 5,000).</figcaption>" in linked  # still numbered
    assert "data:image/png;base64," in embed_png(small, "Funnel")
    large.configure({}, results_dir=results)  # no limit: everything embedded
    assert "data:image/png;base64," in embed_png(big, "Forest plot")


def _outcome(k: int) -> OutcomeArtefacts:
    studies = pd.DataFrame(
        {
            "study_id": [f"S{i}" for i in range(k)],
            "label": [f"Sim {2000 + i}" for i in range(k)],
            "analysis_set": ["whole"] * k,
            "yi": [0.1 * i for i in range(k)],
            "ci_lb": [0.1 * i - 0.2 for i in range(k)],
            "ci_ub": [0.1 * i + 0.2 for i in range(k)],
            "weight": [100 / k] * k,
            "n_treat": [20] * k,
            "n_ctrl": [21] * k,
        }
    )
    return OutcomeArtefacts(
        name="o",
        spec={"label": "O"},
        summary={"measure": "SMD"},
        studies=studies,
        subgroups=None,
        small_study=None,
        leave_one_out=None,
        influence=None,
        cumulative=None,
        figures={},
        paths={"studies": "results/rev/pool/o/studies.csv"},
    )


def test_only_a_large_outcome_gets_the_sortable_per_study_table() -> None:
    large.configure({"figures": {"forest_max_rows": 3}})
    html = large.studies_table(_outcome(5), "every-study-o")
    assert 'class="sortable"' in html and "<script>" in html
    assert html.count("<tr>") == 6  # header + 5 studies
    assert "Sim 2004" in html and ">41<" in html  # N = 20 + 21
    assert large.studies_table(_outcome(3), "every-study-o") == ""
    large.configure({})
    assert large.studies_table(_outcome(500), "every-study-o") == ""


def test_config_default_limit_is_set_by_the_schema() -> None:
    shipped = yaml.safe_load((REPO / "config.yaml").read_text())
    assert "embed_max_bytes" not in shipped.get("report", {})  # the default comes from the schema
    config = load_config(
        shipped, REPO / "workflow" / "schemas" / "config.schema.yaml", source="config.yaml"
    )
    assert config["report"]["embed_max_bytes"] == 5_000_000
    assert config["figures"]["forest_max_rows"] == 60


def _rob_review(k: int, tmp_path: Path):
    """A SIMULATED review of k assessed studies, each with one pooled whole-sample result."""
    ids = [f"SIM{i:03d}" for i in range(k)]
    rob = pd.DataFrame(
        [
            {"study_id": s, "domain": d, "judgement": "low"}
            for s in ids
            for d in ("D1_randomisation", "D2_deviations", "overall")
        ]
    )
    pooled = pd.DataFrame(
        {"study_id": ids, "analysis_set": "whole", "inflammation_selection": "none"}
    )
    outcome = dataclasses.replace(_outcome(1), studies=pooled)
    figures = {}
    for name in ("rob_traffic_light", "rob_summary", "rob_results"):
        figures[name] = tmp_path / f"{name}.png"
        figures[name].write_bytes(b"\x89PNG not really a picture")
    return ReviewArtefacts(
        name="rev", title="Rev", spec={}, results_dir=str(tmp_path), outcomes={"o": outcome},
        studies=None, risk_of_bias=rob, published=None, prisma=None, effects=None,
        derivation_log=None, missing_data=None, pooled=None, who_benefits=None,
        crp_predictions=None, clinic_bridge=None, figures=figures, paths={},
    )  # fmt: skip


def test_a_large_review_gets_risk_of_bias_tables_not_row_per_study_figures(tmp_path) -> None:
    """Above figures.forest_max_rows assessed studies the traffic lights are one line of text
    (the figure stage, asking the same rule, did not draw them) and the tables sort on a click;
    the summary bar chart (one bar per domain) is still embedded."""
    from inflamed.report.sections import risk_of_bias_section

    large.configure({"figures": {"forest_max_rows": 10}})
    try:
        html = risk_of_bias_section([_rob_review(12, tmp_path)])
        assert "No traffic-light plot for Rev: 12 rows, more than the 10" in html
        assert "No per-result traffic-light plot for Rev: 12 rows" in html
        assert html.count("<img") == 1 and "rob_summary.png" in html
        assert html.count('class="sortable"') == 2 and "<script>" in html
        small = risk_of_bias_section([_rob_review(10, tmp_path)])
        assert small.count("<img") == 3 and "sortable" not in small and "No traffic" not in small
    finally:
        large.configure({})


def test_a_large_review_counts_its_studies_by_characteristic(tmp_path) -> None:
    """Above figures.forest_max_rows studies, characteristics are counted, not listed (one row
    per study stays in ingest/studies.csv); a small review keeps its row per study."""
    from inflamed.report.sections import characteristics_section

    review = _rob_review(12, tmp_path)
    studies = pd.DataFrame(
        {
            "study_id": [f"SIM{i:03d}" for i in range(12)],
            "first_author": "Sim", "year": 2000,
            "mechanism_class": ["nsaid_cox2"] * 9 + ["minocycline"] * 3,
            "inflammation_selection": ["post_hoc"] * 12,
        }
    )  # fmt: skip
    review = dataclasses.replace(review, studies=studies)
    large.configure({"figures": {"forest_max_rows": 10}})
    try:
        html = characteristics_section([review])
        assert "12 studies, more than the 10" in html and "rev/ingest/studies.csv" in html
        cells = re.findall(r"<td data-label=\"[^\"]*\"[^>]*>([^<]*)</td>", html)
        assert cells == [
            "class", "NSAID (COX-2)", "9", "class", "minocycline", "3",
            "inflammation selection", "post hoc", "12",
        ]  # fmt: skip
        large.configure({"figures": {"forest_max_rows": 12}})
        assert characteristics_section([review]).count("Sim 2000") == 12
    finally:
        large.configure({})


def test_a_grade_reason_names_a_few_studies_and_counts_the_rest() -> None:
    from inflamed.report.grade_context import NAMES_SHOWN, name_list

    ids = [f"S{i}" for i in range(NAMES_SHOWN + 3)]
    assert name_list(ids, {"S0": "Sim 2000"}).startswith("Sim 2000, S1,")
    assert name_list(ids).endswith(f"S{NAMES_SHOWN - 1} and 3 more")
    assert name_list(ids[:2]) == "S0, S1"


def test_influential_studies_are_named_by_label_a_few_then_counted() -> None:
    from inflamed.report.grade_context import NAMES_SHOWN
    from inflamed.report.results_section import _sensitivity_text

    k = NAMES_SHOWN + 4
    influence = pd.DataFrame({"study_id": [f"S{i}" for i in range(k)], "influential": [True] * k})
    outcome = dataclasses.replace(
        _outcome(k), influence=influence, paths={"influence": "rev/pool/o/influence.csv"}
    )
    text = _sensitivity_text(outcome)
    assert f"flag {k} studies: Sim 2000, Sim 2001," in text and "and 4 more" in text
    assert "rev/pool/o/influence.csv" in text and "S11" not in text
    one = dataclasses.replace(outcome, influence=influence.head(1))
    assert "flag Sim 2000 as influential." in _sensitivity_text(one)
