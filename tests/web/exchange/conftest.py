"""A small hand-made caseload for the exchange tests: two therapists, a supervisor, a researcher.

``t1`` has Jane Doe (CORE-10 at three sessions 24 -> 18 -> 9, PHQ-9 twice, ECR-S and MSPSS once,
session notes with free text); ``t2`` has John Roe (CORE-10 twice). Identifiers that must never
leave in a research export are in :data:`SECRET_WORDS`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sciplab.web.clients import service as clients
from sciplab.web.measures import service as measures
from sciplab.web.models import Client, Response
from sciplab.web.policy import Actor

from ..conftest import add_user, sign_in

NOTE = "Talked about her sister Margaret in Zurich"
SECRET_WORDS = ("Jane", "Doe", "John", "Roe", "Margaret", "Zurich", "jane@example.org", "1987")
START = dt.date(2025, 3, 3)


def core10(total: int) -> dict[str, int]:
    """CORE-10 answers scoring ``total``: the reversed items 2 and 3 at the midpoint 2, risk item 6 at 0."""
    answers, left = {"2": 2, "3": 2, "6": 0}, total - 4
    for item in (1, 4, 5, 7, 8, 9, 10):
        answers[str(item)] = min(4, left)
        left -= answers[str(item)]
    assert left == 0
    return answers


@pytest.fixture
def caseload(app: Any) -> dict[str, Any]:
    """Users and two clients with scored measures; returns ids and actors."""
    ids = {
        "sup": add_user(app, "sup", "supervisor"),
        "res": add_user(app, "res", "researcher"),
        "adm": add_user(app, "adm", "admin"),
    }
    ids["t1"] = add_user(app, "t1", supervisor="sup")
    ids["t2"] = add_user(app, "t2")
    t1 = Actor(ids["t1"], "t1", "therapist")
    t2 = Actor(ids["t2"], "t2", "therapist")
    with app.state.clinic.tx() as db:
        jane = clients.create_client(
            db, t1, name="Jane Doe", contact="jane@example.org", gender="f", birth_year=1987, started_on=START
        )
        john = clients.create_client(db, t2, name="John Roe", gender="m", birth_year=1990, started_on=START)
        sessions = []
        for k, total in enumerate((24, 18, 9)):
            s = clients.add_session(
                db,
                t1,
                jane.id,
                date=START + dt.timedelta(weeks=k + 1),
                therapist_alliance=7,
                distance_rating=4,
                note=NOTE,
            )
            sessions.append(s)
            measures.manual_entry(db, t1, jane.id, "CORE-10", core10(total), s.id)
        measures.manual_entry(db, t1, jane.id, "PHQ-9", {str(i): 2 for i in range(1, 10)}, sessions[0].id)
        measures.manual_entry(db, t1, jane.id, "PHQ-9", {str(i): 1 for i in range(1, 10)}, sessions[2].id)
        measures.manual_entry(
            db, t1, jane.id, "ECR-S", {str(i): 5 if i % 2 else 2 for i in range(1, 13)}, sessions[0].id
        )
        measures.manual_entry(db, t1, jane.id, "MSPSS", {str(i): 3 for i in range(1, 13)}, sessions[0].id)
        for k, total in enumerate((20, 15)):
            s = clients.add_session(db, t2, john.id, date=START + dt.timedelta(weeks=k + 2), note="Roe family")
            measures.manual_entry(db, t2, john.id, "CORE-10", core10(total), s.id)
        codes = {"jane": jane.code, "john": john.code}
        ids.update(jane=jane.id, john=john.id)
    return {"ids": ids, "codes": codes, "t1": t1, "t2": t2}


def signed(app: Any, username: str) -> tuple[Any, str]:
    """A TestClient signed in as ``username`` (password of the conftest) and its CSRF token."""
    return sign_in(app, username)


def responses_of(app: Any, client_id: int) -> int:
    from sqlalchemy import func, select

    with app.state.clinic.tx() as db:
        return int(db.scalar(select(func.count(Response.id)).where(Response.client_id == client_id)) or 0)


__all__ = ["NOTE", "SECRET_WORDS", "START", "Client", "caseload", "core10", "responses_of", "signed"]
