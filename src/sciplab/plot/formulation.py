r"""Figures for a SCIP case formulation (:class:`sciplab.scip.formulate.Formulation`).

* :func:`plot_attachment_plane` -- the attachment plane: avoidance (x) by anxiety (y) on the scale
  range, the quadrant split (dashed; a convention, not a norm), the client's observed point and the
  measurement-error ellipse :math:`(x - \mu)^T \Sigma^{-1} (x - \mu) \le \chi^2_{2}(level)` with
  :math:`\Sigma = diag(SEM_{avo}^2, SEM_{anx}^2)` (independent errors, as in the quadrant
  probabilities), and each quadrant's probability printed in its corner.
* :func:`plot_interpersonal` -- the octant profile on the interpersonal circle, reusing
  :func:`sciplab.plot.circumplex.plot_circle` on the formulation's one-profile SSM result.

APA style via :func:`sciplab.plot.style.apa_style`; save with :func:`save_figure`.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import Ellipse
from scipy.stats import chi2

from sciplab._core.errors import DataError
from sciplab._core.validation import check_level
from sciplab.plot.circumplex import plot_circle
from sciplab.plot.style import apa_style, save_figure
from sciplab.scip.constructs import ATTACHMENT_SIDES

__all__ = ["plot_attachment_plane", "plot_interpersonal", "save_figure"]


def _check(formulation: Any) -> None:
    if not (hasattr(formulation, "attachment") and hasattr(formulation, "ssm")):
        raise DataError("expected a Formulation from sciplab.scip.formulate.formulate()")


def plot_attachment_plane(
    formulation: Any, *, level: float = 0.95, title: str | None = None, figsize: tuple[float, float] = (5.0, 5.0)
) -> plt.Figure:
    """Client's point in the attachment plane with the measurement-error ellipse.

    Parameters
    ----------
    formulation
        A :class:`~sciplab.scip.formulate.Formulation` with both attachment dimensions.
    level
        Coverage of the ellipse (default .95: semi-axes 2.448 SEM).
    title
        Optional figure title.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; the ellipse is the first patch (``fig.axes[0].patches[0]``).

    Raises
    ------
    DataError
        The formulation has no anxiety and avoidance scores.

    Examples
    --------
    >>> from sciplab.scip.formulate import formulate
    >>> f = formulate({"ECR-S_anxiety": 5.2, "ECR-S_avoidance": 3.0})
    >>> fig = plot_attachment_plane(f)
    >>> round(fig.axes[0].patches[0].width, 3)  # 2 x 2.448 x SEM(avoidance)
    2.189
    """
    _check(formulation)
    level = check_level(level)
    att = formulation.attachment
    if not att.get("available"):
        raise DataError("the formulation has no attachment anxiety and avoidance scores: no attachment plane")
    anx, avo = att["anxiety"], att["avoidance"]
    k = math.sqrt(chi2.ppf(level, 2))
    with apa_style():
        fig, ax = plt.subplots(figsize=figsize)
        ax.add_patch(
            Ellipse(
                (avo["score"], anx["score"]),
                width=2 * k * avo["sem"],
                height=2 * k * anx["sem"],
                facecolor="#56B4E9",
                alpha=0.35,
                edgecolor="#0072B2",
                lw=1.0,
                label=f"{100 * level:g}% measurement-error region",
            )
        )
        ax.axvline(avo["split"], color="0.4", ls="--", lw=0.8)
        ax.axhline(anx["split"], color="0.4", ls="--", lw=0.8)
        ax.plot(avo["score"], anx["score"], "o", color="black", markersize=6, label="client (observed)")
        xlo, xhi, ylo, yhi = avo["min"], avo["max"], anx["min"], anx["max"]
        pad_x, pad_y = 0.02 * (xhi - xlo), 0.02 * (yhi - ylo)
        for q, (sy, sx) in ATTACHMENT_SIDES.items():  # anxiety on y, avoidance on x
            x = xlo + pad_x if sx == "low" else xhi - pad_x
            y = ylo + pad_y if sy == "low" else yhi - pad_y
            p = att["quadrant_probabilities"][q]
            ax.text(x, y, f"{q.capitalize()}\np = {p:.2f}".replace("0.", ".", 1), fontsize=8,
                    ha="left" if sx == "low" else "right", va="bottom" if sy == "low" else "top")  # fmt: skip
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel(f"Attachment Avoidance ({att['instrument']})")
        ax.set_ylabel(f"Attachment Anxiety ({att['instrument']})")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
        fig.text(
            0.5,
            -0.06,
            f"Dashed lines: quadrant split ({att['split']['method']}), a convention, not a norm.",
            ha="center",
            fontsize=7,
        )
        if title:
            ax.set_title(title)
    return fig


def plot_interpersonal(formulation: Any, *, title: str | None = None) -> plt.Figure:
    """The client's octant profile on the interpersonal circle (:func:`plot_circle`).

    Raises
    ------
    DataError
        The formulation has no complete octant profile.

    Examples
    --------
    >>> from sciplab.scip.formulate import formulate
    >>> octs = dict(zip(["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"], [0.5, 0.8, 2.0, 2.6, 2.2, 1.4, 0.9, 0.6]))
    >>> f = formulate({f"IIP-SC_{k}": v for k, v in octs.items()})
    >>> len(plot_interpersonal(f).axes)
    1
    """
    _check(formulation)
    if formulation.ssm is None:
        raise DataError("the formulation has no complete octant profile: no circumplex plot")
    return plot_circle(formulation.ssm, title=title)
