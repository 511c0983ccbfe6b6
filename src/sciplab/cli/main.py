"""Entry point of the ``sciplab`` command.

Each command lives in its own module under ``sciplab.cli`` as module-level functions registered by
``register(app)``. The modules are listed, with their commands' one-line help, in
:data:`COMMAND_MODULES`, and loaded lazily: ``sciplab --help`` prints the list without importing any
command module, and ``sciplab score ...`` imports only :mod:`sciplab.cli.score` (issue 19: the CLI
answers in a fraction of a second because nothing it does not need is imported). Every command, of
every group, is put behind the one runner, :func:`sciplab.cli._common.run_command`, when its module
is loaded. Help text is plain (``rich_markup_mode=None``): a bracket in a help string, such as
``[grid]``, is printed as written.

Adding a command: write ``cli/<module>.py`` with ``register(app)`` (heavy libraries imported inside
the functions that use them) and add one line per command it registers to :data:`COMMAND_MODULES`::

    ("power", "power", "Sample size and power for path and mediation models."),

A bare module name (``"power"``) also works, but then ``sciplab --help`` has to import that module
to learn its commands; ``tests/cli/test_startup.py`` asks for the help line.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

HELP = "SCIP Lab: score instruments, test the SCIP model, analyse interpersonal circumplex data."

#: ``(module, command, one-line help)`` for every top-level command, in the order ``--help`` lists
#: them. ``module`` is the module under ``sciplab.cli`` whose ``register(app)`` adds ``command``; the
#: help line is what ``sciplab --help`` shows (a test checks it matches the command's own help).
COMMAND_MODULES: list[tuple[str, str, str] | str] = [
    ("demo", "demo", "Score the bundled example data, show reliabilities, fit scip-core and write the report."),
    ("instruments", "instruments", "Browse the instrument library (scoring keys, norms, licences)."),
    ("score", "score", "Score item responses: one column per scale, named <ID>_<scale>."),
    ("score", "reliability", "Cronbach's alpha (Feldt CI), standardized alpha, omega total (Heywood cases marked), item statistics."),  # noqa: E501
    ("change", "change", "Reliable and clinically significant change (Jacobson & Truax 1991) per client."),
    ("fit", "fit", "Fit a path/mediation model (bootstrap intervals) or a latent-variable SEM (lavaan-style)."),
    ("ssm", "ssm", "Structural Summary Method: elevation, amplitude, displacement, fit with bootstrap CIs."),
    ("monitor", "monitor", "Per-client reliable change, expected-response traffic lights and alliance ruptures."),
    ("monitor", "reference", "Build expected-treatment-response references."),
    ("simulate", "simulate", "Agent-based SCIP simulation: caregiving -> attachment -> network -> therapy -> follow-up."),  # noqa: E501
    ("formulate", "formulate", "SCIP case formulation: attachment pattern with uncertainty, profile, hypotheses, relationship plan."),  # noqa: E501
    ("power", "power", "Power curve or required sample size for a path/mediation model (Monte Carlo), or analytic Sobel power."),  # noqa: E501
    ("serve", "serve", "Run SCIP Clinic: caseload, questionnaires by secure link, instant scoring, roles, audit."),
    ("db", "db", "Clinic database schema: upgrade, downgrade, current revision, history; backup and restore."),
    ("users", "users", "Clinic accounts: create, list, disable, enable, reset two-factor."),
    ("audit", "audit", "The clinic's audit log."),
]  # fmt: skip

#: Click commands of each loaded module (``module -> {command: click command}``), loaded once per process.
_LOADED: dict[str, dict[str, Any]] = {}


def catalogue() -> dict[str, tuple[str, str | None]]:
    """``command -> (module, help)`` from :data:`COMMAND_MODULES` (help ``None`` for a bare module name)."""
    out: dict[str, tuple[str, str | None]] = {}
    for entry in COMMAND_MODULES:
        if isinstance(entry, str):
            out.update({name: (entry, None) for name in load_module(entry)})
        else:
            module, command, help_line = entry
            out[command] = (module, help_line)
    return out


def _wrap_all(typer_app: typer.Typer) -> None:
    """Put every registered command, in every group, behind the runner."""
    from sciplab.cli._common import run_command

    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = run_command(info.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _wrap_all(group.typer_instance)


def load_module(module: str) -> dict[str, Any]:
    """Import ``sciplab.cli.<module>``, register its commands behind the runner, return them by name."""
    if module not in _LOADED:
        holder = typer.Typer(rich_markup_mode=None, add_completion=False)
        importlib.import_module(f"sciplab.cli.{module}").register(holder)
        _wrap_all(holder)
        _LOADED[module] = dict(typer.main.get_group(holder).commands)
    return _LOADED[module]


def _short_help(text: str, limit: int) -> str:
    """``text`` shortened exactly as click shortens a command's help in a listing."""
    return TyperCommand(name="_", help=text).get_short_help_str(limit)


class LazyGroup(TyperGroup):
    """The ``sciplab`` group: lists commands from :data:`COMMAND_MODULES`, imports a module on first use.

    ``commands`` (the mapping click and the tests walk) loads every module when read, so code that
    enumerates the whole CLI sees every command; ``list_commands``, ``get_command`` and the help
    listing touch only what they need.
    """

    _own: MutableMapping[str, Any]

    @property  # type: ignore[override]
    def commands(self) -> MutableMapping[str, Any]:
        """Every command, all modules loaded (for code that walks the whole CLI)."""
        for name in self.list_commands(None):  # type: ignore[arg-type]
            self.get_command(None, name)  # type: ignore[arg-type]
        return self._own

    @commands.setter
    def commands(self, value: Mapping[str, Any]) -> None:
        self._own = dict(value)

    def list_commands(self, ctx: Any) -> list[str]:
        """Command names in catalogue order (no module imported unless listed by bare name)."""
        return [*catalogue(), *(name for name in self._own if name not in catalogue())]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The click command ``cmd_name``, importing its module on first use."""
        if cmd_name in self._own:
            return self._own[cmd_name]
        entry = catalogue().get(cmd_name)
        if entry is None:
            return None
        command = load_module(entry[0]).get(cmd_name)
        if command is not None:
            self._own[cmd_name] = command
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The ``Commands:`` section from the catalogue's help lines (imports no command module)."""
        entries = catalogue()
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            help_line = entries.get(name, (None, None))[1]
            if help_line is None:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, _short_help(help_line, limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="sciplab",
    cls=LazyGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from sciplab._core.results import package_version

        typer.echo(f"sciplab {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """SCIP Lab: score instruments, test the SCIP model, analyse interpersonal circumplex data."""


def main() -> None:
    """Run the CLI (console-script entry point)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
