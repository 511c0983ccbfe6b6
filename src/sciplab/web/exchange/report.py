"""The client report for the record or a referral: measures, change and a formulation summary, as HTML or PDF.

Content, all from the library: the stored scores (:func:`sciplab.score` computed them at
submission), reliable and clinically significant change first vs latest administration of the
current episode (:func:`sciplab.scoring.change.reliable_change`, Jacobson & Truax 1991, with the
instrument's constants and their sources; where an instrument lacks them the report says what is
missing instead of a number), and the SCIP formulation of the latest scores
(:func:`sciplab.scip.formulate.formulate`: attachment pattern, hypotheses, relationship plan).

Renderings: a self-contained HTML file (its CSS in a ``<style>`` block and its chart as inline SVG,
so it reads offline; it is a download, never a page of the app, so the app's CSP does not apply)
and a PDF drawn with matplotlib's PDF backend (text pages and the trajectory chart; no system
packages). Each rendering is audited (who, which client, purpose, format, SHA-256).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import io
import math
import textwrap
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sciplab._core.errors import SciplabError
from sciplab.instruments import get_instrument
from sciplab.web.audit.service import record
from sciplab.web.clients.service import get_client, who_of
from sciplab.web.errors import BadRequest
from sciplab.web.exchange.records import score_table
from sciplab.web.models import ClientIdentity, Episode, TherapySession, User
from sciplab.web.policy import Actor

PURPOSES = {"record": "Report for the record", "referral": "Referral report"}
FORMATS = ("html", "pdf")


@dataclasses.dataclass(frozen=True)
class ClientReport:
    """Everything the report shows (content only; :func:`to_html` and :func:`to_pdf` add layout)."""

    code: str
    name: str
    therapist: str
    purpose: str
    generated: dt.date
    episode_start: dt.date | None
    episode_end: dt.date | None
    sessions: int
    measures: pd.DataFrame
    change: pd.DataFrame
    trajectories: pd.DataFrame
    formulation: Any
    formulation_note: str

    @property
    def title(self) -> str:
        """``Referral report: C-XXXXXX`` or ``Report for the record: ...``."""
        return f"{PURPOSES[self.purpose]}: {self.code}"


def _change_rows(current: pd.DataFrame) -> pd.DataFrame:
    from sciplab.scoring.change import reliable_change

    rows = []
    for (inst_id, scale), g in current.groupby(["instrument", "scale"], sort=True):
        g = g.dropna(subset=["score"])
        if len(g) < 2:
            continue
        first, last = g.iloc[0], g.iloc[-1]
        row: dict[str, Any] = {
            "instrument": inst_id,
            "scale": scale,
            "pre": first["score"],
            "post": last["score"],
            "pre_date": first["date"],
            "post_date": last["date"],
            "change": last["score"] - first["score"],
        }
        try:
            res = reliable_change([first["score"]], [last["score"]], instrument=inst_id, scale=scale)
        except SciplabError as exc:
            row.update(rc=math.nan, classification="not classified", criterion=str(exc))
        else:
            t, d = res.table.iloc[0], res.details
            crit = (
                f"reliable when |change| >= {d['min_reliable_change']:.2f} points"
                if d.get("method") == "published-points"
                else f"RCI = change / S_diff (S_diff = {d['s_diff']:.2f}); reliable when |RCI| > {d['z']:.2f}"
            )
            if d.get("cutoff") is not None:
                crit += f"; clinical cut-off {d['cutoff']:g} ({d.get('cutoff_type')})"
            row.update(rc=t["rc"], classification=str(t["classification"]), criterion=crit)
        rows.append(row)
    cols = [
        "instrument",
        "scale",
        "pre",
        "post",
        "pre_date",
        "post_date",
        "change",
        "rc",
        "classification",
        "criterion",
    ]
    return pd.DataFrame(rows, columns=cols)


def _formulation(latest: pd.DataFrame) -> tuple[Any, str]:
    from sciplab.scip.formulate import formulate

    scores = {}
    for _, r in latest.dropna(subset=["score"]).iterrows():
        inst = get_instrument(r["instrument"])
        scores[inst.column(r["scale"])] = float(r["score"])
    if not scores:
        return None, "No scored measure yet: no formulation."
    try:
        return formulate(scores), ""
    except SciplabError as exc:
        return None, f"No formulation from these measures: {exc}"


def build(db: Session, actor: Actor, client_id: int, purpose: str = "record") -> ClientReport:
    """The report's content for one client of ``actor``'s caseload (policy: ``reports.client``)."""
    if purpose not in PURPOSES:
        raise BadRequest(f"purpose must be one of {', '.join(PURPOSES)}; got {purpose!r}")
    client = get_client(db, actor, client_id, "reports.client")
    identity = db.get(ClientIdentity, client.id)
    therapist = db.get(User, client.therapist_id) if client.therapist_id else None
    episode = db.scalar(select(Episode).where(Episode.client_id == client.id).order_by(Episode.id.desc()).limit(1))
    sessions = 0
    if episode is not None:
        sessions = len(db.scalars(select(TherapySession.id).where(TherapySession.episode_id == episode.id)).all())
    scores = score_table(db, [client.id])
    current = scores[scores["episode_id"] == episode.id] if episode is not None and not scores.empty else scores
    if current.empty:
        measures = pd.DataFrame(
            columns=["instrument", "scale", "n", "first_date", "first", "latest_date", "latest", "band", "status"]
        )
        latest = current
    else:
        grouped = current.groupby(["instrument", "scale"], sort=True)
        latest = grouped.tail(1)
        measures = pd.DataFrame(
            {
                "n": grouped["score"].count(),
                "first_date": grouped["date"].first(),
                "first": grouped["score"].first(),
                "latest_date": grouped["date"].last(),
                "latest": grouped["score"].last(),
                "band": grouped["band"].last(),
                "status": grouped["status"].last(),
            }
        ).reset_index()
    f, note = _formulation(latest)
    return ClientReport(
        code=client.code,
        name=identity.name if identity else "",
        therapist=(therapist.display_name or therapist.username) if therapist else "",
        purpose=purpose,
        generated=dt.date.today(),
        episode_start=episode.started_on if episode else None,
        episode_end=episode.ended_on if episode else None,
        sessions=sessions,
        measures=measures,
        change=_change_rows(current) if not current.empty else _change_rows(pd.DataFrame(columns=scores.columns)),
        trajectories=current[["instrument", "scale", "date", "session", "score"]].copy(),
        formulation=f,
        formulation_note=note,
    )


# -- figure ------------------------------------------------------------------------------------------


def trajectory_figure(report: ClientReport) -> Any:
    """Scores over the episode, one panel per instrument scale (a matplotlib Figure, no pyplot state)."""
    from matplotlib.figure import Figure

    series = [(k, g) for k, g in report.trajectories.dropna(subset=["score"]).groupby(["instrument", "scale"])]
    n = max(1, len(series))
    fig = Figure(figsize=(7.0, 1.9 * n + 0.4))
    if not series:
        fig.text(0.5, 0.5, "No scores yet", ha="center", va="center")
        return fig
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, ((inst_id, scale), g) in zip(axes, series, strict=True):
        ax.plot(pd.to_datetime(g["date"]), g["score"], marker="o", color="#1f4e79", linewidth=1.2, markersize=3)
        ax.set_title(f"{inst_id} {scale}", fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        inst = get_instrument(str(inst_id))
        cut = next((c.value for c in inst.cutoffs if c.scale == scale and c.value is not None), None)
        if cut is not None:
            ax.axhline(cut, color="#b03a2e", linestyle="--", linewidth=0.8, label=f"clinical cut-off {cut:g}")
            ax.legend(fontsize=7, frameon=False, loc="upper right")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.find("<svg") :]


# -- text shared by both renderings ----------------------------------------------------------------------


def _num(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return f"{float(v):.{digits}f}"


def _header_lines(r: ClientReport) -> list[str]:
    episode = f"episode since {r.episode_start}" + (f", ended {r.episode_end}" if r.episode_end else ", open")
    return [
        f"Client: {r.name} ({r.code})" if r.name else f"Client: {r.code}",
        f"Therapist: {r.therapist or 'not assigned'}; {episode}; {r.sessions} sessions",
        f"Written {r.generated} by SCIP Clinic. Confidential clinical information.",
    ]


def _measure_rows(r: ClientReport) -> list[list[str]]:
    return [
        [
            m.instrument,
            m.scale,
            str(m.n),
            str(m.first_date),
            _num(m.first),
            str(m.latest_date),
            _num(m.latest),
            m.band or "",
            m.status or "",
        ]
        for m in r.measures.itertuples()
    ]


MEASURE_HEAD = ["Instrument", "Scale", "n", "First", "Score", "Latest", "Score", "Band", "Status"]
CHANGE_HEAD = ["Instrument", "Scale", "First", "Latest", "Change", "RCI", "Classification"]


def _change_rows_text(r: ClientReport) -> list[list[str]]:
    return [
        [c.instrument, c.scale, _num(c.pre), _num(c.post), _num(c.change), _num(c.rc, 2), c.classification]
        for c in r.change.itertuples()
    ]


def _statement(st: dict[str, Any]) -> str:
    data = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in (st.get("data") or {}).items())
    basis = f"evidence: {st.get('evidence') or 'not graded'}" + (f"; data: {data}" if data else "")
    return f"{st['text']} [{basis}]"


def _formulation_lines(r: ClientReport) -> list[tuple[str, str]]:
    """``(kind, text)`` lines: kind is heading, text or item."""
    f = r.formulation
    if f is None:
        return [("text", r.formulation_note)]
    out: list[tuple[str, str]] = []
    att = f.attachment
    if att.get("available"):
        best = att.get("most_probable") or {}
        p = best.get("p")
        prob = (
            f" (probability {p:.2f}, from the dimensions and their measurement error)" if isinstance(p, float) else ""
        )
        out.append(("text", f"Attachment: most probable pattern {best.get('pattern', 'not determined')}{prob}."))
    if f.hypotheses:
        out.append(("heading", "Hypotheses"))
        out += [("item", _statement(h)) for h in f.hypotheses]
    if f.plan:
        out.append(("heading", "Relationship plan"))
        out += [("item", f"{p.get('phase', '')}: {_statement(p)}") for p in f.plan]
    if f.missing:
        out.append(("heading", "Not measured"))
        out += [("item", f"{m.get('construct', '')}: {m.get('adds', '')}") for m in f.missing]
    if f.sources:
        out.append(("heading", "Sources"))
        out += [("item", str(src.get("citation", src.get("key", "")))) for src in f.sources]
    if not out:
        out.append(("text", "The formulation rules found nothing to state from these measures."))
    return out


# -- HTML ------------------------------------------------------------------------------------------------

CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 60em; margin: 2em auto; color: #111;
       line-height: 1.4; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th { border-top: 1.5px solid #000; border-bottom: 1px solid #000; padding: 0.3em 0.6em; text-align: left; }
td { padding: 0.2em 0.6em; vertical-align: top; } tbody tr:last-child td { border-bottom: 1.5px solid #000; }
.note { font-size: 0.85em; color: #333; } figure svg { max-width: 100%; height: auto; }
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th scope='col'>{html.escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def to_html(r: ClientReport) -> str:
    """The report as one self-contained HTML document (CSS in a style block, chart as inline SVG)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(r.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(r.title)}</h1>",
        *(f"<p class='note'>{html.escape(line)}</p>" for line in _header_lines(r)),
        "<h2>Measures</h2>",
        _table(MEASURE_HEAD, _measure_rows(r)) if len(r.measures) else "<p>No scored measures yet.</p>",
        "<h2>Change (Jacobson &amp; Truax 1991), first vs latest of this episode</h2>",
    ]
    if len(r.change):
        parts.append(_table(CHANGE_HEAD, _change_rows_text(r)))
        parts.append(
            "<ul class='note'>"
            + "".join(
                f"<li>{html.escape(f'{c.instrument} {c.scale}: {c.criterion}')}</li>" for c in r.change.itertuples()
            )
            + "</ul>"
        )
    else:
        parts.append("<p>Change needs two scored administrations of a measure.</p>")
    fig_svg = _svg(trajectory_figure(r))
    rows = [
        [str(t.instrument), str(t.scale), str(t.date), "" if pd.isna(t.session) else str(t.session), _num(t.score)]
        for t in r.trajectories.itertuples()
    ]
    parts += [
        "<h2>Scores over the episode</h2>",
        f"<figure role='img' aria-label='Scores over the episode, one panel per scale; the table below has the data'>"
        f"{fig_svg}</figure>",
        "<details><summary>Data behind the chart</summary>",
        _table(["Instrument", "Scale", "Date", "Session", "Score"], rows),
        "</details>",
        "<h2>SCIP formulation summary</h2>",
    ]
    in_list = False
    for kind, text in _formulation_lines(r):
        if kind == "item":
            if not in_list:
                parts.append("<ul>")
                in_list = True
            parts.append(f"<li>{html.escape(text)}</li>")
            continue
        if in_list:
            parts.append("</ul>")
            in_list = False
        parts.append(f"<h3>{html.escape(text)}</h3>" if kind == "heading" else f"<p>{html.escape(text)}</p>")
    if in_list:
        parts.append("</ul>")
    if r.formulation is not None:
        parts.append(
            "<p class='note'>Statements from the SCIP formulation rules (sciplab.formulate) with their "
            "evidence level; hypotheses to test in the relationship, not diagnoses.</p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


# -- PDF -------------------------------------------------------------------------------------------------

A4 = (8.27, 11.69)


class _Pages:
    """Lines of text laid top-down on A4 matplotlib figures, a new page when one is full."""

    def __init__(self, pdf: Any, title: str) -> None:
        self.pdf, self.title, self.fig, self.y, self.page = pdf, title, None, 0.0, 0

    def _new(self) -> None:
        from matplotlib.figure import Figure

        self.flush()
        self.page += 1
        self.fig = Figure(figsize=A4)
        self.fig.text(0.08, 0.03, f"{self.title} - page {self.page}", fontsize=7, color="#555")
        self.y = 0.95

    def flush(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    def line(
        self,
        text: str,
        *,
        size: float = 9,
        bold: bool = False,
        mono: bool = False,
        gap: float = 1.45,
        indent: float = 0.0,
        width: int = 100,
    ) -> None:
        chunks = textwrap.wrap(text, width=width) or [""]
        for chunk in chunks:
            step = size * gap / 72 / A4[1]
            if self.fig is None or self.y - step < 0.06:
                self._new()
            assert self.fig is not None
            self.fig.text(
                0.08 + indent,
                self.y,
                chunk,
                fontsize=size,
                va="top",
                fontweight="bold" if bold else "normal",
                family="monospace" if mono else "sans-serif",
            )
            self.y -= step

    def table(self, head: list[str], rows: list[list[str]], widths: list[int]) -> None:
        def fmt(cells: list[str]) -> str:
            return " ".join(str(c)[:w].ljust(w) for c, w in zip(cells, widths, strict=True))

        self.line(fmt(head), size=7.5, mono=True, bold=True, width=200)
        for row in rows:
            self.line(fmt(row), size=7.5, mono=True, width=200)

    def figure(self, fig: Any) -> None:
        self.flush()
        self.pdf.savefig(fig)


def to_pdf(r: ClientReport) -> bytes:
    """The report as PDF (matplotlib's PDF backend: text pages, then the chart page)."""
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": r.title, "Creator": "SCIP Clinic"}) as pdf:
        pages = _Pages(pdf, r.title)
        pages.line(r.title, size=15, bold=True, gap=1.8)
        for text in _header_lines(r):
            pages.line(text, size=9)
        pages.line("")
        pages.line("Measures", size=12, bold=True, gap=1.7)
        if len(r.measures):
            pages.table(MEASURE_HEAD, _measure_rows(r), [9, 10, 3, 10, 6, 10, 6, 18, 12])
        else:
            pages.line("No scored measures yet.")
        pages.line("")
        pages.line("Change (Jacobson & Truax 1991), first vs latest of this episode", size=12, bold=True, gap=1.7)
        if len(r.change):
            pages.table(CHANGE_HEAD, _change_rows_text(r), [9, 10, 7, 7, 7, 7, 16])
            for c in r.change.itertuples():
                pages.line(f"{c.instrument} {c.scale}: {c.criterion}", size=7.5, width=130)
        else:
            pages.line("Change needs two scored administrations of a measure.")
        pages.line("")
        pages.line("SCIP formulation summary", size=12, bold=True, gap=1.7)
        for kind, text in _formulation_lines(r):
            if kind == "heading":
                pages.line(text, size=10, bold=True, gap=1.6)
            elif kind == "item":
                pages.line("- " + text, size=8.5, indent=0.02, width=110)
            else:
                pages.line(text, size=9)
        pages.figure(trajectory_figure(r))
    return buf.getvalue()


def render(db: Session, actor: Actor, client_id: int, fmt: str = "html", purpose: str = "record") -> tuple[bytes, str]:
    """The report of one client as ``(bytes, filename)`` in ``fmt`` (html or pdf), audited with its SHA-256."""
    if fmt not in FORMATS:
        raise BadRequest(f"format must be html or pdf; got {fmt!r}")
    rep = build(db, actor, client_id, purpose)
    content = to_html(rep).encode("utf-8") if fmt == "html" else to_pdf(rep)
    record(
        db,
        who_of(actor),
        "report.create",
        "client",
        client_id,
        detail={"code": rep.code, "purpose": purpose, "format": fmt, "sha256": hashlib.sha256(content).hexdigest()},
    )
    return content, f"{rep.code}-{purpose}-{rep.generated}.{fmt}"
