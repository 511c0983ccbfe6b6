"""A throwaway demo clinic seeded from the SCIP simulation (``sciplab serve --demo``).

:func:`seed` runs :func:`sciplab.sim.simulate` and turns its clients into a clinic: one supervisor
with two therapists, an admin (granted clinical access, so the clinic report shows) and a
researcher; every simulated client becomes a client (a pseudonymous code and a made-up name) with
an episode of care and, from the simulation's item responses, scored through :func:`sciplab.score`
(alerts raised by its item flags):

* intake: PHQ-9, CORE-10 and the SCIP chain (ECR-S attachment, PSSE social self-efficacy, MSPSS
  perceived support, IIP-SC interpersonal octants);
* every session: CORE-10 and the client's WAI-SR, the therapist's distance rating
  (``therapist_distance_rating``) and alliance rating (the simulated alliance on the 0-10 item);
* two clients in three have finished: their episode is closed (end dates spread over the past
  fifteen months) with the simulation's follow-up questionnaires; the others are mid-therapy (their
  first 4 to 15 sessions, the latest one last week).

Ruptures come from the simulation's alliance process, so some are repaired and some are not. Two-
factor sign-in is turned off for the demo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from sqlalchemy.orm import Session

from sciplab.web.audit.service import Who, record
from sciplab.web.auth.passwords import Hasher
from sciplab.web.auth.service import count_users, create_user, put_setting
from sciplab.web.clients.service import new_code
from sciplab.web.errors import Conflict
from sciplab.web.measures.service import instrument, score_and_store_many
from sciplab.web.models import Alert, Assignment, Client, ClientIdentity, Episode, Response, TherapySession

DEMO_PASSWORD = "scip demo clinic"  # noqa: S105 - the throwaway demo clinic prints it on purpose
DEMO_USERS = (
    ("admin", "admin", None),  # granted clinical access below
    ("supervisor", "supervisor", None),
    ("therapist1", "therapist", "supervisor"),
    ("therapist2", "therapist", "supervisor"),
    ("researcher", "researcher", None),
)
#: Questionnaires at intake (and, for a closed episode, at the end): instrument id -> item column prefix.
INTAKE = {"PHQ-9": "PHQ9", "CORE-10": "CORE10", "ECR-S": "ECRS", "PSSE": "PSSE", "MSPSS": "MSPSS", "IIP-SC": "IIPSC"}
FIRST = ("Alex", "Sam", "Robin", "Charlie", "Jamie", "Morgan", "Taylor", "Jordan", "Casey", "Riley", "Quinn", "Avery")
LAST = ("Rivera", "Okafor", "Lindqvist", "Nakamura", "Byrne", "Haddad", "Novak", "Moreau", "Silva", "Kowalski")


@dataclasses.dataclass(frozen=True)
class DemoClinic:
    """What was seeded: logins ``(username, role, password)``, counts and the simulation seed."""

    logins: tuple[tuple[str, str, str], ...]
    clients: int
    sessions: int
    responses: int
    alerts: int
    seed: int


def _values(row: Any, prefix: str, numbers: tuple[int, ...]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for n in numbers:
        v = row.get(f"{prefix}_{n:02d}")
        out[n] = None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
    return out


def seed(db: Session, hasher: Hasher, *, n_agents: int = 150, years: float = 1.0, seed: int = 3) -> DemoClinic:
    """Seed an empty clinic database (Conflict when it already has users)."""
    from sciplab.sim import simulate

    if count_users(db):
        raise Conflict("the demo seeds an empty clinic only: this database already has users (give another --db)")
    who = Who(username="demo-seed")
    users = {}
    for username, role, supervisor in DEMO_USERS:
        users[username] = create_user(
            db,
            hasher,
            who,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            supervisor=supervisor,
            display_name=username.capitalize(),
        )
    put_setting(db, "require_2fa", "false")
    record(db, who, "settings.change", "setting", "require_2fa", detail={"value": "false", "why": "demo"})
    users["admin"].clinical_access = True
    record(db, who, "user.change", "user", users["admin"].id, detail={"clinical_access": True, "why": "demo"})

    sim = simulate(n_agents, years=years, seed=seed, instruments=list(INTAKE))
    persons = sim.persons[sim.persons["in_therapy"].astype(bool)]
    waves = {
        wave: {k: v[v["wave"] == wave].set_index("person_id") for k, v in sim.items.items()}
        for wave in ("baseline", "followup")
    }
    sessions_by_person = {pid: g.sort_values("session") for pid, g in sim.sessions.groupby("person_id")}
    therapists = [users["therapist1"], users["therapist2"]]
    today = dt.date.today()
    pending: dict[str, tuple[list[Response], list[dict[int, int | None]]]] = {}
    n_sessions = 0
    for i, pid in enumerate(persons["person_id"]):
        sess_rows = sessions_by_person.get(pid)
        closed = sess_rows is not None and i % 3 != 0
        if sess_rows is not None and not closed:
            sess_rows = sess_rows.iloc[: 4 + (i * 5) % 12]  # mid-therapy: the first 4-15 sessions
        n = 0 if sess_rows is None else len(sess_rows)
        offset = (i * 11) % 60 + 2 if closed else 0  # closed episodes end over the past fifteen months
        start = today - dt.timedelta(weeks=n + 1 + offset)
        client = Client(code=new_code(db), therapist_id=therapists[i % 2].id, gender="", birth_year=None)
        db.add(client)
        db.flush()
        db.add(
            ClientIdentity(
                client_id=client.id, name=f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} (demo)"
            )
        )
        ep = Episode(client_id=client.id, started_on=start)
        db.add(ep)
        db.flush()
        db.add_all(
            [
                Assignment(episode_id=ep.id, instrument_id="PHQ-9", schedule="intake"),
                Assignment(episode_id=ep.id, instrument_id="CORE-10", schedule="every_session"),
                Assignment(episode_id=ep.id, instrument_id="WAI-SR", schedule="every_session"),
                *[
                    Assignment(episode_id=ep.id, instrument_id=k, schedule="intake")
                    for k in ("ECR-S", "PSSE", "MSPSS", "IIP-SC")
                ],
                *[
                    Assignment(episode_id=ep.id, instrument_id=k, schedule="end")
                    for k in ("ECR-S", "PSSE", "MSPSS", "IIP-SC")
                ],
            ]
        )
        _wave(db, pending, client, ep, waves["baseline"], pid, start)
        if sess_rows is None:
            continue
        for _, srow in sess_rows.iterrows():
            number = int(srow["session"])
            alliance = srow.get("latent_alliance")
            ts = TherapySession(
                episode_id=ep.id,
                number=number,
                date=start + dt.timedelta(weeks=number),
                distance_rating=int(srow["therapist_distance_rating"]),
                therapist_alliance=None if alliance is None else int(min(10, max(0, round(10 * float(alliance))))),
            )
            db.add(ts)
            db.flush()
            n_sessions += 1
            row = srow.to_dict()
            for inst_id, prefix in (("CORE-10", "CORE10"), ("WAI-SR", "WAISR")):
                values = _values(row, prefix, instrument(inst_id).item_numbers)
                _add(db, pending, client, ep, ts, inst_id, values, ts.date)
        if closed:
            ep.ended_on = start + dt.timedelta(weeks=n + 1)
            _wave(db, pending, client, ep, waves["followup"], pid, ep.ended_on)
    raised: list[Alert] = []
    responses = 0
    for resp, values in pending.values():
        raised += score_and_store_many(db, resp, values)
        responses += len(resp)
    _acknowledge_past(db, raised)
    alerts = sum(1 for a in raised if a.acknowledged_at is None)
    record(db, who, "demo.seed", "clinic", "", detail={"clients": len(persons), "seed": seed})
    return DemoClinic(
        logins=tuple((u, r, DEMO_PASSWORD) for u, r, _ in DEMO_USERS),
        clients=len(persons),
        sessions=n_sessions,
        responses=responses,
        alerts=alerts,
        seed=seed,
    )


def _wave(
    db: Session,
    pending: dict[str, tuple[list[Response], list[dict[int, int | None]]]],
    client: Client,
    ep: Episode,
    items: dict[str, Any],
    pid: Any,
    when: dt.date,
) -> None:
    """The questionnaires of one simulated wave (baseline or follow-up) as responses without a session."""
    for inst_id, prefix in INTAKE.items():
        table = items.get(inst_id)
        if table is not None and pid in table.index:
            values = _values(table.loc[pid].to_dict(), prefix, instrument(inst_id).item_numbers)
            if any(v is not None for v in values.values()):
                _add(db, pending, client, ep, None, inst_id, values, when)


def _add(
    db: Session,
    pending: dict[str, tuple[list[Response], list[dict[int, int | None]]]],
    client: Client,
    ep: Episode,
    ts: TherapySession | None,
    inst_id: str,
    values: dict[int, int | None],
    when: dt.date,
) -> None:
    at = dt.datetime.combine(when, dt.time(10, 0), tzinfo=dt.UTC)
    resp = Response(
        client_id=client.id,
        episode_id=ep.id,
        session_id=ts.id if ts else None,
        instrument_id=inst_id,
        source="demo",
        submitted_at=at,
    )
    db.add(resp)
    db.flush()
    bucket = pending.setdefault(inst_id, ([], []))
    bucket[0].append(resp)
    bucket[1].append(values)


def _acknowledge_past(db: Session, alerts: list[Alert]) -> None:
    """In the demo, alerts count as handled by the therapist except those of an open episode's latest questionnaire."""
    from sqlalchemy import func, select

    latest = dict(
        db.execute(select(Response.client_id, func.max(Response.submitted_at)).group_by(Response.client_id)).all()
    )
    therapist = dict(db.execute(select(Client.id, Client.therapist_id)).all())
    closed = set(db.scalars(select(Episode.id).where(Episode.ended_on.is_not(None))))
    for alert in alerts:
        resp = db.get(Response, alert.response_id)
        if resp is not None and (resp.submitted_at < latest[alert.client_id] or resp.episode_id in closed):
            alert.acknowledged_at = resp.submitted_at + dt.timedelta(days=1)
            alert.acknowledged_by = therapist[alert.client_id]
            alert.action_taken = "Risk assessed in session; safety plan reviewed (demo)"
    db.flush()
