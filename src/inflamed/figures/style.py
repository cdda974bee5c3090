"""One look for every figure, and byte-identical files on every rerun.

Matplotlib embeds a creation date and random ids in PDF/SVG output and a software tag in PNG
metadata; :func:`save_figure` switches all of them off so a rerun on the same data gives the same
bytes, which is what lets Snakemake's reruns and the manifest checksums mean something.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (CI has no display)

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from inflamed.io import atomic_open

#: Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
PALETTE = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#7F7F7F",
}

#: Risk-of-bias judgement colours, as in the Cochrane robvis convention.
ROB_COLOURS = {
    "low": "#02C100",
    "some_concerns": "#E2DF07",
    "high": "#BF0000",
    "not_assessed": "#BBBBBB",
}

DPI = 150


def apply_style() -> None:
    """Set the project's matplotlib defaults (fonts, sizes, deterministic SVG ids)."""
    plt.rcParams.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "xtick.labelsize": 8,
            "ytick.labelsize": 8,
            "legend.fontsize": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "inflamed",  # stable element ids in SVG output
            "svg.fonttype": "none",  # keep text as text in SVG (searchable, smaller)
            "savefig.dpi": DPI,
            "figure.dpi": DPI,
        }
    )


def save_figure(fig: Figure, *paths: str | Path) -> None:
    """Save ``fig`` to each path (format from the suffix) atomically and without timestamps.

    The figure is cropped to its tight bounding box (plus ``savefig.pad_inches``), measured once
    with the raster renderer for all formats: matplotlib's ``bbox_inches="tight"`` lays the whole
    figure out a second time for every file to measure it, which was half of the figure rules'
    drawing time. The PNG is byte-identical to the ``"tight"`` one; the SVG shares its crop.
    """
    renderer = getattr(fig.canvas, "get_renderer", None)  # absent on a bare Figure()'s canvas
    bbox: Bbox | str = "tight"
    if renderer is not None:
        bbox = fig.get_tightbbox(renderer()).padded(plt.rcParams["savefig.pad_inches"])
    for path in paths:
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        metadata: dict[str, str | None]
        if fmt == "png":
            metadata = {"Software": None}
        elif fmt == "svg":
            metadata = {"Date": None, "Creator": None}
        elif fmt == "pdf":
            metadata = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
        else:
            raise ValueError(
                f"unsupported figure format {fmt!r} for {path}; expected png, svg or pdf"
            )
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format=fmt, metadata=metadata, bbox_inches=bbox)
    plt.close(fig)
