"""Large reviews in the report: is a PNG above config ``report.embed_max_bytes`` linked instead of
embedded, and does an outcome with more rows than ``figures.forest_max_rows`` get its whole
per-study table, sortable, while a small one does not? (Sorting in a real browser:
``tests/test_report_browser.py``.) The per-study rows are SIMULATED, made up in code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from inflamed.pipeline.config import load_config
from inflamed.report import large
from inflamed.report.artefacts import OutcomeArtefacts
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
