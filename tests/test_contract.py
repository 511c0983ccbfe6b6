"""Shared contract over every public analysis (style.md, after scikit-learn's check_estimator).

Each analysis: accepts a DataFrame and column names, rejects a missing column with DataError, gives
the same output for the same seed, never mutates its input, and returns a Result with a tidy table,
details, summary(), JSON-safe to_dict() and _repr_html_.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import sciplab
from sciplab._core.results import Result


def _phq(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=n)
    items = np.clip(np.round(1.2 + trait[:, None] + rng.normal(size=(n, 9))), 0, 3).astype(int)
    return pd.DataFrame(items, columns=[f"PHQ9_{i}" for i in range(1, 10)])


@dataclass
class Case:
    name: str
    data: Callable[[], pd.DataFrame]
    run: Callable[[pd.DataFrame], Result]
    drop: str  # a column whose absence must raise DataError


CASES = [
    Case("score", _phq, lambda d: sciplab.score(d, "PHQ-9"), "PHQ9_4"),
    Case("reliability", _phq, lambda d: sciplab.reliability(d, "PHQ-9"), "PHQ9_4"),
]


def register(case: Case) -> None:
    """Later analyses add themselves here (paths, ssm, ...)."""
    CASES.append(case)


try:  # path models (issue 3)
    from sciplab.stats.paths import paths as _paths

    def _med(n: int = 150, seed: int = 1) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=n)
        m = 0.5 * x + rng.normal(size=n)
        y = 0.4 * m + 0.2 * x + rng.normal(size=n)
        return pd.DataFrame({"x": x, "m": m, "y": y})

    register(Case("paths", _med, lambda d: _paths(d, "m ~ x\ny ~ m + x", bootstrap=200, seed=5), "m"))
except ImportError:  # pragma: no cover - module not yet present
    pass

try:  # circumplex SSM (issue 4)
    from sciplab.stats.circumplex import ssm as _ssm

    _OCT = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]

    def _oct(n: int = 80, seed: int = 2) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        ang = np.deg2rad([90, 135, 180, 225, 270, 315, 360, 45])
        base = 1 + 0.6 * np.cos(ang - np.deg2rad(200))
        return pd.DataFrame(base + rng.normal(scale=0.5, size=(n, 8)), columns=_OCT)

    register(Case("ssm", _oct, lambda d: _ssm(d, _OCT, bootstrap=200, seed=5), "DE"))
except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_returns_result_with_tidy_interfaces(case: Case) -> None:
    res = case.run(case.data())
    assert isinstance(res, Result)
    assert isinstance(res.table, pd.DataFrame) and len(res.table) > 0
    assert isinstance(res.summary(), str) and res.summary()
    json.dumps(res.to_dict())  # JSON-safe
    assert "<table" in res._repr_html_()
    assert "version" in json.dumps(res.to_dict()["details"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_missing_column_is_data_error(case: Case) -> None:
    data = case.data().drop(columns=[case.drop])
    with pytest.raises(sciplab.DataError):
        case.run(data)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_same_seed_same_output_and_input_untouched(case: Case) -> None:
    data = case.data()
    before = data.copy(deep=True)
    a, b = case.run(data), case.run(data)
    pd.testing.assert_frame_equal(data, before)
    pd.testing.assert_frame_equal(a.table, b.table)
