"""Per-client monitoring chart: outcome trajectory against the expected course, alliance ruptures.

Top panel: observed scores (markers coloured by traffic-light status when an expected response
is given), the expected curve (dashed), the yellow zone between the one-sided yellow and red
bounds (shaded) and the red bound (line) (clinical-algorithms.md section 3). Bottom panel (when
alliance ratings are given): the alliance series with rupture troughs and repairs (strict-rule
events drawn larger; unresolved episodes marked with a cross). APA style (:mod:`sciplab.plot.style`).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sciplab._core.errors import DataError
from sciplab.plot.style import apa_style, save_figure
from sciplab.stats.change import ExpectedResponseResult, RuptureResult

__all__ = ["STATUS_COLOURS", "plot_monitor", "save_figure"]

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
    rows = data[data[client] == client_id].sort_values(session)
    if rows.empty:
        raise DataError(f"client {client_id!r} not found in column {client!r}")
    if alliance is None and ruptures is not None:
        alliance = ruptures.details["alliance"]
    if alliance is not None and alliance not in data.columns:
        raise DataError(f"alliance column {alliance!r} not found in the data")
    with apa_style():
        n_panels = 2 if alliance is not None else 1
        fig, axes = plt.subplots(n_panels, 1, figsize=(6.5, 3.2 * n_panels), sharex=True, squeeze=False)
        ax = axes[0, 0]
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
        ax.set_ylabel(measure)
        ax.set_title(title or f"Client {client_id}")
        ax.legend(loc="best", fontsize=8)
        if alliance is not None:
            ax2 = axes[1, 0]
            a = pd.to_numeric(rows[alliance], errors="coerce").to_numpy(float)
            ax2.plot(s, a, color="black", lw=1, marker="o", ms=4)
            if ruptures is not None and not ruptures.table.empty:
                _mark_ruptures(ax2, ruptures.table[ruptures.table["client"] == client_id], s, a)
            ax2.set_ylabel(alliance)
            ax2.set_xlabel("Session")
        else:
            ax.set_xlabel("Session")
        fig.tight_layout()
    return fig


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
        ax.legend(loc="best", fontsize=8)
