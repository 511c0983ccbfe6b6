"""Per-client monitoring chart: outcome trajectory against the expected course, alliance ruptures.

Top panel: observed scores (markers coloured by traffic-light status when an expected response
is given), the expected curve (dashed), the yellow zone between the one-sided yellow and red
bounds (shaded) and the red bound (line) (:func:`sciplab.stats.change.expected_response`). Bottom panel (when
alliance ratings are given): the alliance series with rupture troughs and repairs (strict-rule
events drawn larger; unresolved episodes marked with a cross). APA style (:mod:`sciplab.plot.style`).

Client ids and column names are drawn as plain text (never parsed as mathtext: an id such as
``$x_{$`` is shown as written). :func:`write_monitor_figures` draws a whole caseload into one
multi-page PDF or a folder of PNG files with an index page, reporting progress through a callback;
it writes atomically: nothing appears unless every chart was drawn. What a chart shows is computed
once per client (:func:`_client_data`) and drawn either as a matplotlib figure (:func:`plot_monitor`,
one chart) or, for a caseload, page by page by :mod:`sciplab.plot._monitor_pages` (no figure layer:
about 10 ms per page instead of 70-120 ms).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

from sciplab._core.errors import DataError
from sciplab._core.files import atomic_write, safe_filename
from sciplab._core.results import package_version
from sciplab.plot.style import FORMATS, apa_style, save_figure
from sciplab.stats.change import ExpectedResponseResult, RuptureResult

__all__ = ["STATUS_COLOURS", "plot_monitor", "save_figure", "write_monitor_figures"]

#: Traffic-light colours (grey/white markers get a black edge so they stay visible).
STATUS_COLOURS = {"grey": "#9e9e9e", "white": "#ffffff", "green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
_REPAIR, _RUPTURE = "#2e7d32", "#c62828"


def plot_monitor(
    data: pd.DataFrame,
    *,
    client: str,
    session: str,
    measure: str,
    client_id: Any,
    expected: ExpectedResponseResult | None = None,
    ruptures: RuptureResult | None = None,
    alliance: str | None = None,
    cutoff: float | None = None,
    title: str | None = None,
) -> plt.Figure:
    """Draw one client's trajectory chart.

    Parameters
    ----------
    data
        Long data (one row per client and session).
    client, session, measure
        Column names.
    client_id
        Which client to draw.
    expected
        :func:`sciplab.stats.change.expected_response` result: expected curve, bands, status colours.
    ruptures
        :func:`sciplab.stats.change.detect_ruptures` result: markers on the alliance panel.
    alliance
        Alliance column for the bottom panel (default: the one ``ruptures`` was computed on).
    cutoff
        Clinical cut-off drawn as a dotted line.
    title
        Figure title (default: ``"Client <id>"``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> df = pd.DataFrame({"id": 1, "s": [1, 2, 3, 4], "y": [20.0, 18, 15, 11]})
    >>> fig = plot_monitor(df, client="id", session="s", measure="y", client_id=1)
    >>> fig.axes[0].get_ylabel()
    'y'
    >>> plt.close(fig)
    """
    for arg, col in (("client", client), ("session", session), ("measure", measure)):
        if col not in data.columns:
            raise DataError(f"column {col!r} (argument {arg}) not found in the data")
    rows = data[data[client] == client_id]
    if rows.empty:
        raise DataError(f"client {client_id!r} not found in column {client!r}")
    alliance = _alliance_column(data, ruptures, alliance)
    src = _Sources(session=session, measure=measure, expected=expected, ruptures=ruptures, alliance=alliance,
                   cutoff=cutoff)  # fmt: skip
    return _figure(src, _client_data(src, rows, client_id=client_id, title=title))


def _figure(src: _Sources, data: _ClientData) -> plt.Figure:
    """One client's chart as a matplotlib figure (APA style, tight layout)."""
    with apa_style():
        chart = _Chart(src)
        _draw(chart, data)
        chart.fig.tight_layout()
    return chart.fig


def _alliance_column(data: pd.DataFrame, ruptures: RuptureResult | None, alliance: str | None) -> str | None:
    if alliance is None and ruptures is not None:
        alliance = ruptures.details["alliance"]
    if alliance is not None and alliance not in data.columns:
        raise DataError(f"alliance column {alliance!r} not found in the data")
    return alliance


def _by_client(table: pd.DataFrame) -> dict[Any, pd.DataFrame]:
    return dict(tuple(table.groupby("client", sort=False))) if not table.empty else {}


def _band(t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """The polygons ``fill_between(t, lo, hi)`` draws: one per run of finite points."""
    ok = np.isfinite(t) & np.isfinite(lo) & np.isfinite(hi)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    polygons = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        x = t[a:b]
        polygons.append(np.column_stack([np.r_[x, x[::-1]], np.r_[lo[a:b], hi[a:b][::-1]]]))
    return polygons


def _proxy(marker: str, size: float, colour: str, edge: str | None = None) -> Line2D:
    """A legend entry for a scatter marker of area ``size`` (points squared), whatever the chart holds."""
    return Line2D([], [], ls="none", marker=marker, markersize=np.sqrt(size), markerfacecolor=colour,
                  markeredgecolor=edge or colour)  # fmt: skip


class _Sources:
    """What every chart of a caseload shares: column names, cut-off, and the analyses grouped by client."""

    def __init__(
        self,
        *,
        session: str,
        measure: str,
        expected: ExpectedResponseResult | None,
        ruptures: RuptureResult | None,
        alliance: str | None,
        cutoff: float | None,
    ) -> None:
        self.session, self.measure, self.alliance, self.expected, self.cutoff = (session, measure, alliance, expected,
                                                                                 cutoff)  # fmt: skip
        self.curves: dict[Any, pd.DataFrame] = {}
        self.status: dict[Any, pd.DataFrame] = {}
        self.band_label = self.red_label = ""
        if expected is not None:
            self.curves, self.status = _by_client(expected.curve), _by_client(expected.table)
            q_y, q_r = expected.details["q_yellow"], expected.details["q_red"]
            self.band_label, self.red_label = f"yellow zone (q {q_y:g}-{q_r:g})", f"red bound (q {q_r:g})"
        self.events = _by_client(ruptures.table) if ruptures is not None and alliance is not None else {}


#: Rupture marker kinds in legend order of the lenient/strict rule: marker, area (points squared) of
#: the legend entry, colour.
EVENT_MARKERS = {"rupture (trough)": ("v", 40.0, _RUPTURE), "repair": ("^", 40.0, _REPAIR),
                 "unresolved": ("x", 60.0, "black")}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _ClientData:
    """What one client's chart shows, in data coordinates: drawn by :class:`_Chart` or the page writers."""

    title: str
    session: np.ndarray
    score: np.ndarray
    #: marker face colour per session (the traffic light, or black without an expected response)
    colours: list[str]
    #: expected course: sessions, red bound, expected score, yellow-zone polygons (None: no curve)
    curve: tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]] | None
    alliance: np.ndarray | None = None
    #: rupture markers by kind (in order of first appearance): points (n, 2) and areas (n,)
    events: dict[str, tuple[np.ndarray, np.ndarray]] = dataclasses.field(default_factory=dict)


def _client_data(src: _Sources, rows: pd.DataFrame, *, client_id: Any, title: str | None = None) -> _ClientData:
    """One client's series, traffic-light colours, expected course and rupture markers."""
    rows = rows.sort_values(src.session)
    s = rows[src.session].to_numpy(float)
    y = pd.to_numeric(rows[src.measure], errors="coerce").to_numpy(float)
    colours = ["black"] * len(s)
    curve = None
    if src.expected is not None:
        frame = src.curves.get(client_id)
        if frame is not None and not frame.empty:
            cs = frame["session"].to_numpy(float)
            red = frame["bound_red"].to_numpy(float)
            curve = (cs, red, frame["expected"].to_numpy(float), _band(cs, frame["bound_yellow"].to_numpy(float), red))
        table = src.status.get(client_id)
        status = table.set_index("session")["status"] if table is not None else pd.Series(dtype=object)
        colours = [STATUS_COLOURS.get(str(status.get(v, "grey")), "#9e9e9e") for v in s]
    alliance, events = None, {}
    if src.alliance is not None:
        alliance = pd.to_numeric(rows[src.alliance], errors="coerce").to_numpy(float)
        table = src.events.get(client_id)
        events = _rupture_markers(table if table is not None else pd.DataFrame(), s, alliance)
    return _ClientData(title=title or f"Client {client_id}", session=s, score=y, colours=colours, curve=curve,
                       alliance=alliance, events=events)  # fmt: skip


def _rupture_markers(events: pd.DataFrame, s: np.ndarray, a: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Rupture troughs, repairs and unresolved crosses (strict-rule events larger), in order of appearance."""
    value = dict(zip(s, a, strict=True))
    kinds: dict[str, tuple[list[float], list[float], list[float]]] = {}

    def add(kind: str, at: float, size: float) -> None:
        xs, ys, sizes = kinds.setdefault(kind, ([], [], []))
        xs.append(at)
        ys.append(value.get(at, np.nan))
        sizes.append(size)

    if not events.empty:
        for m, status, t, r in events.sort_values("m")[["m", "status", "trough_session", "repair_session"]].itertuples(
            index=False
        ):
            size = 40 if m < 2 else 90
            add("rupture (trough)", t, size)
            if status == "repaired":
                add("repair", r, size)
            elif status == "unresolved":
                add("unresolved", t, size * 1.5)
    out = {}
    for kind, (xs, ys, sizes) in kinds.items():
        points, keep = _offsets(np.asarray(xs, float), np.asarray(ys, float))
        out[kind] = (points, np.asarray(sizes, float)[keep])
    return out


class _Chart:
    """One matplotlib figure holding every artist of a monitoring chart; :func:`_draw` puts a client in.

    Building a figure, its axes, ticks and artists costs far more than drawing them, so the artists
    are created once and data go in with ``set_data``/``set_offsets``/``set_verts``/``set_text``;
    nothing is created per client but a legend whose entries change. Create inside :func:`apa_style`.
    """

    def __init__(self, src: _Sources) -> None:
        self.src = src
        n_panels = 2 if src.alliance is not None else 1
        self.fig, grid = plt.subplots(n_panels, 1, figsize=(6.5, 3.2 * n_panels), sharex=True, squeeze=False)
        self.axes: list[plt.Axes] = list(grid[:, 0])
        ax = self.axes[0]
        self.entries: list[tuple[Any, str]] = []
        if src.expected is not None:
            # a plain PolyCollection (not fill_between) so that set_verts is all an update needs
            self.band = PolyCollection([], facecolors=STATUS_COLOURS["yellow"], alpha=0.3, linewidths=0)
            ax.add_collection(self.band, autolim=False)
            (self.red,) = ax.plot([], [], color=STATUS_COLOURS["red"], lw=1)
            (self.curve,) = ax.plot([], [], ls="--", color="0.3", lw=1.2)
            self.entries += [(self.band, src.band_label), (self.red, src.red_label), (self.curve, "expected")]
        (self.line,) = ax.plot([], [], color="black", lw=1, zorder=2)
        # one colour, not c=[]: an empty value array would colour-map the markers over the set colours
        self.points = ax.scatter([], [], c="black", edgecolors="black", s=36, zorder=3)
        # the observed entry shows the first session's marker: grey (no status yet) or plain black
        self.observed = (_proxy("o", 36, STATUS_COLOURS["grey"] if src.expected is not None else "black", "black"),
                         "observed")  # fmt: skip
        self.cutoff = None if src.cutoff is None else (ax.axhline(src.cutoff, ls=":", color="0.4", lw=1), "cut-off")
        ax.set_ylabel(str(src.measure), parse_math=False)
        self.title = ax.set_title(" ", parse_math=False, y=1.0)  # a fixed y skips the per-page title layout
        self.legend_key: list[tuple[str, ...] | None] = [None, None]
        if src.alliance is None:
            ax.set_xlabel("Session")
            return
        ax2 = self.axes[1]
        (self.alliance_line,) = ax2.plot([], [], color="black", lw=1, marker="o", ms=4)
        self.markers = {kind: ax2.scatter([], [], marker=m, color=c, zorder=4 if m == "x" else 3)
                        for kind, (m, _, c) in EVENT_MARKERS.items()}  # fmt: skip
        self.marker_entries = {kind: _proxy(m, size, c) for kind, (m, size, c) in EVENT_MARKERS.items()}
        ax2.set_ylabel(str(src.alliance), parse_math=False)
        ax2.set_xlabel("Session")

    def set_legend(self, i: int, entries: list[tuple[Any, str]]) -> None:
        """Legend of panel ``i`` (upper right, 8 pt), rebuilt only when its entries change."""
        key = tuple(label for _, label in entries)
        if key == self.legend_key[i]:
            return
        ax = self.axes[i]
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        if entries:
            ax.legend([h for h, _ in entries], list(key), loc="upper right", fontsize=8)
        self.legend_key[i] = key


def _offsets(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points with both coordinates finite (what ``scatter`` would draw) and their mask."""
    keep = np.isfinite(x) & np.isfinite(y)
    return np.column_stack([x[keep], y[keep]]), keep


def _draw(chart: _Chart, data: _ClientData) -> None:
    """Put one client's data into ``chart``: series, markers, title, legends and axis limits."""
    ax = chart.axes[0]
    entries: list[tuple[Any, str]] = []
    extra: list[np.ndarray] = []  # collection points for the data limits (relim skips them before matplotlib 3.11)
    if chart.src.expected is not None:
        if data.curve is not None:
            cs, red, expected, polygons = data.curve
            chart.band.set_verts(polygons)
            extra += polygons
            chart.red.set_data(cs, red)
            chart.curve.set_data(cs, expected)
            entries += chart.entries
        for artist in (chart.band, chart.red, chart.curve):
            artist.set_visible(data.curve is not None)
    chart.line.set_data(data.session, data.score)
    points, keep = _offsets(data.session, data.score)
    chart.points.set_offsets(points)
    chart.points.set_facecolors(np.asarray(data.colours)[keep])
    extra.append(points)
    entries.append(chart.observed)
    if chart.cutoff is not None:
        entries.append(chart.cutoff)
    chart.title.set_text(data.title)
    chart.set_legend(0, entries)
    panels = [(ax, extra)]
    if data.alliance is not None:
        chart.alliance_line.set_data(data.session, data.alliance)
        drawn = []
        for kind, artist in chart.markers.items():
            xy, sizes = data.events.get(kind, (np.empty((0, 2)), np.empty(0)))
            artist.set_offsets(xy)
            artist.set_sizes(sizes)
            drawn.append(xy)
        chart.set_legend(1, [(chart.marker_entries[kind], kind) for kind in data.events])
        panels.append((chart.axes[1], drawn))
    for axis, points_ in panels:
        axis.relim(visible_only=True)
        for xy in points_:
            axis.update_datalim(xy)
    for axis, _ in panels:
        axis.autoscale_view()


#: Resolution of the PNG files in a figure folder (a screen chart; ``save_figure`` uses 300 dpi).
FOLDER_DPI = 100


def write_monitor_figures(
    path: str | os.PathLike[str],
    data: pd.DataFrame,
    clients: Sequence[Any],
    *,
    client: str,
    session: str,
    measure: str,
    expected: ExpectedResponseResult | None = None,
    ruptures: RuptureResult | None = None,
    alliance: str | None = None,
    cutoff: float | None = None,
    overwrite: bool = False,
    inputs: Sequence[str | os.PathLike[str]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Draw the chart of every client in ``clients`` and write them all, atomically.

    Parameters
    ----------
    path
        ``.pdf``: one multi-page PDF, a page per client (document title "Monitoring charts", each
        page titled "Client <id>"). A name without extension: a new folder with one PNG per client
        (file names made safe from the client ids, :func:`safe_filename`, numbered when two ids map
        to the same name) and an ``index.html`` listing them. ``.png`` or ``.svg``: one client only.
    data, clients, client, session, measure, expected, ruptures, alliance, cutoff
        As :func:`plot_monitor`; ``clients`` in page order.
    overwrite
        Replace an existing file (a folder is never replaced).
    inputs
        Files that must not be replaced (the session data).
    progress
        Called as ``progress(done, total)`` after each chart.

    Returns
    -------
    pathlib.Path
        The file or folder written.

    Notes
    -----
    The pages of a PDF or folder are laid out by :mod:`sciplab.plot._monitor_pages` and drawn
    straight through matplotlib's PDF and Agg renderers (same content as :func:`plot_monitor`):
    100 clients take about a second instead of 12 s through matplotlib's figure layer.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    clients = list(clients)
    if not clients:
        raise DataError("no client to draw")
    for arg, col in (("client", client), ("session", session), ("measure", measure)):
        if col not in data.columns:
            raise DataError(f"column {col!r} (argument {arg}) not found in the data")
    alliance = _alliance_column(data, ruptures, alliance)
    groups = {cid: rows for cid, rows in data.groupby(client, sort=False)}
    missing = [c for c in clients if c not in groups]
    if missing:
        raise DataError(f"client {missing[0]!r} not found in column {client!r}")
    if suffix and suffix != ".pdf" and suffix not in FORMATS:
        raise DataError(f"{p}: a monitoring figure must be .pdf, {', '.join(sorted(FORMATS))} or a folder name")
    if suffix in FORMATS and suffix != ".pdf" and len(clients) > 1:
        raise DataError(
            f"{p}: {len(clients)} clients need one multi-page .pdf or a folder (a name without extension); "
            f"a {suffix} file holds one client (select one with --client)"
        )
    src = _Sources(session=session, measure=measure, expected=expected, ruptures=ruptures, alliance=alliance,
                   cutoff=cutoff)  # fmt: skip

    def pages() -> Iterator[tuple[Any, _ClientData]]:
        for i, cid in enumerate(clients):
            yield cid, _client_data(src, groups[cid], client_id=cid)
            if progress is not None:  # after the page was drawn
                progress(i + 1, len(clients))

    if suffix == ".pdf":
        return _write_pdf(p, src, pages(), overwrite=overwrite, inputs=inputs)
    if suffix in FORMATS:
        with atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp:
            for _, one in pages():
                fig = _figure(src, one)
                try:
                    with apa_style():
                        fig.savefig(tmp, format=suffix.lstrip("."))
                finally:
                    plt.close(fig)
        return p
    return _write_folder(p, src, pages())


def _write_pdf(
    p: Path,
    src: _Sources,
    pages: Iterator[tuple[Any, _ClientData]],
    *,
    overwrite: bool,
    inputs: Sequence[str | os.PathLike[str]],
) -> Path:
    """One page per client in one PDF (standard Helvetica text, nothing embedded for Latin text)."""
    from matplotlib.backends.backend_pdf import PdfFile, RendererPdf

    from sciplab.plot._monitor_pages import PdfCanvas, draw_page, page_size

    width, height = page_size(2 if src.alliance is not None else 1)
    metadata = {"Title": "Monitoring charts", "Creator": f"sciplab {package_version()}"}
    with (
        atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp,
        apa_style(),
        matplotlib.rc_context({"pdf.use14corefonts": True}),
    ):
        pdf = PdfFile(tmp, metadata=metadata)
        canvas = None
        try:
            for _, data in pages:
                pdf.newPage(width / 72, height / 72)  # inches
                renderer = RendererPdf(pdf, 72, height / 72, width / 72)
                if canvas is None:
                    canvas = PdfCanvas(renderer)
                canvas.renderer = renderer  # one canvas: its text metrics serve every page
                draw_page(canvas, src, data)
                renderer.finalize()
            pdf.finalize()
        finally:
            pdf.close()
    return p


def _write_folder(p: Path, src: _Sources, pages: Iterator[tuple[Any, _ClientData]]) -> Path:
    """A new folder: one PNG per client (``FOLDER_DPI``) and ``index.html``, renamed into place when complete."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.image import imsave

    from sciplab.plot._monitor_pages import AggCanvas, draw_page, page_size

    if p.exists():
        raise DataError(f"{p}: already exists; a figure folder is never replaced, choose another name")
    if not p.parent.is_dir():
        raise DataError(f"{p}: folder {p.parent} does not exist")
    width, height = page_size(2 if src.alliance is not None else 1)
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", dir=p.parent))
    try:
        with apa_style():
            canvas = AggCanvas(RendererAgg(round(width / 72 * FOLDER_DPI), round(height / 72 * FOLDER_DPI),
                                           FOLDER_DPI), FOLDER_DPI)  # fmt: skip
        names: set[str] = set()
        entries = []
        for cid, data in pages:
            stem = safe_filename(cid)
            name, n = f"{stem}.png", 1
            while name.lower() in names:
                n += 1
                name = f"{stem}_{n}.png"
            names.add(name.lower())
            canvas.clear()
            draw_page(canvas, src, data)
            # zlib level 1: far less CPU than the default, files as small (flat colours compress well)
            imsave(tmp / name, canvas.pixels[:, :, :3], format="png", dpi=FOLDER_DPI,
                   pil_kwargs={"compress_level": 1})  # fmt: skip
            entries.append((cid, name))
        items = "\n".join(
            f'<li><a href="{html.escape(name)}">Client {html.escape(str(cid))}</a></li>' for cid, name in entries
        )
        (tmp / "index.html").write_text(
            f'<!doctype html>\n<meta charset="utf-8">\n<title>Monitoring charts</title>\n<ul>\n{items}\n</ul>\n',
            encoding="utf-8",
        )
        os.rename(tmp, p)  # atomic on one file system; fails (nothing replaced) if p appeared meanwhile
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return p
