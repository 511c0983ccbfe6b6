"""Path diagrams of latent-variable models (:class:`~sciplab.stats.sem.SEMResult`, APA style).

Latent variables are ellipses, observed variables boxes. The structural part is laid out in causal
layers as the path diagram of :mod:`sciplab.plot.paths` (exogenous on the left, each outcome one
layer right of its latest predictor); each latent variable's indicators sit beside it: to the left
of the first layer, to the right of the last layer, and above (upper half) or below (lower half)
the latent variables of the layers in between. Every drawn edge carries one label, placed by the
path diagram's label placement (on its own edge, off every other edge, label and node):
loadings and regressions with standardized estimates (``std_all``), covariances between latent
variables (double-headed: a straight line between neighbours in one column, else an arc) with
correlations, and significance stars (* p < .05, ** p < .01,
*** p < .001). Residual variances are not drawn (they are in the tables). Saved as PNG (300 dpi),
SVG or PDF via :func:`sciplab.plot.style.save_figure`.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse, FancyBboxPatch

from sciplab._core.apa import apa_number
from sciplab._core.errors import InvalidParameterError
from sciplab.plot.paths import _arc_point, _place_labels, stars
from sciplab.plot.style import apa_style, save_figure

__all__ = ["save_sem_diagram", "sem_diagram", "sem_layout"]

ELLIPSE = (1.9, 0.8)  # width, height (data units = inches)
BOX = (1.05, 0.42)
LAYER_DX = 4.0
IND_DX = 2.3  # indicator column distance from its latent variable
IND_DY = 0.62  # spacing of indicators in a column
IND_ROW_DX = 1.2  # spacing of indicators in a row
IND_ROW_DY = 1.45  # distance of an indicator row from its latent variable


def _check(result: Any) -> None:
    from sciplab.stats.sem import SEMResult

    if not isinstance(result, SEMResult):
        raise InvalidParameterError(f"sem_diagram needs an SEMResult, got {type(result).__name__}")


def sem_layout(result: Any, *, group: int = 1) -> dict[str, Any]:
    """Node positions and shapes: ``{"pos": {name: (x, y)}, "shape": {name: "ellipse"|"box"}, "layer": ...}``.

    Parameters
    ----------
    result
        An :class:`~sciplab.stats.sem.SEMResult`.
    group
        Group number (1-based) whose parameters are drawn.
    """
    _check(result)
    t = result.table[result.table["group"] == group]
    loads = t[t["op"] == "=~"]
    latent = list(dict.fromkeys(loads["lhs"]))
    indicators = {f: list(loads[loads["lhs"] == f]["rhs"]) for f in latent}
    reg = t[t["op"] == "~"]
    structural = list(dict.fromkeys([*latent, *reg["rhs"], *reg["lhs"]]))
    structural = [v for v in structural if v in latent or not any(v in ind for ind in indicators.values())]
    layer = {v: 0 for v in structural}
    for _ in range(len(structural)):  # longest path from an exogenous variable (cycles capped)
        changed = False
        for r in reg.itertuples(index=False):
            if r.rhs in layer and r.lhs in layer and layer[r.lhs] < layer[r.rhs] + 1:
                layer[r.lhs] = layer[r.rhs] + 1
                changed = True
        if not changed:
            break
    n_layers = max(layer.values(), default=0) + 1
    by_layer: dict[int, list[str]] = {}
    for v in structural:
        by_layer.setdefault(layer[v], []).append(v)
    side: dict[str, str] = {}
    for k, names in by_layer.items():
        for i, v in enumerate(names):
            if v not in latent:
                continue
            if k == 0:
                side[v] = "left"
            elif k == n_layers - 1:
                side[v] = "right"
            else:
                side[v] = "above" if i < len(names) / 2 else "below"
    pos: dict[str, tuple[float, float]] = {}
    shape: dict[str, str] = {}
    for k, names in by_layer.items():
        slots = []
        for v in names:
            n_ind = len(indicators.get(v, []))
            if v not in latent:
                slots.append((BOX[1] + 0.8, 0.0))
            elif side[v] in ("left", "right"):
                slots.append((max(ELLIPSE[1], n_ind * IND_DY) + 0.7, 0.0))
            else:
                extra = IND_ROW_DY + BOX[1] / 2
                slots.append((ELLIPSE[1] + extra + 0.6, extra / 2 if side[v] == "above" else -extra / 2))
        total = sum(h for h, _ in slots)
        top = total / 2
        for v, (h, offset) in zip(names, slots, strict=True):
            centre = top - h / 2
            pos[v] = (k * LAYER_DX, centre - offset)
            shape[v] = "ellipse" if v in latent else "box"
            top -= h
    for f in latent:
        if f not in pos:  # a latent variable outside the structural part (cannot happen: all are listed)
            continue
        x, y = pos[f]
        inds = indicators[f]
        for j, v in enumerate(inds):
            if side[f] in ("left", "right"):
                dx = -IND_DX if side[f] == "left" else IND_DX
                pos[v] = (x + dx, y + ((len(inds) - 1) / 2 - j) * IND_DY)
            else:
                dy = IND_ROW_DY if side[f] == "above" else -IND_ROW_DY
                pos[v] = (x + (j - (len(inds) - 1) / 2) * IND_ROW_DX, y + dy)
            shape.setdefault(v, "box")
    return {"pos": pos, "shape": shape, "layer": layer, "side": side, "latent": latent, "indicators": indicators}


def _size(shape: str) -> tuple[float, float]:
    return ELLIPSE if shape == "ellipse" else BOX


def _edge(centre: tuple[float, float], shape: str, toward: tuple[float, float]) -> tuple[float, float]:
    """Point where the ray from ``centre`` toward ``toward`` leaves the node's outline."""
    (x, y), (tx, ty) = centre, toward
    dx, dy = tx - x, ty - y
    if dx == 0 and dy == 0:
        return centre
    w, h = _size(shape)
    if shape == "ellipse":
        s = 1.0 / np.sqrt((dx / (w / 2)) ** 2 + (dy / (h / 2)) ** 2)
    else:
        s = min(abs((w / 2) / dx) if dx else np.inf, abs((h / 2) / dy) if dy else np.inf)
    return (x + s * dx, y + s * dy)


def _crosses(start, end, pos, shape, own) -> bool:
    ts = np.linspace(0.0, 1.0, 200)
    xs = start[0] + ts * (end[0] - start[0])
    ys = start[1] + ts * (end[1] - start[1])
    for v, (x, y) in pos.items():
        if v in own:
            continue
        w, h = _size(shape[v])
        if np.any((np.abs(xs - x) <= w / 2 + 0.05) & (np.abs(ys - y) <= h / 2 + 0.05)):
            return True
    return False


def _value(r: Any, standardized: bool) -> float:
    return float(r.std_all) if standardized and np.isfinite(r.std_all) else float(r.est)


def sem_diagram(
    result: Any,
    *,
    standardized: bool = True,
    group: int | str | None = None,
    title: str | None = None,
    labels: dict[str, str] | None = None,
) -> plt.Figure:
    """Draw a latent-variable path diagram.

    Parameters
    ----------
    result
        A :func:`sciplab.stats.sem.sem` result.
    standardized
        Label edges with ``std_all`` (default) or raw ``est``.
    group
        Multigroup models: the group (1-based number) to draw, or ``"all"`` (the default, None)
        for one panel per group side by side; single-group models have group 1.
    title
        Optional figure title.
    labels
        Display names of variables (default: the name with ``_`` as spaces).

    Returns
    -------
    matplotlib.figure.Figure
        Nodes carry gids ``ellipse:<name>`` / ``box:<name>``, edges ``path:<id>`` and their labels
        ``label:<id>`` (with panels, prefixed ``g<k>/``). Residual covariances are drawn as curved
        two-headed arrows, those of indicators on the outer side of their boxes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.sem import sem
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> df = pd.DataFrame({f"x{i}": f + rng.normal(size=200) for i in (1, 2, 3)})
    >>> fig = sem_diagram(sem(df, "f =~ x1 + x2 + x3"))
    >>> sorted(p.get_gid() for p in fig.axes[0].patches)[:2]
    ['box:x1', 'box:x2']
    """
    _check(result)
    groups = result.details.get("groups") or []
    n_groups = max(len(groups), 1)
    if group is None or (isinstance(group, str) and group.lower() == "all"):
        chosen = list(range(1, n_groups + 1))
    elif isinstance(group, bool) or not isinstance(group, int | np.integer) or not 1 <= group <= n_groups:
        raise InvalidParameterError(f"group must be a group number from 1 to {n_groups} or 'all', got {group!r}")
    else:
        chosen = [int(group)]
    labels = dict(labels or {})
    panels = [_panel(result, g, standardized, groups) for g in chosen]
    with apa_style():
        if len(panels) == 1:
            fig = plt.figure(figsize=panels[0]["size"])
            _draw(fig, panels[0], labels, prefix="")
        else:
            for pn in panels:  # room for the group heading
                pn["top"] += 0.35
                pn["size"] = (pn["size"][0], pn["size"][1] + 0.35)
            height = max(pn["size"][1] for pn in panels)
            widths = [pn["size"][0] for pn in panels]
            fig = plt.figure(figsize=(sum(widths), height))
            for sub, pn, g in zip(fig.subfigures(1, len(panels), width_ratios=widths), panels, chosen, strict=True):
                extra = height - pn["size"][1]
                pn["bottom"] -= extra  # keep one data unit per inch in every panel
                _draw(sub, pn, labels, prefix=f"g{g}/", heading=f"Group {g}: {groups[g - 1]}")
        if title:
            fig.suptitle(title, y=1.0, va="bottom")
    return fig


def _panel(result: Any, group: int, standardized: bool, groups: list[Any]) -> dict[str, Any]:
    """Positions, edges and extent of one group's diagram (data units are inches)."""
    lay = sem_layout(result, group=group)
    pos, shape = lay["pos"], lay["shape"]
    t = result.table[result.table["group"] == group]
    edges: list[dict[str, Any]] = []
    for r in t[t["op"].isin(["=~", "~"])].itertuples(index=False):
        a, b = (r.lhs, r.rhs) if r.op == "=~" else (r.rhs, r.lhs)  # arrow from a to b
        if a not in pos or b not in pos:
            continue
        start, end = _edge(pos[a], shape[a], pos[b]), _edge(pos[b], shape[b], pos[a])
        rad = 0.0
        if r.op == "~" and _crosses(start, end, pos, shape, {a, b}):
            rad = -0.3 if pos[a][1] >= 0 else 0.3  # arc over (upper half) or under (lower half) the nodes
        edges.append({"id": f"{a}->{b}", "start": start, "end": end, "rad": rad, "kind": r.op, "both": False,
                      "text": apa_number(_value(r, standardized), 2) + stars(r.pvalue)})  # fmt: skip
    covs = t[(t["op"] == "~~") & (t["lhs"] != t["rhs"])]
    last = max(lay["layer"].values(), default=0)
    for r in covs.itertuples(index=False):
        a, b = r.lhs, r.rhs
        if a not in pos or b not in pos:
            continue
        value = float(r.std_all) if np.isfinite(r.std_all) else float(r.est)
        text = apa_number(value, 2) + stars(r.pvalue)
        if a not in lay["layer"] or b not in lay["layer"]:  # residual covariance of indicators
            edges.append(_indicator_cov(a, b, pos, shape, lay, text))
            continue
        if pos[a][1] < pos[b][1]:
            a, b = b, a  # from the upper to the lower node
        (xa, ya), (xb, yb) = pos[a], pos[b]
        start, end = (xa, ya - _size(shape[a])[1] / 2), (xb, yb + _size(shape[b])[1] / 2)
        if xa == xb and not _crosses(start, end, pos, shape, {a, b}):
            rad = 0.0  # neighbours in one column: a straight line through the free gap between them
        else:
            right = lay["layer"][a] != last or last == 0
            sx = 1.0 if right else -1.0
            wa, wb = _size(shape[a])[0], _size(shape[b])[0]
            start, end = (xa + sx * wa / 2, ya), (xb + sx * wb / 2, yb)
            rad = -sx * 0.3  # bulge grows with the distance, so nested arcs do not cross
        edges.append({"id": f"{a}<->{b}", "start": start, "end": end, "rad": rad, "kind": "~~", "both": True,
                      "text": text})  # fmt: skip

    note = "Ellipses: latent variables; boxes: observed variables. Values: "
    note += "standardized estimates" if standardized else "unstandardized estimates"
    note += "; * p < .05, ** p < .01, *** p < .001. Residual variances not shown."
    if len(groups) > 1:
        note += f" Group {group}: {groups[group - 1]}."
    sizes = {v: _size(shape[v]) for v in pos}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    pts = [_arc_point(e["start"], e["end"], e["rad"], tt) for e in edges for tt in (0.25, 0.5, 0.75)]
    xlim = (
        min([min(xs) - BOX[0] / 2 - 0.3, *(p[0] - 0.4 for p in pts)]),
        max([max(xs) + ELLIPSE[0] / 2 + 0.3, *(p[0] + 0.4 for p in pts)]),
    )
    top = max([max(ys) + ELLIPSE[1] / 2 + 0.3, *(p[1] + 0.3 for p in pts)])
    bottom = min([min(ys) - ELLIPSE[1] / 2 - 0.3, *(p[1] - 0.3 for p in pts)])
    note_lines = textwrap.wrap(note, int(max(xlim[1] - xlim[0], 5.0) * 14))
    note_y = bottom - 0.05
    bottom -= 0.2 * len(note_lines) + 0.2
    size = (max(xlim[1] - xlim[0], 5.0), top - bottom)
    return {"pos": pos, "shape": shape, "sizes": sizes, "edges": edges, "xlim": xlim, "top": top, "bottom": bottom,
            "size": size, "note_lines": note_lines, "note_y": note_y}  # fmt: skip


def _indicator_cov(a: str, b: str, pos: dict, shape: dict, lay: dict[str, Any], text: str) -> dict[str, Any]:
    """A residual covariance of two indicators: an arc on the outer side of their boxes."""
    side = {v: s for f, s in lay["side"].items() for v in lay["indicators"].get(f, [])}
    (xa, ya), (xb, yb) = pos[a], pos[b]
    wa, ha = _size(shape[a])
    wb, hb = _size(shape[b])
    sa, sb = side.get(a), side.get(b)
    if sa == sb and sa in ("left", "right") and abs(xa - xb) < 1e-9:
        if ya < yb:
            a, b, ya, yb = b, a, yb, ya
        sx = -1.0 if sa == "left" else 1.0
        start, end = (xa + sx * wa / 2, ya), (xb + sx * wb / 2, yb)
        rad = 0.4 if sa == "left" else -0.4
    elif sa == sb and sa in ("above", "below") and abs(ya - yb) < 1e-9:
        if xa > xb:
            a, b, xa, xb = b, a, xb, xa
        sy = 1.0 if sa == "above" else -1.0
        start, end = (xa, ya + sy * ha / 2), (xb, yb + sy * hb / 2)
        rad = -0.4 if sa == "above" else 0.4
    else:
        start, end = _edge(pos[a], shape[a], pos[b]), _edge(pos[b], shape[b], pos[a])
        rad = 0.25
    return {"id": f"{a}<->{b}", "start": start, "end": end, "rad": rad, "kind": "~~", "both": True, "text": text}


def _draw(fig: Any, pn: dict[str, Any], labels: dict[str, str], *, prefix: str, heading: str | None = None) -> None:
    """Render one panel into a figure or subfigure whose axes fill it at one data unit per inch."""
    pos, shape, sizes, edges, xlim = pn["pos"], pn["shape"], pn["sizes"], pn["edges"], pn["xlim"]
    top, bottom, size, note_lines, note_y = pn["top"], pn["bottom"], pn["size"], pn["note_lines"], pn["note_y"]
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(xlim[0], xlim[0] + size[0])
    ax.set_ylim(bottom, top)
    for v, (x, y) in pos.items():
        w, h = sizes[v]
        if shape[v] == "ellipse":
            ax.add_patch(Ellipse((x, y), w, h, fc="white", ec="black", lw=0.9, zorder=3, gid=f"{prefix}ellipse:{v}"))
            width, font = 18, 8.5
        else:
            ax.add_patch(
                FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.04",
                               fc="white", ec="black", lw=0.8, zorder=3, gid=f"{prefix}box:{v}")
            )  # fmt: skip
            width, font = 14, 6.5
        name = labels.get(v, v.replace("_", " "))
        ax.text(x, y, "\n".join(textwrap.wrap(name, width)) or v, ha="center", va="center", fontsize=font,
                zorder=4)  # fmt: skip
    for e in edges:
        ax.annotate(
            "", xy=e["end"], xytext=e["start"], zorder=1, gid=f"{prefix}path:{e['id']}",
            arrowprops={"arrowstyle": "<|-|>" if e["both"] else "-|>", "lw": 0.8, "color": "black",
                        "shrinkA": 0, "shrinkB": 0, "connectionstyle": f"arc3,rad={e['rad']}",
                        "mutation_scale": 8},
        )  # fmt: skip
    per_inch = (1.0, 1.0)  # the axes fill the figure at 1 data unit per inch
    for e, (lx, ly) in zip(edges, _place_labels(edges, pos, sizes, per_inch, span=(0.1, 0.9)), strict=True):
        ax.text(
            lx, ly, e["text"], fontsize=7.5, ha="center", va="center", gid=f"{prefix}label:{e['id']}",
            bbox={"fc": "white", "ec": "none", "pad": 1.0}, zorder=2,
        )  # fmt: skip
    ax.text(xlim[0] + 0.2, note_y, "\n".join(note_lines), ha="left", va="top", fontsize=7.0)
    if heading:
        ax.text(xlim[0] + 0.2, top - 0.1, heading, ha="left", va="top", fontsize=9.0, fontweight="bold")


def save_sem_diagram(result: Any, path: str | os.PathLike[str], *, overwrite: bool = False, **kwargs: object) -> Path:
    """Draw :func:`sem_diagram` and save it as PNG, SVG or PDF (by extension); never replaces a file unless asked.

    An invariance ladder result is drawn from its least constrained (configural) fit.
    """
    fits = getattr(result, "fits", None)
    if isinstance(fits, dict) and fits:
        result = next(iter(fits.values()))
    with apa_style():
        fig = sem_diagram(result, **kwargs)  # type: ignore[arg-type]
        return save_figure(fig, path, overwrite=overwrite)
