"""Escaping user text for documents: the one place reports turn text into Markdown or HTML.

Client ids, column names, group labels, file names and rule-file texts are user text. In HTML they
go through :func:`html_text` (``html.escape``, quotes included). In Markdown :func:`md_text`
neutralises both HTML (``&``, ``<`` as entities: a ``<script>`` stays text) and Markdown syntax
(emphasis, code, links, table pipes, headings, line-start list/quote markers, line breaks), so the
text renders literally (CommonMark 0.31, sections 2.4 and 6). An underscore inside a word
(``MSPSS_total``) cannot start emphasis in CommonMark and is left as is.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import quote

from sciplab._core.errors import DataError
from sciplab._core.files import check_output, write_text_atomic

__all__ = ["html_text", "md_link_target", "md_table", "md_text"]

_MD_PUNCT = re.compile(r"([\\`*\[\]|#~])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"^(>|[-+](?=[-\s]|$)|\d+(?=[.)](?:\s|$)))")


def html_text(text: object) -> str:
    """``text`` as HTML text (``&``, ``<``, ``>``, quotes escaped).

    Examples
    --------
    >>> html_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


def md_text(text: object) -> str:
    r"""``text`` as literal Markdown inline text (one line).

    Examples
    --------
    >>> md_text("<script>alert(1)</script>")
    '&lt;script>alert(1)&lt;/script>'
    >>> md_text("*a* [b](c) | MSPSS_total _x_")
    '\\*a\\* \\[b\\](c) \\| MSPSS_total \\_x\\_'
    """
    s = " ".join(str(text).split())
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    s = _MD_PUNCT.sub(r"\\\1", s)
    s = _MD_UNDERSCORE.sub(r"\\_", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1).isdigit() else "\\" + m.group(1), s)


def md_link_target(path: str) -> str:
    """A relative file name as a Markdown link destination (percent-encoded, so spaces and brackets are safe)."""
    return quote(path, safe="/._-")


def md_table(columns: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub pipe table; every cell escaped with :func:`md_text`."""
    head = "| " + " | ".join(md_text(c) for c in columns) + " |"
    sep = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(md_text(v) for v in row) + " |" for row in rows]
    return "\n".join([head, sep, *body])


def write_by_suffix(
    path: str | os.PathLike[str],
    *,
    overwrite: bool,
    html_text: Callable[[], str],
    markdown: Callable[[], str],
    csv: Callable[[], str],
) -> Path:
    """Write a report in the format its extension names (``.html``/``.htm``, ``.md``, ``.csv``).

    The output is checked before any text is built, and an existing file is never replaced unless
    ``overwrite=True``. Every report module writes through this one function.
    """
    p = check_output(path, overwrite=overwrite)
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm"):
        text = html_text()
    elif suffix == ".md":
        text = markdown()
    elif suffix == ".csv":
        text = csv()
    else:
        raise DataError(f"{p}: report format must be .html, .md or .csv")
    return write_text_atomic(p, text, overwrite=overwrite)
