"""Monitoring charts of a whole caseload, laid out once and drawn straight through matplotlib's renderers.

Why: matplotlib's artist layer (tick locators and formatters, text layout, legend packing, axis
relayout) cost about 70 ms of CPU per chart even with re-used artists, so 100 clients took 12 s.
A monitoring chart has a fixed design, so each page is laid out here in points (the figure size,
margins, tick lengths, paddings, legend metrics and line styles of :mod:`sciplab.plot.style` and
of matplotlib's defaults) and its primitives go directly to a renderer:

* PDF: :class:`matplotlib.backends.backend_pdf.RendererPdf`, one page per client in one file.
  Text is set in the standard PDF font Helvetica (nothing to embed, fast); a string Helvetica
  cannot encode (outside Windows-1252) is set in DejaVu Sans, embedded as usual.
* PNG: :class:`matplotlib.backends.backend_agg.RendererAgg` for lines, areas and markers; text as
  glyph bitmaps from FreeType (DejaVu Sans), rendered once per string and size and composited
  (tick labels, legends and axis labels repeat on every page).

Each page has the content of :func:`sciplab.plot.monitor.plot_monitor`'s figure: the title, the
score series with traffic-light markers, the expected curve (dashed), the yellow zone (shaded),
the red bound, the cut-off (dotted), the legend, and (with alliance ratings) a second panel with
the alliance series and rupture, repair and unresolved markers and its legend. Axis limits are
the data range with 5 % margins (matplotlib's autoscaling), ticks from
:class:`matplotlib.ticker.MaxNLocator` with matplotlib's automatic steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.markers import MarkerStyle
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D

if TYPE_CHECKING:
    from sciplab.plot.monitor import _ClientData, _Sources

#: Page geometry (inches, as the matplotlib chart): width, height per panel, margins, panel gap.
WIDTH_IN, PANEL_IN, LEFT, RIGHT, TOP_IN, BOTTOM_IN, HSPACE = 6.5, 3.2, 0.13, 0.97, 0.3, 0.45, 0.12
FONT, TITLE_FONT, LEGEND_FONT = 10.0, 11.0, 8.0
TICK_LEN, TICK_PAD, LABEL_PAD, TITLE_PAD, SPINE_W = 3.5, 3.5, 4.0, 6.0, 0.8
#: Vertical metrics (fractions of the font size) used to align text: cap height and descent.
ASCENT, DESCENT = 0.73, 0.22
#: matplotlib's dash patterns ('--' and ':') in points for line width 1 (scaled by the width).
DASHED, DOTTED = (3.7, 1.6), (1.0, 1.65)
STEPS = [1, 2, 2.5, 5, 10]


class Canvas:
    """Primitives in points (origin bottom left) on a matplotlib renderer (``scale`` pixels per point)."""

    def __init__(self, renderer: Any, scale: float) -> None:
        self.renderer, self.scale = renderer, scale
        self.transform = Affine2D().scale(scale)
        self._rgba: dict[str, tuple[float, float, float, float]] = {}

    def rgba(self, colour: str) -> tuple[float, float, float, float]:
        if colour not in self._rgba:
            self._rgba[colour] = to_rgba(colour)
        return self._rgba[colour]

    def _gc(self, colour: str, width: float, dash: tuple[float, float] | None = None, alpha: float = 1.0) -> Any:
        gc = self.renderer.new_gc()
        gc.set_foreground(self.rgba(colour))
        gc.set_linewidth(width)
        gc.set_capstyle("butt")
        gc.set_joinstyle("round")
        gc.set_dashes(0, None if dash is None else [d * width for d in dash])
        if alpha != 1.0:
            gc.set_alpha(alpha)
        return gc

    def line(self, xy: np.ndarray, colour: str, width: float, dash: tuple[float, float] | None = None) -> None:
        """A polyline broken at non-finite points (as matplotlib draws a line with NaN)."""
        ok = np.isfinite(xy).all(axis=1)
        if ok.sum() < 2:
            return
        codes = np.where(np.r_[True, ~ok[:-1]], Path.MOVETO, Path.LINETO)[ok].astype(np.uint8)
        gc = self._gc(colour, width, dash)
        self.renderer.draw_path(gc, Path(xy[ok], codes), self.transform)
        gc.restore()

    def fill(self, xy: np.ndarray, colour: str, alpha: float) -> None:
        if len(xy) < 3:
            return
        gc = self._gc(colour, 0.0, alpha=alpha)
        # closed=True replaces the last vertex by CLOSEPOLY: repeat the first one
        self.renderer.draw_path(gc, Path(np.vstack([xy, xy[:1]]), closed=True), self.transform, self.rgba(colour))
        gc.restore()

    def markers(self, xy: np.ndarray, marker: str, size: float, face: str | None, edge: str, width: float) -> None:
        """Markers of ``size`` points (scatter: the square root of the area) at ``xy``."""
        if len(xy) == 0:
            return
        style = MarkerStyle(marker)
        trans = style.get_transform() + Affine2D().scale(size * self.scale)
        gc = self._gc(edge, width)
        self.renderer.draw_markers(gc, style.get_path(), trans, Path(xy), self.transform,
                                   None if face is None or not style.is_filled() else self.rgba(face))  # fmt: skip
        gc.restore()

    def text_width(self, s: str, size: float) -> float:
        raise NotImplementedError

    def text(self, x: float, y: float, s: str, size: float, ha: str = "left", va: str = "baseline",
             rotation: int = 0) -> None:  # fmt: skip
        """Black text anchored at ``(x, y)``: ``ha`` left/center/right, ``va`` baseline/center/top; rotation 0 or 90."""
        w = self.text_width(s, size)
        shift = {"left": 0.0, "center": w / 2, "right": w}[ha]
        rise = {"baseline": 0.0, "center": ASCENT * size / 2, "top": ASCENT * size}[va]
        if rotation == 90:  # baseline runs upwards; the glyphs' tops point left
            self._text(x + rise, y - shift, s, size, 90)
        else:
            self._text(x - shift, y - rise, s, size, 0)

    def _text(self, x: float, y: float, s: str, size: float, angle: int) -> None:
        raise NotImplementedError


class PdfCanvas(Canvas):
    """Text in the standard font Helvetica (no embedding); strings outside Windows-1252 in DejaVu Sans."""

    def __init__(self, renderer: Any) -> None:
        super().__init__(renderer, 1.0)
        self._widths: dict[tuple[str, float], float] = {}
        self._core = {
            size: FontProperties(family="Helvetica", weight="medium", size=size)
            for size in (FONT, TITLE_FONT, LEGEND_FONT)
        }

    @staticmethod
    def _is_core(s: str) -> bool:
        try:
            s.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return s.isprintable()

    def _with_font(self, s: str, size: float, fn: Any) -> Any:
        if self._is_core(s):
            return fn(self._core.get(size) or FontProperties(family="Helvetica", weight="medium", size=size))
        with matplotlib.rc_context({"pdf.use14corefonts": False}):
            return fn(FontProperties(family="DejaVu Sans", size=size))

    def text_width(self, s: str, size: float) -> float:
        key = (s, size)  # font metrics: the same on every page (tick labels and legends repeat)
        if key not in self._widths:
            width = self._with_font(s, size, lambda p: self.renderer.get_text_width_height_descent(s, p, False)[0])
            self._widths[key] = float(width)
        return self._widths[key]

    def _text(self, x: float, y: float, s: str, size: float, angle: int) -> None:
        gc = self.renderer.new_gc()
        self._with_font(s, size, lambda p: self.renderer.draw_text(gc, x, y, s, p, angle))
        gc.restore()


class AggCanvas(Canvas):
    """Text from FreeType glyph bitmaps (DejaVu Sans, hinted as matplotlib's Agg), cached per string."""

    def __init__(self, renderer: Any, dpi: float) -> None:
        super().__init__(renderer, dpi / 72)
        self.dpi = dpi
        self.font = get_font(findfont(FontProperties(family=["DejaVu Sans", "sans-serif"])))
        self._bitmaps: dict[tuple[str, float], tuple[np.ndarray, float, float]] = {}
        self.pixels = np.asarray(renderer.buffer_rgba())

    def _bitmap(self, s: str, size: float) -> tuple[np.ndarray, float, float]:
        """Grey-level glyph image, its baseline row, and the advance width in points."""
        key = (s, size)
        if key not in self._bitmaps:
            from matplotlib.backends.backend_agg import get_hinting_flag

            self.font.clear()
            self.font.set_size(size, self.dpi)
            self.font.set_text(s, 0.0, flags=get_hinting_flag())
            self.font.draw_glyphs_to_bitmap(antialiased=True)
            image = np.asarray(self.font.get_image()).copy()
            w, _ = self.font.get_width_height()
            baseline = image.shape[0] - self.font.get_descent() / 64
            self._bitmaps[key] = (image, baseline, w / 64 / self.scale)
        return self._bitmaps[key]

    def text_width(self, s: str, size: float) -> float:
        return self._bitmap(s, size)[2]

    def _text(self, x: float, y: float, s: str, size: float, angle: int) -> None:
        image, baseline, _ = self._bitmap(s, size)
        height = self.pixels.shape[0]
        col, row = round(x * self.scale), round(height - y * self.scale)
        if angle == 90:  # counter-clockwise: the baseline becomes a column, the text's start the bottom row
            image = np.rot90(image)
            top, left = row - image.shape[0], col - round(baseline)
        else:
            top, left = row - round(baseline), col
        self._composite(image, top, left)

    def clear(self) -> None:
        self.pixels[...] = 255  # opaque white page

    def _composite(self, image: np.ndarray, top: int, left: int) -> None:
        h, w = self.pixels.shape[:2]
        r0, c0 = max(top, 0), max(left, 0)
        r1, c1 = min(top + image.shape[0], h), min(left + image.shape[1], w)
        if r1 <= r0 or c1 <= c0:
            return
        alpha = image[r0 - top : r1 - top, c0 - left : c1 - left, None].astype(np.float32) / 255.0
        region = self.pixels[r0:r1, c0:c1, :3]
        region[...] = (region * (1.0 - alpha)).astype(np.uint8)  # black text over the page


# ---- layout ------------------------------------------------------------------------------------


def page_size(n_panels: int) -> tuple[float, float]:
    """Page width and height in points."""
    return WIDTH_IN * 72, PANEL_IN * n_panels * 72


def _limits(values: list[np.ndarray]) -> tuple[float, float]:
    """Data range with matplotlib's autoscaling: a single value widened by 5 %, then 5 % margins."""
    flat = np.concatenate([np.ravel(v) for v in values]) if values else np.empty(0)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = float(flat.min()), float(flat.max())
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300):
        lo, hi = (-0.05, 0.05) if lo == 0 else (lo - 0.05 * abs(lo), hi + 0.05 * abs(hi))
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, length_pt: float, per_label: float) -> tuple[np.ndarray, list[str]]:
    """Tick positions inside ``[lo, hi]`` (matplotlib's automatic locator) and their labels."""
    nbins = max(1, min(9, math.floor(length_pt / per_label)))
    ticks = MaxNLocator(nbins=nbins, steps=STEPS).tick_values(lo, hi)
    eps = 1e-10 * (hi - lo)
    ticks = ticks[(ticks >= lo - eps) & (ticks <= hi + eps)]
    decimals = 0
    while decimals < 6 and np.any(np.abs(np.round(ticks, decimals) - ticks) > 1e-9 * max(1.0, np.abs(ticks).max())):
        decimals += 1
    labels = [f"{0.0 if abs(t) < eps else t:.{decimals}f}" for t in ticks]
    return ticks, labels


class _Panel:
    """One panel's rectangle (points) and data-to-page mapping."""

    def __init__(self, box: tuple[float, float, float, float], xlim: tuple[float, float],
                 ylim: tuple[float, float]) -> None:  # fmt: skip
        self.x0, self.y0, self.x1, self.y1 = box
        self.xlim, self.ylim = xlim, ylim

    def map(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        (a, b), (c, d) = self.xlim, self.ylim
        px = self.x0 + (np.asarray(x, float) - a) / (b - a) * (self.x1 - self.x0)
        py = self.y0 + (np.asarray(y, float) - c) / (d - c) * (self.y1 - self.y0)
        return np.column_stack([px, py])


def _boxes(n_panels: int) -> Iterator[tuple[float, float, float, float]]:
    width, height = page_size(n_panels)
    top, bottom = height - TOP_IN * 72, BOTTOM_IN * 72
    panel = (top - bottom) / (n_panels + HSPACE * (n_panels - 1))
    for i in range(n_panels):
        y1 = top - i * panel * (1 + HSPACE)
        yield LEFT * width, y1 - panel, RIGHT * width, y1


def draw_page(canvas: Canvas, src: _Sources, data: _ClientData) -> None:
    """Lay out and draw one client's chart."""
    from sciplab.plot.monitor import EVENT_MARKERS, STATUS_COLOURS

    boxes = list(_boxes(2 if data.alliance is not None else 1))
    xs: list[np.ndarray] = [data.session]
    top_y: list[np.ndarray] = [data.score[np.isfinite(data.session)]]
    if data.curve is not None:
        cs, red, expected, polygons = data.curve
        xs.append(cs)
        top_y += [red, expected, *(p[:, 1] for p in polygons)]
    if src.cutoff is not None:
        top_y.append(np.array([src.cutoff], float))
    xlim = _limits(xs)
    top = _Panel(boxes[0], xlim, _limits(top_y))
    # observed series: the expected course below it, as in the chart's z-order
    legend: list[tuple[tuple[str, ...], str]] = []
    if data.curve is not None:
        cs, red, expected, polygons = data.curve
        for poly in polygons:
            canvas.fill(top.map(poly[:, 0], poly[:, 1]), STATUS_COLOURS["yellow"], 0.3)
        canvas.line(top.map(cs, red), STATUS_COLOURS["red"], 1.0)
        canvas.line(top.map(cs, expected), "0.3", 1.2, DASHED)
        legend += [
            (("patch", STATUS_COLOURS["yellow"]), src.band_label),
            (("line", STATUS_COLOURS["red"], 1.0), src.red_label),
            (("line", "0.3", 1.2, "dashed"), "expected"),
        ]
    if src.cutoff is not None:
        canvas.line(top.map(np.array(xlim), np.array([src.cutoff] * 2)), "0.4", 1.0, DOTTED)
    canvas.line(top.map(data.session, data.score), "black", 1.0)
    ok = np.isfinite(data.session) & np.isfinite(data.score)
    xy = top.map(data.session[ok], data.score[ok])
    faces = np.asarray(data.colours, dtype=object)[ok]
    for colour in dict.fromkeys(faces.tolist()):
        canvas.markers(xy[faces == colour], "o", 6.0, colour, "black", 1.0)
    legend.append((("marker", "o", 6.0, STATUS_COLOURS["grey"] if src.expected is not None else "black", "black"),
                   "observed"))  # fmt: skip
    if src.cutoff is not None:
        legend.append((("line", "0.4", 1.0, "dotted"), "cut-off"))
    panels = [(top, str(src.measure), legend)]
    if data.alliance is not None:
        bottom_y = [data.alliance[np.isfinite(data.session)], *(xy_[:, 1] for xy_, _ in data.events.values())]
        bottom = _Panel(boxes[1], xlim, _limits(bottom_y))
        canvas.line(bottom.map(data.session, data.alliance), "black", 1.0)
        ok = np.isfinite(data.session) & np.isfinite(data.alliance)
        canvas.markers(bottom.map(data.session[ok], data.alliance[ok]), "o", 4.0, "black", "black", 1.0)
        events_legend = []
        for kind, (marker, _, colour) in EVENT_MARKERS.items():
            if kind not in data.events:
                continue
            points, sizes = data.events[kind]
            page_xy = bottom.map(points[:, 0], points[:, 1])
            for size in dict.fromkeys(sizes.tolist()):
                canvas.markers(page_xy[sizes == size], marker, math.sqrt(size), colour, colour,
                               1.5 if marker == "x" else 1.0)  # fmt: skip
        for kind in data.events:  # legend in order of first appearance
            marker, area, colour = EVENT_MARKERS[kind]
            events_legend.append((("marker", marker, math.sqrt(area), colour, colour), kind))
        panels.append((bottom, str(src.alliance), events_legend))
    for i, (panel, ylabel, entries) in enumerate(panels):
        _axes(canvas, panel, ylabel, xlabel=i == len(panels) - 1)
        _legend(canvas, panel, entries)
    canvas.text((top.x0 + top.x1) / 2, top.y1 + TITLE_PAD, data.title, TITLE_FONT, ha="center")


def _axes(canvas: Canvas, panel: _Panel, ylabel: str, *, xlabel: bool) -> None:
    """Left and bottom spines, outward ticks, tick labels (x only on the bottom panel), axis labels."""
    canvas.line(np.array([[panel.x0, panel.y1], [panel.x0, panel.y0], [panel.x1, panel.y0]]), "black", SPINE_W)
    yt, ylabels = _ticks(*panel.ylim, panel.y1 - panel.y0, FONT * 2)
    xt, xlabels = _ticks(*panel.xlim, panel.x1 - panel.x0, FONT * 3)
    ty = panel.map(np.full(len(yt), panel.xlim[0]), yt)
    tx = panel.map(xt, np.full(len(xt), panel.ylim[0]))
    marks = np.full((3 * (len(yt) + len(xt)), 2), np.nan)
    marks[0 : 3 * len(yt) : 3] = ty
    marks[1 : 3 * len(yt) : 3] = ty - [TICK_LEN, 0]
    marks[3 * len(yt) :: 3] = tx
    marks[3 * len(yt) + 1 :: 3] = tx - [0, TICK_LEN]
    canvas.line(marks, "black", SPINE_W)
    widest = 0.0
    for (x, y), label in zip(ty, ylabels, strict=True):
        canvas.text(x - TICK_LEN - TICK_PAD, y, label, FONT, ha="right", va="center")
        widest = max(widest, canvas.text_width(label, FONT))
    mid_y = (panel.y0 + panel.y1) / 2
    canvas.text(panel.x0 - TICK_LEN - TICK_PAD - widest - LABEL_PAD - DESCENT * FONT, mid_y, ylabel, FONT,
                ha="center", rotation=90)  # fmt: skip
    if xlabel:
        for (x, y), label in zip(tx, xlabels, strict=True):
            canvas.text(x, y - TICK_LEN - TICK_PAD, label, FONT, ha="center", va="top")
        below = panel.y0 - TICK_LEN - TICK_PAD - (ASCENT + DESCENT) * FONT - LABEL_PAD
        canvas.text((panel.x0 + panel.x1) / 2, below, "Session", FONT, ha="center", va="top")


def _legend(canvas: Canvas, panel: _Panel, entries: list[tuple[tuple[Any, ...], str]]) -> None:
    """Upper-right legend without frame, matplotlib's metrics at 8 pt: handle, then label, one per row."""
    if not entries:
        return
    fs = LEGEND_FONT
    handle_w, gap, row_h, spacing = 2.0 * fs, 0.8 * fs, (ASCENT + DESCENT) * fs * 1.2, 0.5 * fs
    widest = max(canvas.text_width(label, fs) for _, label in entries)
    x = panel.x1 - 0.5 * fs - 0.4 * fs - widest - gap - handle_w
    y = panel.y1 - 0.5 * fs - 0.4 * fs - row_h / 2
    for handle, label in entries:
        kind = handle[0]
        if kind == "patch":
            h = 0.35 * fs
            box = np.array([[x, y - h], [x + handle_w, y - h], [x + handle_w, y + h], [x, y + h]])
            canvas.fill(box, handle[1], 0.3)
        elif kind == "line":
            dash = {"dashed": DASHED, "dotted": DOTTED}.get(handle[3] if len(handle) > 3 else "", None)
            canvas.line(np.array([[x, y], [x + handle_w, y]]), handle[1], handle[2], dash)
        else:
            _, marker, size, face, edge = handle
            canvas.markers(np.array([[x + handle_w / 2, y]]), marker, size, face, edge, 1.5 if marker == "x" else 1.0)
        canvas.text(x + handle_w + gap, y, label, fs, va="center")
        y -= row_h + spacing
