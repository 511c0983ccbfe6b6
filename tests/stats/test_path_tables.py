"""Tests of sciplab.stats._path_tables: frames assembled from blocks equal the constructor's."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from sciplab.stats import _path_tables as pt
from sciplab.stats.paths import _compile, paths

MODELS = [
    "m ~ x\ny ~ m + x",
    "m ~ a*x\nm2 ~ d*m + x\ny ~ b*m2 + c*m + x + w\nind := a*d*b\nm ~~ m",
    "m ~ 1 + x\ny ~ 0.5*m + x",
]


def data(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=n), rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    m2 = 0.3 * m + rng.normal(size=n)
    return pd.DataFrame({"x": x, "w": w, "m": m, "m2": m2, "y": 0.4 * m2 + 0.2 * m + rng.normal(size=n)})


@pytest.mark.parametrize("source", MODELS)
def test_assembled_frames_pickle_to_the_constructors_bytes(source: str) -> None:
    _, spec = _compile(source)
    text = pt.table_text(spec)
    if pt._from_blocks is None:  # pragma: no cover - pandas < 3: the constructor only
        assert text["blocks"] is None
        return
    assert text["blocks"] is not None  # the layout check passed: results take the fast route
    rows = len(text["table"]["user"])
    rng = np.random.default_rng(1)
    stats = {c: rng.normal(size=rows) for c in pt.STAT_COLUMNS}
    stats["ci_lower"][1] = np.nan
    start = rows - len(spec.effects)
    fast = pt.frames(text, stats, start)
    slow = pt.frames({**text, "blocks": None}, stats, start)
    for a, b in zip(fast, slow, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert pickle.dumps(a) == pickle.dumps(b)
    made = pt.empty_frames(text, rows, start)  # built first, filled later (paths: while the bootstrap runs)
    assert made is not None
    filled = pt.fill_frames(made, stats, start)
    for a, b in zip(filled, slow, strict=True):
        assert pickle.dumps(a) == pickle.dumps(b)
    assert list(fast[0].columns) == pt.TABLE_COLUMNS[:4] + ["user"] + pt.STAT_COLUMNS
    assert list(fast[1].columns) == pt.INDIRECT_COLUMNS


def test_results_own_their_frames() -> None:
    """Writing into one result's frames changes neither another result's nor the cached text."""
    df = data()
    one = paths(df, MODELS[1], bootstrap=200, seed=3)
    two = paths(df, MODELS[1], bootstrap=200, seed=3)
    before = two.table.copy(), two.indirect.copy()
    one.table.loc[0, "est"] = 99.0
    one.table.loc[0, "lhs"] = "changed"
    one.indirect.loc[0, "ci_lower"] = -99.0
    one.indirect.loc[0, "path"] = "changed"
    one.table.columns.name = "renamed"
    pd.testing.assert_frame_equal(two.table, before[0], check_exact=True)
    pd.testing.assert_frame_equal(two.indirect, before[1], check_exact=True)
    three = paths(df, MODELS[1], bootstrap=200, seed=3)
    pd.testing.assert_frame_equal(three.table, before[0], check_exact=True)
    assert three.table.columns.name is None
    assert not np.shares_memory(one.table["est"].to_numpy(), one.indirect["est"].to_numpy())


def test_model_and_fit_tables_are_copies() -> None:
    df = data()
    one = paths(df, MODELS[0], bootstrap=200, seed=3)
    one.model.loc[0, "lhs"] = "changed"
    one.fit.loc[0, "chisq"] = 1.0
    two = paths(df, MODELS[0], bootstrap=200, seed=3)
    assert two.model.loc[0, "lhs"] == "m"
    assert len(two.fit) == 0
    parsed, _ = _compile(MODELS[0])
    pd.testing.assert_frame_equal(two.model, parsed.table, check_exact=True)
    assert pickle.dumps(two.model) == pickle.dumps(parsed.table.copy())
