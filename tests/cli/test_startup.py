"""Start-up (issue 19): ``import sciplab``, ``sciplab --help`` and building the CLI import nothing heavy.

Checked in fresh interpreters through ``sys.modules``, never with timings: importing the package,
building the whole CLI app and asking any command for ``--help`` must not import scipy,
statsmodels, matplotlib, numba or dask, and ``sciplab --help`` must not import any command module
(the lazy group of :mod:`sciplab.cli.main` lists commands from ``COMMAND_MODULES``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import typer
from typer.testing import CliRunner

import sciplab
from sciplab.cli import main as cli_main

HEAVY = ("scipy", "statsmodels", "matplotlib", "numba", "dask", "fastapi", "sqlalchemy")

_REPORT = """
import json, sys
print("@@MODULES@@" + json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> tuple[list[str], str]:
    """Run ``code`` in a fresh interpreter; return the modules it imported and its output before them."""
    script = textwrap.dedent(code) + _REPORT
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out, _, modules = proc.stdout.rpartition("@@MODULES@@")
    return json.loads(modules), out


def _cli(*args: str) -> str:
    """Code running ``sciplab <args>`` in-process (exit swallowed), as the console script does."""
    return f"""
        import sys
        sys.argv = ["sciplab", *{list(args)!r}]
        from sciplab.cli.main import main
        try:
            main()
        except SystemExit as exc:
            assert exc.code in (0, None), exc.code
    """


def _heavy(modules: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    roots = HEAVY + extra
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in roots})


def _command_modules(modules: list[str]) -> set[str]:
    known = {entry if isinstance(entry, str) else entry[0] for entry in cli_main.COMMAND_MODULES}
    return {m.rpartition(".")[2] for m in modules if m.startswith("sciplab.cli.") and m.rpartition(".")[2] in known}


def _all_commands() -> dict[str, typer.core.TyperCommand]:
    return dict(typer.main.get_command(cli_main.app).commands)  # type: ignore[attr-defined]


def test_import_sciplab_imports_nothing_heavy() -> None:
    modules, _ = _modules_after("import sciplab")
    assert _heavy(modules, ("pandas",)) == []


def test_building_the_whole_cli_imports_nothing_heavy() -> None:
    modules, _ = _modules_after(
        """
        import typer
        from sciplab.cli.main import app
        commands = typer.main.get_command(app).commands  # every command module loaded
        assert len(commands) > 5
        """
    )
    assert _heavy(modules) == []
    assert _command_modules(modules) == {e if isinstance(e, str) else e[0] for e in cli_main.COMMAND_MODULES}


def test_help_imports_no_command_module_and_lists_every_command() -> None:
    modules, out = _modules_after(_cli("--help"))
    assert _heavy(modules, ("pandas", "numpy")) == []
    assert _command_modules(modules) == set()
    listed = {line.split()[0] for line in out.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert listed == set(_all_commands())


@pytest.mark.parametrize("command", sorted(cli_main.catalogue()))
def test_command_help_imports_only_its_module(command: str) -> None:
    module = cli_main.catalogue()[command][0]
    modules, out = _modules_after(_cli(command, "--help"))
    assert "Usage: sciplab " + command in " ".join(out.split())
    assert _heavy(modules) == []
    assert _command_modules(modules) == {module}


def test_listed_help_is_each_commands_own_help() -> None:
    commands = _all_commands()
    for name, (_, help_line) in cli_main.catalogue().items():
        assert help_line is not None, f"give {name!r} a help line in COMMAND_MODULES"
        for limit in (45, 70, 200):
            assert cli_main._short_help(help_line, limit) == commands[name].get_short_help_str(limit), name


def test_every_registered_command_is_listed() -> None:
    for entry in cli_main.COMMAND_MODULES:
        module = entry if isinstance(entry, str) else entry[0]
        listed = {name for name, (mod, _) in cli_main.catalogue().items() if mod == module}
        assert set(cli_main.load_module(module)) == listed, module


def test_a_bare_module_name_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [e for e in cli_main.COMMAND_MODULES if isinstance(e, str) or e[0] != "ssm"]
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", [*entries, "ssm"])
    runner = CliRunner()
    res = runner.invoke(cli_main.app, ["--help"])
    assert res.exit_code == 0
    assert "ssm" in res.stdout and "Structural Summary Method" in res.stdout
    assert runner.invoke(cli_main.app, ["ssm", "--help"]).exit_code == 0


def test_unknown_command_suggests_close_names() -> None:
    res = CliRunner().invoke(cli_main.app, ["scor"])
    assert res.exit_code == 2
    assert "Did you mean 'score'" in res.output


def test_lazy_exports_are_the_real_objects() -> None:
    from sciplab.scoring import engine
    from sciplab.stats import paths

    for name in sciplab.__all__:
        assert getattr(sciplab, name) is not None, name
    assert sciplab.score is engine.score
    assert sciplab.paths is paths.paths
    assert set(sciplab.__all__) <= set(dir(sciplab))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        sciplab.nope  # noqa: B018
