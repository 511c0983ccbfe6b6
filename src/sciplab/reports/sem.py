"""APA-style tables and an HTML report for latent-variable models (:func:`sciplab.stats.sem.sem`).

Tables (APA 7th ed. conventions, as the path-model report :mod:`sciplab.reports.paths`): model fit
(χ², df, p, CFI, TLI, RMSEA with its 90 % CI, SRMR, AIC, BIC; the scaled versions under MLR), the
measurement model (standardized loadings with the unstandardized estimates and SEs), the
structural model (regressions with intervals and R²) and the correlations between latent
variables. An invariance ladder gets its comparison table (Δχ², ΔCFI, ΔRMSEA). Formats: Markdown,
HTML and CSV (the unrounded parameter table). The HTML report bundles the tables with the
diagram of :mod:`sciplab.plot.sem` (inline SVG).
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.apa import apa_number, apa_p
from sciplab._core.errors import InvalidParameterError
from sciplab.reports._svg import figure_svg
from sciplab.reports.markup import md_table, write_by_suffix
from sciplab.reports.paths import _CSS, _html_table

__all__ = [
    "apa_fit_table",
    "covariance_table",
    "html_report",
    "invariance_table",
    "measurement_table",
    "structural_table",
    "to_csv",
    "to_html",
    "to_markdown",
    "write_report",
]


def _num(v: Any, digits: int = 2, bounded: bool = False) -> str:
    if v is None or not np.isfinite(float(v)):
        return ""
    return apa_number(float(v), digits, leading_zero=not bounded)


def _is_sem(result: Any) -> bool:
    from sciplab.stats.sem import SEMResult

    return isinstance(result, SEMResult)


def _is_ladder(result: Any) -> bool:
    """An invariance ladder (:func:`sciplab.stats.sem.invariance`): ``.table`` by level and ``.fits``."""
    return not _is_sem(result) and isinstance(getattr(result, "fits", None), dict) and bool(result.fits)


def _check(result: Any) -> None:
    if not (_is_sem(result) or _is_ladder(result)):
        raise InvalidParameterError(f"expected an SEMResult or an invariance result, got {type(result).__name__}")


def _fit_row(f: pd.Series, scaled: bool) -> list[str]:
    s = ".scaled" if scaled else ""

    def get(key: str) -> float:
        value = f.get(key + s, f.get(key, math.nan))
        return float(value) if value is not None else math.nan

    lo, hi = get("rmsea.ci.lower"), get("rmsea.ci.upper")
    ci = f"[{_num(lo, 3, True)}, {_num(hi, 3, True)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
    return [
        _num(get("chisq")), str(int(f["df"])) if np.isfinite(f["df"]) else "", apa_p(get("pvalue")),
        _num(get("cfi"), 3, True), _num(get("tli"), 3, True), _num(get("rmsea"), 3, True), ci,
        _num(f.get("srmr", math.nan), 3, True), _num(f.get("aic", math.nan), 1), _num(f.get("bic", math.nan), 1),
    ]  # fmt: skip


FIT_COLUMNS = ["χ²", "df", "p", "CFI", "TLI", "RMSEA", "RMSEA 90% CI", "SRMR", "AIC", "BIC"]


def apa_fit_table(result: Any) -> pd.DataFrame:
    """Fit measures as one APA-formatted row (scaled statistics under MLR, marked in ``Model``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sciplab.stats.sem import sem
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=200)
    >>> df = pd.DataFrame({f"x{i}": f + rng.normal(size=200) for i in range(1, 5)})
    >>> list(apa_fit_table(sem(df, "f =~ x1 + x2 + x3 + x4")).columns)[:4]
    ['Model', 'χ²', 'df', 'p']
    """
    _check(result)
    if _is_ladder(result):
        rows = [
            [name.capitalize(), *_fit_row(m.fit.iloc[0], "chisq.scaled" in m.fit)] for name, m in result.fits.items()
        ]
    else:
        f = result.fit.iloc[0]
        scaled = "chisq.scaled" in result.fit
        rows = [["Hypothesized" + (" (Yuan–Bentler scaled)" if scaled else ""), *_fit_row(f, scaled)]]
    return pd.DataFrame(rows, columns=["Model", *FIT_COLUMNS])


def measurement_table(result: Any, *, group: int = 1) -> pd.DataFrame:
    """Loadings: Factor, Indicator, b, SE, β (std_all), p (fixed markers have no SE or p)."""
    t = _table(result, group)
    rows = []
    for r in t[t["op"] == "=~"].itertuples(index=False):
        free = r.se is not None and np.isfinite(r.se) and r.se > 0
        rows.append(
            [r.lhs, r.rhs, _num(r.est), _num(r.se) if free else "—", _num(r.std_all, 2, True),
             apa_p(r.pvalue) if free else ""]
        )  # fmt: skip
    return pd.DataFrame(rows, columns=["Factor", "Indicator", "b", "SE", "β", "p"])


def structural_table(result: Any, *, group: int = 1) -> pd.DataFrame:
    """Regressions: Outcome, Predictor, b, SE, CI, β, p; the R² of each outcome under it."""
    t = _table(result, group)
    level = f"{100 * float(_details(result).get('level', 0.95)):g}% CI"
    rows = []
    reg = t[t["op"] == "~"]
    for y in dict.fromkeys(reg["lhs"]):
        for r in reg[reg["lhs"] == y].itertuples(index=False):
            ci = f"[{_num(r.ci_lower)}, {_num(r.ci_upper)}]" if np.isfinite(r.ci_lower) else ""
            rows.append([y, r.rhs, _num(r.est), _num(r.se), ci, _num(r.std_all, 2, True), apa_p(r.pvalue)])
        r2 = t[(t["op"] == "r2") & (t["lhs"] == y)]
        if len(r2):
            rows.append([y, "R²", _num(r2.iloc[0]["est"], 2, True), "", "", "", ""])
    return pd.DataFrame(rows, columns=["Outcome", "Predictor", "b", "SE", level, "β", "p"])


def covariance_table(result: Any, *, group: int = 1) -> pd.DataFrame:
    """Covariances between latent variables (and their residuals): b, SE, r (std_all), p."""
    t = _table(result, group)
    latent = set(t[t["op"] == "=~"]["lhs"])
    cov = t[(t["op"] == "~~") & (t["lhs"] != t["rhs"]) & t["lhs"].isin(latent) & t["rhs"].isin(latent)]
    rows = [
        [r.lhs, r.rhs, _num(r.est), _num(r.se), _num(r.std_all, 2, True), apa_p(r.pvalue)]
        for r in cov.itertuples(index=False)
    ]
    return pd.DataFrame(rows, columns=["Variable 1", "Variable 2", "b", "SE", "r", "p"])


def invariance_table(result: Any) -> pd.DataFrame:
    """The ladder's comparison (Δχ², Δdf, p, ΔCFI, ΔRMSEA) as APA strings, from the library's table."""
    _check(result)
    if not _is_ladder(result):
        raise InvalidParameterError("invariance_table needs an invariance result (sciplab.stats.sem.invariance)")
    t = result.table
    out = pd.DataFrame({"Model": [str(m).capitalize() for m in t["level"]]})
    for col, label, digits, bounded in (
        ("chisq", "χ²", 2, False), ("df", "df", 0, False), ("cfi", "CFI", 3, True), ("rmsea", "RMSEA", 3, True),
        ("delta_chisq", "Δχ²", 2, False), ("delta_df", "Δdf", 0, False), ("delta_pvalue", "p", 3, True),
        ("delta_cfi", "ΔCFI", 3, True), ("delta_rmsea", "ΔRMSEA", 3, True),
    ):  # fmt: skip
        if col not in t:
            continue
        if col == "delta_pvalue":
            out[label] = [apa_p(v) if v is not None and np.isfinite(v) else "" for v in t[col]]
        elif digits == 0:
            out[label] = [str(int(v)) if v is not None and np.isfinite(v) else "" for v in t[col]]
        else:
            out[label] = [_num(v, digits, bounded) for v in t[col]]
    return out


def _table(result: Any, group: int) -> pd.DataFrame:
    _check(result)
    if _is_ladder(result):
        result = next(iter(result.fits.values()))
    return result.table[result.table["group"] == group]


def _details(result: Any) -> dict[str, Any]:
    """Settings of the result (a ladder: its least constrained fit's, then the ladder's own)."""
    if _is_ladder(result):
        return {**next(iter(result.fits.values())).details, **result.details}
    return dict(result.details)


def _note(result: Any) -> str:
    d = _details(result)
    n = d.get("n")
    groups = d.get("groups") or []
    text = f"Note. N = {n}"
    if len(groups) > 1:
        text += " (" + ", ".join(f"{g}: {k}" for g, k in zip(groups, d.get("n_per_group", []), strict=False)) + ")"
    if d.get("n_dropped"):
        text += f"; {d['n_dropped']} incomplete rows excluded"
    est = str(d.get("estimator", "ml")).upper()
    text += f". Estimator {est}"
    if d.get("missing") == "fiml":
        text += " with full-information ML for missing data"
    text += f"; SEs {d.get('se', 'expected')}"
    if d.get("bootstrap"):
        text += f" ({d['bootstrap']:,} bootstrap resamples, seed {d.get('seed')})"
    text += ". b = unstandardized estimate; β, r = fully standardized (std.all). Markers fixed at 1 have no SE."
    if d.get("parcel_rule"):
        text += f" Indicators: parcels, {d['parcel_rule']}."
    return text


def _sections(result: Any) -> list[tuple[str, pd.DataFrame]]:
    out = [("Model fit", apa_fit_table(result))]
    if _is_ladder(result):
        out.append(("Measurement invariance: model comparisons", invariance_table(result)))
    where = ""
    if _is_ladder(result):
        level, groups = next(iter(result.fits)), _details(result).get("groups") or ["1"]
        where = f" ({level} model, group 1: {groups[0]})"
    out.append(("Measurement model" + where, measurement_table(result)))
    structural = structural_table(result)
    if len(structural):
        out.append(("Structural model" + where, structural))
    cov = covariance_table(result)
    if len(cov):
        out.append(("Correlations between latent variables" + where, cov))
    return out


def to_markdown(result: Any) -> str:
    """Every table as Markdown (GitHub pipe tables) with an APA note."""
    parts = []
    for k, (title, frame) in enumerate(_sections(result), start=1):
        parts += [f"**Table {k}**", "", f"*{title}*", "", md_table(list(frame.columns), frame.to_numpy().tolist()), ""]
    parts.append(_note(result))
    return "\n".join(parts) + "\n"


def to_html(result: Any) -> str:
    """Every table as an HTML fragment (APA look: horizontal rules only)."""
    out = [_html_table(frame, f"Table {k}", title) for k, (title, frame) in enumerate(_sections(result), start=1)]
    out.append(f"<p class='note'>{html.escape(_note(result))}</p>")
    return "\n".join(out)


def to_csv(result: Any) -> str:
    """The full, unrounded parameter table (an invariance ladder: its comparison table) as CSV text."""
    _check(result)
    return result.table.to_csv(index=False)


def _svg(result: Any) -> str:
    from sciplab.plot.sem import sem_diagram  # reports may import plot (layering)
    from sciplab.plot.style import apa_style

    if _is_ladder(result):
        result = next(iter(result.fits.values()))
    with apa_style():
        return figure_svg(sem_diagram(result))


def html_report(result: Any, *, title: str = "SCIP structural equation model", figure: bool = True) -> str:
    """A self-contained HTML page: model, fit, tables, diagram (inline SVG), parcels and settings."""
    _check(result)
    d = _details(result)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if d.get("template"):
        name, cite = html.escape(str(d["template"])), html.escape(str(d.get("template_citation", "")))
        parts.append(f"<p>Template <b>{name}</b>: {cite}</p>")
    if d.get("binding"):
        items = "".join(f"<li>{html.escape(str(b))}</li>" for b in d["binding"])
        parts.append(f"<p>Constructs and indicators:</p><ul class='details'>{items}</ul>")
    if d.get("model"):
        parts.append(f"<h2>Model</h2><pre>{html.escape(str(d['model']))}</pre>")
    if figure:
        parts.append(f"<h2>Path diagram</h2><figure>{_svg(result)}</figure>")
    parts.append("<h2>Results</h2>")
    parts.append(to_html(result))
    if d.get("parcels"):
        frame = pd.DataFrame(d["parcels"])
        shown = pd.DataFrame({
            "Parcel": frame["parcel"], "Instrument": frame["instrument"], "Scale": frame["scale"],
            "Item": frame["item"].astype(str), "Loading": [_num(v, 2, True) for v in frame["loading"]],
        }).sort_values(["Parcel", "Item"], key=lambda s: s.map(_natural) if s.name == "Item" else s)  # fmt: skip
        parts.append("<h2>Parcels</h2>" + _html_table(shown, "Table", "Item-to-parcel allocation"))
    settings = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in d.items()
        if k not in ("model", "binding", "parcels", "group_equal") and not isinstance(v, dict | list)
    )
    parts.append(f"<h2>Settings</h2><ul class='details'>{settings}</ul></body></html>")
    return "\n".join(parts)


def _natural(text: str) -> int:
    return int(text) if str(text).isdigit() else 0


def write_report(result: Any, path: str | os.PathLike[str], *, overwrite: bool = False, **kwargs: object) -> Path:
    """Write the report by extension: ``.html`` (full report), ``.md`` or ``.csv``.

    An existing file is never replaced unless ``overwrite=True``.
    """
    _check(result)
    return write_by_suffix(
        path,
        overwrite=overwrite,
        html_text=lambda: html_report(result, **kwargs),  # type: ignore[arg-type]
        markdown=lambda: to_markdown(result),
        csv=lambda: to_csv(result),
    )
