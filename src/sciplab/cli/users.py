"""``sciplab users create|list|disable|enable|reset-2fa``: clinic accounts from the command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sciplab._core.errors import InvalidParameterError
from sciplab.cli._clinic import ConfigOpt, DbOpt, db_url
from sciplab.cli._common import INPUT, emit_json, new_table, say

app = typer.Typer(help="Clinic accounts: create, list, disable, enable, reset two-factor.", no_args_is_help=True)

CLI_USER = "cli"


def _read_password(password_file: str | None) -> str:
    if password_file is not None:
        from pathlib import Path

        path = Path(password_file)
        if path.is_dir():
            raise InvalidParameterError(f"--password-file {password_file}: is a folder, not a file")
        try:
            text = path.read_bytes()[:4096].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterError(f"--password-file {password_file}: not UTF-8 text") from None
        lines = text.splitlines()
        return lines[0] if lines else ""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise InvalidParameterError("the two passwords differ")
        return first
    line = sys.stdin.readline()
    if not line.strip():
        raise InvalidParameterError("give the password on standard input or with --password-file FILE")
    return line.rstrip("\r\n")


def _open(db: str | None, config: str | None):  # noqa: ANN202 - (settings, clinic-free session context)
    from sciplab.web.db import make_engine, session_factory
    from sciplab.web.migrate import check_schema

    settings = db_url(db, config)
    engine = make_engine(settings.db)
    try:
        check_schema(engine)
    except Exception:
        engine.dispose()
        raise
    return settings, engine, session_factory(engine)


def _who():  # noqa: ANN202
    import getpass

    from sciplab.web.audit.service import Who

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Who(None, f"{CLI_USER}:{name}"[:64], "local")


def create_command(
    username: Annotated[str, typer.Argument(help="Login name: 2-64 of a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option("--role", help="admin, supervisor, therapist or researcher.")] = "therapist",
    supervisor: Annotated[str | None, typer.Option("--supervisor", help="Supervisor's username (therapists).")] = None,
    display_name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password_file: Annotated[
        str | None, typer.Option("--password-file", help="Read the password from the first line of this file."), INPUT
    ] = None,
    clinical_access: Annotated[
        bool, typer.Option("--clinical-access", help="Admins only: grant read access to clinical records.")
    ] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an account (the password is read from standard input, a prompt, or --password-file)."""
    from sciplab.web.auth.passwords import Hasher
    from sciplab.web.auth.service import create_user

    if clinical_access and role != "admin":
        raise InvalidParameterError("--clinical-access is for admins; therapists and supervisors see their caseload")
    password = _read_password(password_file)
    settings, engine, factory = _open(db, config)
    try:
        with factory() as s, s.begin():
            hasher = Hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
            user = create_user(
                s,
                hasher,
                _who(),
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                supervisor=supervisor,
                clinical_access=clinical_access,
            )
            say(f"created {user.role} {user.username} (id {user.id}); two-factor set-up at first sign-in")
    finally:
        engine.dispose()


def list_command(
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the accounts."""
    from sqlalchemy import select

    from sciplab.web.models import User

    _, engine, factory = _open(db, config)
    try:
        with factory() as s:
            users = s.scalars(select(User).order_by(User.username)).all()
            rows = [
                {
                    "username": u.username,
                    "role": u.role,
                    "two_factor": u.totp_enabled,
                    "disabled": u.disabled,
                    "supervisor_id": u.supervisor_id,
                    "created_at": u.created_at.isoformat(timespec="seconds"),
                }
                for u in users
            ]
    finally:
        engine.dispose()
    if as_json:
        emit_json(rows)
        return
    table = new_table("username", "role", "two-factor", "status", "created (UTC)")
    for r in rows:
        table.add_row(
            r["username"],
            r["role"],
            "on" if r["two_factor"] else "off",
            "disabled" if r["disabled"] else "active",
            r["created_at"],
        )
    from sciplab.cli._common import console

    console.print(table)


def _change(db: str | None, config: str | None, username: str, what: str) -> None:
    from sciplab.web.auth import service

    _, engine, factory = _open(db, config)
    try:
        with factory() as s, s.begin():
            if what == "disable":
                service.set_disabled(s, _who(), username, True)
            elif what == "enable":
                service.set_disabled(s, _who(), username, False)
            else:
                service.reset_2fa(s, _who(), username)
    finally:
        engine.dispose()


def disable_command(
    username: Annotated[str, typer.Argument(help="Username.")], db: DbOpt = None, config: ConfigOpt = None
) -> None:
    """Disable an account (its sessions end at once)."""
    _change(db, config, username, "disable")
    say(f"disabled {username}")


def enable_command(
    username: Annotated[str, typer.Argument(help="Username.")], db: DbOpt = None, config: ConfigOpt = None
) -> None:
    """Enable a disabled account."""
    _change(db, config, username, "enable")
    say(f"enabled {username}")


def reset_2fa_command(
    username: Annotated[str, typer.Argument(help="Username.")], db: DbOpt = None, config: ConfigOpt = None
) -> None:
    """Forget an account's second factor (lost phone): they set up a new one at their next sign-in."""
    _change(db, config, username, "reset-2fa")
    say(f"two-factor sign-in reset for {username}")


def register(root: typer.Typer) -> None:
    """Add the ``users`` group to the ``sciplab`` app."""
    app.command("create")(create_command)
    app.command("list")(list_command)
    app.command("disable")(disable_command)
    app.command("enable")(enable_command)
    app.command("reset-2fa")(reset_2fa_command)
    root.add_typer(app, name="users")
