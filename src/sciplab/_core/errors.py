"""Exception and warning hierarchy of SCIP Lab.

Every error a user can provoke with bad input is a :class:`SciplabError`. Messages name the
argument, the bad value, where it is (file, row, column, item) and what is allowed, so the CLI can
print them as one readable line (exit code 2) and library users can catch one base class.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SciplabError(Exception):
    """Base class of every error raised deliberately by SCIP Lab."""


class DataError(SciplabError, ValueError):
    """The data (a DataFrame, a file, a column, a cell) cannot be used as given."""


class InvalidParameterError(SciplabError, ValueError):
    """A function argument has a value outside what is allowed."""


class InstrumentDefinitionError(SciplabError):
    """An instrument definition file is malformed or cannot be used for the request."""


class KeyNotVerifiedError(InstrumentDefinitionError):
    """The instrument ships without a verified scoring key; a user-supplied key file is needed."""


class ModelSyntaxError(SciplabError, ValueError):
    """A model written in lavaan-style syntax cannot be parsed."""


class SciplabWarning(UserWarning):
    """Base class of SCIP Lab warnings."""


class DataWarning(SciplabWarning):
    """Something in the data deserves attention but does not stop the analysis."""


class ConvergenceWarning(SciplabWarning):
    """An iterative estimator did not converge cleanly."""


def suggest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``" (did you mean 'x'?)"`` for close matches of ``name`` in ``choices``, else ``""``."""
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    if not matches:
        return ""
    quoted = ", ".join(repr(lowered[m]) for m in matches)
    return f" (did you mean {quoted}?)"
