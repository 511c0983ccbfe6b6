"""Figures for Structural Summary Method results (:class:`sciplab.stats.circumplex.SSMResult`).

* :func:`plot_circle` -- each profile as a point at (amplitude, displacement) on the circle, with
  its amplitude line from the origin, the CI "arc" (annular sector spanning the displacement CI
  and the amplitude CI) and scale labels at their angles (after R ``circumplex::ssm_plot_circle``).
* :func:`plot_curve` -- observed scale scores against angle with the fitted cosine curve
  e + a cos(theta - d) (after ``ssm_plot_curve``).
* :func:`plot_contrast` -- contrast estimates of e, x, y, a, d with CIs and a zero line
  (after ``ssm_plot_contrast``).

APA style via :func:`sciplab.plot.style.apa_style`; colours are the colour-blind-safe
Okabe-Ito palette, markers differ too so figures survive grey-scale printing. Save with
:func:`sciplab.plot.style.save_figure` (PNG 300 dpi, SVG, PDF).
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, Wedge

from sciplab._core.errors import DataError
from sciplab.plot.style import apa_style, save_figure

__all__ = ["plot_circle", "plot_contrast", "plot_curve", "save_figure"]

PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def _check(result: Any) -> None:
    for attr in ("table", "details", "scores"):
        if not hasattr(result, attr):
            raise DataError("expected an SSM result from sciplab.stats.circumplex.ssm()")


def _profile_rows(result: Any) -> Any:
    contrasts = set(result.details.get("contrast_labels", []))
    return result.table[~result.table["label"].isin(contrasts)]


def _nice_max(value: float) -> float:
    if not np.isfinite(value) or value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp  # pragma: no cover


def plot_circle(result: Any, *, title: str | None = None, figsize: tuple[float, float] = (5.5, 5.5)) -> plt.Figure:
    """Circle plot of the profiles of an SSM result (contrast rows are left out).

    Parameters
    ----------
    result
        :class:`~sciplab.stats.circumplex.SSMResult`.
    title
        Optional figure title.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Points at (amplitude, displacement), amplitude lines, CI sectors (displacement CI x
        amplitude CI; intervals passing 0 degrees are drawn through 0), scale labels. Profiles with
        undefined displacement are listed under the plot instead of drawn.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.circumplex import OCTANTS, ssm
    >>> names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(np.cos(np.radians(OCTANTS) - 1) + rng.normal(0, .5, (30, 8)), columns=names)
    >>> fig = plot_circle(ssm(df, names, bootstrap=100, seed=1))
    >>> len(fig.axes)
    1
    """
    _check(result)
    rows = _profile_rows(result)
    det = result.details
    with apa_style():
        fig, ax = plt.subplots(figsize=figsize)
        amp_hi = np.nanmax(np.concatenate([rows["a_est"].to_numpy(float), rows["a_uci"].to_numpy(float)]))
        rmax = _nice_max(float(amp_hi) * 1.1 if np.isfinite(amp_hi) else 1.0)
        # rings with amplitude ticks
        for k in range(1, 5):
            r = rmax * k / 4
            ax.add_patch(Circle((0, 0), r, fill=False, lw=0.6 if k < 4 else 1.0, color="0.6" if k < 4 else "black"))
            ax.text(
                r * math.cos(math.radians(-8)),
                r * math.sin(math.radians(-8)),
                f"{r:g}",
                fontsize=7,
                color="0.35",
                ha="center",
                va="center",
            )
        for ang, name in zip(det["angles_deg"], det["scales"], strict=True):
            t = math.radians(ang)
            ax.plot([0, rmax * math.cos(t)], [0, rmax * math.sin(t)], color="0.8", lw=0.6, zorder=0)
            ax.text(1.12 * rmax * math.cos(t), 1.12 * rmax * math.sin(t), name, ha="center", va="center", fontsize=10)
        skipped = []
        handles = []
        for i, row in enumerate(rows.itertuples(index=False)):
            colour, marker = PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]
            if not np.isfinite(row.d_est):
                skipped.append(str(row.label))
                continue
            t = math.radians(row.d_est)
            if np.isfinite(row.d_lci) and np.isfinite(row.a_lci):
                span = (row.d_uci - row.d_lci) % 360.0
                ax.add_patch(
                    Wedge(
                        (0, 0),
                        row.a_uci,
                        row.d_lci,
                        row.d_lci + span,
                        width=row.a_uci - row.a_lci,
                        facecolor=colour,
                        alpha=0.25,
                        edgecolor=colour,
                        lw=0.8,
                    )
                )
            ax.plot([0, row.a_est * math.cos(t)], [0, row.a_est * math.sin(t)], color=colour, lw=1.2)
            (h,) = ax.plot(
                row.a_est * math.cos(t),
                row.a_est * math.sin(t),
                marker=marker,
                color=colour,
                markeredgecolor="black",
                markersize=7,
                ls="none",
                label=str(row.label),
            )
            handles.append(h)
        ax.set_xlim(-1.3 * rmax, 1.3 * rmax)
        ax.set_ylim(-1.3 * rmax, 1.3 * rmax)
        ax.set_aspect("equal")
        ax.axis("off")
        if handles:
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=min(3, len(handles)))
        if skipped:
            fig.text(0.5, 0.01, f"Displacement undefined (not drawn): {', '.join(skipped)}", ha="center", fontsize=8)
        if title:
            ax.set_title(title)
    return fig


def plot_curve(result: Any, *, ncols: int = 3, figsize: tuple[float, float] | None = None) -> plt.Figure:
    """Observed scale scores by angle with the fitted SSM cosine curve, one panel per profile.

    Parameters
    ----------
    result
        :class:`~sciplab.stats.circumplex.SSMResult`.
    ncols
        Panels per row.
    figsize
        Figure size in inches (default scales with the number of panels).

    Returns
    -------
    matplotlib.figure.Figure
        Each panel: points = scale scores at their angles (0-360 degrees), line = e + a cos(theta - d),
        with fit in the panel title.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.circumplex import OCTANTS, ssm
    >>> names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    >>> df = pd.DataFrame([np.cos(np.radians(OCTANTS))] * 3, columns=names)
    >>> fig = plot_curve(ssm(df, names, bootstrap=0))
    >>> len(fig.axes)
    1
    """
    _check(result)
    rows = _profile_rows(result)
    det = result.details
    angles = np.mod(np.asarray(det["angles_deg"], float), 360.0)
    order = np.argsort(angles)
    scores = result.scores.set_index("label")
    k = len(rows)
    ncols = max(1, min(ncols, k))
    nrows = math.ceil(k / ncols)
    figsize = figsize or (3.2 * ncols, 2.6 * nrows)
    grid = np.linspace(0, 360, 361)
    with apa_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, sharey=True)
        for ax, row in zip(axes.ravel(), rows.itertuples(index=False), strict=False):
            s = scores.loc[row.label, det["scales"]].to_numpy(float)
            ax.plot(angles[order], s[order], "o", color="black", markersize=4)
            if np.isfinite(row.d_est):
                fitted = row.e_est + row.a_est * np.cos(np.radians(grid - row.d_est))
            else:
                fitted = np.full_like(grid, row.e_est)
            ax.plot(grid, fitted, color="0.3", lw=1.2)
            fit_txt = "NA" if not np.isfinite(row.fit_est) else f"{row.fit_est:.2f}"
            ax.set_title(f"{row.label} (fit = {fit_txt})", fontsize=9)
            ax.set_xticks(angles[order])
            ax.set_xticklabels([f"{a:g}" for a in angles[order]], fontsize=7)
            ax.set_xlim(-10, 370)
        for ax in axes.ravel()[k:]:
            ax.set_visible(False)
        fig.supxlabel("Angle (Degrees)", fontsize=10)
        fig.supylabel("Score" if det["score_type"] == "mean" else "Correlation", fontsize=10)
        fig.tight_layout()
    return fig


def plot_contrast(result: Any, *, figsize: tuple[float, float] = (8.0, 2.6)) -> plt.Figure:
    """Contrast estimates (second minus first) of e, x, y, a and d with their CIs.

    Parameters
    ----------
    result
        :class:`~sciplab.stats.circumplex.SSMResult` computed with ``contrast=True`` or
        ``"pairwise"``.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter, one point-and-interval per contrast, dashed zero line. Fit has
        no CI and is not shown (as in R).

    Raises
    ------
    DataError
        When the result has no contrast rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.circumplex import OCTANTS, ssm
    >>> names = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(np.cos(np.radians(OCTANTS)) + rng.normal(0, .5, (40, 8)), columns=names)
    >>> df["g"] = ["a", "b"] * 20
    >>> fig = plot_contrast(ssm(df, names, group="g", contrast=True, bootstrap=100, seed=1))
    >>> len(fig.axes)
    5
    """
    _check(result)
    labels = list(result.details.get("contrast_labels", []))
    if not labels:
        raise DataError("plot_contrast needs an SSM result computed with contrast=True or 'pairwise'")
    rows = result.table.set_index("label").loc[labels]
    names = {"e": "Elevation", "x": "X-Value", "y": "Y-Value", "a": "Amplitude", "d": "Displacement"}
    with apa_style():
        fig, axes = plt.subplots(1, 5, figsize=figsize)
        ypos = np.arange(len(labels))[::-1]
        for ax, p in zip(axes, names, strict=True):
            est = rows[f"{p}_est"].to_numpy(float)
            lo = rows[f"{p}_lci"].to_numpy(float)
            hi = rows[f"{p}_uci"].to_numpy(float)
            err = np.vstack([np.where(np.isfinite(lo), est - lo, 0), np.where(np.isfinite(hi), hi - est, 0)])
            ax.errorbar(est, ypos, xerr=err, fmt="o", color="black", ecolor="0.3", capsize=3, markersize=4)
            ax.axvline(0, color="0.5", ls="--", lw=0.8)
            ax.set_title(names[p] + (" (°)" if p == "d" else ""), fontsize=9)
            ax.set_yticks(ypos)
            ax.set_yticklabels(labels if p == "e" else [""] * len(labels))
            ax.set_ylim(-0.8, len(labels) - 0.2)
        fig.supxlabel("Contrast (second minus first)", fontsize=10)
        fig.tight_layout()
    return fig
