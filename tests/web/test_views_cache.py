"""The per-worker cache of the client overview: the same page as a fresh build, never stale, never past the policy."""

from __future__ import annotations

import re

from sqlalchemy import event, select

from sciplab.web import ops
from sciplab.web.models import AuditEntry, Episode, TherapySession
from sciplab.web.views import cache as vcache

from .conftest import add_user, new_link, sign_in
from .test_views import H, answer, build, core10, wai


def _cache(app):
    return app.state.overview_cache


def _alliance_row(page: str, session: int) -> str:
    """The alliance table's row of ``session`` (session, client POMP, therapist POMP, distance)."""
    m = re.search(rf"<tr><td>{session}</td><td>[^<]*</td><td>[^<]*</td><td>[^<]*</td></tr>", page)
    assert m, page[-3000:]
    return m.group(0)


def test_cached_page_is_the_fresh_page(app, therapist, monkeypatch):
    http, csrf = therapist
    cid = build(http, csrf, "Cached Client", core=[24, 22, 20, 18], alliance=[40, 42, 30, 44], therapist=[7, 7, 6, 8],
                distance=[4, 4, 5, 4])  # fmt: skip
    cache = _cache(app)
    cache.clear()
    first = http.get(f"/clients/{cid}").text  # computed, then kept
    second = http.get(f"/clients/{cid}").text  # from the cache
    assert (cache.misses, cache.hits) == (1, 1)
    assert "The SCIP chain" in first and "<svg" in first
    # an uncached build: the cache consulted never, the analyses rendered inside the page's own template
    monkeypatch.setattr(vcache, "analyses_html", lambda *a: None)
    cache.clear()
    monkeypatch.setattr(cache, "get", lambda key: None)
    fresh = http.get(f"/clients/{cid}").text
    assert first == second == fresh
    js = http.get(f"/api/v1/clients/{cid}/overview").json()
    assert js["chain"] and js["outcome"]["measure"] == "CORE-10_total"


def test_a_new_questionnaire_shows_at_once(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Submitting Client", core=[24, 22, 20], alliance=[40, 42])
    before = http.get(f"/api/v1/clients/{cid}/overview").json()
    assert http.get(f"/api/v1/clients/{cid}/overview").json() == before  # cached, the same
    assert _cache(app).hits >= 1
    # the client answers a CORE-10 by link (no session: the end of the episode)
    token = new_link(http, csrf, cid, "CORE-10")
    r = http.post(f"/api/v1/questionnaires/{token}", json={"answers": core10(5)})
    assert r.status_code == 200, r.text
    after = http.get(f"/api/v1/clients/{cid}/overview").json()
    core = {c["column"]: c for c in after["chain"]}["CORE-10_total"]
    assert core["latest"] == 5.0 and {c["column"]: c for c in before["chain"]}["CORE-10_total"]["latest"] == 20.0
    # and one entered by the therapist in a new session
    sid = http.post(f"/api/v1/clients/{cid}/sessions", json={"therapist_alliance": 9}, headers={H: csrf}).json()["id"]
    answer(http, csrf, cid, "WAI-SR", wai(60), session_id=sid)
    page = http.get(f"/clients/{cid}").text
    assert _alliance_row(page, 3) == "<tr><td>3</td><td>100.0</td><td>90.0</td><td>–</td></tr>"


def test_an_edited_session_rating_shows_at_once(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Edited Client", core=[24, 22, 20], alliance=[40, 42], therapist=[7, 7])
    assert _alliance_row(http.get(f"/clients/{cid}").text, 2).endswith("<td>70.0</td><td>–</td></tr>")
    assert _alliance_row(http.get(f"/clients/{cid}").text, 2).endswith("<td>70.0</td><td>–</td></tr>")  # cached
    with app.state.clinic.tx() as db:
        ep = db.scalar(select(Episode).where(Episode.client_id == cid))
        s = db.scalar(select(TherapySession).where(TherapySession.episode_id == ep.id, TherapySession.number == 2))
        assert s.version == 1
        s.therapist_alliance = 3  # any ORM edit of a session bumps its version
    with app.state.clinic.tx() as db:
        assert db.scalar(select(TherapySession.version).where(TherapySession.id == s.id)) == 2
    assert _alliance_row(http.get(f"/clients/{cid}").text, 2).endswith("<td>30.0</td><td>–</td></tr>")


def test_closing_a_case_recomputes_the_overview(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Open Client", core=[24, 22, 20], alliance=[40, 42])
    other = build(http, csrf, "Closing Client", core=[20, 10])
    cache = _cache(app)
    http.get(f"/clients/{cid}")
    misses = cache.misses
    http.get(f"/clients/{cid}")
    assert cache.misses == misses
    # another case closes: the reference choice (closed cases) may change, so the overview is recomputed
    assert http.post(f"/api/v1/clients/{other}/episode/end", json={}, headers={H: csrf}).status_code == 200
    http.get(f"/clients/{cid}")
    assert cache.misses == misses + 1
    with app.state.clinic.tx() as db:
        ep = db.scalar(select(Episode).where(Episode.client_id == cid))
        key = vcache.fingerprint(db, ep)
    http.get(f"/clients/{cid}")
    assert cache.misses == misses + 1 and key in cache._entries


def test_the_policy_comes_before_the_cache(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Private Client", core=[24, 22, 20], alliance=[40, 42])
    assert http.get(f"/clients/{cid}").status_code == 200
    assert http.get(f"/clients/{cid}").status_code == 200  # now cached
    add_user(app, "t2")
    other, _ = sign_in(app, "t2")
    assert other.get(f"/clients/{cid}").status_code == 403
    assert other.get(f"/api/v1/clients/{cid}/overview").status_code == 403
    with app.state.clinic.tx() as db:
        rows = db.scalars(select(AuditEntry).where(AuditEntry.outcome == "denied")).all()
        assert sum(1 for a in rows if a.username == "t2") == 2
        views = db.scalars(select(AuditEntry).where(AuditEntry.action == "client.view")).all()
    assert sum(1 for a in views if a.username == "t1" and a.record_id == str(cid)) >= 2  # audited every time


def test_fingerprint_is_one_query(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Query Client", core=[24, 22], alliance=[40])
    statements = []
    engine = app.state.clinic.engine
    with app.state.clinic.tx() as db:
        ep = db.scalar(select(Episode).where(Episode.client_id == cid))

        def count(*args):
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            key = vcache.fingerprint(db, ep)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert key[0] == ep.id and key[4] >= 3  # three responses (two CORE-10, one WAI-SR)


def test_fingerprint_parts_are_what_the_services_would_read(app, therapist):
    """The counts the overview takes from its fingerprint equal the services' own queries."""
    from sqlalchemy import func

    from sciplab.web.views import service as vservice

    http, csrf = therapist
    cid = build(http, csrf, "Parts Client", core=[24, 22, 20], alliance=[40, 42, 35])
    with app.state.clinic.tx() as db:
        ep = db.scalar(select(Episode).where(Episode.client_id == cid))
        parts = vcache.fingerprint_parts(vcache.fingerprint(db, ep))
        closed = db.scalar(select(func.count(Episode.id)).where(Episode.ended_on.is_not(None)))
        sub = vservice._ALLIANCE_SCORES.subquery()
        alliance = tuple(int(v or 0) for v in db.execute(select(func.count(), func.max(sub.c.id))).one())
        assert parts == {"closed_episodes": closed, "alliance": alliance}
        assert alliance[0] == 3
        vservice._sd_cache.clear()
        assert vservice.alliance_sd_ref(db, parts["alliance"]) == vservice.alliance_sd_ref(db)
        assert vservice.choose_reference(db, "CORE-10_total", parts["closed_episodes"]) == vservice.choose_reference(
            db, "CORE-10_total"
        )


def test_cache_is_bounded():
    cache = vcache.OverviewCache(max_entries=2)
    for k in range(3):
        cache.put((k,), vcache.Entry(k))
    assert len(cache) == 2 and cache.get((0,)) is None and cache.get((2,)).overview == 2
    assert (cache.hits, cache.misses) == (1, 1)
    cache.get((1,))  # 1 most recently used: 2 goes next
    cache.put((3,), vcache.Entry(3))
    assert cache.get((2,)) is None and cache.get((1,)) is not None


def test_startup_heap_frozen_once_and_not_under_tests(monkeypatch):
    calls = []
    monkeypatch.setattr("gc.collect", lambda: calls.append("collect"))
    monkeypatch.setattr("gc.freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(ops, "_frozen", False)
    assert ops.freeze_startup_heap(lambda: calls.append("warm")) is False  # pytest is imported: left alone
    assert calls == []
    monkeypatch.setenv("SCIPLAB_GC_FREEZE", "0")
    assert ops.freeze_startup_heap(under_tests=False) is False
    monkeypatch.delenv("SCIPLAB_GC_FREEZE")
    assert ops.freeze_startup_heap(lambda: calls.append("warm"), under_tests=False) is True
    assert calls == ["warm", "collect", "freeze"]
    assert ops.freeze_startup_heap(under_tests=False) is False  # once per process
    assert calls == ["warm", "collect", "freeze"]


def test_page_reads_do_not_hold_the_write_lock(app, therapist):
    """The client page's data transaction (Clinic.read) leaves the one writer free (SQLite: deferred BEGIN)."""
    from sqlalchemy import text

    http, csrf = therapist
    cid = build(http, csrf, "Reader Client", core=[24, 22], alliance=[40])
    clinic = app.state.clinic
    with clinic.read() as db:
        assert db.scalar(select(Episode.id).where(Episode.client_id == cid)) is not None
        with clinic.tx() as writer:  # would wait out the busy timeout if the reader held the write lock
            writer.execute(text("UPDATE therapy_sessions SET note = 'x' WHERE id = -1"))
    assert http.get(f"/clients/{cid}").status_code == 200
