"""PRISMA 2020 counts: does every arrow of the flow add up, and is "not searched" kept apart?

Questions answered: does the shipped review's ``prisma.csv`` close on every arrow; does a broken
count make its arrow fail (so the check can fail); is an arrow with a missing or uncounted box
reported as not checkable instead of passing; are not-searched routes drawn as such.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.figures.prisma import prisma_flow
from inflamed.ingest.prisma import prisma_arithmetic, read_prisma_counts

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "data" / "reviews" / "anti-inflammatory-crp" / "prisma.csv"


def _sim() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": [
                "identified_databases", "identified_registers", "duplicates_removed",
                "records_screened", "records_excluded", "reports_sought", "reports_not_retrieved",
                "reports_assessed", "reports_excluded", "reports_excluded:wrong_population",
                "reports_excluded:no_crp", "identified_other_websites", "identified_other_citations",
                "identified_other", "other_removed_before_screening", "other_screened",
                "other_excluded", "other_reports_sought", "other_reports_not_retrieved",
                "other_reports_assessed", "other_reports_excluded", "studies_included",
            ],
            "count": [1200, 85, 310, 975, 900, 75, 5, 70, 58, 40, 18, 30, 10, 40, 5, 35, 30, 5,
                      1, 4, 2, 14],
        }
    )  # fmt: skip


def _by_arrow(counts: pd.DataFrame) -> dict[str, bool | None]:
    return {c.arrow: c.holds for c in prisma_arithmetic(read_prisma_counts(counts))}


def test_shipped_review_adds_up_on_every_arrow() -> None:
    checks = prisma_arithmetic(read_prisma_counts(pd.read_csv(SHIPPED)))
    assert checks, "no arrow was checked"
    assert all(c.checkable for c in checks), [c for c in checks if not c.checkable]
    assert all(c.holds for c in checks), [c for c in checks if not c.holds]
    arrows = {c.arrow for c in checks}
    assert {"other methods: channels add up", "eligibility to included"} <= arrows


def test_shipped_review_says_databases_and_registers_were_not_searched() -> None:
    counts = read_prisma_counts(pd.read_csv(SHIPPED))
    assert counts.status["identified_databases"] == "not_searched"
    assert counts.status["identified_registers"] == "not_searched"
    texts = "\n".join(t.get_text() for t in prisma_flow(pd.read_csv(SHIPPED)).axes[0].texts)
    assert "Databases (n = 0; not searched)" in texts
    assert "not reported" not in texts


def test_a_simulated_two_route_flow_closes() -> None:
    assert set(_by_arrow(_sim()).values()) == {True}


@pytest.mark.parametrize(
    ("stage", "arrow"),
    [
        ("records_screened", "identification to screening"),
        ("reports_sought", "screening to retrieval"),
        ("other_reports_assessed", "other methods: retrieval to eligibility"),
        ("studies_included", "eligibility to included"),
        ("reports_excluded:no_crp", "exclusion reasons add up"),
        ("identified_other_citations", "other methods: channels add up"),
    ],
)
def test_a_wrong_count_breaks_its_arrow(stage: str, arrow: str) -> None:
    counts = _sim()
    counts.loc[counts["stage"] == stage, "count"] += 1
    assert _by_arrow(counts)[arrow] is False


def test_missing_or_uncounted_box_is_not_checkable_rather_than_passing() -> None:
    counts = _sim()
    counts.loc[counts["stage"] == "reports_not_retrieved", "count"] = None
    assert _by_arrow(counts)["retrieval to eligibility"] is None
    counts = _sim().assign(status="counted")
    counts.loc[counts["stage"] == "other_excluded", "status"] = "not_counted"
    assert _by_arrow(counts)["other methods: screening to retrieval"] is None


def test_unknown_status_names_row_and_column() -> None:
    counts = _sim().assign(status="counted")
    counts.loc[3, "status"] = "guessed"
    with pytest.raises(InputError) as info:
        read_prisma_counts(counts)
    assert (info.value.row, info.value.column, info.value.value) == (5, "status", "guessed")
