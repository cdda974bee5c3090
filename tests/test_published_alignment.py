"""One rule puts published estimates on inflamed's convention, for the figure and the report alike."""

from __future__ import annotations

import pytest

from inflamed.pipeline.published import align_published


def test_a_negative_benefit_smd_is_negated_with_limits_swapped():
    a = align_published("SMD", -0.34, -0.64, -0.05, "negative")
    assert (a.estimate, a.ci_lb, a.ci_ub, a.turned) == (0.34, 0.05, 0.64, True)


@pytest.mark.parametrize("direction", ["negative", "positive", ""])
def test_ratios_are_never_turned(direction):
    a = align_published("RR", 1.28, 0.997, 1.64, direction)
    assert (a.estimate, a.ci_lb, a.ci_ub, a.turned, a.direction_known) == (
        1.28,
        0.997,
        1.64,
        False,
        True,
    )


def test_an_unrecorded_direction_is_not_turned_and_says_so():
    a = align_published("SMD", 0.2, 0.1, 0.3, "")
    assert not a.turned and not a.direction_known


def test_figure_and_table_agree_on_every_shipped_published_estimate(tmp_path):
    from pathlib import Path

    import pandas as pd

    from inflamed.pipeline.figure_inputs import comparison_input
    from inflamed.report.tables import _aligned  # the report's use of the rule

    published = (
        Path(__file__).resolve().parents[1]
        / "data/reviews/anti-inflammatory-crp/published_estimates.csv"
    )
    pooled = tmp_path / "pooled.csv"
    pd.DataFrame(
        columns=[
            "analysis_set",
            "estimable",
            "outcome",
            "measure",
            "estimate",
            "ci_lb",
            "ci_ub",
            "k",
        ]
    ).to_csv(pooled, index=False)
    frame = pd.read_csv(published, keep_default_na=False)
    outcomes = {o: {"label": o} for o in frame["outcome"].unique()}
    spec = comparison_input(pooled, published, outcomes, "crp_high")
    plotted = spec.frames["frame"]
    for (_, row), (_, drawn) in zip(frame.iterrows(), plotted.iterrows(), strict=True):
        text = _aligned(row, row["benefit_direction"])
        estimate = float(text.split()[0])
        shown = drawn["estimate"]
        import math

        shown = math.exp(shown) if row["measure"] in ("RR", "OR") else shown
        assert estimate == pytest.approx(shown, abs=0.006), (row["publication"], text, shown)
