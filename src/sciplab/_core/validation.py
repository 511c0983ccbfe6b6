"""Checks of arguments shared by every layer: confidence levels, replicate counts, finite numbers.

One home, so the rule and its message are the same in ``paths``, ``ssm``, reliability, reliable
change, the formulation and the CLI. Each check returns the cleaned value or raises
:class:`~sciplab._core.errors.InvalidParameterError` naming the argument, the value and what is
allowed. numpy is imported inside the checks, so that importing this module (the CLI's shared
options do, for ``MAX_BOOTSTRAP``) stays cheap.
"""

from __future__ import annotations

import math

from sciplab._core.errors import InvalidParameterError

MAX_BOOTSTRAP = 10_000_000
"""Upper bound on resampling replicates accepted by any analysis (memory is checked separately)."""


def check_level(level: float, *, name: str = "level") -> float:
    """Validate a confidence level (or any probability argument called ``name``) in (0, 1)."""
    import numpy as np

    if isinstance(level, bool) or not isinstance(level, int | float | np.integer | np.floating):
        raise InvalidParameterError(f"{name} must be a number in (0, 1), got {level!r}")
    value = float(level)
    if not 0.0 < value < 1.0:
        raise InvalidParameterError(f"{name} must be in (0, 1), e.g. 0.95, got {level!r}")
    return value


def check_replicates(B: int, *, name: str = "bootstrap", allow_zero: bool = True) -> int:
    """Validate a number of resampling replicates (0 allowed to switch resampling off)."""
    import numpy as np

    if isinstance(B, bool) or not isinstance(B, int | np.integer):
        raise InvalidParameterError(f"{name} must be a whole number of replicates, got {B!r}")
    B = int(B)
    low = 0 if allow_zero else 1
    if B < low or B > MAX_BOOTSTRAP:
        raise InvalidParameterError(
            f"{name} must be between {low} and {MAX_BOOTSTRAP:,} replicates, got {B:,}"
            + ("; use 0 to skip resampling" if allow_zero else "")
        )
    return B


def check_finite(value: float, *, name: str, low: float | None = None, high: float | None = None) -> float:
    """Validate a real, finite number (optionally within ``[low, high]``); NaN and infinities are refused."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InvalidParameterError(f"{name} must be a finite number, got {value!r}")
    if low is not None and out < low:
        raise InvalidParameterError(f"{name} must be at least {low:g}, got {value!r}")
    if high is not None and out > high:
        raise InvalidParameterError(f"{name} must be at most {high:g}, got {value!r}")
    return out


def require_frame(data: object, *, name: str = "data") -> None:
    """Refuse anything but a pandas DataFrame with unique column names (raises ``DataError``).

    Duplicated names make "the column called X" ambiguous, so every analysis refuses them and names
    them, rather than picking one silently.
    """
    import pandas as pd

    from sciplab._core.errors import DataError

    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{name} must be a pandas DataFrame, got {type(data).__name__}")
    if data.columns.is_unique:  # cached by pandas: a repeated analysis of one frame checks it once
        return
    dup = data.columns[data.columns.duplicated()].unique()
    if len(dup):
        shown = ", ".join(str(c) for c in dup[:10]) + (" ..." if len(dup) > 10 else "")
        source = data.attrs.get("source")
        where = f" in {source}" if source else ""
        raise DataError(f"{name}{where} has duplicated column names: {shown}; rename them so each is unique")
