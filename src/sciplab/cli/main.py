"""Entry point of the ``sciplab`` command.

Each command lives in its own module under ``sciplab.cli`` as module-level functions registered by
``register(app)``; this file assembles them and puts every command (of every group) behind the one
runner, :func:`sciplab.cli._common.run_command`. Help text is plain (``rich_markup_mode=None``): a
bracket in a help string, such as ``[grid]``, is printed as written.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from sciplab.cli._common import run_command, say

app = typer.Typer(
    name="sciplab",
    help="SCIP Lab: score instruments, test the SCIP model, analyse interpersonal circumplex data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

# Modules under sciplab.cli that define register(app). Add new command modules here.
COMMAND_MODULES: list[str] = [
    "demo", "instruments", "score", "change", "fit", "ssm", "monitor", "simulate", "formulate", "power",
    "serve", "db", "users", "audit",
]  # fmt: skip


def _version(value: bool) -> None:
    if value:
        from sciplab._core.results import package_version

        say(f"sciplab {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """SCIP Lab: score instruments, test the SCIP model, analyse interpersonal circumplex data."""


def _wrap_all(typer_app: typer.Typer) -> None:
    """Put every registered command, in every group, behind the runner."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = run_command(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _wrap_all(group.typer_instance)


for _name in COMMAND_MODULES:
    importlib.import_module(f"sciplab.cli.{_name}").register(app)
_wrap_all(app)


def main() -> None:
    """Run the CLI (console-script entry point)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
