"""The one runner every CLI command goes through, and the one place that prints.

* :func:`run_command` wraps each command (``main.py`` applies it to every registered command):
  inputs are protected for the whole command (:func:`sciplab._core.files.protect_inputs`: an
  output never replaces an input, ``--overwrite`` or not), outputs declared with the
  :data:`OUTPUT` marker are checked before any work is done, every warning is printed as one
  ``warning: ...`` line on stderr (a warning never becomes an error or an exit code), a
  :class:`SciplabError` becomes one ``error: ...`` line with exit code 2 in CLI wording (options,
  not Python arguments), and an unexpected exception one line naming the bug with exit code 1
  (the traceback only with ``SCIPLAB_DEBUG=1``).
* :data:`console` / :data:`err_console` never interpret text as Rich markup (column names, file
  names and instrument ids come from users: ``q[bold]`` stays ``q[bold]``) and, off a terminal,
  never cut a line or a table to 80 columns.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import sys
import traceback
import typing
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table

from sciplab._core.errors import SciplabError
from sciplab._core.files import OutputExistsError, check_output, note_input, protect_inputs

F = TypeVar("F", bound=Callable[..., Any])

OFF_TERMINAL_WIDTH = 10_000
"""Width used when output is piped or redirected: lines and tables are never cut to 80 columns."""


class _CliConsole(Console):
    """A console that prints text as given (no markup, no highlighting) and is unbounded off a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        """Terminal size on a terminal; a width nothing is cut at otherwise."""
        if self.is_terminal:
            return super().size
        return ConsoleDimensions(OFF_TERMINAL_WIDTH, 25)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = _CliConsole(markup=False, highlight=False, emoji=False)
err_console = _CliConsole(stderr=True, markup=False, highlight=False, emoji=False)


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


OUTPUT = _Marker("OUTPUT")
"""``Annotated`` marker of an option naming a file the command writes (checked by :func:`run_command`)."""

OWN_CHECK = _Marker("OWN_CHECK")
"""``Annotated`` marker of an output option whose command applies its own (stricter) rule first."""

INPUT = _Marker("INPUT")
"""``Annotated`` marker of an argument naming a file the command reads (never replaced by an output)."""


def say(text: object = "", *, style: str | None = None) -> None:
    """Print ``text`` on stdout exactly as given (user text is never read as markup)."""
    console.print(str(text), style=style, soft_wrap=True)


def warn(message: object) -> None:
    """Print ``warning: message`` as one line on stderr."""
    err_console.print(f"warning: {_one_line(message)}", style="yellow", soft_wrap=True)


def fail(message: str, code: int = 2) -> typing.NoReturn:
    """Print ``error: message`` on stderr as one line and exit with ``code``."""
    err_console.print(f"error: {_one_line(message)}", style="bold red", soft_wrap=True)
    raise typer.Exit(code)


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def new_table(*columns: str, title: str | None = None, right: tuple[str, ...] = ()) -> Table:
    """A table whose cells wrap (``overflow="fold"``) instead of being cut with an ellipsis."""
    from rich import box

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    return table


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON (NaN -> null) to stdout."""
    from sciplab._core.results import to_jsonable  # imports pandas: only when JSON is asked for

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def split_list(value: str | None) -> list[str]:
    """Split a comma-separated option (``"A,B, C"`` -> ``["A", "B", "C"]``)."""
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


# --- CLI wording of library messages -------------------------------------------------------------

API_NAMES = {"angles_deg": "angles", "columns": "map", "boots": "bootstrap", "B": "bootstrap"}
API_VALUES = {("contrast", "pairwise"): "pairwise"}
"""Library assignments spelled as a flag of their own on the command line."""
"""Library argument names whose CLI option has another name."""

_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=('([^']*)'|\"([^\"]*)\"|[^\s,;)]+|)")


OUTPUT_OPTIONS = frozenset({"-o", "--output", "--report", "--figure", "--validity"})
"""Options that name a file a command writes, marked or not (``--out`` folders are marked explicitly)."""


def _options_of(fn: Callable[..., Any]) -> tuple[dict[str, str], list[str], list[str]]:
    """``(name -> long option, output parameters, input parameters)`` of a command function.

    Outputs: options marked :data:`OUTPUT` or spelled as in :data:`OUTPUT_OPTIONS`. Inputs:
    arguments (positional file names) and options marked :data:`INPUT`.
    """
    from typer.models import ArgumentInfo, OptionInfo

    options: dict[str, str] = {}
    outputs: list[str] = []
    inputs: list[str] = []
    for name, hint in _hints(fn).items():
        meta = getattr(hint, "__metadata__", ())
        info = next((m for m in meta if isinstance(m, OptionInfo | ArgumentInfo)), None)
        if any(m is OUTPUT for m in meta):
            outputs.append(name)
        if any(m is INPUT for m in meta) or isinstance(info, ArgumentInfo):
            inputs.append(name)
        if not isinstance(info, OptionInfo):
            continue
        decls = [d.split("/")[0] for d in (info.param_decls or ())]
        longs = [d for d in decls if d.startswith("--")]
        options[name] = max(longs, key=len) if longs else "--" + name.replace("_", "-")
        own = any(m is OWN_CHECK for m in meta)
        if name not in outputs and not own and OUTPUT_OPTIONS & {*decls, options[name]}:
            outputs.append(name)
    return options, outputs, inputs


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolved annotations: no options known
        return {}


def cli_wording(message: str, options: dict[str, str]) -> str:
    """Rewrite Python-API advice (``pass overwrite=True``, ``angles_deg``) with the command's options."""

    def option(name: str) -> str | None:
        return options.get(API_NAMES.get(name, name)) or options.get(name)

    def assignment(m: re.Match[str]) -> str:
        value = next((g for g in (m.group(3), m.group(4)) if g is not None), m.group(2))
        flag = API_VALUES.get((m.group(1), value))
        if flag is not None and flag in options:
            return options[flag]
        opt = option(m.group(1))
        if opt is None:
            return m.group(0)
        return opt if value in ("", "True") else f"{opt} {value}"

    text = message
    if "overwrite" not in options:  # no such option here: drop the advice rather than give Python's
        text = re.sub(r",? or (?:pass|add) overwrite=True(?: \(--overwrite\))?", "", text)
    text = _ASSIGNMENT.sub(assignment, text)
    text = re.sub(r"(--[\w-]+(?: [^\s()]+)?) \(\1\)", r"\1", text)  # "--x v (--x v)" -> "--x v"
    for api, cli in API_NAMES.items():
        if cli in options:
            text = re.sub(rf"(?<![\w-]){re.escape(api)}\b", options[cli], text)
    return text


def _error_message(exc: SciplabError, options: dict[str, str]) -> str:
    if isinstance(exc, OutputExistsError):
        how = "choose another name or add --overwrite" if "overwrite" in options else "choose another name"
        return f"{exc.path}: already exists; {how}"
    return cli_wording(str(exc), options)


# --- the runner ----------------------------------------------------------------------------------

_depth = 0


def check_outputs(targets: list[str | os.PathLike[str] | None], *, overwrite: bool) -> None:
    """Refuse, before any work is done, an output that exists (without ``overwrite``) or is an input."""
    for target in targets:
        if target is not None and str(target) != "":
            target = Path(target)
            if not (target.is_dir() and not target.suffix):  # folders are checked by their command
                check_output(target, overwrite=overwrite)


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen: set[tuple[type, str]] = set()
            for w in caught:
                key = (w.category, str(w.message))
                if key not in seen:
                    seen.add(key)
                    warn(w.message)


def run_command(fn: F) -> F:
    """Wrap a command function in the CLI runner (idempotent; see the module docstring)."""
    if getattr(fn, "__sciplab_runner__", False):
        return fn
    options, outputs, inputs = _options_of(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _depth
        if _depth:  # already inside the runner (a command calling another)
            return fn(*args, **kwargs)
        _depth += 1
        try:
            with protect_inputs(), _warnings_as_lines():
                message, code = _guarded(fn, args, kwargs, inputs, outputs, options)
        finally:
            _depth -= 1
        if code:
            fail(message, code)  # after the warnings, so the error is the last line
        return message

    wrapper.__sciplab_runner__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _guarded(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    inputs: list[str],
    outputs: list[str],
    options: dict[str, str],
) -> tuple[Any, int]:
    """Run ``fn``; return ``(its result, 0)`` or ``(one-line message, exit code)``."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
        for name in inputs:
            for value in _as_list(bound.get(name)):
                note_input(value)
        check_outputs([bound.get(name) for name in outputs], overwrite=bool(bound.get("overwrite", False)))
        return fn(*args, **kwargs), 0
    except SciplabError as exc:
        return _error_message(exc, options), 2
    except RecursionError:
        return "the input is nested too deeply to process; simplify it", 2
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        return f"{exc.filename}: {exc.strerror}", 2
    except MemoryError:
        return "not enough memory for this request; use fewer replicates or a smaller data set", 2
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("SCIPLAB_DEBUG") == "1":
            traceback.print_exc()
        from sciplab._core.results import package_version

        return (
            f"internal error in sciplab {package_version()} ({type(exc).__name__}: {exc}); this is a bug, "
            "please report it with the command you ran (SCIPLAB_DEBUG=1 shows the traceback)",
            1,
        )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if isinstance(value, str | Path) and str(value) else []


handle_errors = run_command
"""Former name of :func:`run_command`, kept for command modules that still decorate with it."""
