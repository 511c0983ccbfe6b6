"""Entry point of the ``sciplab`` command.

Each command lives in its own module under ``sciplab.cli`` exposing ``register(app)``; this file only
assembles them, so commands stay thin and independent.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="sciplab",
    help="SCIP Lab: score instruments, test the SCIP model, analyse interpersonal circumplex data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules under sciplab.cli that define register(app). Add new command modules here.
COMMAND_MODULES: list[str] = [
    "demo", "instruments", "score", "change", "fit", "ssm", "monitor", "simulate", "formulate",
]  # fmt: skip

for _name in COMMAND_MODULES:
    importlib.import_module(f"sciplab.cli.{_name}").register(app)


def main() -> None:
    """Run the CLI (console-script entry point)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
