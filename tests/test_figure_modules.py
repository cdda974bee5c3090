"""Figure functions on SIMULATED frames (seeded): they draw, they validate, they are deterministic.

Forest and funnel plots have their own module; these cover leave-one-out, influence,
cumulative, risk of bias, PRISMA and the published-estimates comparison.
"""

import numpy as np
import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.figures.comparison import comparison_plot
from inflamed.figures.cumulative import cumulative_plot
from inflamed.figures.influence import influence_plot, leave_one_out_plot
from inflamed.figures.prisma import prisma_flow
from inflamed.figures.risk_of_bias import DOMAINS, rob_summary, rob_traffic_light
from inflamed.figures.style import save_figure

rng = np.random.default_rng(7)
K = 9
EST = rng.normal(0.4, 0.05, K)
LOO = pd.DataFrame(
    {
        "omitted": [f"S{i}" for i in range(K)],
        "estimate": EST,
        "ci_lb": EST - 0.2,
        "ci_ub": EST + 0.2,
    }
)
INFLUENCE = pd.DataFrame(
    {
        "study": [f"S{i}" for i in range(K)],
        "rstudent": rng.normal(0, 1, K),
        "dffits": rng.normal(0, 0.3, K),
        "cook_d": rng.uniform(0, 0.3, K),
        "hat": rng.uniform(0.05, 0.2, K),
        "influential": [False] * (K - 1) + [True],
    }
)
CUMULATIVE = pd.DataFrame(
    {
        "label": [f"+ S{i} ({2000 + i})" for i in range(K)],
        "k": range(1, K + 1),
        "estimate": EST,
        "ci_lb": EST - 0.5 / np.sqrt(np.arange(1, K + 1)),
        "ci_ub": EST + 0.5 / np.sqrt(np.arange(1, K + 1)),
    }
)
ROB = pd.DataFrame(
    [
        {
            "study_id": f"S{i}",
            "domain": d,
            "judgement": ["low", "some_concerns", "high", "not_assessed"][(i + j) % 4],
        }
        for i in range(5)
        for j, (d, _, _) in enumerate(DOMAINS)
    ]
)
COMPARISON = pd.DataFrame(
    {
        "source": [
            "inflamed (this run, k = 3)",
            "Published A",
            "inflamed (this run, k = 2)",
            "Published A",
        ],
        "outcome": ["Severity", "Severity", "Response", "Response"],
        "measure": ["SMD", "SMD", "RR", "RR"],
        "estimate": [0.3, 0.35, np.log(1.2), np.log(1.28)],
        "ci_lb": [0.0, 0.05, np.log(0.9), np.log(0.997)],
        "ci_ub": [0.6, 0.64, np.log(1.6), np.log(1.64)],
    }
)

DRAWINGS = {
    "leave_one_out": lambda: leave_one_out_plot(
        LOO, full_estimate=0.4, full_ci=(0.25, 0.55), measure="SMD"
    ),
    "influence": lambda: influence_plot(INFLUENCE),
    "cumulative": lambda: cumulative_plot(CUMULATIVE, measure="SMD"),
    "cumulative_ratio": lambda: cumulative_plot(CUMULATIVE, measure="RR"),
    "rob_traffic_light": lambda: rob_traffic_light(ROB),
    "rob_summary": lambda: rob_summary(ROB),
    "prisma": lambda: prisma_flow(
        pd.DataFrame(
            {
                "stage": ["records_identified_databases", "records_screened", "studies_included"],
                "count": [40, 30, 5],
            }
        )
    ),
    "comparison": lambda: comparison_plot(COMPARISON),
}


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_figures_are_byte_identical_when_redrawn(name, tmp_path):
    save_figure(DRAWINGS[name](), tmp_path / "a.png", tmp_path / "a.svg")
    save_figure(DRAWINGS[name](), tmp_path / "b.png", tmp_path / "b.svg")
    assert (tmp_path / "a.png").stat().st_size > 5000
    for ext in ("png", "svg"):
        assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes(), ext


def test_prisma_says_not_reported_instead_of_inventing(tmp_path):
    save_figure(
        prisma_flow(pd.DataFrame({"stage": ["studies_included"], "count": [3]})), tmp_path / "p.svg"
    )
    svg = (tmp_path / "p.svg").read_text()
    assert svg.count("n = not reported") >= 6
    assert "n = 3" in svg


def test_missing_columns_are_named():
    with pytest.raises(InputError, match="estimate"):
        leave_one_out_plot(
            LOO.drop(columns="estimate"), full_estimate=0.4, full_ci=(0.2, 0.6), measure="SMD"
        )
    with pytest.raises(InputError, match="judgement"):
        rob_traffic_light(ROB.drop(columns="judgement"))


def test_unknown_rob_judgement_names_row_and_value():
    bad = ROB.copy()
    bad.loc[3, "judgement"] = "unclear"
    with pytest.raises(InputError) as caught:
        rob_summary(bad)
    assert "row 5" in str(caught.value) and "'unclear'" in str(caught.value)


def test_rob_summary_counts_every_study(tmp_path):
    save_figure(rob_summary(ROB), tmp_path / "s.svg")
    assert "n = 5" in (tmp_path / "s.svg").read_text()
