"""Power-analysis report: the design in citable words, the power table, the power curve, settings.

``.html`` (self-contained, inline SVG figure), ``.md`` or ``.csv`` (the unrounded table) by extension.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd

from sciplab._core.apa import apa_number
from sciplab._core.errors import InvalidParameterError
from sciplab.reports._svg import figure_svg
from sciplab.reports.markup import md_table, write_by_suffix
from sciplab.stats.power import PowerResult, SampleSizeResult

AnyPower = PowerResult | SampleSizeResult


def _check(result: object) -> None:
    if not isinstance(result, PowerResult | SampleSizeResult):
        raise InvalidParameterError(
            f"a power report needs a PowerResult or SampleSizeResult, got {type(result).__name__}"
        )


def power_table(result: AnyPower) -> pd.DataFrame:
    """Display table: one row per statistic, one column per N with ``power (MC SE)``."""
    _check(result)
    t = result.confirmation if isinstance(result, SampleSizeResult) else result.table
    ns = sorted(t["n"].unique())
    rows = []
    for name, g in t.groupby("name", sort=False):
        first = g.iloc[0]
        row = {"Statistic": name, "Path": first["path"], "Value": apa_number(first["population"], 3)}
        for n in ns:
            r = g[g["n"] == n].iloc[0]
            row[f"N = {n}"] = (
                "n/a" if pd.isna(r["power"]) else f"{apa_number(r['power'], 3)} ({apa_number(r['mcse'], 3)})"
            )
        row["Kind"] = "Type I error" if first["error"] == "type I error" else "power"
        rows.append(row)
    return pd.DataFrame(rows)


def _headline(result: AnyPower) -> str:
    if isinstance(result, SampleSizeResult):
        d = result.details
        lo, hi = d.get("n_ci", [None, None])
        return (
            f"To reach a power of {d['target']:g} for the effect {d['effect']} ({d.get('path')}, population value "
            f"{apa_number(d['population'], 3)}), N = {d['n']} participants are required (95% interval of the "
            f"fitted power curve: {lo} to {hi}); a confirmation run of {d['reps']:,} samples at N = {d['n']} gave "
            f"a power of {apa_number(d['power'], 3)} (Monte Carlo SE {apa_number(d['mcse'], 3)})."
        )
    return ""


def to_markdown(result: AnyPower) -> str:
    """The report as Markdown."""
    _check(result)
    d = result.details
    parts = [f"# {result.title}", "", d.get("design", "")]
    if _headline(result):
        parts += ["", _headline(result)]
    frame = power_table(result)
    parts += ["", md_table(list(frame.columns), frame.to_numpy().tolist()), "", "Cells: power (Monte Carlo SE)."]
    return "\n".join(parts) + "\n"


def to_csv(result: AnyPower) -> str:
    """The unrounded table as CSV text."""
    _check(result)
    return result.table.to_csv(index=False)


_CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 64em; margin: 2em auto; color: #111; }
table.apa { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
table.apa th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; padding: 0.3em 0.6em; text-align: left; }
table.apa td { padding: 0.2em 0.6em; }
table.apa tbody tr:last-child td { border-bottom: 1.5px solid #000; }
.details, p.note { font-size: 0.85em; } figure svg { max-width: 100%; height: auto; }
"""


def html_report(result: AnyPower, *, title: str = "Power analysis", figure: bool = True) -> str:
    """A self-contained HTML page: design statement, headline, table, power curve and settings."""
    _check(result)
    d = result.details
    frame = power_table(result)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in frame.to_numpy())
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<h2>Design (for a methods section)</h2>",
        f"<p>{html.escape(str(d.get('design', '')))}</p>",
    ]
    if _headline(result):
        parts.append(f"<p><b>{html.escape(_headline(result))}</b></p>")
    parts.append(f"<h2>Population model</h2><pre>{html.escape(str(d.get('population_model', '')))}</pre>")
    parts.append(
        "<h2>Power</h2><table class='apa'><thead><tr>" + head + "</tr></thead><tbody>" + body + "</tbody></table>"
        "<p class='note'>Cells: power (Monte Carlo SE). Rows marked Type I error have population value 0.</p>"
    )
    if figure:
        from sciplab.plot.power import power_curve  # reports may import plot (layering)

        parts.append(f"<h2>Power curve</h2><figure>{figure_svg(power_curve(result))}</figure>")
    settings = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in d.items()
        if k not in ("design", "population_model", "implied_correlation") and not isinstance(v, dict)
    )
    parts.append(f"<h2>Settings</h2><ul class='details'>{settings}</ul></body></html>")
    return "\n".join(parts)


def write_report(result: AnyPower, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the report by extension (``.html``, ``.md``, ``.csv``); never over a file unasked."""
    _check(result)
    return write_by_suffix(
        path,
        overwrite=overwrite,
        html_text=lambda: html_report(result),
        markdown=lambda: to_markdown(result),
        csv=lambda: to_csv(result),
    )
