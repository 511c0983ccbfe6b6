"""Path diagrams of :class:`~sciplab.stats.paths.PathResult` objects (APA style).

Variables are boxes arranged in causal layers (exogenous variables on the left, each outcome one
layer right of its latest predictor); arrows carry standardized coefficients (``std_all``, or raw
``est``) with significance stars (* p < .05, ** p < .01, *** p < .001; normal-theory p, or
"CI excludes 0" for bootstrap intervals when ``stars="ci"``). Indirect effects are listed under the
diagram with their intervals. Saved as PNG (300 dpi), SVG or PDF via
:func:`sciplab.plot.style.save_figure`.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from sciplab._core.errors import InvalidParameterError
from sciplab.plot.style import apa_style, save_figure
from sciplab.stats.paths import PathResult

__all__ = ["layers", "path_diagram", "save_path_diagram", "stars"]


def stars(p: float) -> str:
    """APA significance stars for a p-value.

    Examples
    --------
    >>> stars(0.0004), stars(0.03), stars(0.2)
    ('***', '*', '')
    """
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _fmt(value: float) -> str:
    text = f"{value:.2f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def layers(result: PathResult) -> dict[str, int]:
    """Causal layer of each variable: 0 for exogenous, 1 + max layer of its predictors otherwise."""
    reg = result.table[result.table["op"] == "~"]
    layer = {v: 0 for v in result.details.get("exogenous", [])}
    for y in result.details.get("outcomes", []):  # already in causal order
        preds = reg[reg["lhs"] == y]["rhs"]
        layer[y] = 1 + max((layer.get(x, 0) for x in preds), default=0)
    return layer


def path_diagram(
    result: PathResult,
    *,
    standardized: bool = True,
    star_rule: str = "p",
    show_indirect: bool = True,
    title: str | None = None,
    labels: dict[str, str] | None = None,
) -> plt.Figure:
    """Draw a path diagram.

    Parameters
    ----------
    result
        A :func:`sciplab.stats.paths.paths` result.
    standardized
        Label arrows with ``std_all`` (default) or with raw ``est``.
    star_rule
        ``"p"``: stars from the normal-theory p-value; ``"ci"``: one star when the interval
        excludes 0.
    show_indirect
        List the indirect effects under the diagram.
    title
        Optional figure title.
    labels
        Display names of variables (default: the name with ``_`` as spaces).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.paths import paths
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["x", "m", "y"])
    >>> fig = path_diagram(paths(df, "m ~ x; y ~ m + x", ci="none"))
    >>> len(fig.axes)
    1
    """
    if not isinstance(result, PathResult):
        raise InvalidParameterError(f"path_diagram needs a PathResult, got {type(result).__name__}")
    if star_rule not in ("p", "ci"):
        raise InvalidParameterError(f"star_rule must be 'p' or 'ci', got {star_rule!r}")
    labels = dict(labels or {})
    layer = layers(result)
    by_layer: dict[int, list[str]] = {}
    for v, k in layer.items():
        by_layer.setdefault(k, []).append(v)
    n_layers = max(by_layer) + 1
    tallest = max(len(v) for v in by_layer.values())
    width, height = 2.6 * n_layers + 1.0, 1.3 * tallest + 1.0
    pos: dict[str, tuple[float, float]] = {}
    for k, names in by_layer.items():
        for i, v in enumerate(names):
            pos[v] = (k * 2.6, (len(names) - 1) / 2 * 1.3 - i * 1.3)
    box_w, box_h = 1.5, 0.6
    reg = result.table[result.table["op"] == "~"]
    indirect = result.indirect[result.indirect["effect"] == "specific"] if show_indirect else []
    extra = 0.2 * (len(indirect) + 1) if show_indirect and len(indirect) else 0.0
    with apa_style():
        fig, ax = plt.subplots(figsize=(max(width, 5.0), height + extra))
        ax.set_axis_off()
        for v, (x, y) in pos.items():
            ax.add_patch(
                FancyBboxPatch(
                    (x - box_w / 2, y - box_h / 2),
                    box_w,
                    box_h,
                    boxstyle="round,pad=0.02,rounding_size=0.05",
                    fc="white",
                    ec="black",
                    lw=0.9,
                    zorder=3,
                )  # fmt: skip
            )
            name = labels.get(v, v.replace("_", " "))
            ax.text(x, y, "\n".join(textwrap.wrap(name, 16)) or v, ha="center", va="center", fontsize=8.5, zorder=4)
        arc_ys: list[float] = []
        for r in reg.itertuples(index=False):
            if r.rhs not in pos or r.lhs not in pos:
                continue
            value = r.std_all if standardized and np.isfinite(r.std_all) else r.est
            if star_rule == "p":
                mark = stars(r.pvalue)
            else:
                mark = "*" if np.isfinite(r.ci_lower) and (r.ci_lower > 0 or r.ci_upper < 0) else ""
            (x0, y0), (x1, y1) = pos[r.rhs], pos[r.lhs]
            skip = layer[r.lhs] - layer[r.rhs] > 1
            start, end = (x0 + box_w / 2, y0), (x1 - box_w / 2, y1)
            rad, t = 0.0, 0.3
            if skip and _crosses_box(start, end, pos, {r.lhs, r.rhs}, box_w, box_h):
                # a direct path over a layer that would run through a box: arc over (upper half) or
                # under (lower half) the boxes
                side = 1.0 if y0 > 0 or (y0 == 0 and y1 >= 0) else -1.0
                start, end = (x0, y0 + side * box_h / 2), (x1, y1 + side * box_h / 2)
                rad, t = -0.25 * side, 0.5
            elif skip:  # a straight path through the gap between boxes; keep its label off the crossing point
                t = 0.35
            ax.annotate(
                "", xy=end, xytext=start, zorder=1,
                arrowprops={"arrowstyle": "-|>", "lw": 0.9, "color": "black", "shrinkA": 0,
                            "shrinkB": 0, "connectionstyle": f"arc3,rad={rad}"},
            )  # fmt: skip
            lx, ly = _arc_point(start, end, rad, t)
            arc_ys.append(_arc_point(start, end, rad, 0.5)[1])
            ax.text(
                lx, ly, _fmt(value) + mark, fontsize=7.5, ha="center", va="center",
                bbox={"fc": "white", "ec": "none", "pad": 0.5}, zorder=2,
            )  # fmt: skip
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        bottom = min([min(ys) - box_h, *(y - 0.3 for y in arc_ys)])
        top = max([max(ys) + box_h / 2 + 0.3, *(y + 0.25 for y in arc_ys)])
        note = "Arrows: " + ("standardized coefficients" if standardized else "coefficients")
        note += "; * p < .05, ** p < .01, *** p < .001" if star_rule == "p" else "; * CI excludes 0"
        lines = [note]
        if show_indirect and len(indirect):
            level = float(result.details.get("level", 0.95))
            kind = "standardized" if standardized else "unstandardized"
            lines += ["", f"Indirect effects ({kind}, {100 * level:g}% CI):"]
            for r in indirect.itertuples(index=False):
                if standardized and np.isfinite(r.std_all):
                    value, lo, hi = r.std_all, r.std_ci_lower, r.std_ci_upper
                else:
                    value, lo, hi = r.est, r.ci_lower, r.ci_upper
                ci = f" [{_fmt(lo)}, {_fmt(hi)}]" if np.isfinite(lo) else ""
                lines.append(f"{r.path.replace('_', ' ')}: {_fmt(value)}{ci}")
        ax.text(min(xs) - box_w / 2, bottom - 0.1, "\n".join(lines), ha="left", va="top", fontsize=7.5)
        bottom -= 0.2 * len(lines) + 0.2
        ax.set_xlim(min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 0.2)
        ax.set_ylim(bottom, top)
        if title:
            ax.set_title(title)
    return fig


def _arc_point(start: tuple[float, float], end: tuple[float, float], rad: float, t: float) -> tuple[float, float]:
    """Point at parameter ``t`` on matplotlib's ``arc3`` quadratic Bezier from start to end."""
    (xa, ya), (xb, yb) = start, end
    cx, cy = (xa + xb) / 2 + rad * (yb - ya), (ya + yb) / 2 - rad * (xb - xa)
    u = 1 - t
    return u * u * xa + 2 * u * t * cx + t * t * xb, u * u * ya + 2 * u * t * cy + t * t * yb


def _crosses_box(
    start: tuple[float, float],
    end: tuple[float, float],
    pos: dict[str, tuple[float, float]],
    own: set[str],
    box_w: float,
    box_h: float,
) -> bool:
    """True when the straight segment start-end passes through another variable's box."""
    ts = np.linspace(0.0, 1.0, 200)
    xs = start[0] + ts * (end[0] - start[0])
    ys = start[1] + ts * (end[1] - start[1])
    for v, (x, y) in pos.items():
        if v in own:
            continue
        inside = (np.abs(xs - x) <= box_w / 2 + 0.05) & (np.abs(ys - y) <= box_h / 2 + 0.05)
        if inside.any():
            return True
    return False


def save_path_diagram(
    result: PathResult, path: str | os.PathLike[str], *, overwrite: bool = False, **kwargs: object
) -> Path:
    """Draw :func:`path_diagram` and save it as PNG, SVG or PDF (by extension); never replaces a file unless asked."""
    with apa_style():
        fig = path_diagram(result, **kwargs)  # type: ignore[arg-type]
        return save_figure(fig, path, overwrite=overwrite)
