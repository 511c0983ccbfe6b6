"""Load test of SCIP Clinic over loopback: simulated users against a real Uvicorn server in a subprocess.

Each simulated user is a closed loop until the time is up: a think time (uniform 0 to ``--think`` s, mean
half of it), then one of two tasks at random:

* a **client** opens a questionnaire link (``GET /q/{token}``, the page) and submits the answers
  (``POST /api/v1/questionnaires/{token}``), a fresh single-use link each time;
* a **therapist** opens a client's page (``GET /clients/{id}``, signed in).

Reported per database (SQLite file; PostgreSQL at ``--pg`` in a fresh database that is dropped
afterwards) and per number of users (default 50, 100, 200): requests, errors (any non-2xx answer or
connection failure), throughput, p50/p95/p99 latency per request kind, the server's CPU time (all
workers), on PostgreSQL the database server's own CPU (all its processes on this machine, per request)
and the load average at start and end: the machine is shared, so wall figures move with the load. Before
the levels, each database's server CPU per request of each kind is measured one request at a time
(``--calibrate`` requests each: the questionnaire page, the submission, the client page right after a
new questionnaire of that client, i.e. recomputed, and the same page again, i.e. from the overview
cache; ``/healthz`` as the floor), the figure that carries over to a quiet machine. The client is a
small asyncio HTTP/1.1 client with keep-alive (little CPU, so the server gets the cores; its own CPU
share is printed). Bounded: ``--seconds`` per level (default 8) plus start-up.

    uv run --group dev python benchmarks/bench_clinic_load.py [--users 50,100,200] [--seconds 8]
        [--workers 2] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test | --no-pg] [--calibrate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

SECRET = "bench-secret-key-0123456789abcdefghij"
ANSWERS = json.dumps({"answers": {str(i): i % 4 for i in range(1, 10)}}).encode()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, n_links: int) -> tuple[list[str], list[int], list[str]]:
    """Therapists with sessions, 60 clients each with a PHQ-9 intake, ``n_links`` fresh links."""
    from sciplab.web import migrate
    from sciplab.web.audit.service import Who
    from sciplab.web.auth.passwords import Hasher
    from sciplab.web.auth.service import create_user, token_hash
    from sciplab.web.clients.service import create_client
    from sciplab.web.db import make_engine, session_factory
    from sciplab.web.measures.service import create_link
    from sciplab.web.models import AuthSession
    from sciplab.web.policy import Actor

    migrate.upgrade(url)
    engine = make_engine(url)
    tokens, clients, cookies = [], [], []
    try:
        with session_factory(engine)() as s, s.begin():
            for t in range(5):
                user = create_user(s, Hasher(1, 64), Who(username="bench"), username=f"t{t}",
                                   password="bench passphrase", role="therapist")  # fmt: skip
                actor = Actor(user.id, user.username, "therapist")
                cookie = secrets.token_urlsafe(32)
                s.add(AuthSession(id=token_hash(cookie), user_id=user.id, csrf_token="x", stage="full"))
                cookies.append(cookie)
                for c in range(12):
                    client = create_client(s, actor, name=f"Bench Client {t}-{c}", birth_year=1980 + c)
                    clients.append((client.id, t))
                    for _ in range(n_links // 60 + 1):
                        tokens.append((create_link(s, actor, SECRET, client.id, "PHQ-9")[1], client.id, t))
    finally:
        engine.dispose()
    random.Random(3).shuffle(tokens)
    # the calibration (per-kind CPU) takes links off the end; the load levels use the rest, client unknown to them
    return tokens, clients, cookies  # type: ignore[return-value]


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: str = "") -> int:
        # Like a browser: an idle keep-alive connection the server has closed (Uvicorn closes after 5 s
        # idle, shorter than a user's think time) is replaced before use, and a reused connection that
        # closes before any byte of the answer is retried once on a new one (nothing was processed).
        if self.reader is not None and self.reader.at_eof():
            self.close()
        reused = self.writer is not None
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        try:
            self.writer.write(head.encode() + b"\r\n" + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
        except ConnectionError:
            status_line = b""
        if not status_line:
            self.close()
            if reused:
                return await self.request(method, path, body, headers)
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        if length:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = self.reader = None


async def user_loop(port: int, deadline: float, think: float, state: dict[str, Any], rng: random.Random) -> None:
    conn = Conn(port)
    try:
        while time.monotonic() < deadline:
            await asyncio.sleep(rng.uniform(0, think))
            if time.monotonic() >= deadline:
                break
            if rng.random() < 0.5 and state["tokens"]:
                token = state["tokens"].pop()[0]
                steps = [("q_page", "GET", f"/q/{token}", b""),
                         ("submit", "POST", f"/api/v1/questionnaires/{token}", ANSWERS)]  # fmt: skip
                headers = ""
            else:
                cid, t = rng.choice(state["clients"])
                steps = [("client_page", "GET", f"/clients/{cid}", b"")]
                headers = f"Cookie: sciplab_session={state['cookies'][t]}\r\n"
            for kind, method, path, body in steps:
                start = time.perf_counter()
                try:
                    status = await conn.request(method, path, body, headers)
                except (OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
                    conn.close()
                    status = 0
                state["lat"].setdefault(kind, []).append(time.perf_counter() - start)
                if not 200 <= status < 300:
                    state["errors"].append((kind, status))
    finally:
        conn.close()


def process_cpu(proc: Path) -> float | None:
    """CPU seconds (user + system) used so far by the process at ``proc`` (``/proc/<pid>``); None once it is gone."""
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server process and its workers (Linux /proc)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return float("nan")
    return sum(cpu for p in pids if (cpu := process_cpu(Path(f"/proc/{p}"))) is not None)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds used so far by each running PostgreSQL process (backends included; Linux /proc)."""
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if not (p / "comm").read_text().startswith("postgres"):
                    continue
            except OSError:
                continue
            if (cpu := process_cpu(p)) is not None:
                out[int(p.name)] = cpu
    return out


async def calibrate(port: int, pid: int, data: Any, n: int) -> dict[str, tuple[int, float]]:
    """Server CPU ms per request of each kind, one request at a time on one keep-alive connection.

    One connection stays with one worker, so its cache behaves as it would for one therapist: a
    client's page right after a questionnaire of that client is a cache miss (recomputed), the same
    page again is a hit. Each request's server CPU (all workers, /proc, 10 ms clock ticks) is summed
    over ``n`` requests of its kind: the ticks fall where the CPU was spent, so the sum is unbiased.
    """
    tokens, _, cookies = data
    conn = Conn(port)
    sums: dict[str, list[float]] = {}

    async def one(kind: str, method: str, path: str, body: bytes = b"", headers: str = "") -> None:
        c0 = server_cpu(pid)
        status = await conn.request(method, path, body, headers)
        sums.setdefault(kind, []).append(server_cpu(pid) - c0)
        if not 200 <= status < 300:
            raise SystemExit(f"calibration: {kind} answered {status}")

    try:
        for _ in range(n):
            token, cid, t = tokens.pop()
            cookie = f"Cookie: sciplab_session={cookies[t]}\r\n"
            await one("healthz", "GET", "/healthz")
            await one("q_page", "GET", f"/q/{token}")
            await one("submit", "POST", f"/api/v1/questionnaires/{token}", ANSWERS)
            await one("client_page (new data: computed)", "GET", f"/clients/{cid}", headers=cookie)
            await one("client_page (unchanged: cached)", "GET", f"/clients/{cid}", headers=cookie)
    finally:
        conn.close()
    return {k: (len(v), 1000 * sum(v) / len(v)) for k, v in sums.items()}


def demand(cal: dict[str, tuple[int, float]], levels: list[int], think: float, cores: int) -> str:
    """The CPU the task mix asks of the server at each level, from the per-kind CPU (no queueing assumed).

    A user starts a task every ``think / 2`` s on average (plus the answer times, taken as zero: an
    upper bound of the offered load); half the tasks are a questionnaire page and a submission, half a
    client page, which costs between the cached and the computed figure (how often it is cached
    depends on how often that client's data changed since the worker last drew it).
    """
    link = cal["q_page"][1] + cal["submit"][1]
    lo, hi = cal["client_page (unchanged: cached)"][1], cal["client_page (new data: computed)"][1]
    parts = []
    for users in levels:
        tasks = users / (think / 2)
        need = [tasks * 0.5 * (link + page) / 1000 for page in (lo, hi)]
        parts.append(f"{users} users: {need[0]:.1f}-{need[1]:.1f} cores")
    return (
        f"  CPU the mix asks for (offered load, no queueing; of {cores} cores): "
        + "; ".join(parts)
        + ". A p95 under 50 ms needs this well under the cores (roughly below 70 %) on an otherwise idle machine."
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))] * 1000


def run_level(
    url: str, users: int, seconds: float, workers: int, think: float, data: Any, calibration: int = 0
) -> dict[str, Any]:
    tokens, clients, cookies = data
    folder = Path(tempfile.mkdtemp(prefix="sciplab-bench-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    config = folder / "clinic.toml"
    config.write_text(f'[clinic]\ndb = "{url}"\nsecret_key = "{SECRET}"\nrequire_2fa = false\n', encoding="utf-8")
    port = _port()
    env = {**os.environ, "SCIPLAB_CONFIG": str(config)}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "--factory", "sciplab.web.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
         "--backlog", "4096"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).read()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.1)
        time.sleep(0.5 * workers)  # every worker up
        warm: dict[str, Any] = {"tokens": tokens, "clients": clients, "cookies": cookies, "lat": {}, "errors": []}

        async def warm_up() -> None:  # every worker imports and caches what the first requests need
            end = time.monotonic() + 3.0
            await asyncio.gather(*(user_loop(port, end, 0.05, warm, random.Random(i)) for i in range(2 * workers)))

        asyncio.run(warm_up())
        if calibration:
            return {"calibration": asyncio.run(calibrate(port, server.pid, data, calibration))}
        state: dict[str, Any] = {"tokens": tokens, "clients": clients, "cookies": cookies, "lat": {}, "errors": []}
        load0 = os.getloadavg()[0]
        db0 = postgres_cpu() if url.startswith("postgresql") else {}
        cpu0, client0 = server_cpu(server.pid), time.process_time()
        t0 = time.perf_counter()

        async def main() -> None:
            end = time.monotonic() + seconds
            rngs = [random.Random(1000 + i) for i in range(users)]  # noqa: S311 - simulation
            await asyncio.gather(*(user_loop(port, end, think, state, rngs[i]) for i in range(users)))

        asyncio.run(main())
        wall = time.perf_counter() - t0
        cpu1, client1 = server_cpu(server.pid), time.process_time()
        db1 = postgres_cpu() if url.startswith("postgresql") else {}
        load1 = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    all_lat = [v for vs in state["lat"].values() for v in vs]
    return {
        "users": users,
        "requests": len(all_lat),
        "errors": len(state["errors"]),
        "error_kinds": sorted({f"{k}:{s}" for k, s in state["errors"]})[:5],
        "throughput": len(all_lat) / wall,
        "p50": pct(all_lat, 50),
        "p95": pct(all_lat, 95),
        "p99": pct(all_lat, 99),
        "by_kind": {k: (len(v), pct(v, 50), pct(v, 95)) for k, v in state["lat"].items()},
        "server_cpu": cpu1 - cpu0,
        # every PostgreSQL process of the machine (other users of the server count too; a backend that ended during
        # the level does not: the app's pool keeps its connections)
        "db_cpu": sum(v - db0.get(pid, 0.0) for pid, v in db1.items()) if db1 else None,
        "busy": (cpu1 - cpu0) / wall / (os.cpu_count() or 1),
        "client_cpu": client1 - client0,
        "wall": wall,
        "load": (load0, load1),
    }


def pg_database(base: str) -> tuple[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(base)
    name = f"sciplab_bench_{os.getpid()}"
    info = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
            "dbname": u.database or "postgres", "connect_timeout": 3}  # fmt: skip
    with psycopg.connect(autocommit=True, **info) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(autocommit=True, **info) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return u.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False), drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", default="50,100,200")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--think", type=float, default=1.0, help="maximum think time in seconds (uniform)")
    ap.add_argument("--pg", default=os.environ.get("SCIPLAB_TEST_POSTGRES_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))  # fmt: skip
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--calibrate", type=int, default=100, help="requests per kind for the CPU per kind (0: skip)")
    args = ap.parse_args()
    levels = [int(u) for u in args.users.split(",")]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()} at start; {args.workers} Uvicorn "
          f"workers; think time uniform 0-{args.think} s; {args.seconds} s per level after a warm-up")  # fmt: skip
    dbs: list[tuple[str, str, Any]] = []
    folder = Path(tempfile.mkdtemp(prefix="sciplab-bench-db-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    dbs.append(("SQLite", f"sqlite:///{folder / 'clinic.db'}", None))
    if not args.no_pg:
        try:
            url, drop = pg_database(args.pg)
            dbs.append(("PostgreSQL", url, drop))
        except Exception as exc:  # noqa: BLE001 - report and go on with SQLite
            print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
    need = int(sum(levels) * args.seconds * 2.2 / max(args.think, 0.2)) + 200 + args.calibrate
    try:
        for name, url, _ in dbs:
            data = seed(url, need)
            if args.calibrate:
                load0 = os.getloadavg()[0]
                cal = run_level(url, 1, 0, args.workers, 0, data, calibration=args.calibrate)["calibration"]
                print(f"{name}: server CPU ms per request, one at a time ({args.calibrate} each; load average "
                      f"{load0:.1f}-{os.getloadavg()[0]:.1f}): "
                      + ", ".join(f"{k} {v:.1f}" for k, (_, v) in cal.items()), flush=True)  # fmt: skip
                print(demand(cal, levels, args.think, os.cpu_count() or 1), flush=True)
            print(f"{'database':<11} {'users':>5} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} "
                  f"{'p95 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} {'cores busy':>10} {'load':>11}  "
                  "p95 by kind (n)")  # fmt: skip
            for users in levels:
                r = run_level(url, users, args.seconds, args.workers, args.think, data)
                kinds = ", ".join(f"{k} {p95:.0f} ms ({n})" for k, (n, _, p95) in sorted(r["by_kind"].items()))
                cpu_per_req = 1000 * r["server_cpu"] / max(r["requests"], 1)
                print(f"{name:<11} {users:>5} {r['requests']:>8} {r['errors']:>6} {r['throughput']:>7.1f} "
                      f"{r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {cpu_per_req:>10.1f} "
                      f"{100 * r['busy']:>9.0f}% "
                      f"{r['load'][0]:>5.1f}-{r['load'][1]:<5.1f}  {kinds}"
                      + f"  bench client CPU {100 * r['client_cpu'] / r['wall']:.0f}%"
                      + (f"  PostgreSQL's own CPU {1000 * r['db_cpu'] / max(r['requests'], 1):.1f} ms/req"
                         if r["db_cpu"] is not None else "")
                      + (f"  errors: {r['error_kinds']}" if r["errors"] else ""), flush=True)  # fmt: skip
    finally:
        for _, _, drop in dbs:
            if drop is not None:
                drop()
    print(f"load average at end: {os.getloadavg()}")
    print(
        "CPU ms/req: CPU time of the server (all workers) per request during the level; cores busy: that CPU time\n"
        "over the level's wall time and the machine's cores (near 100 % the server is CPU-bound and latency is\n"
        "queueing). The machine may be shared: at a load average above the cores, wall latencies show queueing for\n"
        "the cores, not the app alone; the per-kind CPU (one request at a time) is the figure that carries over."
    )


if __name__ == "__main__":
    main()
