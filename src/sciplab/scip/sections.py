"""A formulation as structured sections, and their plain-text rendering.

:func:`formulation_sections` turns a :class:`~sciplab.scip.formulate.Formulation` into a tuple of
:class:`Section` objects -- titles, fact lines, a table, statements (with evidence, triggering data,
expected rupture, note) and labelled entries (missing constructs, sources) -- with every number
already formatted. This is the only place that decides *what* a formulation report says and how
numbers are rounded; renderers only add markup: :func:`render_text` here (``Formulation.summary``),
Markdown and HTML in :mod:`sciplab.reports.formulation`, which escape every text they insert.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PROFILE_COLUMNS", "Section", "Statement", "fmt", "formulation_sections", "heading", "render_text"]

#: Columns of the profile table in reports.
PROFILE_COLUMNS = ("column", "construct", "score", "pomp", "norm", "z", "T", "band", "cutoff", "flag")


@dataclasses.dataclass(frozen=True)
class Statement:
    """A hypothesis or plan statement: ``text``, its ``phase`` (plan only) and ``(label, text)`` details."""

    text: str
    phase: str | None = None
    details: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of a formulation report.

    Attributes
    ----------
    key
        ``attachment``, ``profile``, ``interpersonal``, ``hypotheses``, ``plan``, ``missing`` or ``sources``.
    title
        Heading.
    lines
        Facts, one per line (the profile: one reading per scale).
    columns, rows
        A table of formatted cells (the profile), for documents; ``lines`` carry the same for text.
    statements
        Hypotheses or plan statements.
    entries
        ``(term, text)`` pairs: missing constructs and what they add; source keys and citations.
    notes
        Notes shown under a table.
    empty
        What to say when the section has nothing to show.
    """

    key: str
    title: str
    lines: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    statements: tuple[Statement, ...] = ()
    entries: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    empty: str = ""

    @property
    def is_empty(self) -> bool:
        """True when the section has no lines, rows, statements or entries."""
        return not (self.lines or self.rows or self.statements or self.entries)


def fmt(v: Any, digits: int = 2) -> str:
    """A value for display: numbers to ``digits`` decimals, missing as ``NA``, text as is."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NA"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:.{digits}f}"
    return str(v)


def _records(frame: Any) -> list[dict[str, Any]]:
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _attachment(att: Mapping[str, Any]) -> Section:
    lines = []
    for dim in ("anxiety", "avoidance"):
        d = att.get(dim)
        if d is None:
            lines.append(f"{dim}: not measured")
            continue
        lines.append(
            f"{dim}: {fmt(d['score'])} (range {d['min']:g}-{d['max']:g}), SEM {fmt(d['sem'], 3)} "
            f"[95% {fmt(d['ci95'][0])}, {fmt(d['ci95'][1])}]; r_xx {fmt(d['reliability'])} "
            f"({d['reliability_source']}); P(above split {d['split']:g}) = {fmt(d['p_high'], 3)}"
        )
    qp = att.get("quadrant_probabilities")
    if qp:
        lines.append("quadrant probabilities: " + ", ".join(f"{q} {fmt(p, 3)}" for q, p in qp.items()))
        mp = att["most_probable"]
        lines.append(f"most probable: {mp['pattern']} (p = {fmt(mp['p'], 3)}), not a bare label")
    if att.get("split"):
        lines.append(att["split"]["note"])
    lines += [f"note: {n}" for n in att.get("notes", [])]
    title = "Attachment" + (f" ({att['instrument']})" if att.get("instrument") else "")
    return Section("attachment", title, lines=tuple(lines))


def _profile_line(r: Mapping[str, Any]) -> str:
    parts = [f"{r['column']} ({r['construct']}): {fmt(r['score'])}"]
    if r.get("z") is not None:
        parts.append(f"z {fmt(r['z'])}, T {fmt(r['T'], 1)} vs norm {r['norm']} ({r['norm_sample']})")
    if r.get("band"):
        parts.append(f"band {r['band']}")
    if r.get("cutoff"):
        parts.append(f"cut-off {r['cutoff']}")
    parts.append(f"-> {r['flag']}")
    text = "; ".join(parts)
    return text + (f" [{r['note']}]" if r.get("note") else "")


def _profile(profile: Any) -> Section:
    recs = _records(profile) if len(profile) else []
    rows = tuple(
        tuple("" if r[c] in ("", None) else fmt(r[c], 0 if c == "pomp" else 2) for c in PROFILE_COLUMNS) for r in recs
    )
    return Section(
        "profile", "Competency and support profile",
        lines=tuple(_profile_line(r) for r in recs), columns=PROFILE_COLUMNS, rows=rows,
        notes=tuple(f"{r['column']}: {r['note']}" for r in recs if r.get("note")), empty="(no scale scores)",
    )  # fmt: skip


def _interpersonal(ip: Mapping[str, Any]) -> Section:
    if "elevation" not in ip:
        lines = list(ip.get("guards", []))
    else:
        norm = ip.get("norm")
        std = f"standardised against {norm['id']} ({norm['sample']})" if norm else "raw"
        lines = [
            f"{ip['instrument']} octants {std}",
            f"elevation {fmt(ip['elevation'], 3)}, amplitude {fmt(ip['amplitude'], 3)}, displacement "
            f"{fmt(ip['displacement'], 1)} deg (nearest octant {ip.get('octant') or 'NA'}), fit {fmt(ip['fit'], 3)}",
        ]
        lines += [f"guard: {g}" for g in ip.get("guards", [])]
    return Section("interpersonal", "Interpersonal profile (SSM)", lines=tuple(lines))


def _statement(s: Mapping[str, Any]) -> Statement:
    details = [
        ("evidence", f"{s['evidence']} ({s['evidence_meaning']}); sources: {', '.join(s['sources'])}"),
        ("because", ", ".join(f"{k} = {fmt(v, 3)}" for k, v in s["triggered_by"].items()) or "unconditional"),
    ]
    if s.get("data"):
        details.append(("data", ", ".join(f"{k} = {fmt(v)}" for k, v in s["data"].items())))
    er = s.get("expected_rupture")
    if er:
        details.append(("expected rupture", f"{er['expected_rupture']}; {er['when']}; watch: {er['watch']}"))
    if s.get("note"):
        details.append(("note", str(s["note"])))
    return Statement(str(s["text"]), s.get("phase") or None, tuple(details))


def formulation_sections(f: Any) -> tuple[Section, ...]:
    """The sections of formulation ``f``, in report order (interpersonal only when octants were given)."""
    out = [_attachment(f.attachment), _profile(f.profile)]
    if f.interpersonal is not None:
        out.append(_interpersonal(f.interpersonal))
    for key, title, items in (("hypotheses", "Hypotheses", f.hypotheses), ("plan", "Relationship plan", f.plan)):
        out.append(Section(key, title, statements=tuple(_statement(s) for s in items), empty="(none triggered)"))
    out.append(Section("missing", "Missing", entries=tuple((m["construct"], m["adds"]) for m in f.missing),
                       empty="(nothing)"))  # fmt: skip
    out.append(Section("sources", "Sources", entries=tuple((s["key"], s["citation"]) for s in f.sources),
                       empty="(none cited)"))  # fmt: skip
    return tuple(out)


def heading(f: Any) -> str:
    """``SCIP case formulation`` with the client id when known."""
    return f.title + ("" if f.client is None else f": client {f.client}")


def render_text(head: str, sections: Sequence[Section]) -> str:
    """Plain text: the heading underlined, then each section indented (``Formulation.summary``)."""
    out = [head, "=" * len(head)]
    for s in sections:
        out += ["", s.title]
        out += [f"  {ln}" for ln in s.lines]
        for st in s.statements:
            out.append(f"  - {'[' + st.phase + '] ' if st.phase else ''}{st.text}")
            out += [f"      {label}: {text}" for label, text in st.details]
        out += [f"  - {term}: {text}" for term, text in s.entries]
        if s.is_empty and s.empty:
            out.append(f"  {s.empty}")
    return "\n".join(out)
