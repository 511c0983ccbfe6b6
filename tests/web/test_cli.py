"""``sciplab serve``, ``db``, ``users`` and ``audit`` through the CLI runner (exit 0, or 2 with one clear line)."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from sciplab.cli.main import app as cli
from sciplab.web import migrate


def run(*args: str, input: str | None = None):  # noqa: A002
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def test_db_upgrade_current_history_and_downgrade(db_url):
    r = run("db", "current", "--db", db_url, "--json")
    if db_url.startswith("sqlite"):
        assert r.exit_code == 2 and "does not exist: create it with `sciplab db upgrade" in r.output
    r = run("db", "upgrade", "--db", db_url)
    assert r.exit_code == 0, r.output
    state = json.loads(run("db", "current", "--db", db_url, "--json").output)
    assert state["revision"] == state["head"] == migrate.head() and state["up_to_date"]
    assert "base -> 0001" in run("db", "history").output
    assert "0001 -> 0002_clinic_views" in run("db", "history").output
    assert run("db", "downgrade", "base", "--db", db_url).exit_code == 0
    assert json.loads(run("db", "current", "--db", db_url, "--json").output)["revision"] is None
    bad = run("db", "downgrade", "nope", "--db", db_url)
    assert bad.exit_code == 2 and "unknown revision 'nope'" in bad.output


def test_db_refuses_bad_urls(tmp_path):
    for value, words in [("", "--db must name"), ("mysql://x/y", "scheme 'mysql'"), (str(tmp_path), "is not a file")]:
        r = run("db", "current", "--db", value)
        assert r.exit_code == 2 and words in r.output, (value, r.output)


def test_users_create_list_disable_reset(tmp_path):
    db = str(tmp_path / "c.db")
    assert run("db", "upgrade", "--db", db).exit_code == 0
    r = run("users", "create", "boss", "--role", "admin", "--db", db, input="correct horse battery\n")
    assert r.exit_code == 0, r.output
    pw = tmp_path / "pw.txt"
    pw.write_text("another long passphrase\n", encoding="utf-8")
    assert run("users", "create", "sup", "--role", "supervisor", "--db", db, "--password-file", str(pw)).exit_code == 0
    r = run("users", "create", "t1", "--supervisor", "sup", "--db", db, "--password-file", str(pw))
    assert r.exit_code == 0, r.output
    rows = json.loads(run("users", "list", "--db", db, "--json").output)
    assert [(u["username"], u["role"]) for u in rows] == [("boss", "admin"), ("sup", "supervisor"), ("t1", "therapist")]
    assert run("users", "disable", "t1", "--db", db).exit_code == 0
    assert run("users", "reset-2fa", "t1", "--db", db).exit_code == 0
    assert json.loads(run("users", "list", "--db", db, "--json").output)[2]["disabled"] is True
    for args, words in [
        (["users", "create", "x1", "--db", db], "give the password on standard input"),
        (["users", "create", "boss", "--db", db, "--password-file", str(pw)], "already taken"),
        (["users", "create", "x2", "--role", "boss", "--db", db, "--password-file", str(pw)], "role must be one of"),
        (["users", "disable", "nobdy", "--db", db], "no user 'nobdy'"),
        (["users", "create", "x3", "--supervisor", "t1", "--db", db, "--password-file", str(pw)], "not a supervisor"),
    ]:
        r = run(*args)
        assert r.exit_code == 2 and words in r.output, (args, r.output)
    weak = run("users", "create", "x4", "--db", db, input="password1\n")
    assert weak.exit_code == 2 and "commonly used" in weak.output
    r = run("audit", "verify", "--db", db)
    assert r.exit_code == 0 and "intact: 5 entries" in r.output


def test_audit_verify_exits_1_on_a_broken_chain(tmp_path):
    import sqlite3

    db = str(tmp_path / "c.db")
    run("db", "upgrade", "--db", db)
    run("users", "create", "boss", "--role", "admin", "--db", db, input="correct horse battery\n")
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET username = 'mallory'")
    con.commit()
    con.close()
    r = run("audit", "verify", "--db", db)
    assert r.exit_code == 1 and "BROKEN: entry 1 was changed" in r.output
    assert json.loads(run("audit", "verify", "--db", db, "--json").output)["broken_at"] == 1


def test_serve_check_on_a_migrated_database(tmp_path):
    db = str(tmp_path / "c.db")
    run("db", "upgrade", "--db", db)
    r = run("serve", "--check", "--port", "0", "--db", db)
    assert r.exit_code == 0, r.output
    assert f"healthz: ok (schema {migrate.head()})" in r.output
    assert "First run: create the first administrator at http://127.0.0.1:" in r.output and "/setup?token=" in r.output


def test_serve_refuses_unmigrated_database_and_taken_port(tmp_path):
    r = run("serve", "--check", "--port", "0", "--db", str(tmp_path / "none.db"))
    assert r.exit_code == 2 and "does not exist" in r.output
    db = str(tmp_path / "c.db")
    run("db", "upgrade", "--db", db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = run("serve", "--check", "--port", str(port), "--db", db)
    assert r.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in r.output
    r = run("serve", "--check", "--host", "no such host.invalid", "--port", "0", "--db", db)
    assert r.exit_code == 2 and "--host 'no such host.invalid'" in r.output


@pytest.mark.slow
def test_serve_demo_check(tmp_path):
    db = str(tmp_path / "demo.db")
    r = run("serve", "--demo", "--check", "--port", "0", "--db", db)
    assert r.exit_code == 0, r.output
    assert "sign in as therapist1" in r.output and "healthz: ok" in r.output
    again = run("serve", "--demo", "--check", "--port", "0", "--db", db)
    assert again.exit_code == 2 and "demo seeds an empty clinic only" in again.output


@pytest.mark.parametrize("name", ["a?b.db", "h#1.db", "x%41.db", "sp ace.db"])
def test_db_file_names_are_taken_literally(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    assert run("db", "upgrade", "--db", name).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    assert run("db", "current", "--db", name).exit_code == 0
