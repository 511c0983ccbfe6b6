"""Power-curve figure: power against N with Monte Carlo error bands and the target line.

Works for :class:`~sciplab.stats.power.PowerResult` (one line per chosen statistic) and
:class:`~sciplab.stats.power.SampleSizeResult` (the runs of the search, the fitted curve and the
required N). Bands are power +/- 1.96 Monte Carlo SE. Rendering only: no statistics here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab.plot.style import apa_style, save_figure
from sciplab.stats.power import PowerResult, SampleSizeResult

Z95 = 1.959963984540054


def _default_names(result: PowerResult) -> list[str]:
    t = result.table
    effects = list(dict.fromkeys(t[t["kind"] == "effect"]["name"]))
    return effects[:6] if effects else list(dict.fromkeys(t["name"]))[:6]


def power_curve(
    result: PowerResult | SampleSizeResult,
    *,
    names: Sequence[str] | None = None,
    target: float | None = 0.80,
) -> plt.Figure:
    """Power vs N with MC error bands (+/- 1.96 SE) and a dashed target line.

    Parameters
    ----------
    result
        A power or sample-size result.
    names
        Statistics to draw (PowerResult; default: the first six effects).
    target
        Target power drawn as a horizontal line (``None``: none; a SampleSizeResult uses its own).
    """
    chosen: list[str] = []
    if not isinstance(result, SampleSizeResult):
        if not isinstance(result, PowerResult):
            raise InvalidParameterError(
                f"power_curve needs a PowerResult or SampleSizeResult, got {type(result).__name__}"
            )
        chosen = list(names) if names is not None else _default_names(result)
        known = list(dict.fromkeys(result.table["name"]))
        for name in chosen:
            if name not in known:
                raise InvalidParameterError(f"no statistic named {name!r}{suggest(name, known)}")
    with apa_style():
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        if isinstance(result, SampleSizeResult):
            t = result.table.sort_values("n")
            d = result.details
            ns = t["n"].to_numpy(float)
            p = t["power"].to_numpy(float)
            se = t["mcse"].to_numpy(float)
            ax.errorbar(ns, p, yerr=Z95 * se, fmt="o", color="black", ms=4, capsize=2, label="simulated (95% MC band)")
            grid = np.geomspace(ns.min(), ns.max(), 200)
            b0, b1 = d["curve_coefficients"]
            ax.plot(grid, 1 / (1 + np.exp(-(b0 + b1 * np.log(grid)))), color="0.4", label="fitted curve")
            ax.axvline(d["n"], color="black", lw=0.8, ls=":", label=f"required N = {d['n']}")
            target = d["target"]
            ax.set_title(f"{d['effect']}: {d.get('path', '')}", fontsize=9)
        else:
            t = result.table
            markers = "osd^v<>"
            for k, name in enumerate(chosen):
                rows = t[t["name"] == name].sort_values("n")
                ns = rows["n"].to_numpy(float)
                p = rows["power"].to_numpy(float)
                se = rows["mcse"].to_numpy(float)
                line = ax.plot(ns, p, marker=markers[k % len(markers)], ms=4, label=str(name))[0]
                ax.fill_between(
                    ns,
                    np.clip(p - Z95 * se, 0, 1),
                    np.clip(p + Z95 * se, 0, 1),
                    color=line.get_color(),
                    alpha=0.15,
                    lw=0,
                )
        if target is not None:
            ax.axhline(target, color="black", lw=0.8, ls="--", label=f"target {target:g}")
        ax.set_xlabel("N")
        ax.set_ylabel("Power")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
    return fig


def save_power_curve(
    result: PowerResult | SampleSizeResult,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    names: Sequence[str] | None = None,
    target: float | None = 0.80,
) -> Path:
    """Draw :func:`power_curve` and save it (PNG, SVG or PDF by extension; never over a file unasked)."""
    return save_figure(power_curve(result, names=names, target=target), path, overwrite=overwrite)
