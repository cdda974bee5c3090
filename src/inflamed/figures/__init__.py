"""Figures: forest, funnel, influence, cumulative, risk of bias, PRISMA, bubble and comparison plots.

Every figure function takes tidy :class:`pandas.DataFrame` inputs (the pipeline's own artefacts)
and returns a :class:`matplotlib.figure.Figure`; :func:`inflamed.figures.style.save_figure` writes
it deterministically. Each function documents the columns it needs and raises
:class:`inflamed.errors.InputError` naming a missing or bad column.
"""

from inflamed.figures.bubble import bubble_plot
from inflamed.figures.comparison import comparison_plot
from inflamed.figures.cumulative import cumulative_plot
from inflamed.figures.forest import forest_plot
from inflamed.figures.forest_pages import forest_pages, summary_forest
from inflamed.figures.funnel import funnel_plot
from inflamed.figures.influence import influence_plot, leave_one_out_plot
from inflamed.figures.prisma import prisma_flow
from inflamed.figures.risk_of_bias import rob_summary, rob_traffic_light
from inflamed.figures.style import apply_style, save_figure

__all__ = [
    "apply_style",
    "bubble_plot",
    "comparison_plot",
    "cumulative_plot",
    "forest_pages",
    "forest_plot",
    "funnel_plot",
    "influence_plot",
    "leave_one_out_plot",
    "prisma_flow",
    "rob_summary",
    "rob_traffic_light",
    "save_figure",
    "summary_forest",
]
