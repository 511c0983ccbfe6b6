"""Lazy exports for package ``__init__`` files (PEP 562 module ``__getattr__``).

``import sciplab`` and the CLI's start-up must not import pandas, scipy, statsmodels, numba or
matplotlib (issue 19): a package lists what it exports and where each name lives, and the module is
imported on the first use of the name. Usage, in a package ``__init__``::

    __getattr__, __dir__ = lazy_exports(__name__, {"paths": "sciplab.stats.paths"})

with the real imports repeated under ``if TYPE_CHECKING:`` for type checkers. A name must not be
the name of a submodule of the package (importing the submodule would replace it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports`` maps each name to the module defining it."""
    table = dict(exports)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # later lookups do not come here
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__
