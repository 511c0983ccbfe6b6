"""Helpers shared by CLI commands: one-line errors with exit code 2, JSON output, rich console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from sciplab._core.errors import SciplabError
from sciplab._core.results import to_jsonable

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` on stderr as one line and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(fn: F) -> F:
    """Decorator: SciplabError (and file/OS errors) become one readable line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SciplabError as exc:
            fail(str(exc))
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            fail(f"{exc.filename}: {exc.strerror}")
        return None

    return wrapper  # type: ignore[return-value]


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON (NaN -> null) to stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def split_list(value: str | None) -> list[str]:
    """Split a comma-separated option (``"A,B, C"`` -> ``["A", "B", "C"]``)."""
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]
