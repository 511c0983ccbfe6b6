"""Per-client monitoring chart: outcome trajectory against the expected course, alliance ruptures.

Top panel: observed scores (markers coloured by traffic-light status when an expected response
is given), the expected curve (dashed), the yellow zone between the one-sided yellow and red
bounds (shaded) and the red bound (line) (:func:`sciplab.stats.change.expected_response`). Bottom panel (when
alliance ratings are given): the alliance series with rupture troughs and repairs (strict-rule
events drawn larger; unresolved episodes marked with a cross). APA style (:mod:`sciplab.plot.style`).

Client ids and column names are drawn as plain text (never parsed as mathtext: an id such as
``$x_{$`` is shown as written). :func:`write_monitor_figures` draws a whole caseload into one
multi-page PDF or a folder of PNG files with an index page, reporting progress through a callback;
it writes atomically: nothing appears unless every chart was drawn.
"""

from __future__ import annotations

import contextlib
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
    with apa_style():
        chart = _Chart(session=session, measure=measure, expected=expected, ruptures=ruptures, alliance=alliance,
                       cutoff=cutoff)  # fmt: skip
        _draw(chart, rows, client_id=client_id, title=title)
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


class _Chart:
    """One figure holding every artist of a monitoring chart; :func:`_draw` puts a client's data in.

    Building a figure, its axes, ticks and artists costs far more than drawing them, so a caseload
    re-uses one chart: data go in with ``set_data``/``set_offsets``/``set_verts``/``set_text``, the
    axis limits are recomputed from the new data, and nothing is created per client but a legend
    whose entries change. Create inside :func:`apa_style`.
    """

    def __init__(
        self,
        *,
        session: str,
        measure: str,
        expected: ExpectedResponseResult | None,
        ruptures: RuptureResult | None,
        alliance: str | None,
        cutoff: float | None,
        margins: bool = False,
    ) -> None:
        self.session, self.measure, self.alliance, self.expected = session, measure, alliance, expected
        n_panels = 2 if alliance is not None else 1
        self.fig, grid = plt.subplots(n_panels, 1, figsize=(6.5, 3.2 * n_panels), sharex=True, squeeze=False)
        if margins:  # fixed margins: tight_layout per chart would cost more than the chart
            self.fig.subplots_adjust(left=0.13, right=0.97, top=1 - 0.3 / (3.2 * n_panels),
                                     bottom=0.45 / (3.2 * n_panels), hspace=0.12)  # fmt: skip
        self.axes: list[plt.Axes] = list(grid[:, 0])
        ax = self.axes[0]
        self.curves: dict[Any, pd.DataFrame] = {}
        self.status: dict[Any, pd.DataFrame] = {}
        entries: list[tuple[Any, str]] = []
        if expected is not None:
            self.curves, self.status = _by_client(expected.curve), _by_client(expected.table)
            q_y, q_r = expected.details["q_yellow"], expected.details["q_red"]
            # a plain PolyCollection (not fill_between) so that set_verts is all an update needs
            self.band = PolyCollection([], facecolors=STATUS_COLOURS["yellow"], alpha=0.3, linewidths=0)
            ax.add_collection(self.band, autolim=False)
            (self.red,) = ax.plot([], [], color=STATUS_COLOURS["red"], lw=1)
            (self.curve,) = ax.plot([], [], ls="--", color="0.3", lw=1.2)
            entries += [(self.band, f"yellow zone (q {q_y:g}-{q_r:g})"), (self.red, f"red bound (q {q_r:g})"),
                        (self.curve, "expected")]  # fmt: skip
        (self.line,) = ax.plot([], [], color="black", lw=1, zorder=2)
        # one colour, not c=[]: an empty value array would colour-map the markers over the set colours
        self.points = ax.scatter([], [], c="black", edgecolors="black", s=36, zorder=3)
        # the observed entry shows the first session's marker: grey (no status yet) or plain black
        self.observed = (_proxy("o", 36, STATUS_COLOURS["grey"] if expected is not None else "black", "black"),
                         "observed")  # fmt: skip
        self.cutoff = None if cutoff is None else (ax.axhline(cutoff, ls=":", color="0.4", lw=1), "cut-off")
        self.entries = entries
        ax.set_ylabel(str(measure), parse_math=False)
        self.title = ax.set_title(" ", parse_math=False, y=1.0)  # a fixed y skips the per-page title layout
        self.legend_key: list[tuple[str, ...] | None] = [None, None]
        if alliance is None:
            ax.set_xlabel("Session")
            return
        ax2 = self.axes[1]
        (self.alliance_line,) = ax2.plot([], [], color="black", lw=1, marker="o", ms=4)
        self.events = {}
        if ruptures is not None:
            self.events = _by_client(ruptures.table)
        self.troughs = ax2.scatter([], [], marker="v", color=_RUPTURE, zorder=3)
        self.repairs = ax2.scatter([], [], marker="^", color=_REPAIR, zorder=3)
        self.unresolved = ax2.scatter([], [], marker="x", color="black", zorder=4)
        self.marker_entries = {"rupture (trough)": _proxy("v", 40, _RUPTURE), "repair": _proxy("^", 40, _REPAIR),
                               "unresolved": _proxy("x", 60, "black")}  # fmt: skip
        ax2.set_ylabel(str(alliance), parse_math=False)
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


def _draw(chart: _Chart, rows: pd.DataFrame, *, client_id: Any, title: str | None = None) -> None:
    """Put one client's data into ``chart``: series, markers, title, legends and axis limits."""
    rows = rows.sort_values(chart.session)
    ax = chart.axes[0]
    s = rows[chart.session].to_numpy(float)
    y = pd.to_numeric(rows[chart.measure], errors="coerce").to_numpy(float)
    colours: list[str] | str = "black"
    entries: list[tuple[Any, str]] = []
    extra: list[np.ndarray] = []  # collection points for the data limits (relim skips them before matplotlib 3.11)
    expected = chart.expected
    if expected is not None:
        curve = chart.curves.get(client_id)
        has_curve = curve is not None and not curve.empty
        if curve is not None and not curve.empty:
            cs = curve["session"].to_numpy(float)
            polygons = _band(cs, curve["bound_yellow"].to_numpy(float), curve["bound_red"].to_numpy(float))
            chart.band.set_verts(polygons)
            extra += polygons
            chart.red.set_data(cs, curve["bound_red"].to_numpy(float))
            chart.curve.set_data(cs, curve["expected"].to_numpy(float))
            entries += chart.entries
        for artist in (chart.band, chart.red, chart.curve):
            artist.set_visible(has_curve)
        table = chart.status.get(client_id)
        status = table.set_index("session")["status"] if table is not None else pd.Series(dtype=object)
        colours = [STATUS_COLOURS.get(str(status.get(v, "grey")), "#9e9e9e") for v in s]
    chart.line.set_data(s, y)
    points, keep = _offsets(s, y)
    chart.points.set_offsets(points)
    chart.points.set_facecolors(np.asarray(colours)[keep] if isinstance(colours, list) else colours)
    extra.append(points)
    entries.append(chart.observed)
    if chart.cutoff is not None:
        entries.append(chart.cutoff)
    chart.title.set_text(title or f"Client {client_id}")
    chart.set_legend(0, entries)
    panels = [(ax, extra)]
    if chart.alliance is not None:
        a = pd.to_numeric(rows[chart.alliance], errors="coerce").to_numpy(float)
        chart.alliance_line.set_data(s, a)
        events = chart.events.get(client_id)
        markers = _mark_ruptures(chart, events if events is not None else pd.DataFrame(), s, a)
        panels.append((chart.axes[1], markers))
    for axis, points_ in panels:
        axis.relim(visible_only=True)
        for xy in points_:
            axis.update_datalim(xy)
    for axis, _ in panels:
        axis.autoscale_view()


def _mark_ruptures(chart: _Chart, events: pd.DataFrame, s: np.ndarray, a: np.ndarray) -> list[np.ndarray]:
    """Rupture troughs, repairs and unresolved crosses (strict-rule events larger); returns their points."""
    value = dict(zip(s, a, strict=True))
    kinds: dict[str, tuple[list[float], list[float], list[float]]] = {
        "rupture (trough)": ([], [], []), "repair": ([], [], []), "unresolved": ([], [], [])}  # fmt: skip
    order: list[str] = []  # legend entries in order of first appearance, as drawn event by event

    def add(kind: str, at: float, size: float) -> None:
        xs, ys, sizes = kinds[kind]
        xs.append(at)
        ys.append(value.get(at, np.nan))
        sizes.append(size)
        if kind not in order:
            order.append(kind)

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
    drawn = []
    for kind, artist in (("rupture (trough)", chart.troughs), ("repair", chart.repairs),
                         ("unresolved", chart.unresolved)):  # fmt: skip
        xs, ys, sizes = kinds[kind]
        points, keep = _offsets(np.asarray(xs, float), np.asarray(ys, float))
        artist.set_offsets(points)
        artist.set_sizes(np.asarray(sizes, float)[keep])
        drawn.append(points)
    chart.set_legend(1, [(chart.marker_entries[kind], kind) for kind in order])
    return drawn


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
        ``.pdf``: one multi-page PDF, a page per client. A name without extension: a new folder
        with one PNG per client (file names made safe from the client ids, :func:`safe_filename`,
        numbered when two ids map to the same name) and an ``index.html`` listing them. ``.png`` or
        ``.svg``: one client only.
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
    # one chart for the whole caseload, its artists updated per client (was: a figure, or cleared
    # axes, and new artists per client: 56 s for 93 clients, then 25 s of CPU for 100)
    with _saving_style():
        chart = _Chart(session=session, measure=measure, expected=expected, ruptures=ruptures, alliance=alliance,
                       cutoff=cutoff, margins=True)  # fmt: skip

        def draw(i: int, cid: Any) -> plt.Figure:
            _draw(chart, groups[cid], client_id=cid)
            if progress is not None:
                progress(i + 1, len(clients))
            return chart.fig

        try:
            return _write(p, suffix, clients, draw, overwrite=overwrite, inputs=inputs)
        finally:
            plt.close(chart.fig)


@contextlib.contextmanager
def _saving_style() -> Iterator[None]:
    """APA style for building and saving a caseload: fixed margins, so no tight bounding box per page."""
    with apa_style(), matplotlib.rc_context({"savefig.bbox": "standard"}):
        yield


def _write(
    p: Path,
    suffix: str,
    clients: list[Any],
    draw: Callable[[int, Any], plt.Figure],
    *,
    overwrite: bool,
    inputs: Sequence[str | os.PathLike[str]],
) -> Path:
    if suffix == ".pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        metadata = {"Title": "Monitoring charts", "Creator": f"sciplab {package_version()}"}
        with atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp, PdfPages(tmp, metadata=metadata) as pdf:
            for i, cid in enumerate(clients):
                pdf.savefig(draw(i, cid))
        return p
    if suffix in FORMATS:
        if len(clients) > 1:
            raise DataError(
                f"{p}: {len(clients)} clients need one multi-page .pdf or a folder (a name without extension); "
                f"a {suffix} file holds one client (select one with --client)"
            )
        with atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp:
            draw(0, clients[0]).savefig(tmp, format=suffix.lstrip("."))
        return p
    if suffix:
        raise DataError(f"{p}: a monitoring figure must be .pdf, {', '.join(sorted(FORMATS))} or a folder name")
    return _write_folder(p, clients, draw)


def _write_folder(p: Path, clients: list[Any], draw: Callable[[int, Any], plt.Figure]) -> Path:
    if p.exists():
        raise DataError(f"{p}: already exists; a figure folder is never replaced, choose another name")
    if not p.parent.is_dir():
        raise DataError(f"{p}: folder {p.parent} does not exist")
    tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.", dir=p.parent))
    try:
        names: set[str] = set()
        entries = []
        for i, cid in enumerate(clients):
            stem = safe_filename(cid)
            name, n = f"{stem}.png", 1
            while name.lower() in names:
                n += 1
                name = f"{stem}_{n}.png"
            names.add(name.lower())
            # zlib level 1: about a tenth less CPU per chart, files as small (flat colours compress well)
            draw(i, cid).savefig(tmp / name, dpi=FOLDER_DPI, pil_kwargs={"compress_level": 1})
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
