"""Do the figures say only what was done?

Questions answered: is a single study drawn without a pooled diamond (nothing was pooled); does
the comparison plot keep the published precision (0.997 is not rounded to 1.00) and name each
estimate's population and source type.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from inflamed.figures.comparison import comparison_plot
from inflamed.figures.forest import forest_plot
from inflamed.pipeline.figure_inputs import comparison_input, forest_input


def _single_study_pool(folder: Path) -> Path:
    studies = pd.DataFrame(
        {"study_id": ["A"], "label": ["Author 2020"], "analysis_set": ["whole"], "yi": [0.2],
         "vi": [0.04], "ci_lb": [-0.19], "ci_ub": [0.59], "weight": [100.0], "n_treat": [30],
         "n_ctrl": [30], "events_treat": [None], "events_ctrl": [None]}
    )  # fmt: skip
    studies.to_csv(folder / "studies.csv", index=False)
    summary = {
        "label": "Severity", "type": "continuous", "measure": "SMD",
        "settings": {"method": "REML", "test": "knha", "level": 95.0},
        "sets": {"whole": {"k": 1, "estimable": True,
                           "result": {"estimate": 0.2, "ci_lb": -0.19, "ci_ub": 0.59}}},
    }  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "subgroups.json").write_text("{}")
    return folder


def test_single_study_has_no_pooled_diamond(tmp_path):
    folder = _single_study_pool(tmp_path)
    spec = forest_input(folder / "studies.csv", folder / "summary.json", folder / "subgroups.json")
    assert spec.drawable and spec.frames["pooled"].empty
    fig = forest_plot(spec.frames["studies"], spec.frames["pooled"], **spec.options)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not [t for t in texts if "Random-effects" in t], texts


def test_comparison_keeps_published_precision_and_names_population(tmp_path):
    pooled = pd.DataFrame(
        {"outcome": ["response"], "analysis_set": ["crp_high"], "estimable": [True], "k": [1],
         "measure": ["RR"], "estimate": [0.6], "ci_lb": [-0.4], "ci_ub": [1.6]}
    )  # fmt: skip
    pooled.to_csv(tmp_path / "pooled.csv", index=False)
    (tmp_path / "published.csv").write_text(
        "publication,outcome,subgroup,measure,estimate,ci_lb,ci_ub,benefit_direction,notes\n"
        "Review2026,response,crp_high,RR,1.28,0.997,1.64,positive,Secondary source: a digest\n"
        "Older2014,response,whole,RR,1.4,1.1,1.8,positive,\n"
    )
    spec = comparison_input(
        tmp_path / "pooled.csv", tmp_path / "published.csv", {"response": {"label": "Response"}},
        "crp_high",
    )  # fmt: skip
    frame = spec.frames["frame"]
    assert "Review2026 (CRP-selected; news digest, secondary)" in set(frame["source"])
    assert "Older2014 (whole samples; publication)" in set(frame["source"])
    texts = [t.get_text() for ax in comparison_plot(frame).axes for t in ax.texts]
    assert any("1.28 [0.997, 1.64]" in t for t in texts), texts
    assert any("1.40 [1.10, 1.80]" in t for t in texts), texts
