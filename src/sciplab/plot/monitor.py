"""Per-client monitoring chart: outcome trajectory against the expected course, alliance ruptures.

Top panel: observed scores (markers coloured by traffic-light status when an expected response
is given), the expected curve (dashed), the yellow zone between the one-sided yellow and red
bounds (shaded) and the red bound (line) (clinical-algorithms.md section 3). Bottom panel (when
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sciplab._core.errors import DataError
from sciplab._core.files import atomic_write, safe_filename
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
        fig, axes = plt.subplots(2 if alliance is not None else 1, 1, figsize=(6.5, 3.2 * (2 if alliance else 1)),
                                 sharex=True, squeeze=False)  # fmt: skip
        _draw(list(axes[:, 0]), rows, session=session, measure=measure, client_id=client_id, expected=expected,
              ruptures=ruptures, alliance=alliance, cutoff=cutoff, title=title)  # fmt: skip
        fig.tight_layout()
    return fig


def _alliance_column(data: pd.DataFrame, ruptures: RuptureResult | None, alliance: str | None) -> str | None:
    if alliance is None and ruptures is not None:
        alliance = ruptures.details["alliance"]
    if alliance is not None and alliance not in data.columns:
        raise DataError(f"alliance column {alliance!r} not found in the data")
    return alliance


def _draw(
    axes: list[plt.Axes],
    rows: pd.DataFrame,
    *,
    session: str,
    measure: str,
    client_id: Any,
    expected: ExpectedResponseResult | None,
    ruptures: RuptureResult | None,
    alliance: str | None,
    cutoff: float | None,
    title: str | None = None,
) -> None:
    """Draw one client's panels into ``axes`` (one or two; cleared by the caller)."""
    rows = rows.sort_values(session)
    ax = axes[0]
    s = rows[session].to_numpy(float)
    y = pd.to_numeric(rows[measure], errors="coerce").to_numpy(float)
    colours: list[str] | str = "black"
    if expected is not None:
        curve = expected.curve[expected.curve["client"] == client_id]
        if not curve.empty:
            cs = curve["session"].to_numpy(float)
            q_y, q_r = expected.details["q_yellow"], expected.details["q_red"]
            ax.fill_between(cs, curve["bound_yellow"], curve["bound_red"], color=STATUS_COLOURS["yellow"],
                            alpha=0.3, lw=0, label=f"yellow zone (q {q_y:g}-{q_r:g})")  # fmt: skip
            ax.plot(cs, curve["bound_red"], color=STATUS_COLOURS["red"], lw=1, label=f"red bound (q {q_r:g})")
            ax.plot(cs, curve["expected"], ls="--", color="0.3", lw=1.2, label="expected")
        table = expected.table[expected.table["client"] == client_id].set_index("session")
        colours = [STATUS_COLOURS.get(str(table["status"].get(v, "grey")), "#9e9e9e") for v in s]
    ax.plot(s, y, color="black", lw=1, zorder=2)
    ax.scatter(s, y, c=colours, edgecolors="black", s=36, zorder=3, label="observed")
    if cutoff is not None:
        ax.axhline(cutoff, ls=":", color="0.4", lw=1, label="cut-off")
    ax.set_ylabel(str(measure), parse_math=False)
    ax.set_title(title or f"Client {client_id}", parse_math=False)
    ax.legend(loc="upper right", fontsize=8)
    if alliance is not None:
        ax2 = axes[1]
        a = pd.to_numeric(rows[alliance], errors="coerce").to_numpy(float)
        ax2.plot(s, a, color="black", lw=1, marker="o", ms=4)
        if ruptures is not None and not ruptures.table.empty:
            _mark_ruptures(ax2, ruptures.table[ruptures.table["client"] == client_id], s, a)
        ax2.set_ylabel(str(alliance), parse_math=False)
        ax2.set_xlabel("Session")
    else:
        ax.set_xlabel("Session")


def _mark_ruptures(ax: plt.Axes, events: pd.DataFrame, s: np.ndarray, a: np.ndarray) -> None:
    value = dict(zip(s, a, strict=True))
    labelled: set[str] = set()

    def label(text: str) -> str | None:
        if text in labelled:
            return None
        labelled.add(text)
        return text

    for _, e in events.sort_values("m").iterrows():
        size = 40 if e["m"] < 2 else 90
        t = e["trough_session"]
        ax.scatter([t], [value.get(t, np.nan)], marker="v", s=size, color=_RUPTURE, zorder=3,
                   label=label("rupture (trough)"))  # fmt: skip
        if e["status"] == "repaired":
            r = e["repair_session"]
            ax.scatter([r], [value.get(r, np.nan)], marker="^", s=size, color=_REPAIR, zorder=3,
                       label=label("repair"))  # fmt: skip
        elif e["status"] == "unresolved":
            ax.scatter([t], [value.get(t, np.nan)], marker="x", s=size * 1.5, color="black", zorder=4,
                       label=label("unresolved"))  # fmt: skip
    if labelled:
        ax.legend(loc="upper right", fontsize=8)


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
    kw = {"session": session, "measure": measure, "expected": expected, "ruptures": ruptures, "alliance": alliance,
          "cutoff": cutoff}  # fmt: skip
    n_panels = 2 if alliance is not None else 1
    # one figure, cleared and redrawn per client, with fixed margins: a fresh figure and tight_layout
    # per chart cost most of the time (56 s for 93 clients before)
    with apa_style():
        fig, grid = plt.subplots(n_panels, 1, figsize=(6.5, 3.2 * n_panels), sharex=True, squeeze=False)
    fig.subplots_adjust(left=0.13, right=0.97, top=1 - 0.3 / (3.2 * n_panels), bottom=0.45 / (3.2 * n_panels),
                        hspace=0.12)  # fmt: skip
    axes = list(grid[:, 0])

    def draw(i: int, cid: Any) -> plt.Figure:
        for ax in axes:
            ax.cla()
        with apa_style():
            _draw(axes, groups[cid], client_id=cid, **kw)
        if progress is not None:
            progress(i + 1, len(clients))
        return fig

    try:
        return _write(p, suffix, clients, draw, overwrite=overwrite, inputs=inputs)
    finally:
        plt.close(fig)


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

        with atomic_write(p, overwrite=overwrite, inputs=inputs) as tmp, PdfPages(tmp) as pdf:
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
            draw(i, cid).savefig(tmp / name, dpi=FOLDER_DPI)
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
