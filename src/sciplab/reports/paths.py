"""APA-style tables and an HTML report for path models (:func:`sciplab.stats.paths.paths`).

Tables follow APA (7th ed.) conventions: coefficients to two decimals (three for indirect
effects), no leading zero for values bounded by 1 (standardized coefficients, p, R^2), p < .001
written as such, intervals in brackets. Formats: Markdown, HTML and CSV (unrounded, for further
work). The HTML report bundles the tables with the path diagram (inline SVG).
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sciplab._core.apa import apa_number, apa_p
from sciplab._core.errors import InvalidParameterError
from sciplab._core.files import write_text_atomic
from sciplab.reports._svg import figure_svg
from sciplab.reports.markup import md_table, write_by_suffix
from sciplab.stats.paths import PathResult

__all__ = ["apa_table", "html_report", "indirect_table", "to_csv", "to_html", "to_markdown", "write_report"]


def _num(v: float, digits: int = 2, bounded: bool = False) -> str:
    return apa_number(v, digits, leading_zero=not bounded)


def _ci(lo: float, hi: float, digits: int) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    return f"[{_num(lo, digits)}, {_num(hi, digits)}]"


def apa_table(result: PathResult) -> pd.DataFrame:
    """Regression paths and R^2 as an APA-formatted table of strings.

    Columns: Outcome, Predictor, b, SE, CI, beta, p. R^2 rows appear under each outcome.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.paths import paths
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["x", "m", "y"])
    >>> list(apa_table(paths(df, "m ~ x; y ~ m + x", ci="none")).columns)
    ['Outcome', 'Predictor', 'b', 'SE', '95% CI', 'β', 'p']
    """
    _check(result)
    t = result.table
    level = f"{100 * float(result.details.get('level', 0.95)):g}% CI"
    rows = []
    for y in result.details["outcomes"]:
        for r in t[(t["lhs"] == y) & (t["op"] == "~")].itertuples(index=False):
            rows.append(
                [y, r.rhs, _num(r.est), _num(r.se), _ci(r.ci_lower, r.ci_upper, 2),
                 _num(r.std_all, 2, bounded=True), apa_p(r.pvalue)]
            )  # fmt: skip
        r2 = t[(t["lhs"] == y) & (t["op"] == "r2")]
        if len(r2):
            rr = r2.iloc[0]
            rows.append([y, "R²", _num(rr["est"], 2, True), "", _ci(rr["ci_lower"], rr["ci_upper"], 2), "", ""])
    return pd.DataFrame(rows, columns=["Outcome", "Predictor", "b", "SE", level, "β", "p"])


def indirect_table(result: PathResult) -> pd.DataFrame:
    """Indirect, direct and total effects as an APA-formatted table of strings."""
    _check(result)
    level = f"{100 * float(result.details.get('level', 0.95)):g}% CI"
    rows = []
    for r in result.indirect.itertuples(index=False):
        rows.append(
            [r.effect.replace("_", " "), r.path, _num(r.est, 3), _num(r.se, 3),
             _ci(r.ci_lower, r.ci_upper, 3), _num(r.std_all, 3, bounded=True)]
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["Effect", "Path", "b", "SE", level, "β"])


def _note(result: PathResult) -> str:
    d = result.details
    method = {
        "percentile": "percentile bootstrap",
        "bc": "bias-corrected bootstrap",
        "bca": "bias-corrected and accelerated bootstrap",
        "monte carlo": "Monte Carlo",
        "wald": "normal-theory (Wald)",
    }.get(str(d.get("ci_method")), str(d.get("ci_method")))
    text = (
        f"Note. N = {d.get('n')}"
        + (f" ({d.get('n_dropped')} incomplete rows excluded)" if d.get("n_dropped") else "")
        + f". b = unstandardized coefficient; β = fully standardized coefficient. CI = {method}"
        " confidence interval"
    )
    if d.get("bootstrap"):
        text += f" ({d['bootstrap']:,} resamples, seed {d.get('seed')})"
    if d.get("failed_replicates"):
        text += f"; {d['failed_replicates']} singular resamples dropped"
    return text + ". p values are normal-theory (two-sided)."


def _check(result: object) -> None:
    if not isinstance(result, PathResult):
        raise InvalidParameterError(f"expected a PathResult, got {type(result).__name__}")


def to_markdown(result: PathResult) -> str:
    """Both tables as Markdown (GitHub pipe tables) with an APA note."""
    parts = ["**Table 1**", "", "*Path coefficients*", "", _md(apa_table(result)), ""]
    if len(result.indirect):
        parts += ["**Table 2**", "", "*Indirect, direct and total effects*", "", _md(indirect_table(result)), ""]
    parts.append(_note(result))
    return "\n".join(parts) + "\n"


def _md(frame: pd.DataFrame) -> str:
    return md_table(list(frame.columns), frame.to_numpy().tolist())


def to_html(result: PathResult) -> str:
    """Both tables as an HTML fragment (APA look: horizontal rules only)."""
    out = [_html_table(apa_table(result), "Table 1", "Path coefficients")]
    if len(result.indirect):
        out.append(_html_table(indirect_table(result), "Table 2", "Indirect, direct and total effects"))
    out.append(f"<p class='note'>{html.escape(_note(result))}</p>")
    return "\n".join(out)


def _html_table(frame: pd.DataFrame, number: str, title: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in frame.to_numpy()
    )
    return (
        f"<p><b>{number}</b><br><i>{html.escape(title)}</i></p>"
        f"<table class='apa'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def to_csv(result: PathResult, path: str | os.PathLike[str] | None = None) -> str:
    """The full, unrounded parameter table as CSV text (written to ``path`` when given)."""
    _check(result)
    text = result.table.to_csv(index=False)
    if path is not None:
        write_text_atomic(path, text)
    return text


_CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 60em; margin: 2em auto; color: #111; }
table.apa { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
table.apa th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; padding: 0.3em 0.8em; text-align: left; }
table.apa td { padding: 0.2em 0.8em; }
table.apa tbody tr:last-child td { border-bottom: 1.5px solid #000; }
p.note, .details { font-size: 0.85em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
"""


def html_report(result: PathResult, *, title: str = "SCIP path model", figure: bool = True) -> str:
    """A self-contained HTML page: model, tables, path diagram (inline SVG) and settings."""
    _check(result)
    d = result.details
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if d.get("template"):
        name = html.escape(str(d["template"]))
        cite = html.escape(str(d.get("template_citation", "")))
        parts.append(f"<p>Template <b>{name}</b>: {cite}</p>")
    if d.get("binding"):
        items = "".join(f"<li>{html.escape(str(b))}</li>" for b in d["binding"])
        parts.append(f"<p>Constructs and columns:</p><ul class='details'>{items}</ul>")
    parts.append(f"<h2>Model</h2><pre>{html.escape(str(d.get('model', '')))}</pre>")
    if figure:
        parts.append(f"<h2>Path diagram</h2><figure>{_svg(result)}</figure>")
    parts.append("<h2>Results</h2>")
    parts.append(to_html(result))
    settings = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in d.items()
        if k not in ("model", "binding") and not isinstance(v, dict | list)
    )
    parts.append(f"<h2>Settings</h2><ul class='details'>{settings}</ul></body></html>")
    return "\n".join(parts)


def _svg(result: PathResult) -> str:
    from sciplab.plot.paths import path_diagram  # reports may import plot (layering)
    from sciplab.plot.style import apa_style

    with apa_style():
        return figure_svg(path_diagram(result))


def write_report(
    result: PathResult, path: str | os.PathLike[str], *, overwrite: bool = False, **kwargs: object
) -> Path:
    """Write the report by extension: ``.html`` (full report), ``.md`` or ``.csv``.

    An existing file is never replaced unless ``overwrite=True``.
    """
    return write_by_suffix(
        path,
        overwrite=overwrite,
        html_text=lambda: html_report(result, **kwargs),  # type: ignore[arg-type]
        markdown=lambda: to_markdown(result),
        csv=lambda: to_csv(result),
    )
