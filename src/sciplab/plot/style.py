"""Shared APA-style figure conventions and saving (PNG/SVG/PDF).

APA (7th ed.) figure guidance: sans-serif type 8-14 pt, no chart junk, no background grid,
black/grey lines, axis labels in title case; figures exported as vector (SVG/PDF) or >= 300 dpi PNG.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402

from sciplab._core.errors import DataError  # noqa: E402

FORMATS = {".png", ".svg", ".pdf"}

APA_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.edgecolor": "black",
    "axes.linewidth": 0.8,
    "xtick.color": "black",
    "ytick.color": "black",
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}


@contextlib.contextmanager
def apa_style() -> Iterator[None]:
    """Context manager applying the APA rc settings without touching global state afterwards."""
    with matplotlib.rc_context(APA_RC):
        yield


def save_figure(fig: plt.Figure, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Save ``fig`` as PNG (300 dpi), SVG or PDF by extension and close it.

    An existing file is never replaced unless ``overwrite=True``.
    """
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise DataError(f"{p}: figure format must be one of {', '.join(sorted(FORMATS))}")
    if p.exists() and not overwrite:
        plt.close(fig)
        raise DataError(f"{p}: already exists; choose another name or pass overwrite=True (--overwrite)")
    if not p.parent.exists():
        raise DataError(f"{p}: folder {p.parent} does not exist")
    fig.savefig(p)
    plt.close(fig)
    return p
