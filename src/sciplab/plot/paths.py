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

from sciplab._core.apa import apa_number
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
    """APA number: two decimals, no leading zero below 1, no sign on a value that rounds to zero."""
    return apa_number(value, 2)


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
    pos: dict[str, tuple[float, float]] = {}
    for k, names in by_layer.items():
        for i, v in enumerate(names):
            pos[v] = (k * 2.6, (len(names) - 1) / 2 * 1.3 - i * 1.3)
    box_w, box_h = 1.5, 0.6
    reg = result.table[result.table["op"] == "~"]
    arrows = []
    for r in reg.itertuples(index=False):
        if r.rhs not in pos or r.lhs not in pos:
            continue
        value = r.std_all if standardized and np.isfinite(r.std_all) else r.est
        if star_rule == "p":
            mark = stars(r.pvalue)
        else:
            mark = "*" if np.isfinite(r.ci_lower) and (r.ci_lower > 0 or r.ci_upper < 0) else ""
        (x0, y0), (x1, y1) = pos[r.rhs], pos[r.lhs]
        start, end, rad = (x0 + box_w / 2, y0), (x1 - box_w / 2, y1), 0.0
        skip = layer[r.lhs] - layer[r.rhs] > 1
        if skip and _crosses_box(start, end, pos, {r.lhs, r.rhs}, box_w, box_h):
            # a direct path over a layer that would run through a box: arc over (upper half) or
            # under (lower half) the boxes
            side = 1.0 if y0 > 0 or (y0 == 0 and y1 >= 0) else -1.0
            start, end, rad = (x0, y0 + side * box_h / 2), (x1, y1 + side * box_h / 2), -0.25 * side
        arrows.append({"id": f"{r.rhs}->{r.lhs}", "start": start, "end": end, "rad": rad,
                       "text": _fmt(value) + mark})  # fmt: skip

    note = "Arrows: " + ("standardized coefficients" if standardized else "coefficients")
    note += "; * p < .05, ** p < .01, *** p < .001" if star_rule == "p" else "; * CI excludes 0"
    lines = [note]
    indirect = result.indirect[result.indirect["effect"] == "specific"] if show_indirect else result.indirect[:0]
    if len(indirect):
        level = float(result.details.get("level", 0.95))
        kind = "standardized" if standardized else "unstandardized"
        lines += ["", f"Indirect effects ({kind}, {100 * level:g}% CI):"]
        for r in indirect.itertuples(index=False):
            if standardized and np.isfinite(r.std_all):
                value, lo, hi = r.std_all, r.std_ci_lower, r.std_ci_upper
            else:
                value, lo, hi = r.est, r.ci_lower, r.ci_upper
            ci = f" [{_fmt(lo)}, {_fmt(hi)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
            lines.append(f"{r.path.replace('_', ' ')}: {_fmt(value)}{ci}")

    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    arc_ys = [_arc_point(a["start"], a["end"], a["rad"], 0.5)[1] for a in arrows]
    bottom = min([min(ys) - box_h, *(y - 0.3 for y in arc_ys)])
    top = max([max(ys) + box_h / 2 + 0.3, *(y + 0.25 for y in arc_ys)])
    note_y = bottom - 0.1
    bottom -= 0.2 * len(lines) + 0.2
    xlim = (min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 0.2)
    size = (max(xlim[1] - xlim[0], 5.0), top - bottom)  # inches; the axes fill the figure
    with apa_style():
        fig = plt.figure(figsize=size)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(*xlim)
        ax.set_ylim(bottom, top)
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
                    gid=f"box:{v}",
                )  # fmt: skip
            )
            name = labels.get(v, v.replace("_", " "))
            ax.text(x, y, "\n".join(textwrap.wrap(name, 16)) or v, ha="center", va="center", fontsize=8.5, zorder=4)
        for a in arrows:
            ax.annotate(
                "", xy=a["end"], xytext=a["start"], zorder=1, gid=f"path:{a['id']}",
                arrowprops={"arrowstyle": "-|>", "lw": 0.9, "color": "black", "shrinkA": 0,
                            "shrinkB": 0, "connectionstyle": f"arc3,rad={a['rad']}"},
            )  # fmt: skip
        per_inch = ((xlim[1] - xlim[0]) / size[0], (top - bottom) / size[1])
        for a, (lx, ly) in zip(arrows, _place_labels(arrows, pos, (box_w, box_h), per_inch), strict=True):
            ax.text(
                lx, ly, a["text"], fontsize=_LABEL_PT, ha="center", va="center", gid=f"label:{a['id']}",
                bbox={"fc": "white", "ec": "none", "pad": _LABEL_PAD_PT}, zorder=2,
            )  # fmt: skip
        ax.text(xlim[0] + 0.2, note_y, "\n".join(lines), ha="left", va="top", fontsize=7.5)
        if title:
            fig.suptitle(title, y=1.0, va="bottom")
    return fig


_LABEL_PT = 7.5
_LABEL_PAD_PT = 1.0


def _label_half_size(text: str, per_inch: tuple[float, float]) -> tuple[float, float]:
    """Half width and height (data units) of a coefficient label's white box, slightly over-estimated."""
    em = _LABEL_PT / 72  # inches
    w = 0.66 * em * len(text) + 2 * _LABEL_PAD_PT / 72 + 0.04
    h = 1.25 * em + 2 * _LABEL_PAD_PT / 72 + 0.04
    return w / 2 * per_inch[0], h / 2 * per_inch[1]


def _place_labels(
    arrows: list[dict],
    pos: dict[str, tuple[float, float]],
    box: tuple[float, float] | dict[str, tuple[float, float]],
    per_inch: tuple[float, float],
    span: tuple[float, float] = (0.2, 0.8),
) -> list[tuple[float, float]]:
    """A point on each arrow for its label such that the label box touches no other arrow, label or box.

    ``box`` is the (width, height) of every node, or a mapping node -> (width, height) when the
    nodes differ (the SEM diagram's ellipses and indicator boxes). Candidates run along the
    arrow's own path (t in ``span``, default .2 to .8, nearest to .35 first); the first free one wins. When none is
    free (a very dense model), the candidate with the fewest conflicts is used.
    """
    sizes = box if isinstance(box, dict) else dict.fromkeys(pos, box)
    ts = np.linspace(0.0, 1.0, 241)
    curves = [np.array([_arc_point(a["start"], a["end"], a["rad"], t) for t in ts]) for a in arrows]
    n = int(round((span[1] - span[0]) / 0.025)) + 1
    candidates = sorted(np.linspace(span[0], span[1], n), key=lambda t: (abs(t - 0.35), t))
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for k, a in enumerate(arrows):
        hw, hh = _label_half_size(a["text"], per_inch)
        best, best_cost = None, None
        for t in candidates:
            cx, cy = _arc_point(a["start"], a["end"], a["rad"], t)
            cost = 0
            for j, c in enumerate(curves):
                if j != k:
                    cost += int(np.any((np.abs(c[:, 0] - cx) <= hw) & (np.abs(c[:, 1] - cy) <= hh)))
            cost += sum(abs(cx - x) <= hw + w and abs(cy - y) <= hh + h for x, y, w, h in placed)
            cost += sum(
                abs(cx - x) <= hw + sizes[v][0] / 2 and abs(cy - y) <= hh + sizes[v][1] / 2 for v, (x, y) in pos.items()
            )
            if best_cost is None or cost < best_cost:
                best, best_cost = (cx, cy), cost
            if cost == 0:
                break
        assert best is not None
        placed.append((best[0], best[1], hw, hh))
        out.append(best)
    return out


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
