"""Server-rendered inline SVG charts: no JavaScript, no internet, no style attributes (classes only, CSS in static/).

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its text alternative);
the page puts the data table behind it next to it. Every text is escaped. Coordinates are rounded
to 0.1 px for compact markup -- drawing only: the numbers in tables come from the analyses.
"""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup

W, H = 640, 300
PAD_L, PAD_R, PAD_T, PAD_B = 52, 16, 16, 40


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out = []
    v = start
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _open(title: str, desc: str, width: int = W, height: int = H, cls: str = "chart") -> tuple[str, str]:
    # deterministic: the same chart gets the same ids on every render (a cached page equals a fresh one)
    n = hashlib.blake2s(f"{cls}\0{title}\0{desc}".encode(), digest_size=5).hexdigest()
    head = (
        f'<svg class="{cls}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="svg{n}t svg{n}d" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="svg{n}t">{_e(title)}</title>'
        f'<desc id="svg{n}d">{_e(desc)}</desc>'
    )
    return head, "</svg>"


class Line:
    """A series of a line chart: points ``(x, y)`` (None/NaN y skipped), CSS class, optional point classes."""

    def __init__(
        self, label: str, points: Iterable[tuple[float, Any]], cls: str, point_classes: Sequence[str] | None = None,
        line: bool = True, markers: bool = True,
    ) -> None:  # fmt: skip
        self.label, self.cls, self.line, self.markers = label, cls, line, markers
        pts = list(points)
        pcs = list(point_classes) if point_classes is not None else [""] * len(pts)
        kept = [(float(x), float(y), c) for (x, y), c in zip(pts, pcs, strict=True) if _finite(y) and _finite(x)]
        self.points = [(x, y) for x, y, _ in kept]
        self.point_classes = [c for _, _, c in kept]


def line_chart(
    title: str,
    desc: str,
    lines: Sequence[Line],
    *,
    bands: Sequence[tuple[str, Sequence[float], Sequence[float], Sequence[float]]] = (),
    hlines: Sequence[tuple[str, float, str]] = (),
    x_label: str = "Session",
    y_label: str = "",
    y_range: tuple[float, float] | None = None,
) -> Markup:
    """A line chart with optional shaded bands ``(class, x, low, high)`` and labelled horizontal lines."""
    xs = [x for ln in lines for x, _ in ln.points] + [x for b in bands for x in b[1]]
    ys = [y for ln in lines for _, y in ln.points] + [v for b in bands for v in (*b[2], *b[3]) if _finite(v)]
    ys += [v for _, v, _ in hlines if _finite(v)]
    if not xs:
        xs = [0.0, 1.0]
    if not ys:
        ys = [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 1
    y0, y1 = y_range if y_range else (min(ys), max(ys))
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    if not y_range:
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad

    def sx(x: float) -> float:
        return PAD_L + (x - x0) / (x1 - x0) * (W - PAD_L - PAD_R)

    def sy(y: float) -> float:
        return H - PAD_B - (y - y0) / (y1 - y0) * (H - PAD_T - PAD_B)

    head, tail = _open(title, desc)
    out = [head, '<g class="axes">']
    for t in _ticks(y0, y1):
        out.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{_f(sy(t))}" y2="{_f(sy(t))}"/>')
        out.append(f'<text class="tick" x="{PAD_L - 6}" y="{_f(sy(t) + 4)}" text-anchor="end">{_f(t)}</text>')
    for t in _ticks(x0, x1, 8):
        out.append(f'<text class="tick" x="{_f(sx(t))}" y="{H - PAD_B + 16}" text-anchor="middle">{_f(t)}</text>')
    out.append(f'<line class="axis" x1="{PAD_L}" x2="{W - PAD_R}" y1="{H - PAD_B}" y2="{H - PAD_B}"/>')
    out.append(f'<line class="axis" x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{H - PAD_B}"/>')
    out.append(
        f'<text class="label" x="{(PAD_L + W - PAD_R) / 2}" y="{H - 6}" text-anchor="middle">{_e(x_label)}</text>'
    )
    if y_label:
        out.append(
            f'<text class="label" x="14" y="{(PAD_T + H - PAD_B) / 2}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(PAD_T + H - PAD_B) / 2})">{_e(y_label)}</text>'
        )
    out.append("</g>")
    for cls, bx, lo, hi in bands:
        pts = [(sx(x), sy(v)) for x, v in zip(bx, hi, strict=True) if _finite(v)]
        pts += [(sx(x), sy(v)) for x, v in reversed(list(zip(bx, lo, strict=True))) if _finite(v)]
        if pts:
            poly = " ".join(f"{_f(a)},{_f(b)}" for a, b in pts)
            out.append(f'<polygon class="band {_e(cls)}" points="{poly}"/>')
    for label, value, cls in hlines:
        if _finite(value) and y0 <= value <= y1:
            y = _f(sy(value))
            out.append(f'<line class="ref {_e(cls)}" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y}" y2="{y}"/>')
            out.append(
                f'<text class="reflabel" x="{W - PAD_R - 4}" y="{_f(sy(value) - 4)}" '
                f'text-anchor="end">{_e(label)}</text>'
            )
    for ln in lines:
        if ln.line and len(ln.points) > 1:
            d = " ".join(f"{_f(sx(x))},{_f(sy(y))}" for x, y in ln.points)
            out.append(f'<polyline class="series {_e(ln.cls)}" points="{d}"/>')
        for (x, y), pc in zip(ln.points, ln.point_classes, strict=True) if ln.markers else ():
            out.append(
                f'<circle class="pt {_e(ln.cls)} {_e(pc)}" cx="{_f(sx(x))}" cy="{_f(sy(y))}" r="4">'
                f"<title>{_e(ln.label)}: session {_f(x)}, {_f(y)}{' (' + _e(pc) + ')' if pc else ''}</title></circle>"
            )
    # legend
    lx = PAD_L + 8
    for ln in lines:
        out.append(f'<rect class="key {_e(ln.cls)}" x="{lx}" y="{PAD_T}" width="10" height="10"/>')
        out.append(f'<text class="legend" x="{lx + 14}" y="{PAD_T + 9}">{_e(ln.label)}</text>')
        lx += 22 + 7 * len(ln.label)
    out.append(tail)
    return Markup("".join(out))  # noqa: S704 - every text above is escaped with _e


def attachment_plane(
    title: str, desc: str, points: Sequence[dict[str, Any]], *, low: float, high: float, split: tuple[float, float]
) -> Markup:
    """The anxiety (x) x avoidance (y) plane with quadrant names, each point with its 95 % band as a cross."""
    size, pad = 320, 44

    def sx(v: float) -> float:
        return pad + (v - low) / (high - low) * (size - 2 * pad)

    def sy(v: float) -> float:
        return size - pad - (v - low) / (high - low) * (size - 2 * pad)

    head, tail = _open(title, desc, size, size, "chart plane")
    out = [head]
    out.append(f'<rect class="frame" x="{pad}" y="{pad}" width="{size - 2 * pad}" height="{size - 2 * pad}"/>')
    out.append(f'<line class="split" x1="{_f(sx(split[0]))}" x2="{_f(sx(split[0]))}" y1="{pad}" y2="{size - pad}"/>')
    out.append(f'<line class="split" x1="{pad}" x2="{size - pad}" y1="{_f(sy(split[1]))}" y2="{_f(sy(split[1]))}"/>')
    q = (size - 2 * pad) / 4
    for name, (x, y) in {"secure": (pad + q, size - pad - 8), "preoccupied": (size - pad - q, size - pad - 8),
                         "dismissing": (pad + q, pad + 14), "fearful": (size - pad - q, pad + 14)}.items():  # fmt: skip
        out.append(f'<text class="quadrant" x="{_f(x)}" y="{_f(y)}" text-anchor="middle">{name}</text>')
    out.append(f'<text class="label" x="{size / 2}" y="{size - 10}" text-anchor="middle">attachment anxiety</text>')
    out.append(
        f'<text class="label" x="14" y="{size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {size / 2})">attachment avoidance</text>'
    )
    for t in _ticks(low, high, 6):
        out.append(f'<text class="tick" x="{_f(sx(t))}" y="{size - pad + 14}" text-anchor="middle">{_f(t)}</text>')
        out.append(f'<text class="tick" x="{pad - 6}" y="{_f(sy(t) + 4)}" text-anchor="end">{_f(t)}</text>')
    for p in points:
        ax, av = p["anxiety"], p["avoidance"]
        (a_lo, a_hi), (v_lo, v_hi) = p["anxiety_ci"], p["avoidance_ci"]
        cls = _e(p.get("cls", ""))
        clamp_x = [min(max(v, low), high) for v in (a_lo, a_hi)]
        clamp_y = [min(max(v, low), high) for v in (v_lo, v_hi)]
        out.append(
            f'<line class="ci {cls}" x1="{_f(sx(clamp_x[0]))}" x2="{_f(sx(clamp_x[1]))}" '
            f'y1="{_f(sy(av))}" y2="{_f(sy(av))}"/>'
        )
        out.append(
            f'<line class="ci {cls}" x1="{_f(sx(ax))}" x2="{_f(sx(ax))}" '
            f'y1="{_f(sy(clamp_y[0]))}" y2="{_f(sy(clamp_y[1]))}"/>'
        )
        out.append(
            f'<circle class="pt {cls}" cx="{_f(sx(ax))}" cy="{_f(sy(av))}" r="5"><title>{_e(p["label"])}: anxiety '
            f"{ax:.2f}, avoidance {av:.2f}</title></circle>"
        )
        out.append(f'<text class="ptlabel" x="{_f(sx(ax) + 8)}" y="{_f(sy(av) - 8)}">{_e(p["label"])}</text>')
    out.append(tail)
    return Markup("".join(out))  # noqa: S704 - every text above is escaped with _e


def circle(title: str, desc: str, octants: Sequence[tuple[str, float, float]], vector: dict[str, Any] | None) -> Markup:
    """Octant profile ``(code, angle_deg, value)`` on the interpersonal circle with the SSM vector.

    Radius is the score's distance from the profile's lowest plotted value (so negative z-scores
    draw too); the vector is drawn at its displacement with length proportional to its amplitude
    on the same radial scale.
    """
    size, r = 320, 120.0
    c = size / 2
    vals = [v for _, _, v in octants if _finite(v)]
    lo = min([*vals, 0.0])
    hi = max([*vals, lo + 1e-9])
    span = hi - lo if hi > lo else 1.0

    def pos(angle: float, radius: float) -> tuple[float, float]:
        a = math.radians(angle)
        return c + radius * math.cos(a), c - radius * math.sin(a)

    head, tail = _open(title, desc, size, size, "chart circle")
    out = [
        head,
        f'<circle class="ring" cx="{c}" cy="{c}" r="{r}"/>',
        f'<circle class="ring" cx="{c}" cy="{c}" r="{r / 2}"/>',
    ]
    for code, angle, _ in octants:
        x, y = pos(angle, r)
        out.append(f'<line class="spoke" x1="{c}" y1="{c}" x2="{_f(x)}" y2="{_f(y)}"/>')
        lx, ly = pos(angle, r + 18)
        out.append(f'<text class="tick" x="{_f(lx)}" y="{_f(ly + 4)}" text-anchor="middle">{_e(code)}</text>')
    pts = [pos(angle, (v - lo) / span * r) for _, angle, v in octants if _finite(v)]
    if pts:
        out.append(f'<polygon class="profile" points="{" ".join(f"{_f(a)},{_f(b)}" for a, b in pts)}"/>')
    for (code, _angle, v), (x, y) in zip([o for o in octants if _finite(o[2])], pts, strict=True):
        out.append(f'<circle class="pt" cx="{_f(x)}" cy="{_f(y)}" r="3"><title>{_e(code)}: {v:.2f}</title></circle>')
    if vector and _finite(vector.get("amplitude")) and _finite(vector.get("displacement")):
        x, y = pos(float(vector["displacement"]), float(vector["amplitude"]) / span * r)
        out.append(f'<line class="vector" x1="{c}" y1="{c}" x2="{_f(x)}" y2="{_f(y)}"/>')
        out.append(f'<circle class="vector-end" cx="{_f(x)}" cy="{_f(y)}" r="4"><title>SSM vector</title></circle>')
    out.append(tail)
    return Markup("".join(out))  # noqa: S704 - every text above is escaped with _e


def bars(
    title: str, desc: str, items: Sequence[tuple[str, float | None, str]], *, max_value: float | None = None
) -> Markup:
    """Horizontal bars ``(label, value, class)``; a None value (suppressed) draws no bar and says so."""
    h_row, width, pad_l = 26, 640, 190
    height = 12 + h_row * max(len(items), 1)
    top = max([v for _, v, _ in items if v is not None] + [max_value or 0.0, 1e-9])
    head, tail = _open(title, desc, width, height, "chart bars")
    out = [head]
    for i, (label, value, cls) in enumerate(items):
        y = 6 + i * h_row
        out.append(f'<text class="tick" x="{pad_l - 8}" y="{y + 16}" text-anchor="end">{_e(label)}</text>')
        if value is None:
            out.append(f'<text class="tick" x="{pad_l + 4}" y="{y + 16}">suppressed (small number)</text>')
            continue
        wbar = (width - pad_l - 60) * float(value) / top
        out.append(f'<rect class="bar {_e(cls)}" x="{pad_l}" y="{y + 4}" width="{_f(wbar)}" height="{h_row - 8}"/>')
        out.append(f'<text class="tick" x="{_f(pad_l + wbar + 6)}" y="{y + 16}">{_f(float(value))}</text>')
    out.append(tail)
    return Markup("".join(out))  # noqa: S704 - every text above is escaped with _e
