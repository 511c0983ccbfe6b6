"""Find and load instrument definitions: the shipped library plus the user's own folders.

Search order: the definitions shipped in ``sciplab/instruments/definitions/``, then every folder
in the ``SCIPLAB_INSTRUMENTS`` environment variable (``os.pathsep``-separated), then a folder passed
as ``instruments_dir``. Ids and aliases are matched case-insensitively and ignoring ``-``/``_``
(``phq9`` finds ``PHQ-9``). A user file may not silently replace a shipped instrument: a clash is an
error naming both files. A user folder that is missing, a file, or unreadable is an error.

Every definition and key file is read through :mod:`sciplab._core.files` (size, UTF-8, nesting
depth). A user folder's definitions are cached and re-read only when a ``.toml`` file in it is
added, removed or modified (name, modification time and size), so repeated look-ups are cheap.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from sciplab._core.errors import DataError, InstrumentDefinitionError, KeyNotVerifiedError, suggest
from sciplab._core.files import note_input, parse_structured, read_side_text
from sciplab.instruments.schema import Instrument
from sciplab.instruments.validate import parse_definition

ENV_VAR = "SCIPLAB_INSTRUMENTS"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def load_definition(path: str | os.PathLike[str], *, what: str = "instrument definition") -> Instrument:
    """Load and validate one definition file (TOML).

    The file is read as a side file (:func:`sciplab._core.files.read_side_text`): size, UTF-8,
    NUL bytes and nesting depth are checked before the schema. ``what`` names it in errors
    (``"key file"`` for ``--key``).

    Raises
    ------
    InstrumentDefinitionError
        With the file name, the field and the problem (TOML syntax errors give line and column).
    """
    p = Path(path)
    if p.suffix.lower() != ".toml" and not p.is_dir():
        if not p.exists():
            raise InstrumentDefinitionError(f"{p}: {what} not found")
        raise InstrumentDefinitionError(f"{p}: {what}s must be TOML (.toml)")
    try:
        raw = parse_structured(read_side_text(p, what=what), kind="toml", source=str(p), what=what)
    except DataError as exc:  # one error type for everything about a definition
        raise InstrumentDefinitionError(str(exc)) from exc
    return parse_definition(raw, str(p))


def _folder_files(folder: Path) -> list[Path]:
    """The ``*.toml`` files of a user folder; an unusable folder is an error, never skipped."""
    if not folder.exists():
        raise InstrumentDefinitionError(f"{folder}: instruments folder not found")
    if not folder.is_dir():
        raise InstrumentDefinitionError(f"{folder}: is a file, not an instruments folder")
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if e.name.lower().endswith(".toml"))
    except OSError as exc:
        raise InstrumentDefinitionError(
            f"{folder}: cannot read the instruments folder ({exc.strerror or exc})"
        ) from exc


def _signature(files: list[Path]) -> tuple[tuple[str, int, int], ...]:
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError as exc:
            raise InstrumentDefinitionError(f"{f}: cannot read the definition ({exc.strerror or exc})") from exc
        out.append((f.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


_FOLDER_CACHE: dict[Path, tuple[tuple[tuple[str, int, int], ...], tuple[Instrument, ...]]] = {}


def _load_folder(folder: Path) -> tuple[Instrument, ...]:
    """Definitions of a user folder, re-read only when a file was added, removed or changed."""
    files = _folder_files(folder)
    key, sig = folder.resolve(), _signature(files)
    cached = _FOLDER_CACHE.get(key)
    if cached is not None and cached[0] == sig:
        for f in files:  # still inputs of this command, which no output may replace
            note_input(f)
        return cached[1]
    loaded = tuple(load_definition(f) for f in files)
    _FOLDER_CACHE[key] = (sig, loaded)
    return loaded


@functools.lru_cache(maxsize=1)
def _builtin() -> tuple[Instrument, ...]:
    root = resources.files("sciplab.instruments") / "definitions"
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as f:
                out.append(load_definition(f))
    return tuple(out)


def _folders(instruments_dir: str | os.PathLike[str] | Iterable[str] | None) -> list[Path]:
    folders: list[Path] = []
    env = os.environ.get(ENV_VAR, "")
    folders.extend(Path(p) for p in env.split(os.pathsep) if p.strip())
    if instruments_dir is not None:
        if isinstance(instruments_dir, str | os.PathLike):
            folders.append(Path(instruments_dir))
        else:
            folders.extend(Path(p) for p in instruments_dir)
    return folders


def list_instruments(
    instruments_dir: str | os.PathLike[str] | Iterable[str] | None = None,
) -> list[Instrument]:
    """All available instruments: shipped ones first, then the user's folders.

    Examples
    --------
    >>> ids = [i.id for i in list_instruments()]
    >>> "PHQ-9" in ids and "ECR-S" in ids
    True
    """
    found = list(_builtin())
    taken = {_norm(i.id): i for i in found}
    for folder in _folders(instruments_dir):
        for inst in _load_folder(folder):
            for name in (inst.id, *inst.aliases):
                other = taken.get(_norm(name))
                if other is not None:
                    raise InstrumentDefinitionError(
                        f"{inst.path}: field 'id': {name!r} is already defined by {other.path}; "
                        "give your instrument another id (use --key FILE to supply a key for a "
                        "shipped structure-only instrument)"
                    )
            taken[_norm(inst.id)] = inst
            found.append(inst)
    return found


def get_instrument(
    instrument: str | Instrument,
    *,
    instruments_dir: str | os.PathLike[str] | Iterable[str] | None = None,
    key_file: str | os.PathLike[str] | None = None,
) -> Instrument:
    """Look up an instrument by id or alias, or load a user key file for it.

    Parameters
    ----------
    instrument
        Id or alias (case-insensitive, ``-``/``_`` ignored), or an :class:`Instrument` (returned
        as is unless ``key_file`` is given).
    instruments_dir
        Extra folder(s) of user definitions.
    key_file
        A definition file in the same format that carries the scoring key (``[key]`` table and
        item lists). Required for instruments shipped without a verified key (CATS, TDS, SEQ);
        it must describe the same instrument (same item count and scale names).
    """
    if isinstance(instrument, Instrument):
        inst = instrument
    else:
        wanted = _norm(instrument)
        everything = list_instruments(instruments_dir)
        matches = [i for i in everything if wanted in {_norm(i.id), *(_norm(a) for a in i.aliases)}]
        if not matches:
            ids = [i.id for i in everything]
            raise InstrumentDefinitionError(
                f"unknown instrument {instrument!r}{suggest(instrument, ids)}; "
                f"available: {', '.join(ids)} (add your own with --instruments-dir or {ENV_VAR})"
            )
        inst = matches[0]
    if key_file is not None:
        return _with_key(inst, load_definition(key_file, what="key file"))
    return inst


def _with_key(structure: Instrument, keyed: Instrument) -> Instrument:
    where = keyed.path
    if keyed.key is None:
        raise InstrumentDefinitionError(f"{where}: field 'key': the key file has no [key] table")
    if _norm(keyed.id) != _norm(structure.id):
        raise InstrumentDefinitionError(f"{where}: field 'id': key file is for {keyed.id!r}, not {structure.id!r}")
    if keyed.n_items != structure.n_items and structure.key is None and structure.n_items:
        raise InstrumentDefinitionError(
            f"{where}: field 'items': key file has {keyed.n_items} items but {structure.id} has {structure.n_items}"
        )
    expected = {s.name.lower() for s in structure.scales}
    for s in keyed.scales:
        if s.name.lower() not in expected:
            raise InstrumentDefinitionError(
                f"{where}: field 'scales': scale {s.name!r} is not a scale of {structure.id}"
                f"{suggest(s.name, [x.name for x in structure.scales])}"
            )
    return keyed


def require_key(instrument: Instrument) -> Instrument:
    """Raise :class:`KeyNotVerifiedError` when ``instrument`` has no scoring key."""
    if instrument.key is None:
        raise KeyNotVerifiedError(
            f"instrument {instrument.id} ships without a scoring key: no verified item-to-scale key "
            f"was found in any source ({instrument.structure_source or 'see its definition file'}), "
            "and SCIP Lab never guesses a key. Supply the key from the original publication as a "
            f"definition file in the same format with --key FILE (Python: key_file=...); "
            f"see `sciplab instruments show {instrument.id}` for its structure."
        )
    return instrument
