"""Figures: forest, funnel, influence, cumulative, risk of bias, PRISMA, bubble and comparison plots.

Every figure function takes tidy :class:`pandas.DataFrame` inputs (the pipeline's own artefacts)
and returns a :class:`matplotlib.figure.Figure`; :func:`inflamed.figures.style.save_figure` writes
it deterministically.
"""
