"""Inline SVG for self-contained HTML reports."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt


def figure_svg(fig: plt.Figure) -> str:
    """Render ``fig`` as an inline ``<svg>`` element (XML prologue stripped) and close it."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.find("<svg") :]
