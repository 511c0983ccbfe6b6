"""Server-side render time of the client page (issue 15: < 150 ms for 40 sessions and 6 instruments).

A client with 40 sessions and 6 instruments (CORE-10 and WAI-SR every session; ECR-S, PSSE, MSPSS
and IIP-SC at intake and every tenth session: 101 questionnaires, all scored through
``sciplab.score``) in a fresh SQLite clinic; then ``GET /clients/{id}`` 200 times through the ASGI
app in process (Starlette's TestClient: routing, authentication, the audit entry, the queries, every
engine call and the Jinja template; no network). Reported: p50 and p95 of wall and CPU time per
request, the first request apart (imports, the default reference); the same page with the overview
cache (:mod:`sciplab.web.views.cache`) cleared before every request (the first view after new data),
and with the formulation cache cleared too; and the page again after ``gc.freeze()`` (Python's full
garbage collections of the start-up heap are most of the tail).
Peers measured in the same run: the record-only JSON of the client (``GET /api/v1/clients/{id}``,
the page's database work without the analyses) and ``/healthz`` (the stack's floor).

Run: ``uv run --group dev python benchmarks/bench_client_page.py [--requests 200]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import tempfile
import time

import numpy as np

SESSIONS = 40
SCIP = {"ECR-S": (1, 7, 12), "PSSE": (1, 5, 25), "MSPSS": (1, 7, 12), "IIP-SC": (0, 4, 32)}


def build(url: str, seed: int = 7) -> tuple[object, int]:
    """A migrated clinic with one therapist and the benchmark client; returns the app and the client id."""
    from sciplab.web import migrate
    from sciplab.web.app import create_app
    from sciplab.web.audit.service import Who
    from sciplab.web.auth.passwords import Hasher
    from sciplab.web.auth.service import create_user
    from sciplab.web.measures.service import score_and_store_many
    from sciplab.web.models import Client, ClientIdentity, Episode, Response, TherapySession
    from sciplab.web.settings import Settings

    rng = np.random.default_rng(seed)
    migrate.upgrade(url)
    app = create_app(Settings(db=url, argon2_time_cost=1, argon2_memory_kib=64, secret_key="bench", require_2fa=False))
    start = dt.date.today() - dt.timedelta(weeks=SESSIONS + 1)
    with app.state.clinic.tx() as db:
        t = create_user(db, Hasher(1, 64), Who(), username="t1", password="benchmark password", role="therapist")
        c = Client(code="C-BENCH1", therapist_id=t.id)
        db.add(c)
        db.flush()
        db.add(ClientIdentity(client_id=c.id, name="Bench Client"))
        ep = Episode(client_id=c.id, started_on=start)
        db.add(ep)
        db.flush()
        pending: dict[str, tuple[list, list]] = {}

        def add(inst: str, values: dict, when: dt.date, session: TherapySession | None) -> None:
            r = Response(client_id=c.id, episode_id=ep.id, session_id=session.id if session else None,
                         instrument_id=inst, source="bench",
                         submitted_at=dt.datetime.combine(when, dt.time(9), tzinfo=dt.UTC))  # fmt: skip
            db.add(r)
            db.flush()
            pending.setdefault(inst, ([], []))[0].append(r)
            pending[inst][1].append(values)

        for inst, (lo, hi, k) in SCIP.items():
            add(inst, {i: int(rng.integers(lo, hi + 1)) for i in range(1, k + 1)}, start, None)
        add("CORE-10", {i: (0 if i == 6 else 3) for i in range(1, 11)}, start, None)
        for n in range(1, SESSIONS + 1):
            when = start + dt.timedelta(weeks=n)
            s = TherapySession(episode_id=ep.id, number=n, date=when, therapist_alliance=int(rng.integers(5, 10)),
                               distance_rating=int(rng.integers(3, 6)))  # fmt: skip
            db.add(s)
            db.flush()
            level = max(0, 3 - n // 12)
            core = {i: 0 if i == 6 else int(min(4, max(0, level + rng.integers(-1, 2)))) for i in range(1, 11)}
            add("CORE-10", core, when, s)
            add("WAI-SR", {i: int(rng.integers(3, 6)) for i in range(1, 13)}, when, s)
            if n % 10 == 0:
                for inst, (lo, hi, k) in SCIP.items():
                    add(inst, {i: int(rng.integers(lo, hi + 1)) for i in range(1, k + 1)}, when, s)
        for responses, values in pending.values():
            score_and_store_many(db, responses, values)
        n_resp = sum(len(v[0]) for v in pending.values())
    print(f"client: {SESSIONS} sessions, {len(SCIP) + 2} instruments, {n_resp} questionnaires")
    return app, c.id


def timed(get, path: str, n: int, before=None) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(n):
        if before:
            before()
        w0, c0 = time.perf_counter(), time.process_time()
        r = get(path)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
        assert r.status_code == 200, r.text[:500]
    return walls, cpus


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    w_all, c_all = time.perf_counter(), time.process_time()
    from fastapi.testclient import TestClient

    from sciplab.web.views import overview

    with tempfile.TemporaryDirectory() as d:
        app, cid = build(f"sqlite:///{os.path.join(d, 'bench.db')}")
        http = TestClient(app)
        assert (
            http.post("/api/v1/session", json={"username": "t1", "password": "benchmark password"}).status_code == 200
        )
        w0, c0 = time.perf_counter(), time.process_time()
        first = http.get(f"/clients/{cid}")
        assert first.status_code == 200 and "The SCIP chain" in first.text
        w1, c1 = 1000 * (time.perf_counter() - w0), 1000 * (time.process_time() - c0)
        print(f"first request (imports, default reference, formulation): wall {w1:.0f} ms, CPU {c1:.0f} ms")
        n = args.requests
        cache = app.state.overview_cache  # the per-app overview cache (sciplab.web.views.cache)
        rows = {
            "client page (overview cached)": timed(http.get, f"/clients/{cid}", n),
            "client page, overview recomputed": timed(http.get, f"/clients/{cid}", n, cache.clear),
            "client page, overview + formulation recomputed": timed(
                http.get, f"/clients/{cid}", n, lambda: (cache.clear(), overview._formulations.clear())
            ),
            "overview JSON": timed(http.get, f"/api/v1/clients/{cid}/overview", n),
            "peer: record-only JSON": timed(http.get, f"/api/v1/clients/{cid}", n),
            "peer: /healthz": timed(http.get, "/healthz", n),
        }
        # full collections of the large heap (pandas, SciPy) make the tail: a server can freeze the start-up heap
        gc.collect()
        gc.freeze()
        rows["client page, start-up heap frozen (gc)"] = timed(http.get, f"/clients/{cid}", n)
        gc.unfreeze()
        app.state.clinic.engine.dispose()
    base = statistics.median(rows["peer: record-only JSON"][1])
    print(f"{n} requests each; load average {os.getloadavg()[0]:.1f} (2 shared cores: trust CPU times and ratios)")
    print(f"{'':42} {'wall p50':>9} {'wall p95':>9} {'CPU p50':>9} {'CPU p95':>9}  CPU p50 / record-only")
    for name, (walls, cpus) in rows.items():
        print(f"{name:42} {pct(walls, 50):7.1f}ms {pct(walls, 95):7.1f}ms {pct(cpus, 50):7.1f}ms {pct(cpus, 95):7.1f}ms"
              f"  {statistics.median(cpus) / base:6.2f}x")  # fmt: skip
    for name in ("client page (overview cached)", "client page, overview recomputed",
                 "client page, start-up heap frozen (gc)"):  # fmt: skip
        verdict = "met" if pct(rows[name][1], 95) < 150 else "NOT met"
        print(f"target < 150 ms, CPU p95 of {name!r}: {verdict}")
    print(f"whole process: wall {time.perf_counter() - w_all:.1f} s, CPU {time.process_time() - c_all:.1f} s")


if __name__ == "__main__":
    main()
