"""Large reviews: the forest is paged, and job resources grow with the input.

Questions answered: does a simulated review with hundreds of studies get a bounded-height forest
per page (how many pages, how tall each) and a summary forest; do the ``mem_mb``/``runtime``
requests of the growing rules never shrink as the input grows?
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from inflamed.errors import InputError
from inflamed.figures.forest import ROW_IN
from inflamed.figures.forest_pages import forest_pages, needs_pages, page_count, summary_forest
from inflamed.pipeline.resources import COSTS, mem_mb, runtime_min


def _simulated_forest(
    k_by_block: dict[str, int], seed: int = 3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SIMULATED study rows in blocks, and each block's (made-up) pooled row."""
    rng = np.random.default_rng(seed)
    frames, pooled = [], []
    for block, k in k_by_block.items():
        yi = rng.normal(0.4, 0.3, k)
        se = rng.uniform(0.1, 0.4, k)
        frames.append(
            pd.DataFrame(
                {
                    "label": [f"Simulated {block} {i + 1}" for i in range(k)],
                    "yi": yi,
                    "ci_lb": yi - 1.96 * se,
                    "ci_ub": yi + 1.96 * se,
                    "weight": np.full(k, 100.0 / k),
                    "n_treat": rng.integers(20, 200, k),
                    "n_ctrl": rng.integers(20, 200, k),
                    "subgroup": block,
                }
            )
        )
        pooled.append(
            {"subgroup": block, "estimate": 0.4, "ci_lb": 0.3, "ci_ub": 0.5, "k": k, "i2": 60.0}
        )
    return pd.concat(frames, ignore_index=True), pd.DataFrame(pooled)


def test_large_forest_is_paged_with_bounded_height():
    studies, pooled = _simulated_forest({"whole": 130, "crp_high": 45})
    max_rows = 50
    assert needs_pages(studies, max_rows)
    # Each block starts a page: 130 -> 3 pages, 45 -> 1 page.
    assert page_count(studies, max_rows) == 4
    pages = list(
        forest_pages(studies, pooled, measure="SMD", outcome_label="Simulated", max_rows=max_rows)
    )
    assert len(pages) == 4
    assert [(p.block, p.first, p.last) for p in pages] == [
        ("whole", 1, 50),
        ("whole", 51, 100),
        ("whole", 101, 130),
        ("crp_high", 1, 45),
    ]
    # Height: the rows of one page (study rows + pooled, PI and heterogeneity lines + header) plus
    # fixed margins; never the whole review's height.
    bound = (max_rows + 6) * ROW_IN + 1.5
    heights = [p.figure.get_size_inches()[1] for p in pages]
    assert max(heights) <= bound
    assert heights[0] > heights[2]  # a shorter last page is shorter
    import matplotlib.pyplot as plt

    for p in pages:
        plt.close(p.figure)
    fig = summary_forest(pooled, measure="SMD", outcome_label="Simulated", pages=len(pages))
    assert fig.get_size_inches()[1] < 3.0
    plt.close(fig)


def test_small_forest_is_not_paged():
    studies, _ = _simulated_forest({"whole": 12})
    assert not needs_pages(studies, 60)


def test_pages_share_one_axis():
    studies, pooled = _simulated_forest({"whole": 30})
    pages = list(forest_pages(studies, pooled, measure="SMD", outcome_label="S", max_rows=10))
    limits = {tuple(np.round(p.figure.axes[1].get_xlim(), 12)) for p in pages}
    assert len(limits) == 1


def test_block_without_pooled_row_is_an_error():
    studies, pooled = _simulated_forest({"whole": 30, "crp_low": 20})
    with pytest.raises(InputError, match="no row for this block"):
        list(forest_pages(studies, pooled.iloc[:1], measure="SMD", outcome_label="S", max_rows=10))
    with pytest.raises(InputError, match="max_rows"):
        list(forest_pages(studies, pooled, measure="SMD", outcome_label="S", max_rows=0))


@pytest.mark.parametrize("kind", sorted(COSTS))
def test_resources_monotone_in_input_size(kind):
    sizes = [0.0, 0.001, 0.1, 1.0, 5.0, 17.0, 50.0, 200.0]
    mems = [mem_mb(kind, s) for s in sizes]
    mins = [runtime_min(kind, s) for s in sizes]
    assert mems == sorted(mems) and mins == sorted(mins)
    assert mems[-1] > mems[0] and mins[-1] > mins[0]  # they do grow
    assert mem_mb(kind, 5.0, attempt=2) > mem_mb(kind, 5.0)
    assert runtime_min(kind, 5.0, attempt=2) > runtime_min(kind, 5.0)


def test_unknown_resource_kind():
    with pytest.raises(KeyError, match="no cost model"):
        mem_mb("nonsense", 1.0)


def test_pages_are_capped_and_the_summary_says_so():
    from inflamed.figures.forest_pages import rows_on_pages

    studies, pooled = _simulated_forest({"whole": 130, "crp_high": 45})
    assert page_count(studies, 50, max_pages=2) == 2
    assert rows_on_pages(studies, 50, max_pages=2) == 100
    assert rows_on_pages(studies, 50, max_pages=4) == 175
    assert rows_on_pages(studies, 50, max_pages=3) == 130
    pages = list(
        forest_pages(studies, pooled, measure="SMD", outcome_label="S", max_rows=50, max_pages=2)
    )
    assert [(p.block, p.first, p.last) for p in pages] == [("whole", 1, 50), ("whole", 51, 100)]
    import matplotlib.pyplot as plt

    for p in pages:
        plt.close(p.figure)
    fig = summary_forest(pooled, measure="SMD", outcome_label="S", pages=2, rows_shown=100)
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    assert "first 100 of 175 rows" in texts
    plt.close(fig)


def test_pages_are_byte_identical_across_renders(tmp_path):
    from inflamed.figures.style import save_figure

    studies, pooled = _simulated_forest({"whole": 25})
    blobs = []
    for run in range(2):
        pages = forest_pages(studies, pooled, measure="SMD", outcome_label="S", max_rows=10)
        for i, page in enumerate(pages):
            save_figure(page.figure, tmp_path / f"{run}_{i}.png")
        blobs.append([(tmp_path / f"{run}_{i}.png").read_bytes() for i in range(3)])
    assert blobs[0] == blobs[1]


def test_summary_forest_svg_is_byte_identical_from_default_settings(tmp_path):
    """The summary forest sets the house style itself (fixed SVG ids), like every figure."""
    import matplotlib

    from inflamed.figures.style import save_figure

    _, pooled = _simulated_forest({"whole": 70, "crp_high": 20})
    blobs = []
    for run in range(2):
        matplotlib.rcdefaults()  # as in a fresh process: no SVG hash salt set
        fig = summary_forest(pooled, measure="SMD", outcome_label="S", pages=2)
        save_figure(fig, tmp_path / f"{run}.svg")
        blobs.append((tmp_path / f"{run}.svg").read_bytes())
    assert blobs[0] == blobs[1]
