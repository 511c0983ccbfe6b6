"""Data builders shared by the scoring tests (and the CLI tests): one PHQ-9 builder, not a copy per module."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: PHQ-9 item columns in the default naming (``PHQ9_1`` ... ``PHQ9_9``).
PHQ_ITEMS = [f"PHQ9_{i}" for i in range(1, 10)]


def phq(
    rows: Sequence[Sequence[float]] | np.ndarray | None = None,
    *,
    n: int = 200,
    seed: int = 1,
    flip: int | None = None,
    index: Sequence[object] | None = None,
    columns: Sequence[str] = PHQ_ITEMS,
) -> pd.DataFrame:
    """PHQ-9 item responses (0-3), one column per item in item order.

    ``rows`` (respondents x 9 items) as given, as floats; without ``rows``, ``n`` respondents whose
    items are driven by one normal trait (``1.5 + trait + noise``, rounded and clipped to 0-3:
    reliable, not degenerate) from ``numpy.random.default_rng(seed)``. ``flip`` reverses that item
    (``3 - x``), e.g. to make one item misfit.
    """
    if rows is None:
        rng = np.random.default_rng(seed)
        trait = rng.normal(size=n)
        values = np.clip(np.round(1.5 + trait[:, None] + rng.normal(size=(n, 9))), 0, 3)
    else:
        values = np.array(rows, dtype=float)
    if flip is not None:
        values[:, flip - 1] = 3 - values[:, flip - 1]
    df = pd.DataFrame(values, columns=list(columns))
    if index is not None:
        df.index = pd.Index(index)
    return df
