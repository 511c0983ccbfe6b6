"""The one place that decides whether a file may be written, writes it atomically, and reads side files.

* **Outputs.** :func:`check_output` refuses an existing file unless ``overwrite`` is true, a missing
  folder, and — always, ``overwrite`` or not — a path that *is* one of the inputs: files are compared,
  not names (same device and inode), so a hard link or another spelling of an input is caught too.
  Files read through :func:`sciplab.read_data` or :func:`read_side_text` in this process are recorded
  as inputs while :func:`protect_inputs` is active (the CLI turns it on for each command).
* **Atomic writes.** :func:`atomic_write` yields a temporary path in the target's folder and renames it
  over the target only when the writer finished: a failure leaves no partial file and an existing
  file untouched.
* **Side files** (mappings, keys, model files, references, grids): :func:`read_side_text` checks
  existence, size and encoding; :func:`load_structured` parses JSON or TOML with the nesting depth
  bounded. Every error names the file and, where known, the line and field.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sciplab._core.errors import DataError

MAX_SIDE_FILE_BYTES = 20_000_000
"""Largest side file (mapping, key, model, reference, grid) read; data files have no such limit."""

MAX_NESTING = 32
"""Deepest nesting of lists/tables accepted in a JSON or TOML side file."""


class OutputExistsError(DataError):
    """The output file exists and replacing it was not asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path}: already exists; choose another name or pass overwrite=True")


class OutputIsInputError(DataError):
    """The output path is one of the command's input files."""

    def __init__(self, path: Path, source: Path) -> None:
        self.path = path
        self.source = source
        same = "" if str(path) == str(source) else f" (the same file as {source})"
        super().__init__(f"{path}: is an input file{same}; an output never replaces an input, choose another name")


_inputs: set[tuple[int, int]] | None = None
_input_names: dict[tuple[int, int], Path] = {}


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@contextlib.contextmanager
def protect_inputs(paths: Iterable[str | os.PathLike[str]] = ()) -> Iterator[None]:
    """Record every file read while active (plus ``paths``) as an input that no output may replace."""
    global _inputs
    previous = _inputs
    _inputs = set() if previous is None else set(previous)
    try:
        for p in paths:
            note_input(p)
        yield
    finally:
        _inputs = previous
        if previous is None:
            _input_names.clear()


def note_input(path: str | os.PathLike[str]) -> None:
    """Record ``path`` as an input (no-op unless :func:`protect_inputs` is active)."""
    if _inputs is None:
        return
    ident = _identity(Path(path))
    if ident is not None:
        _inputs.add(ident)
        _input_names.setdefault(ident, Path(path))


def check_output(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Return ``Path(path)`` if it may be written; raise a :class:`DataError` naming why not.

    An output may never be an input (compared by device and inode), ``overwrite`` or not.
    """
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{p}: is a folder; expected a file name")
    if not p.parent.exists():
        raise DataError(f"{p}: folder {p.parent} does not exist")
    ident = _identity(p)
    if ident is not None:
        for src in inputs:
            if _identity(Path(src)) == ident:
                raise OutputIsInputError(p, Path(src))
        if _inputs is not None and ident in _inputs:
            raise OutputIsInputError(p, _input_names.get(ident, p))
        if not overwrite:
            raise OutputExistsError(p)
    return p


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` when the block succeeds.

    The checks of :func:`check_output` run before and again just before the rename. On any error the
    temporary file is removed and ``path`` is left as it was.
    """
    inputs = list(inputs)
    p = check_output(path, overwrite=overwrite, inputs=inputs)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{p.name}.", suffix=f".tmp{p.suffix}", dir=p.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists():
            raise DataError(f"{p}: nothing was written")
        check_output(p, overwrite=overwrite, inputs=inputs)
        os.replace(tmp, p)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = False, inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically under the rules of :func:`check_output`."""
    with atomic_write(path, overwrite=overwrite, inputs=inputs) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: object, *, max_length: int = 80) -> str:
    """A file-name fragment from user text (client ids, group labels): no separators, no dot files."""
    out = _UNSAFE.sub("_", str(text)).strip("._") or "_"
    return out[:max_length]


def read_side_text(path: str | os.PathLike[str], *, what: str, max_bytes: int = MAX_SIDE_FILE_BYTES) -> str:
    """Read a UTF-8 side file (``what`` names it in errors: "mapping file", "key file", ...)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: {what} not found")
    if p.is_dir():
        raise DataError(f"{p}: is a folder, expected a {what}")
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise DataError(f"{p}: {what} is {size:,} bytes; at most {max_bytes:,} are read")
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from exc
    note_input(p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{p}: {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); save it as UTF-8"
        ) from exc
    if "\x00" in text:
        raise DataError(f"{p}: {what} contains NUL bytes; expected a text file")
    return text


def nesting_depth(obj: Any, limit: int = MAX_NESTING) -> int:
    """Depth of nested dicts/lists (stops counting past ``limit`` + 1)."""
    depth, level = 0, [obj]
    while level and depth <= limit:
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list | tuple):
                nxt.extend(item)
        if not nxt:
            break
        depth += 1
        level = nxt
    return depth


def parse_structured(text: str, *, kind: str, source: str, what: str, max_depth: int = MAX_NESTING) -> Any:
    """Parse JSON or TOML text (``kind`` "json" or "toml") with bounded nesting; errors name ``source``."""
    try:
        if kind == "json":
            obj = json.loads(text)
        elif kind == "toml":
            import tomllib

            obj = tomllib.loads(text)
        else:  # pragma: no cover - programming error
            raise ValueError(kind)
    except RecursionError as exc:
        raise DataError(f"{source}: {what} is nested too deeply (at most {max_depth} levels)") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise DataError(f"{source}: {what} is not valid JSON ({where}: {exc.msg})") from exc
    except ValueError as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise DataError(f"{source}: {what} is not valid TOML ({exc})") from exc
    if nesting_depth(obj, max_depth) > max_depth:
        raise DataError(f"{source}: {what} is nested too deeply (at most {max_depth} levels)")
    return obj


def load_structured(
    path: str | os.PathLike[str], *, what: str, kinds: tuple[str, ...] = ("json", "toml"), max_depth: int = MAX_NESTING
) -> Any:
    """Read and parse a ``.json`` or ``.toml`` side file (by extension, limited to ``kinds``)."""
    p = Path(path)
    kind = p.suffix.lower().lstrip(".")
    if kind not in kinds:
        allowed = ", ".join(f".{k}" for k in kinds)
        raise DataError(f"{p}: a {what} must be {allowed}, got {p.suffix or '(no extension)'}")
    return parse_structured(read_side_text(p, what=what), kind=kind, source=str(p), what=what, max_depth=max_depth)


def require_field(obj: Any, key: str, types: type | tuple[type, ...], *, source: str, what: str) -> Any:
    """``obj[key]`` if ``obj`` is a mapping holding a value of ``types``; else a DataError naming the field."""
    if not isinstance(obj, dict):
        raise DataError(f"{source}: {what} must be a table/object, got {type(obj).__name__}")
    if key not in obj:
        raise DataError(f"{source}: {what} has no field {key!r}")
    value = obj[key]
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise DataError(f"{source}: field {key!r} of the {what} has the wrong type (bool)")
    if not isinstance(value, types):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise DataError(f"{source}: field {key!r} of the {what} must be {names}, got {type(value).__name__}")
    return value
