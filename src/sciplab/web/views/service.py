"""Services of the clinician views; policy checks and audit entries happen here.

Client overview, caseload by attention, acknowledgements, formulation review, supervision and the
clinic outcome report.

Small-number suppression (supervisor view and clinic report): a count from 1 to
``SUPPRESS_BELOW - 1`` is shown as ``"<5"`` and a rate whose denominator is below
:data:`SUPPRESS_BELOW` is not shown, so that no cell can point at one or two identifiable clients
(the threshold 5 follows common practice for routine outcome statistics, e.g. NHS Digital's
suppression of counts 1-4; it is a setting of this module, not a law of nature).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from sciplab._core.errors import SciplabError
from sciplab.web.audit.service import record
from sciplab.web.clients.service import client_record, current_episode, newest_episode, who_of
from sciplab.web.clinic import log
from sciplab.web.errors import BadRequest, NotFound
from sciplab.web.measures.service import is_due
from sciplab.web.models import (
    ATTENTION_KINDS,
    REVIEW_DECISIONS,
    Alert,
    Assignment,
    AttentionAck,
    Client,
    Episode,
    FormulationReview,
    Response,
    Score,
    TherapySession,
    User,
)
from sciplab.web.policy import Actor, check_client, client_scope, require
from sciplab.web.views import cache as vcache
from sciplab.web.views import data as vdata
from sciplab.web.views import overview as ov
from sciplab.web.views import reference as vref

SUPPRESS_BELOW = 5
STATUS_ORDER = ("red", "yellow", "green", "white", "grey")

_sd_lock = threading.Lock()
_sd_cache: dict[tuple[int, int], float | None] = {}


# -- shared inputs: the reference and the rupture threshold --------------------------------------------------


def choose_reference(
    db: Session, measure: str | None, closed_episodes: int | None = None
) -> vref.ChosenReference | None:
    """The clinic's own reference once it has enough closed cases (``MIN_CLINIC_CASES``), else the default.

    ``closed_episodes``: the clinic's number of closed episodes when the caller counted them already
    (the overview's fingerprint); fewer than ``MIN_CLINIC_CASES`` means the default without a query.
    """
    if measure is None:
        return None
    if closed_episodes is not None and closed_episodes < vref.MIN_CLINIC_CASES:
        return vref.default_reference(measure)  # fewer closed episodes than needed, whatever their measures
    inst, _, scale = measure.rpartition("_")
    closed = select(Episode.id).where(Episode.ended_on.is_not(None))
    stats = db.execute(
        select(func.count(func.distinct(Response.episode_id)), func.max(Response.id))
        .join(Score, Score.response_id == Response.id)
        .where(Response.episode_id.in_(closed), Response.instrument_id == inst, Score.scale == scale)
    ).one()
    if int(stats[0] or 0) >= vref.MIN_CLINIC_CASES:
        key = (measure, int(stats[0]), int(stats[1] or 0))
        episodes = db.scalars(select(Episode).where(Episode.ended_on.is_not(None))).all()
        long = vdata.series(vdata.load(db, episodes).scores, measure)
        long["client"] = long["client"].astype(str)
        counts = long.groupby("client").size()
        if int((counts >= 2).sum()) >= vref.MIN_CLINIC_CASES:
            try:
                return vref.clinic_reference(long, measure, key)
            except SciplabError as exc:  # a clinic reference that cannot be fitted falls back to the default
                log.warning("the clinic's own reference for %s could not be fitted: %s", measure, exc)
    return vref.default_reference(measure)


_INST, _, _SCALE = vdata.CLIENT_ALLIANCE.rpartition("_")
#: The clinic's client alliance scores with client and session number (built once).
_ALLIANCE_SCORES = (
    select(Response.client_id, TherapySession.number, Score.value, Score.id)
    .join(Score, Score.response_id == Response.id)
    .join(TherapySession, TherapySession.id == Response.session_id)
    .where(Response.instrument_id == _INST, Score.scale == _SCALE, Score.value.is_not(None))
)


def alliance_sd_ref(db: Session, key: tuple[int, int] | None = None) -> float | None:
    """Clinic-wide SD of session-to-session changes of client alliance (POMP): the detector's reference SD.

    Cached per process under the count and largest id of the clinic's client alliance scores; ``key``:
    those two numbers when the caller read them already (the overview's fingerprint).
    """
    q = _ALLIANCE_SCORES
    if key is None:
        sub = q.subquery()
        key = tuple(db.execute(select(func.count(), func.max(sub.c.id))).one())  # type: ignore[assignment]
    key = (int(key[0] or 0), int(key[1] or 0))
    with _sd_lock:
        if key in _sd_cache:
            return _sd_cache[key]
    rows = db.execute(q.order_by(Response.client_id, TherapySession.number)).all()
    lo, hi = ov._alliance_range()
    frame = pd.DataFrame([(r[0], r[1], r[2]) for r in rows], columns=["client", "session", "value"])
    frame["client_alliance"] = vdata.pomp(frame["value"].astype(float), lo, hi)
    sd = ov.clinic_sd_ref(frame.drop_duplicates(["client", "session"], keep="last"))
    with _sd_lock:
        _sd_cache.clear()
        _sd_cache[key] = sd
    return sd


def warm() -> None:
    """Import the engines of the client page and load the default references (a worker's start-up)."""
    import sciplab.scip.attachment
    import sciplab.scip.formulate
    import sciplab.scip.relationship
    import sciplab.scoring.change
    import sciplab.stats.change  # noqa: F401

    ov.shipped_rules()
    for measure in vref.DEFAULT_FILES:
        vref.default_reference(measure)
        ov.constants(measure)


# -- the client page -------------------------------------------------------------------------------------------


def audit_client_view(db: Session, actor: Actor, client_id: int) -> None:
    """The first, short transaction of the client page: the policy decides (a refusal raises) and the view is audited.

    The page's data is then read in a read-only transaction (:meth:`sciplab.web.clinic.Clinic.read`,
    :func:`client_view` with ``audit=False``): the audit entry (and on SQLite the write lock, on
    PostgreSQL the audit chain's lock) is not held while the overview is computed and rendered.
    """
    client = check_client(db, actor, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    record(db, who_of(actor), "client.view", "client", client.id)


def record_client_view(db: Session, actor: Actor, client_id: int) -> None:
    """The audit entry of a client page whose record :func:`client_view` read (the policy decided there)."""
    record(db, who_of(actor), "client.view", "client", client_id)


def client_page(
    db: Session, actor: Actor, client_id: int, cache: vcache.OverviewCache | None = None, *, audit: bool = True
) -> tuple[dict[str, Any], ov.ClientOverview | None]:
    """The client's record (audited as a view by :func:`client_record`) and the overview of the current episode."""
    rec, entry = client_view(db, actor, client_id, cache, audit=audit)
    return rec, None if entry is None else entry.overview


def client_view(
    db: Session, actor: Actor, client_id: int, cache: vcache.OverviewCache | None = None, *, audit: bool = True
) -> tuple[dict[str, Any], vcache.Entry | None]:
    """The client's record and the cache entry of the current episode's overview (None without an episode).

    The policy decides and the view is audited first (:func:`client_record` raises for a user
    without access); only then is ``cache`` (the app's) consulted, under the fingerprint of every input
    of the overview (:func:`sciplab.web.views.cache.fingerprint`), so a cached overview is never stale.
    """
    rec = client_record(db, actor, client_id, audit=audit)  # the policy decides again: it raises for no access
    ep = newest_episode(rec)  # the current episode, already loaded
    if ep is None:
        return rec, None
    key = vcache.fingerprint(db, ep) if cache is not None else ()
    entry = cache.get(key) if cache is not None else None
    if entry is None:
        epdata = vdata.load(db, [ep])
        measure = ov.outcome_measure(epdata)
        known = vcache.fingerprint_parts(key) if key else {}
        chosen = choose_reference(db, measure, known.get("closed_episodes"))
        overview = ov.client_overview(epdata, chosen, alliance_sd_ref(db, known.get("alliance")))
        entry = vcache.Entry(overview)
        if cache is not None:
            cache.put(key, entry)
    return rec, entry


def formulation_page(db: Session, actor: Actor, client_id: int) -> dict[str, Any]:
    """The formulation of the client's current episode with the review decisions on each statement (audited)."""
    client = check_client(db, actor, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    ep = current_episode(db, client, required=False)
    form: Any = "no episode of care"
    if ep is not None:
        form, _ = ov.formulation(vdata.load(db, [ep]))
    record(db, who_of(actor), "formulation.view", "client", client.id)
    return {"client": client, "formulation": form, "reviews": reviews(db, client.id)}


def reviews(db: Session, client_id: int) -> dict[str, list[dict[str, Any]]]:
    """Review history per statement id, newest first (the first entry is the current decision)."""
    rows = db.execute(
        select(FormulationReview, User.username)
        .outerjoin(User, User.id == FormulationReview.decided_by)
        .where(FormulationReview.client_id == client_id)
        .order_by(FormulationReview.id.desc())
    ).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for r, username in rows:
        out.setdefault(r.statement_id, []).append(
            {
                "decision": r.decision,
                "text": r.text,
                "by": username or "",
                "at": r.decided_at,
                "original": r.original_text,
            }
        )
    return out


def review_statement(
    db: Session, actor: Actor, client_id: int, statement_id: str, decision: str, text: str = ""
) -> FormulationReview:
    """Accept, edit or reject one statement of the client's current formulation (kept with the record, audited)."""
    client = check_client(db, actor, client_id, "formulation.review")
    if client is None:
        raise NotFound(f"no client {client_id}")
    if decision not in REVIEW_DECISIONS:
        raise BadRequest(f"decision must be one of {', '.join(REVIEW_DECISIONS)}; got {decision!r}")
    ep = current_episode(db, client, required=False)
    form = ov.formulation(vdata.load(db, [ep]))[0] if ep is not None else "no episode"
    if isinstance(form, str):
        raise BadRequest(f"{client.code} has no formulation to review yet: {form}")
    match = form.table[form.table["id"] == statement_id]
    if match.empty:
        raise BadRequest(
            f"statement {statement_id!r} is not in {client.code}'s current formulation; "
            f"statements: {', '.join(form.table['id'])}"
        )
    text = text.strip()
    if decision == "edited" and not text:
        raise BadRequest("text: give the edited wording of the statement")
    if len(text) > 5000:
        raise BadRequest("text: at most 5000 characters")
    row = match.iloc[0]
    review = FormulationReview(
        client_id=client.id,
        statement_id=statement_id,
        section=str(row["section"]),
        original_text=str(row["text"]),
        decision=decision,
        text=text if decision == "edited" else "",
        decided_by=actor.user_id,
    )
    db.add(review)
    db.flush()
    record(
        db, who_of(actor), "formulation.review", "client", client.id,
        detail={"statement": statement_id, "decision": decision},
    )  # fmt: skip
    return review


# -- caseload by attention ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class AttentionRow:
    """One client on the caseload with what needs attention."""

    id: int
    code: str
    name: str
    therapist: str
    therapist_id: int | None
    episode_open: bool
    open_alerts: int
    measure: str | None
    status: str | None
    status_ref: str
    status_acknowledged: bool
    ruptures: int
    repaired: int
    unrepaired: list[str]
    unrepaired_acknowledged: list[str]
    overdue: list[str]
    classification: str | None
    sessions: int

    @property
    def priority(self) -> tuple[int, ...]:
        """Sort key: risk alerts, red, unrepaired ruptures, yellow, overdue questionnaires (unacknowledged first)."""
        red = self.status == "red" and not self.status_acknowledged
        yellow = self.status == "yellow" and not self.status_acknowledged
        return (
            -int(self.open_alerts > 0),
            -int(red),
            -int(bool(self.unrepaired)),
            -int(yellow),
            -int(bool(self.overdue)),
            -int(self.episode_open),
        )

    @property
    def needs_attention(self) -> bool:
        """True when any flag is raised and not acknowledged."""
        return any(v < 0 for v in self.priority[:5])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {**dataclasses.asdict(self), "needs_attention": self.needs_attention}


def _acks(db: Session, client_ids: Sequence[int]) -> set[tuple[int, str, str]]:
    rows = db.execute(
        select(AttentionAck.client_id, AttentionAck.kind, AttentionAck.ref).where(
            AttentionAck.client_id.in_(client_ids)
        )
    ).all()
    return {(int(a), str(b), str(c)) for a, b, c in rows}


def _overdue(db: Session, episodes: Sequence[Episode], ep: vdata.EpisodeData) -> dict[int, list[str]]:
    """Questionnaires due by their schedule at intake or at the latest session and not answered."""
    ids = [e.id for e in episodes]
    assigned = db.scalars(select(Assignment).where(Assignment.episode_id.in_(ids), Assignment.active.is_(True))).all()
    answered = {
        (int(e), str(i), float(s))
        for e, i, s in ep.scores[["episode", "instrument", "session"]].itertuples(index=False)
    }
    answered_any = {(int(e), str(i)) for e, i in ep.scores[["episode", "instrument"]].itertuples(index=False)}
    last = ep.sessions[ep.sessions["attendance"] == "attended"].groupby("episode")["session"].max().to_dict()
    out: dict[int, list[str]] = {}
    for a in assigned:
        n = last.get(a.episode_id)
        if n is None:
            continue  # no session yet: intake questionnaires are due, not overdue
        n = int(n)
        if a.schedule == "intake":
            if (a.episode_id, a.instrument_id) not in answered_any:
                out.setdefault(a.episode_id, []).append(f"{a.instrument_id} at intake")
        elif a.schedule in ("every_session", "every_n"):
            due = [s for s in range(n, 0, -1) if is_due(a, s)][:1]
            if due and (a.episode_id, a.instrument_id, float(due[0])) not in answered:
                out.setdefault(a.episode_id, []).append(f"{a.instrument_id} at session {due[0]}")
    return out


def caseload_analysis(db: Session, actor: Actor, *, audit: bool = True) -> list[AttentionRow]:
    """Every client ``actor`` may see with traffic light, ruptures, overdue questionnaires and risk alerts.

    Batch: one call of each engine for the whole caseload (expected response per outcome measure,
    rupture detection, reliable change through the chain's constants).
    """
    from sciplab.web.models import ClientIdentity

    require(actor, "clients.list")
    rows = db.execute(
        select(Client, ClientIdentity.name, User.username)
        .join(ClientIdentity, ClientIdentity.client_id == Client.id)
        .outerjoin(User, User.id == Client.therapist_id)
        .where(client_scope(actor))
        .order_by(Client.code)
    ).all()
    clients = [r[0] for r in rows]
    ids = [c.id for c in clients]
    latest = (
        select(Episode.client_id, func.max(Episode.id).label("eid"))
        .where(Episode.client_id.in_(ids))
        .group_by(Episode.client_id)
    ).subquery()
    episodes = db.scalars(select(Episode).join(latest, latest.c.eid == Episode.id)).all()
    ep_of = {e.client_id: e for e in episodes}
    epdata = vdata.load(db, episodes)
    alerts = dict(
        db.execute(
            select(Alert.client_id, func.count(Alert.id))
            .where(Alert.acknowledged_at.is_(None), Alert.client_id.in_(ids))
            .group_by(Alert.client_id)
        ).all()
    )
    acks = _acks(db, ids)
    # traffic lights: one expected_response call per outcome measure
    measure_of: dict[int, str | None] = {}
    for cid in ids:
        measure_of[cid] = ov.outcome_measure(
            vdata.EpisodeData(epdata.sessions[:0], epdata.scores[epdata.scores["client"] == cid])
        )
    status: dict[int, tuple[str, float]] = {}
    classification: dict[int, str | None] = {}
    for measure in {m for m in measure_of.values() if m}:
        members = [c for c, m in measure_of.items() if m == measure]
        long = vdata.series(epdata.scores[epdata.scores["client"].isin(members)], measure)
        open_members = [c for c in members if ep_of[c].ended_on is None]
        chosen = choose_reference(db, measure)
        etr = ov.traffic_lights(long[long["client"].isin(open_members)], measure, chosen) if open_members else None
        if etr is not None and not isinstance(etr, str):
            last = etr.table.groupby("client", sort=False).tail(1)
            status.update({int(r.client): (str(r.status), float(r.session)) for r in last.itertuples()})
        for cid, grp in long.groupby("client", sort=False):
            if len(grp) > 1:
                classification[int(cid)] = ov.classify(
                    measure, float(grp[measure].iloc[0]), float(grp[measure].iloc[-1])
                )["classification"]
    # ruptures: one detector call for the caseload
    frame = ov.alliance_frame(epdata)
    rup = ov.ruptures(frame, {}, alliance_sd_ref(db)) if len(frame) else "no alliance ratings"
    rupture_rows = [] if isinstance(rup, str) else [dict(r) for _, r in rup.table.iterrows()]
    overdue = _overdue(db, [e for e in episodes if e.ended_on is None], epdata)
    out = []
    for client, name, therapist in rows:
        ep = ep_of.get(client.id)
        mine = [r for r in rupture_rows if int(r["client"]) == client.id and r["rule"] == ov.HEADLINE_RULE]
        unresolved = [f"rupture at session {r['trough_session']:g}" for r in mine if r["status"] == "unresolved"]
        st, st_session = status.get(client.id, (None, 0.0))
        st_ref = f"session {st_session:g}" if st else ""
        open_ep = ep is not None and ep.ended_on is None
        out.append(
            AttentionRow(
                id=client.id,
                code=client.code,
                name=name,
                therapist=therapist or "",
                therapist_id=client.therapist_id,
                episode_open=open_ep,
                open_alerts=int(alerts.get(client.id, 0)),
                measure=measure_of.get(client.id),
                status=st,
                status_ref=st_ref,
                status_acknowledged=(client.id, "not_on_track", st_ref) in acks,
                ruptures=len(mine),
                repaired=sum(1 for r in mine if r["status"] == "repaired"),
                unrepaired=[u for u in unresolved if (client.id, "rupture", u) not in acks] if open_ep else [],
                unrepaired_acknowledged=[u for u in unresolved if (client.id, "rupture", u) in acks],
                overdue=[o for o in overdue.get(ep.id, []) if (client.id, "overdue", o) not in acks] if ep else [],
                classification=classification.get(client.id),
                sessions=int((epdata.sessions["client"] == client.id).sum()),
            )
        )
    out.sort(key=lambda r: (r.priority, r.code))
    if audit:
        record(db, who_of(actor), "caseload.view", "client", "", detail={"clients": len(out)})
    return out


def acknowledge_flag(db: Session, actor: Actor, client_id: int, kind: str, ref: str, action: str) -> AttentionAck:
    """Record who acknowledged a computed flag, when, and what was done (audited)."""
    client = check_client(db, actor, client_id, "alerts.acknowledge")
    if client is None:
        raise NotFound(f"no client {client_id}")
    if kind not in ATTENTION_KINDS:
        raise BadRequest(f"kind must be one of {', '.join(ATTENTION_KINDS)}; got {kind!r}")
    ref, action = ref.strip(), action.strip()
    if not ref or len(ref) > 64:
        raise BadRequest("ref: name the flag acknowledged (1-64 characters, as the caseload shows it)")
    if not action or len(action) > 2000:
        raise BadRequest("action: say what was done (1-2000 characters)")
    ack = AttentionAck(client_id=client.id, kind=kind, ref=ref, action=action, acknowledged_by=actor.user_id)
    db.add(ack)
    db.flush()
    record(db, who_of(actor), "attention.acknowledge", "client", client.id, detail={"kind": kind, "ref": ref})
    return ack


_ACKS = (
    select(AttentionAck, User.username)
    .outerjoin(User, User.id == AttentionAck.acknowledged_by)
    .where(AttentionAck.client_id == bindparam("client_id"))
)


def acknowledgements(db: Session, client_id: int, alerts: Sequence[Alert] | None = None) -> list[dict[str, Any]]:
    """Acknowledged risk alerts and flags of a client (who, when, what was done), newest first.

    ``alerts``: the client's alerts when the caller loaded them already (:func:`client_record`); the
    acknowledged ones are then taken from them instead of being read again.
    """
    out = []
    if alerts is None:
        acked = db.execute(
            select(Alert, User.username)
            .outerjoin(User, User.id == Alert.acknowledged_by)
            .where(Alert.client_id == client_id, Alert.acknowledged_at.is_not(None))
        ).all()
    else:
        mine = [a for a in alerts if a.client_id == client_id and a.acknowledged_at is not None]
        ids = {a.acknowledged_by for a in mine if a.acknowledged_by is not None}
        names = (
            {int(i): str(n) for i, n in db.execute(select(User.id, User.username).where(User.id.in_(ids)))}
            if ids
            else {}
        )
        acked = [(a, names.get(a.acknowledged_by)) for a in mine]
    for a, username in acked:
        out.append({"kind": "risk alert", "ref": a.message, "by": username or "", "at": a.acknowledged_at,
                    "action": a.action_taken or ""})  # fmt: skip
    for k, username in db.execute(_ACKS, {"client_id": client_id}).all():
        out.append({"kind": k.kind.replace("_", " "), "ref": k.ref, "by": username or "", "at": k.acknowledged_at,
                    "action": k.action})  # fmt: skip
    return sorted(out, key=lambda r: r["at"], reverse=True)


# -- supervision and the clinic report --------------------------------------------------------------------------


def suppress(count: int) -> int | str:
    """A count as shown: ``"<5"`` for 1-4 (0 is shown: it identifies nobody)."""
    return f"<{SUPPRESS_BELOW}" if 0 < count < SUPPRESS_BELOW else count


def rate(num: int, den: int) -> dict[str, Any]:
    """A proportion with its Wilson 95 % interval, or suppressed when the denominator is small."""
    from sciplab.stats.proportion import wilson_interval

    if den < SUPPRESS_BELOW:
        return {"shown": False, "estimate": None, "lower": None, "upper": None, "n": suppress(den)}
    lo, hi = wilson_interval(num, den)
    return {"shown": True, "estimate": num / den, "lower": float(lo), "upper": float(hi), "n": den}


def supervision(db: Session, actor: Actor) -> dict[str, Any]:
    """Per supervisee: counts by traffic light, rupture-repair rate, outcome distribution (suppressed, audited)."""
    require(actor, "supervision.view")
    rows = caseload_analysis(db, actor, audit=False)
    therapists = db.scalars(
        select(User).where((User.supervisor_id == actor.user_id) | (User.id == actor.user_id)).order_by(User.username)
    ).all()
    out = []
    for t in [*therapists, None]:
        mine = [r for r in rows if t is None or r.therapist_id == t.id]
        open_rows = [r for r in mine if r.episode_open]
        lights = {s: sum(1 for r in open_rows if r.status == s) for s in STATUS_ORDER}
        lights["none"] = sum(1 for r in open_rows if r.status is None)
        ruptures = sum(r.ruptures for r in mine)
        repaired = sum(r.repaired for r in mine)
        classes = {
            c: sum(1 for r in mine if r.classification == c)
            for c in ("recovered", "improved", "unchanged", "deteriorated")
        }
        out.append(
            {
                "therapist": t.username if t else "all supervisees",
                "clients": suppress(len(mine)),
                "open": suppress(len(open_rows)),
                "lights": {k: suppress(v) for k, v in lights.items()},
                "ruptures": suppress(ruptures),
                "repaired": suppress(repaired),
                "repair_rate": rate(repaired, ruptures),
                "outcomes": {k: suppress(v) for k, v in classes.items()},
                "outcomes_n": suppress(sum(classes.values())),
                "improved_rate": rate(classes["recovered"] + classes["improved"], sum(classes.values())),
            }
        )
    record(db, who_of(actor), "supervision.view", "user", actor.user_id, detail={"clients": len(rows)})
    return {"rows": out, "suppress_below": SUPPRESS_BELOW, "rule": ov.HEADLINE_RULE}


def _period(d: Any) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def clinic_report(db: Session, actor: Actor) -> dict[str, Any]:
    """Reliable change and recovery (Jacobson & Truax 1991) of closed episodes by quarter, with Wilson CIs.

    Aggregates only: the query reads episodes, sessions and scores, never names (a researcher may
    see it); cells below :data:`SUPPRESS_BELOW` are suppressed.
    """
    from sciplab.scoring.change import instrument_client_change

    require(actor, "reports.clinic")
    episodes = db.scalars(select(Episode).where(Episode.ended_on.is_not(None)).order_by(Episode.ended_on)).all()
    period_of = {e.id: _period(e.ended_on) for e in episodes}
    epdata = vdata.load(db, episodes)
    tables = []
    for measure in ov.OUTCOME_MEASURES:
        long = vdata.series(epdata.scores, measure, end=True)
        if long.empty:
            continue
        by_ep = epdata.scores.drop_duplicates("client")[["client", "episode"]]
        long = long.merge(
            epdata.scores[["client", "episode", "session"]].drop_duplicates(["client", "session"]),
            on=["client", "session"],
        )
        long = long.rename(columns={"client": "client_id"}).rename(columns={"episode": "client"})
        counts = long.groupby("client").size()
        long = long[long["client"].isin(counts.index[counts >= 2])]
        if long.empty:
            continue
        found = ov.instrument_scale(measure)
        assert found is not None  # noqa: S101 - OUTCOME_MEASURES are shipped scales
        inst, scale = found
        try:
            res = instrument_client_change(long, client="client", session="session", instrument=inst, scale=scale.name)
        except SciplabError as exc:
            tables.append({"measure": measure, "rows": [], "details": {}, "note": str(exc)})
            continue
        t = res.table.dropna(subset=["classification"]).copy()
        t["period"] = t["client"].map(period_of)
        cutoff, worse = res.details["cutoff"], res.details["higher_is_worse"]
        rows = []
        for period, grp in [*t.groupby("period", sort=True), ("all periods", t)]:
            n = len(grp)
            cls = grp["classification"].astype(str)
            eligible = (
                int(((grp["pre"] >= cutoff) if worse else (grp["pre"] <= cutoff)).sum()) if cutoff is not None else 0
            )
            rows.append(
                {
                    "period": period,
                    "n": suppress(n),
                    "reliable_improvement": rate(int(cls.isin(["recovered", "improved"]).sum()), n),
                    "recovery": rate(int((cls == "recovered").sum()), eligible),
                    "eligible": suppress(eligible),
                    "deterioration": rate(int((cls == "deteriorated").sum()), n),
                }
            )
        tables.append({"measure": measure, "rows": rows, "details": res.details})
        del by_ep
    record(db, who_of(actor), "report.clinic", "clinic", "", detail={"episodes": len(episodes)})
    return {"tables": tables, "episodes": len(episodes), "suppress_below": SUPPRESS_BELOW}
