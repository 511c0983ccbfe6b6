"""Whether numba may cache a module's compiled kernels on disk (one policy for every kernel module).

Numba raises at import when no cache folder is writable ("cannot cache function"), fails every call
with ``UnpicklingError`` on a truncated cache file and aborts the process on empty ones. So caching
is used only when the folder is writable and every cache file of the module already there is whole
(unpickles); broken files are removed, and when they cannot be, caching is off. The kernel modules
(:mod:`sciplab.stats._resample_kernels`, :mod:`sciplab.sim._kernels`) locate their numba cache folder
with :func:`kernel_cache_usable` (given ``numba.njit``); this module itself never imports numba.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cache_files_usable", "kernel_cache_usable"]


def kernel_cache_usable(njit: Callable[..., Any], probe: Callable[[], None], module_file: str) -> bool:
    """Whether the kernels of ``module_file`` may be cached on disk (its broken cache files are removed).

    ``probe`` is a no-op function defined in a kernel module's folder: ``njit(cache=True)(probe)``
    (``numba.njit``, passed in so this module never imports numba) locates the numba cache folder
    without compiling anything; any failure to locate it means compiling in memory. Then
    :func:`cache_files_usable` decides.
    """
    try:
        folder = Path(njit(cache=True)(probe)._cache._cache_path)
    except Exception:  # noqa: BLE001 - any failure to locate a cache folder: compile without cache
        return False
    return cache_files_usable(folder, module_file)


def cache_files_usable(folder: Path, module_file: str) -> bool:
    """True when the kernels of ``module_file`` may be cached in ``folder`` (broken files removed).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / "kernels.f-1.py311.nbi").write_bytes(b"")  # an empty (broken) index
    ...     usable = cache_files_usable(Path(d), "/somewhere/kernels.py")
    ...     left = list(Path(d).iterdir())
    0
    >>> usable, left
    (True, [])
    """
    for path in folder.glob(Path(module_file).stem + ".*"):
        if path.suffix not in (".nbi", ".nbc"):
            continue
        try:
            with path.open("rb") as f:
                pickle.load(f)  # noqa: S301 - numba's own cache file, read as numba would
                if path.suffix == ".nbi":  # a version stamp, then the pickled index
                    pickle.loads(f.read())  # noqa: S301
        except Exception:  # noqa: BLE001 - truncated, empty or foreign: not usable
            try:
                path.unlink()
            except OSError:
                return False
    return os.access(folder, os.W_OK)
