"""Figures: forest, funnel, influence, cumulative, risk of bias, PRISMA, bubble and comparison plots.

Every figure function takes tidy :class:`pandas.DataFrame` inputs (the pipeline's own artefacts)
and returns a :class:`matplotlib.figure.Figure`; :func:`inflamed.figures.style.save_figure` writes
it deterministically. Each function documents the columns it needs and raises
:class:`inflamed.errors.InputError` naming a missing or bad column.

The names below are loaded on first use: each figure rule is its own process and needs one or two
of these modules, and importing all of them (with the funnel plot's statistics) cost every such
job about 1.5 s of start-up.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_HOME = {
    "apply_style": "style",
    "bubble_plot": "bubble",
    "comparison_plot": "comparison",
    "cumulative_plot": "cumulative",
    "forest_pages": "forest_pages",
    "forest_plot": "forest",
    "funnel_plot": "funnel",
    "influence_plot": "influence",
    "leave_one_out_plot": "influence",
    "prisma_flow": "prisma",
    "rob_summary": "risk_of_bias",
    "rob_traffic_light": "risk_of_bias",
    "save_figure": "style",
    "summary_forest": "forest_pages",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'inflamed.figures' has no attribute {name!r}")
    value = getattr(import_module(f"inflamed.figures.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def defining_module(name: str) -> str | None:
    """The module (``inflamed.figures.<module>``) that defines a public name, or ``None``.

    The rules' code digests follow ``from inflamed.figures import name`` through it, as no import
    statement here names the module.
    """
    module = _HOME.get(name)
    return None if module is None else f"inflamed.figures.{module}"


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # static analysers see ordinary imports
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
