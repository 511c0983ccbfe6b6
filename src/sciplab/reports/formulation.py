"""Markdown, HTML and JSON renderings of a SCIP case formulation, with its figures.

The content comes from :meth:`sciplab.scip.formulate.Formulation.sections` (the same sections
``summary()`` prints as plain text); this module adds markup only, escaping every text it inserts
(:mod:`sciplab.reports.markup`), and the figures the ``scip`` layer may not draw: the attachment
plane (:func:`sciplab.plot.formulation.plot_attachment_plane`) and, when octants exist, the
circumplex circle (:func:`sciplab.plot.formulation.plot_interpersonal`). HTML embeds them as inline
SVG (one self-contained file); Markdown references SVG files written next to the report.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.files import check_output, write_text_atomic
from sciplab._core.results import to_jsonable
from sciplab.plot.formulation import plot_attachment_plane, plot_interpersonal
from sciplab.reports._svg import figure_svg
from sciplab.reports.markup import html_text, md_link_target, md_table, md_text
from sciplab.scip.formulate import Formulation
from sciplab.scip.sections import Section

__all__ = ["figures_svg", "html_report", "to_html", "to_json", "to_markdown", "write_report"]

_CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 60em; margin: 2em auto; color: #111; }
table.apa { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
table.apa th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; padding: 0.3em 0.6em; text-align: left; }
table.apa td { padding: 0.2em 0.6em; vertical-align: top; }
table.apa tbody tr:last-child td { border-bottom: 1.5px solid #000; }
ul.details { font-size: 0.85em; color: #333; }
figure { margin: 1em 0; } figure svg { max-width: 32em; height: auto; }
"""


def _check(f: Any) -> None:
    if not isinstance(f, Formulation):
        raise InvalidParameterError(f"expected a Formulation, got {type(f).__name__}")


def figures_svg(f: Formulation) -> dict[str, str]:
    """Inline SVG of the figures that apply: ``"attachment"`` and/or ``"circumplex"``.

    Examples
    --------
    >>> from sciplab.scip.formulate import formulate
    >>> sorted(figures_svg(formulate({"ECR-S_anxiety": 2.0, "ECR-S_avoidance": 6.0})))
    ['attachment']
    """
    _check(f)
    out = {}
    if f.attachment.get("available"):
        out["attachment"] = figure_svg(plot_attachment_plane(f))
    if f.ssm is not None and f.interpersonal and f.interpersonal.get("displacement") is not None:
        out["circumplex"] = figure_svg(plot_interpersonal(f))
    return out


def _md_section(sec: Section, figure: str | None) -> list[str]:
    out = ["", f"## {md_text(sec.title)}", ""]
    if sec.rows:
        out += [md_table(sec.columns, sec.rows)]
        out += [""] + [f"- {md_text(n)}" for n in sec.notes] if sec.notes else []
    else:
        out += [f"- {md_text(ln)}" for ln in sec.lines]
    for st in sec.statements:
        tag = f"**{md_text(st.phase)}**: " if st.phase else ""
        out.append(f"- {tag}{md_text(st.text)}")
        out += [f"  - {md_text(label)}: {md_text(text)}" for label, text in st.details]
    out += [f"- **{md_text(term)}**: {md_text(text)}" for term, text in sec.entries]
    if sec.is_empty and sec.empty:
        out.append(md_text(sec.empty))
    if figure:
        out += ["", figure]
    return out


def to_markdown(f: Formulation, *, figure_files: dict[str, str] | None = None) -> str:
    """The formulation as Markdown; ``figure_files`` (``{"attachment": "x.svg", ...}``) adds image links.

    Every user text (client id, column names, rule texts) is escaped: it renders literally.

    Examples
    --------
    >>> from sciplab.scip.formulate import formulate
    >>> to_markdown(formulate({"MSPSS_total": 2.0})).splitlines()[0]
    '# SCIP case formulation'
    """
    _check(f)
    figs = {k: f"![{k} figure]({md_link_target(v)})" for k, v in (figure_files or {}).items()}
    out = [f"# {md_text(f.heading)}"]
    for sec in f.sections():
        out += _md_section(sec, figs.get("circumplex" if sec.key == "interpersonal" else sec.key))
    return "\n".join(out) + "\n"


def _html_section(sec: Section, figure: str | None) -> list[str]:
    e = html_text
    out = [f"<h3>{e(sec.title)}</h3>"]
    if sec.rows:
        head = "".join(f"<th>{e(c)}</th>" for c in sec.columns)
        body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in sec.rows)
        out.append(f"<table class='apa'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        if sec.notes:
            out.append("<ul class='details'>" + "".join(f"<li>{e(n)}</li>" for n in sec.notes) + "</ul>")
    items = [f"<li>{e(ln)}</li>" for ln in ([] if sec.rows else sec.lines)]
    for st in sec.statements:
        tag = f"<b>{e(st.phase)}</b>: " if st.phase else ""
        details = "".join(f"<li>{e(label)}: {e(text)}</li>" for label, text in st.details)
        items.append(f"<li>{tag}{e(st.text)}<ul class='details'>{details}</ul></li>")
    items += [f"<li><b>{e(term)}</b>: {e(text)}</li>" for term, text in sec.entries]
    if sec.is_empty and sec.empty:
        items.append(f"<li>{e(sec.empty)}</li>")
    if items:
        cls = " class='details'" if sec.key == "sources" else ""
        out.append(f"<ul{cls}>" + "".join(items) + "</ul>")
    if figure:
        out.append(f"<figure>{figure}</figure>")
    return out


def to_html(f: Formulation, *, figures: bool | Mapping[str, str] = True) -> str:
    """The formulation as an HTML fragment; every user text escaped.

    ``figures``: True draws the figures as inline SVG, False leaves them out, or a mapping
    ``{"attachment": markup, "circumplex": markup}`` of ready-made figure markup.
    """
    _check(f)
    figs = figures_svg(f) if figures is True else dict(figures) if isinstance(figures, Mapping) else {}
    out = [f"<h2>{html_text(f.heading)}</h2>"]
    for sec in f.sections():
        out += _html_section(sec, figs.get("circumplex" if sec.key == "interpersonal" else sec.key))
    return "\n".join(out)


def html_report(f: Formulation, *, title: str = "SCIP case formulation", figures: bool = True) -> str:
    """A self-contained HTML page: formulation, figures, settings.

    Examples
    --------
    >>> from sciplab.scip.formulate import formulate
    >>> page = html_report(formulate({"ECR-S_anxiety": 5.5, "ECR-S_avoidance": 5.5}))
    >>> page.startswith("<!DOCTYPE html>") and "<svg" in page
    True
    """
    _check(f)
    d = f.details
    settings = "".join(
        f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
        for k, v in d.items()
        if not isinstance(v, dict | list)
    )
    return "\n".join(
        [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
            to_html(f, figures=figures),
            f"<h3>Settings</h3><ul class='details'>{settings}</ul></body></html>",
        ]
    )


def to_json(f: Formulation, **kwargs: Any) -> str:
    """``f.to_dict()`` as JSON text (NaN -> null)."""
    _check(f)
    return json.dumps(to_jsonable(f.to_dict()), **kwargs)


def write_report(f: Formulation, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the report by extension: ``.html`` (self-contained), ``.md`` (+ SVG files) or ``.json``.

    An existing file is never replaced unless ``overwrite=True``, an input never. Every file is
    checked before any is written, and each is written atomically: nothing is written unless
    everything can be.
    """
    _check(f)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".json"):
        raise DataError(f"{p}: report format must be .html, .md or .json")
    check_output(p, overwrite=overwrite)
    files: dict[Path, str] = {}
    if suffix in (".html", ".htm"):
        files[p] = html_report(f)
    elif suffix == ".json":
        files[p] = to_json(f, indent=2) + "\n"
    else:
        svgs = {p.with_name(f"{p.stem}_{k}.svg"): (k, svg) for k, svg in figures_svg(f).items()}
        for target in svgs:
            check_output(target, overwrite=overwrite)
        files = {t: svg for t, (_, svg) in svgs.items()}
        files[p] = to_markdown(f, figure_files={k: t.name for t, (k, _) in svgs.items()})
    for target, text in files.items():
        write_text_atomic(target, text, overwrite=overwrite)
    return p
