"""Figures: each function on simulated frames, bad columns, no overlapping text, same bytes twice.

All data here are SIMULATED (fixed seeds) and labelled so in the figures; no number here is
evidence about any treatment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from inflamed.errors import InputError
from inflamed.figures.bubble import bubble_plot
from inflamed.figures.comparison import comparison_plot
from inflamed.figures.cumulative import cumulative_plot
from inflamed.figures.forest import forest_plot
from inflamed.figures.funnel import funnel_plot
from inflamed.figures.influence import influence_plot, leave_one_out_plot
from inflamed.figures.prisma import prisma_flow
from inflamed.figures.risk_of_bias import DOMAINS, rob_summary, rob_traffic_light
from inflamed.figures.style import save_figure

REPO = Path(__file__).resolve().parents[1]


# ---- simulated inputs ---------------------------------------------------------------------------


def sim_studies(
    k: int, *, seed: int = 1, subgroups: tuple[str, ...] = (), binary: bool = False
) -> pd.DataFrame:
    """Simulated study rows (label says 'Simulated')."""
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(20, 200, k), rng.integers(20, 200, k)
    vi = 1 / n1 + 1 / n2
    yi = rng.normal(0.3, 0.15, k) + rng.normal(0, np.sqrt(vi))
    w = 1 / (vi + 0.02)
    frame = pd.DataFrame(
        {
            "label": [f"Simulated {i + 1:02d} ({2000 + i % 25})" for i in range(k)],
            "yi": yi,
            "ci_lb": yi - 1.96 * np.sqrt(vi),
            "ci_ub": yi + 1.96 * np.sqrt(vi),
            "weight": 100 * w / w.sum(),
            "n_treat": n1,
            "n_ctrl": n2,
        }
    )
    if binary:
        frame["events_treat"] = (n1 * 0.4).astype(int)
        frame["events_ctrl"] = (n2 * 0.3).astype(int)
    if subgroups:
        frame["subgroup"] = [subgroups[i % len(subgroups)] for i in range(k)]
    return frame


def sim_pooled(studies: pd.DataFrame, groups: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for g in groups:
        d = studies if g == "overall" else studies[studies["subgroup"] == g]
        est = float(np.average(d["yi"], weights=d["weight"]))
        rows.append(
            {
                "subgroup": g,
                "estimate": est,
                "ci_lb": est - 0.15,
                "ci_ub": est + 0.15,
                "pi_lb": est - 0.4,
                "pi_ub": est + 0.4,
                "k": len(d),
                "tau2": 0.02,
                "i2": 41.0,
                "q": 12.3,
                "q_df": len(d) - 1,
                "q_pval": 0.04,
            }
        )
    return pd.DataFrame(rows)


def sim_rob(n: int = 8, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [
            {
                "study_id": f"Simulated {i + 1:02d}",
                "domain": d,
                "judgement": str(rng.choice(["low", "some_concerns", "high"])),
            }
            for i in range(n)
            for d in DOMAINS
        ]
    )


def sim_prisma() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": [
                "identified_databases",
                "identified_registers",
                "duplicates_removed",
                "records_screened",
                "records_excluded",
                "reports_sought",
                "reports_assessed",
                "reports_excluded",
                "reports_excluded:wrong_population",
                "studies_included",
                "trials_identified",
            ],
            "count": [1200, 85, 310, 975, 900, 75, 70, 58, 58, 12, 25],
        }
    )


def _forest_2() -> Figure:
    s = sim_studies(2)
    return forest_plot(
        s, sim_pooled(s, ("overall",)), measure="SMD", outcome_label="Simulated outcome"
    )


def _forest_40() -> Figure:
    s = sim_studies(40, subgroups=("crp_high", "whole"))
    return forest_plot(
        s,
        sim_pooled(s, ("crp_high", "whole", "overall")),
        measure="SMD",
        outcome_label="Simulated outcome",
        subgroup_test={"q": 3.2, "df": 1, "pval": 0.07},
        subgroup_labels={"crp_high": "CRP \u2265 3 mg/L", "whole": "Whole sample"},
    )


def _forest_rr() -> Figure:
    s = sim_studies(6, seed=3, binary=True)
    return forest_plot(
        s, sim_pooled(s, ("overall",)), measure="RR", outcome_label="Simulated response"
    )


def _funnel() -> Figure:
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.15, 15)
    yi = rng.normal(0.3, np.sqrt(vi))
    return funnel_plot(
        yi,
        vi,
        estimate=0.3,
        measure="SMD",
        egger={"stat": 1.84, "pval": 0.088, "stat_name": "z", "method": "simulated"},
        filled=pd.DataFrame({"yi": [0.05, -0.1], "vi": [0.1, 0.12]}),
        filled_estimate=0.22,
    )


def _loo_frame(k: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    est = 0.3 + rng.normal(0, 0.03, k)
    return pd.DataFrame(
        {
            "omitted": [f"Simulated {i + 1}" for i in range(k)],
            "estimate": est,
            "ci_lb": est - 0.15,
            "ci_ub": est + 0.15,
        }
    )


def _influence_frame(k: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(12)
    return pd.DataFrame(
        {
            "study": [f"Simulated {i + 1}" for i in range(k)],
            "rstudent": rng.normal(0, 1, k),
            "cook_d": rng.uniform(0, 0.6, k),
            "hat": rng.uniform(0.03, 0.2, k),
            "dffits": rng.normal(0, 0.5, k),
            "inf": [False] * (k - 1) + [True],
        }
    )


def _cumulative_frame(k: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(13)
    est = 0.3 + rng.normal(0, 0.05, k)
    kk = np.arange(1, k + 1)
    return pd.DataFrame(
        {
            "label": [f"+ Simulated {i + 1}" for i in range(k)],
            "estimate": est,
            "ci_lb": est - 0.6 / np.sqrt(kk),
            "ci_ub": est + 0.6 / np.sqrt(kk),
            "k": kk,
        }
    )


def _comparison_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": [
                "inflamed (this run, k = 5)",
                "Simulated publication 2020",
                "inflamed (this run, k = 3)",
            ],
            "outcome": ["Simulated symptoms", "Simulated symptoms", "Simulated response"],
            "measure": ["SMD", "SMD", "RR"],
            "estimate": [0.31, 0.35, np.log(1.4)],
            "ci_lb": [0.10, 0.20, np.log(0.9)],
            "ci_ub": [0.52, 0.50, np.log(2.2)],
        }
    )


def _bubble() -> Figure:
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 12, 10)
    vi = rng.uniform(0.02, 0.2, 10)
    yi = 0.05 + 0.04 * x + rng.normal(0, np.sqrt(vi))
    grid = np.linspace(x.min(), x.max(), 20)
    line = pd.DataFrame(
        {
            "x": grid,
            "pred": 0.05 + 0.04 * grid,
            "ci_lb": grid * 0.04 - 0.15,
            "ci_ub": grid * 0.04 + 0.25,
        }
    )
    return bubble_plot(
        x,
        yi,
        vi,
        line=line,
        xlabel="Baseline CRP (mg/L)",
        ylabel="Hedges' g",
        labels=[f"S{i}" for i in range(10)],
    )


BUILDERS: dict[str, Callable[[], Figure]] = {
    "forest_2": _forest_2,
    "forest_40": _forest_40,
    "forest_rr": _forest_rr,
    "funnel": _funnel,
    "leave_one_out": lambda: leave_one_out_plot(
        _loo_frame(), full_estimate=0.3, full_ci=(0.16, 0.44)
    ),
    "influence": lambda: influence_plot(_influence_frame(), title="Simulated influence"),
    "cumulative": lambda: cumulative_plot(_cumulative_frame(), title="Simulated cumulative"),
    "rob_traffic_light": lambda: rob_traffic_light(sim_rob()),
    "rob_summary": lambda: rob_summary(sim_rob()),
    "prisma": lambda: prisma_flow(sim_prisma()),
    "bubble": _bubble,
    "comparison": lambda: comparison_plot(_comparison_frame()),
}


def _texts(fig: Figure) -> list[Text]:
    """Visible, non-empty texts the figure draws (titles, labels, annotations, legends)."""
    out: list[Text] = list(fig.texts)
    for ax in fig.axes:
        out += [
            *ax.texts,
            ax.title,
            ax._left_title,  # type: ignore[attr-defined]
            ax._right_title,  # type: ignore[attr-defined]
            ax.xaxis.label,
            ax.yaxis.label,
        ]
        legend = ax.get_legend()
        if legend is not None:
            out += list(legend.get_texts())
    return [t for t in out if t.get_visible() and t.get_text().strip()]


def _overlaps(fig: Figure) -> list[tuple[str, str]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9)) for t in _texts(fig)]
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]


# ---- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_figure_is_deterministic_png_and_svg(name: str, tmp_path: Path) -> None:
    """Question: does a rerun on the same data give byte-identical PNG and SVG files?"""
    save_figure(BUILDERS[name](), tmp_path / "a.png", tmp_path / "a.svg")
    save_figure(BUILDERS[name](), tmp_path / "b.png", tmp_path / "b.svg")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert (tmp_path / "a.png").stat().st_size > 1000


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_no_overlapping_text(name: str) -> None:
    """Question: do any two texts of the figure overlap (a reviewer could not read them)?"""
    assert _overlaps(BUILDERS[name]()) == []


def test_forest_height_scales_with_rows_and_shows_every_study() -> None:
    small, large = _forest_2(), _forest_40()
    assert large.get_size_inches()[1] > 5 * small.get_size_inches()[1] / 2
    texts = {t.get_text() for t in _texts(large)}
    assert all(f"Simulated {i:02d} ({2000 + (i - 1) % 25})" in texts for i in range(1, 41))
    assert "Test for subgroup differences: Q = 3.20, df = 1, p = 0.070" in texts
    assert any(t.startswith("Heterogeneity: \u03c4\u00b2 = 0.020; I\u00b2 = 41%") for t in texts)
    assert "CRP \u2265 3 mg/L" in texts


def test_forest_ratio_measure_is_exponentiated_on_log_axis() -> None:
    fig = _forest_rr()
    plot_ax = fig.axes[1]
    assert plot_ax.get_xscale() == "log"
    lo, hi = plot_ax.get_xlim()
    assert lo > 0 and lo < 1 < hi
    texts = {t.get_text() for t in _texts(fig)}
    assert "RR [95% CI]" in texts
    assert any("/" in t for t in texts)  # events/n columns for binary outcomes


def test_forest_uses_single_block_row_when_no_overall_row() -> None:
    """The pipeline passes one row per analysis set and no 'overall' row."""
    s = sim_studies(3).assign(subgroup="whole")
    fig = forest_plot(s, sim_pooled(s, ("whole",)), measure="SMD", outcome_label="Simulated")
    assert any(t.get_text().startswith("Random-effects model (k = 3)") for t in _texts(fig))


def test_forest_missing_pooled_row_is_an_error() -> None:
    s = sim_studies(3, subgroups=("a", "b"))
    pooled = sim_pooled(s, ("a",)).assign(subgroup="zzz")
    with pytest.raises(InputError, match="no row matching"):
        forest_plot(s, pooled, measure="SMD", outcome_label="Simulated")


@pytest.mark.parametrize("column", ["label", "yi", "ci_lb", "ci_ub", "weight"])
def test_forest_missing_study_column_is_named(column: str) -> None:
    s = sim_studies(3)
    with pytest.raises(InputError) as info:
        forest_plot(
            s.drop(columns=column), sim_pooled(s, ("overall",)), measure="SMD", outcome_label="x"
        )
    assert info.value.column == column


@pytest.mark.parametrize("column", ["subgroup", "estimate", "ci_lb", "ci_ub", "k"])
def test_forest_missing_pooled_column_is_named(column: str) -> None:
    s = sim_studies(3)
    with pytest.raises(InputError) as info:
        forest_plot(
            s, sim_pooled(s, ("overall",)).drop(columns=column), measure="SMD", outcome_label="x"
        )
    assert info.value.column == column


def test_forest_non_numeric_value_names_row() -> None:
    s = sim_studies(3)
    s["yi"] = s["yi"].astype(object)
    s.loc[1, "yi"] = "n/a"
    with pytest.raises(InputError) as info:
        forest_plot(s, sim_pooled(sim_studies(3), ("overall",)), measure="SMD", outcome_label="x")
    assert (info.value.column, info.value.row, info.value.value) == ("yi", 3, "n/a")


@pytest.mark.parametrize(
    ("call", "column"),
    [
        (
            lambda: leave_one_out_plot(_loo_frame().drop(columns="omitted"), full_estimate=0.3),
            "omitted",
        ),
        (lambda: leave_one_out_plot(_loo_frame()), "full_estimate"),
        (lambda: influence_plot(_influence_frame().drop(columns="cook_d")), "cook_d"),
        (lambda: cumulative_plot(_cumulative_frame().drop(columns="k")), "k"),
        (lambda: cumulative_plot(_cumulative_frame().drop(columns="label")), "label"),
        (lambda: rob_traffic_light(sim_rob().drop(columns="judgement")), "judgement"),
        (lambda: rob_summary(sim_rob().drop(columns="domain")), "domain"),
        (lambda: prisma_flow(sim_prisma().drop(columns="count")), "count"),
        (lambda: comparison_plot(_comparison_frame().drop(columns="source")), "source"),
        (
            lambda: funnel_plot(
                [0.1, 0.2],
                [0.01, 0.02],
                estimate=0.1,
                measure="SMD",
                filled=pd.DataFrame({"yi": [0.0]}),
            ),
            "vi",
        ),
        (
            lambda: bubble_plot(
                [1, 2],
                [0.1, 0.2],
                [0.01, 0.02],
                xlabel="x",
                ylabel="y",
                line=pd.DataFrame({"x": [1]}),
            ),
            "pred",
        ),
    ],
)
def test_missing_column_is_named(call: Callable[[], Figure], column: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.column == column


def test_funnel_shows_egger_and_trim_and_fill_in_legend() -> None:
    texts = [t.get_text() for t in _texts(_funnel())]
    assert any(t.startswith("Egger's test: z = 1.84, p = 0.088") for t in texts)
    assert "Imputed by trim and fill (2)" in texts


def test_funnel_rejects_non_positive_variance() -> None:
    with pytest.raises(InputError) as info:
        funnel_plot([0.1, 0.2], [0.01, 0.0], estimate=0.1, measure="SMD")
    assert (info.value.column, info.value.row) == ("vi", 3)


def test_rob_unknown_judgement_names_row_and_value() -> None:
    rob = sim_rob()
    rob.loc[4, "judgement"] = "unclear"
    with pytest.raises(InputError) as info:
        rob_traffic_light(rob)
    assert (info.value.row, info.value.column, info.value.value) == (6, "judgement", "unclear")


def test_rob_duplicate_judgement_is_an_error() -> None:
    rob = sim_rob()
    with pytest.raises(InputError, match="two judgements"):
        rob_summary(pd.concat([rob, rob.iloc[[0]]], ignore_index=True))


def test_rob_missing_domain_is_drawn_as_not_assessed() -> None:
    rob = sim_rob()
    rob = rob.drop(index=len(rob) - len(DOMAINS))  # the last study loses its D1 judgement
    fig = rob_traffic_light(rob)
    assert "?" in {t.get_text() for t in _texts(fig)}


def test_rob_overall_column_follows_the_rob2_algorithm() -> None:
    """A stale 'not assessed' overall beside a judged concern is drawn as some concerns."""
    rob = pd.DataFrame(
        {"study_id": ["A"] * 6, "domain": list(DOMAINS),
         "judgement": ["not_assessed", "low", "some_concerns", "low", "not_assessed", "not_assessed"]}
    )  # fmt: skip
    cells = [t.get_text() for t in _texts(rob_traffic_light(rob)) if len(t.get_text()) == 1]
    assert cells == ["?", "+", "\u2212", "+", "?", "\u2212"], cells  # overall: some concerns


def test_prisma_missing_counts_are_not_reported_never_invented() -> None:
    texts = "\n".join(t.get_text() for t in _texts(prisma_flow(sim_prisma())))
    assert "Reports not retrieved\n(n = not reported)" in texts  # stage absent
    assert "(n = 1,200)" in texts and "Wrong population (n = 58)" in texts
    assert "trials identified: n = 25" in texts  # a stage outside the template is kept, in a note
    counts = sim_prisma()
    counts.loc[3, "count"] = np.nan
    assert "Records screened\n(n = not reported)" in "\n".join(
        t.get_text() for t in _texts(prisma_flow(counts))
    )


@pytest.mark.parametrize(("bad", "row"), [(-3, 2), (2.5, 2), ("many", 2)])
def test_prisma_bad_count_names_row(bad: object, row: int) -> None:
    counts = sim_prisma()
    counts["count"] = counts["count"].astype(object)
    counts.loc[0, "count"] = bad
    with pytest.raises(InputError) as info:
        prisma_flow(counts)
    assert (info.value.row, info.value.column) == (row, "count")


def test_prisma_duplicate_stage_is_an_error() -> None:
    counts = pd.concat([sim_prisma(), sim_prisma().iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="twice"):
        prisma_flow(counts)


def test_prisma_draws_the_repository_review_counts() -> None:
    path = REPO / "data" / "reviews" / "anti-inflammatory-crp" / "prisma.csv"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    fig = prisma_flow(pd.read_csv(path))
    assert _overlaps(fig) == []


def test_comparison_ratio_panel_on_log_axis() -> None:
    fig = comparison_plot(_comparison_frame())
    scales = [ax.get_xscale() for ax in fig.axes]
    assert scales == ["linear", "log"]
    assert "1.40 [0.90, 2.20]" in {t.get_text().strip() for t in _texts(fig)}


def test_influence_flags_influential_study() -> None:
    fig = influence_plot(_influence_frame())
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "Simulated 8 *"


def test_bubble_area_proportional_to_weight() -> None:
    vi = np.array([0.01, 0.04])
    fig = bubble_plot([1.0, 2.0], [0.1, 0.2], vi, xlabel="x", ylabel="y")
    sizes = fig.axes[0].collections[-1].get_sizes()
    assert sorted(sizes) == pytest.approx([100.0, 400.0])


def test_write_pngs_for_review(tmp_path: Path) -> None:
    """Writes every figure to /tmp/figcheck when INFLAMED_FIGCHECK is set (for looking at them)."""
    import os

    target = os.environ.get("INFLAMED_FIGCHECK")
    if not target:
        pytest.skip("set INFLAMED_FIGCHECK=<dir> to write the review PNGs")
    for name, build in BUILDERS.items():
        save_figure(build(), Path(target) / f"{name}.png")


def test_overlap_check_can_fail() -> None:
    """The overlap check itself: two texts on the same spot are reported."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "Simulated label A")
    ax.text(0.52, 0.5, "Simulated label B")
    assert _overlaps(fig) != []


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def test_forest_xlim_clips_intervals_with_arrows_and_marks_not_estimable() -> None:
    s = sim_studies(4)
    s.loc[0, ["ci_lb", "ci_ub"]] = [-3.0, 3.0]  # wider than the axis
    s.loc[1, ["yi", "ci_lb", "ci_ub", "weight"]] = np.nan  # e.g. zero events in both arms
    fig = forest_plot(
        s,
        sim_pooled(sim_studies(4), ("overall",)),
        measure="SMD",
        outcome_label="Simulated",
        xlim=(-1, 1),
    )
    plot_ax = fig.axes[1]
    assert plot_ax.get_xlim() == (-1.0, 1.0)
    markers = {line.get_marker() for line in plot_ax.get_lines()}
    assert {"<", ">"} <= markers
    assert "not estimable" in {t.get_text() for t in _texts(fig)}


def test_package_exports_every_figure_function() -> None:
    import inflamed.figures as figures

    for name in (
        "forest_plot",
        "funnel_plot",
        "leave_one_out_plot",
        "influence_plot",
        "cumulative_plot",
        "rob_traffic_light",
        "rob_summary",
        "prisma_flow",
        "bubble_plot",
        "comparison_plot",
    ):
        assert callable(getattr(figures, name))


def test_forest_single_study_block_has_no_heterogeneity_line() -> None:
    s = sim_studies(1)
    pooled = sim_pooled(s, ("overall",)).assign(tau2=0.0, i2=0.0, q=0.0, q_df=0, q_pval=np.nan)
    fig = forest_plot(s, pooled, measure="SMD", outcome_label="Simulated")
    assert not any(t.get_text().startswith("Heterogeneity") for t in _texts(fig))
    fig = forest_plot(
        s,
        pooled,
        measure="SMD",
        outcome_label="Simulated",
        heterogeneity="Heterogeneity: not applicable (k = 1)",
    )
    assert "Heterogeneity: not applicable (k = 1)" in {t.get_text() for t in _texts(fig)}


@pytest.mark.parametrize(
    ("lo", "hi"), [(0.57, 2.9), (0.3, 5.6), (0.01, 100.0), (0.9, 1.2), (0.98, 1.03)]
)
def test_ratio_axis_has_at_least_three_readable_ticks(lo: float, hi: float) -> None:
    from inflamed.figures._common import nice_ratio_ticks

    ticks = nice_ratio_ticks(lo, hi)
    assert 3 <= len(ticks) <= 9
    assert all(lo <= t <= hi for t in ticks)
    assert ticks == sorted(ticks)


def test_many_rows_switch_to_a_compact_readable_view() -> None:
    """A Metapsy-sized review (hundreds of comparisons) must not give a 100-inch figure."""
    k = 300
    loo = _loo_frame(k)
    loo.loc[7, ["estimate", "ci_lb", "ci_ub"]] = [0.9, 0.7, 1.1]  # one row leaves the full CI
    fig = leave_one_out_plot(
        loo, full_estimate=0.3, full_ci=(0.2, 0.4), title="Simulated, many rows"
    )
    assert fig.get_size_inches()[1] < 10
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Omitting Simulated 8"]
    assert cumulative_plot(_cumulative_frame(k)).get_size_inches()[1] < 10
    infl = _influence_frame(k)
    fig = influence_plot(infl, title="Simulated, many rows")
    assert fig.get_size_inches()[1] < 10
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [f"Simulated {k} *"]
    assert _overlaps(fig) == []


def test_write_many_row_pngs_for_review() -> None:
    import os

    target = os.environ.get("INFLAMED_FIGCHECK")
    if not target:
        pytest.skip("set INFLAMED_FIGCHECK=<dir> to write the review PNGs")
    loo = _loo_frame(300)
    loo.loc[7, ["estimate", "ci_lb", "ci_ub"]] = [0.9, 0.7, 1.1]
    save_figure(
        leave_one_out_plot(
            loo, full_estimate=0.3, full_ci=(0.2, 0.4), title="Simulated, many rows"
        ),
        Path(target) / "loo_300.png",
    )
    save_figure(
        influence_plot(_influence_frame(300), title="Simulated, many rows"),
        Path(target) / "influence_300.png",
    )


def test_favours_labels_keep_their_gap_in_svg_viewers_too(tmp_path):
    """SVG viewers collapse leading and trailing spaces: the gap is an offset, not a space."""
    import re

    fig = _forest_2()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for ax in fig.axes for t in ax.texts if "favours" in t.get_text()]
    assert len(labels) == 2
    assert all(t.get_text() == t.get_text().strip() for t in labels)
    left, right = sorted(labels, key=lambda t: t.get_window_extent(renderer).x0)
    assert right.get_window_extent(renderer).x0 - left.get_window_extent(renderer).x1 > 3  # px
    save_figure(fig, tmp_path / "forest.svg")
    svg = (tmp_path / "forest.svg").read_text(encoding="utf-8")
    assert not re.search(r">\s+favours|favours[^<]*\s<", svg)
