"""``sciplab serve``: run SCIP Clinic (FastAPI + Uvicorn); ``--demo`` seeds a throwaway demo clinic first.

The socket is bound here, before the server starts, so a taken port or an unknown host is one clear
error line. ``--check`` starts the server, asks ``/healthz`` over HTTP, prints the answer and stops:
the way the docs test and CI run the README's command without leaving a server running.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from sciplab._core.errors import InvalidParameterError, SciplabError
from sciplab.cli._clinic import ConfigOpt, DbOpt, db_url
from sciplab.cli._common import err_console, say

CHECK_SECONDS = 30.0


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InvalidParameterError(f"--host {host!r} is not an address this machine can serve on ({exc})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise InvalidParameterError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port (0: any free port)"
        ) from None
    sock.listen(128)
    return sock


@contextlib.contextmanager
def _database(db: str | None, demo: bool) -> Iterator[str | None]:
    """The --db value; with --demo and no --db, a temporary SQLite file removed afterwards."""
    if not demo or db is not None:
        yield db
        return
    folder = tempfile.mkdtemp(prefix="sciplab-demo-")
    try:
        yield str(Path(folder) / "demo.db")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _seed_demo(settings: Any, seed: int) -> Any:
    from sciplab.web import migrate
    from sciplab.web.auth.passwords import Hasher
    from sciplab.web.db import make_engine, session_factory
    from sciplab.web.demo import seed as seed_demo

    migrate.upgrade(settings.db)
    engine = make_engine(settings.db)
    try:
        with err_console.status("Seeding the demo clinic from the SCIP simulation ..."):
            factory = session_factory(engine)
            with factory() as s, s.begin():
                return seed_demo(s, Hasher(settings.argon2_time_cost, settings.argon2_memory_kib), seed=seed)
    finally:
        engine.dispose()


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8000,
    db: DbOpt = None,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Seed a demo clinic from the SCIP simulation (a temporary database unless --db)."),
    ] = False,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Simulation seed of the demo.")] = 3,
    check: Annotated[
        bool, typer.Option("--check", help="Start, ask /healthz, print the answer and stop (for scripts and CI).")
    ] = False,
    https: Annotated[
        bool, typer.Option("--https", help="The app is reached over HTTPS (behind a proxy): Secure cookies, HSTS.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Run SCIP Clinic: caseload, questionnaires by secure link, instant scoring, roles, audit."""
    import uvicorn

    from sciplab.web.app import create_app

    if host.startswith("-"):
        raise InvalidParameterError(f"--host needs an address, got {host!r}")
    with _database(db, demo) as database:
        settings = db_url(database, config)
        if https:
            import dataclasses

            settings = dataclasses.replace(settings, https=True)
        if not demo:  # a clinic logs JSON lines (no personal data); the demo keeps the terminal quiet
            import dataclasses

            settings = dataclasses.replace(settings, log_json=True)
        info = _seed_demo(settings, seed) if demo else None
        app = create_app(settings)
        from sciplab.web import ops
        from sciplab.web.views import service as views_service

        # The start-up heap (numpy, pandas, scipy, SQLAlchemy, the instruments, the client page's engines) never
        # dies: moving it out of the collector's reach keeps full collections from scanning it on every page
        # (client page p95 284 -> 114 ms CPU in benchmarks/bench_client_page.py). Done before the address is
        # announced, so the server answers as soon as it is shown (the app's lifespan then has nothing to do).
        ops.freeze_startup_heap(views_service.warm)
        sock = _bind(host, port)
        try:
            bound_port = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            url = f"{'https' if https else 'http'}://{shown}:{bound_port}/"
            _announce(url, app, info)
            from sciplab.web.ops import GRACEFUL_SECONDS

            config_ = uvicorn.Config(
                app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=GRACEFUL_SECONDS
            )
            server = uvicorn.Server(config_)
            if check:
                _check(server, sock, f"http://{shown}:{bound_port}/healthz")
            else:
                say("Press Ctrl+C to stop.")
                _run_until_stopped(server, sock)
        finally:
            sock.close()
            app.state.clinic.engine.dispose()


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _run_until_stopped(server: Any, sock: socket.socket) -> None:
    """Serve until Ctrl+C or SIGTERM; either way the clean-up (a demo's temporary database) runs.

    Uvicorn stops accepting connections at once and finishes the requests in flight (up to
    ``ops.GRACEFUL_SECONDS``) before the process exits.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down gracefully, then re-raises the signal with the handler it found: ours exits 0
        previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.run(sockets=[sock])
    except (KeyboardInterrupt, SystemExit):  # Ctrl+C, or SIGTERM re-raised by uvicorn after its graceful stop
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    say("SCIP Clinic stopped.")


def _announce(url: str, app: Any, info: Any) -> None:
    say(f"SCIP Clinic at {url}")
    token = app.state.clinic.setup_token
    if token:
        say(f"First run: create the first administrator at {url}setup?token={token}")
        say(f"(one-time setup token: {token})")
    if info is not None:
        say(
            f"Demo clinic from the SCIP simulation (seed {info.seed}): {info.clients} clients, "
            f"{info.sessions} sessions, {info.responses} questionnaires, {info.alerts} open risk alerts. "
            "Two-factor sign-in is off for the demo."
        )
        for username, role, password in info.logins:
            say(f"  sign in as {username:<11} password {password!r:<20} ({role})")


def _check(server: Any, sock: socket.socket, url: str) -> None:
    import json
    import urllib.request

    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + CHECK_SECONDS
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise SciplabError("the server did not start within 30 s")
            time.sleep(0.05)
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - our own http://host:port
            body = json.loads(resp.read().decode("utf-8"))
        say(f"healthz: {body['status']} (schema {body['schema']})")
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the ``sciplab`` app."""
    app.command("serve")(serve_command)
