"""Latent-variable structural equation models with lavaan's syntax, defaults and numbers.

``sem``, ``cfa`` and ``growth`` fit models written in lavaan syntax by normal-theory ML (or MLR,
FIML, several groups, the bootstrap) and return an :class:`SEMResult`; ``invariance`` fits the
measurement-invariance ladder. See :mod:`sciplab.stats.sem.core` for sources and the deliberate
differences from lavaan.
"""

from sciplab.stats.sem._result import SEMResult
from sciplab.stats.sem.core import cfa, growth, sem
from sciplab.stats.sem.invariance import InvarianceResult, invariance

__all__ = ["InvarianceResult", "SEMResult", "cfa", "growth", "invariance", "sem"]
