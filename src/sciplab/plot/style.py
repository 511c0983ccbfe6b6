r"""Shared APA-style figure conventions and saving (PNG/SVG/PDF).

APA (7th ed.) figure guidance: sans-serif type 8-14 pt, no chart junk, no background grid,
black/grey lines, axis labels in title case; figures exported as vector (SVG/PDF) or >= 300 dpi PNG.

Labels are plain text: client ids, group labels and column names are user text, so mathtext is off
in :data:`APA_RC` (``text.parse_math``; a label such as ``$\foo{$`` is drawn as written, never parsed).
:func:`save_figure` writes through :func:`sciplab._core.files.atomic_write`: a failure leaves no
partial file and an existing file untouched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402

from sciplab._core.errors import DataError  # noqa: E402
from sciplab._core.files import atomic_write  # noqa: E402

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
    "text.parse_math": False,  # user text (ids, labels) is plain text, never mathtext
}


@contextlib.contextmanager
def apa_style() -> Iterator[None]:
    """Context manager applying the APA rc settings without touching global state afterwards."""
    with matplotlib.rc_context(APA_RC):
        yield


def save_figure(
    fig: plt.Figure,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Save ``fig`` as PNG (300 dpi), SVG or PDF by extension and close it.

    An existing file is never replaced unless ``overwrite=True``, an input never
    (:func:`sciplab._core.files.check_output`); the file appears only when the figure was drawn
    completely.
    """
    p = Path(path)
    try:
        if p.suffix.lower() not in FORMATS:
            raise DataError(f"{p}: figure format must be one of {', '.join(sorted(FORMATS))}")
        with atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp:
            fig.savefig(tmp, format=p.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
    return p
