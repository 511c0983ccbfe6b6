"""One way to turn a user's ``seed`` into a :class:`numpy.random.Generator`.

No SCIP Lab function touches a global RNG. Each stochastic function accepts
``seed: int | numpy.random.Generator | numpy.random.SeedSequence | None`` and converts it once with
:func:`as_generator`; the seed actually used is recorded in the result's ``details``.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from sciplab._core.errors import InvalidParameterError

SeedLike = int | np.integer | np.random.Generator | np.random.SeedSequence | None


def resolve_seed(seed: SeedLike) -> int | None:
    """Return an integer seed to record in results.

    ``None`` draws fresh OS entropy and returns it, so every result can be reproduced from its
    ``details`` even when the user gave no seed. A Generator cannot be reduced to an integer: the
    function returns ``None`` and the caller records that a Generator was passed.
    """
    if seed is None:
        entropy = cast(int, np.random.SeedSequence().entropy)  # fresh OS entropy is always an int
        return int(entropy % (2**63))
    if isinstance(seed, bool):
        raise InvalidParameterError(f"seed must be an integer or a numpy Generator, got {seed!r}")
    if isinstance(seed, int | np.integer):
        if int(seed) < 0:
            raise InvalidParameterError(f"seed must be a non-negative integer, got {seed}")
        return int(seed)
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.entropy) if isinstance(seed.entropy, int) else None
    if isinstance(seed, np.random.Generator):
        return None
    raise InvalidParameterError(
        f"seed must be an integer, a numpy Generator, a SeedSequence or None, got {type(seed).__name__}"
    )


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Convert ``seed`` into a ``numpy.random.Generator`` (PCG64).

    Examples
    --------
    >>> g = as_generator(42)
    >>> float(g.random()) == float(as_generator(42).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    resolved = resolve_seed(seed)
    return np.random.default_rng(resolved)


def generator_and_seed(seed: SeedLike) -> tuple[np.random.Generator, int | None]:
    """Return ``(generator, recorded_seed)``; use the recorded seed in a result's ``details``.

    With ``seed=None`` a fresh seed is drawn and returned so the run can be repeated exactly.
    With a Generator the recorded seed is ``None`` (the generator's state is the user's).
    """
    if isinstance(seed, np.random.Generator):
        return seed, None
    resolved = resolve_seed(seed)
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed), resolved
    return np.random.default_rng(resolved), resolved
