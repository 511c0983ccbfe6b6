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
    returns_frame: bool = False  # a per-row transform (ssm_scores) returns a DataFrame, not a Result


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


try:  # latent-variable SEM (issue 14)
    from sciplab.stats.sem import cfa as _cfa

    def _factor(n: int = 200, seed: int = 3) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        f = rng.normal(size=n)
        return pd.DataFrame({f"x{i}": f + rng.normal(size=n) for i in range(1, 5)})

    register(
        Case("sem", _factor, lambda d: _cfa(d, "f =~ x1 + x2 + x3 + x4", se="bootstrap", bootstrap=50, seed=5), "x3")
    )
except ImportError:  # pragma: no cover
    pass


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_returns_result_with_tidy_interfaces(case: Case) -> None:
    res = case.run(case.data())
    if case.returns_frame:
        assert isinstance(res, pd.DataFrame) and len(res) == len(case.data())
        return
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
    if case.returns_frame:
        pd.testing.assert_frame_equal(a, b)
    else:
        pd.testing.assert_frame_equal(a.table, b.table)


# -- SCIP room: formulate and fit_template ----------------------------------------------------------
from sciplab.scip.formulate import formulate as _formulate  # noqa: E402
from sciplab.scip.templates import fit_template as _fit_template  # noqa: E402
from sciplab.scip.templates import get_template as _get_template  # noqa: E402


def _client_scores() -> pd.DataFrame:
    return pd.DataFrame({
        "client": ["a", "b"],
        "ECR-S_anxiety": [5.5, 2.0],
        "ECR-S_avoidance": [2.5, 6.0],
        "MSPSS_total": [2.2, 6.0],
        "PHQ-9_total": [17, 3],
    })  # fmt: skip


def _constructs(n: int = 150, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = _get_template("scip-core").constructs
    return pd.DataFrame(rng.normal(size=(n, len(cols))), columns=cols)


register(Case("formulate", _client_scores, lambda d: _formulate(d, client="a"), "client"))
register(
    Case(
        "fit_template",
        _constructs,
        lambda d: _fit_template(d, "scip-core", bootstrap=200, seed=5, instruments=[]),
        "distress",
    )
)


# -- the remaining public analyses (issue 12 item 11) -----------------------------------------------
from sciplab.scip.monitor import monitor as _monitor  # noqa: E402
from sciplab.stats.change import (  # noqa: E402
    alliance_gap as _alliance_gap,
)
from sciplab.stats.change import (  # noqa: E402
    client_change as _client_change,
)
from sciplab.stats.change import (  # noqa: E402
    detect_ruptures as _detect_ruptures,
)
from sciplab.stats.change import (  # noqa: E402
    expected_response as _expected_response,
)
from sciplab.stats.change import (  # noqa: E402
    fit_reference as _fit_reference,
)
from sciplab.stats.change import (  # noqa: E402
    growth_model as _growth_model,
)
from sciplab.stats.circumplex import ssm_scores as _ssm_scores  # noqa: E402


def _two_instruments() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    phq = _phq(120, seed=6)
    gad = pd.DataFrame(
        np.clip(np.round(1 + rng.normal(size=(120, 7))), 0, 3).astype(int), columns=[f"GAD7_{i}" for i in range(1, 8)]
    )
    return pd.concat([phq, gad], axis=1)


def _pre_post() -> pd.DataFrame:
    """Item-level PHQ-9 at two waves side by side (pre items PHQ9_1..9, post items post_1..9)."""
    pre = _phq(80, seed=7)
    post = (pre - (np.random.default_rng(8).random(pre.shape) < 0.4)).clip(lower=0)
    post.columns = [f"post_{i}" for i in range(1, 10)]
    return pd.concat([pre, post], axis=1)


def _reliable_change(d: pd.DataFrame) -> Result:
    pre = d[[c for c in d.columns if c.startswith("PHQ9_")]]
    post = d[[c for c in d.columns if c.startswith("post_")]].rename(columns=lambda c: c.replace("post", "PHQ9"))
    return sciplab.reliable_change(pre, post, instrument="PHQ-9", scale="total", sd=5.0, rxx=0.85)


def _sessions(n_clients: int = 30, n_sessions: int = 8, seed: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        start = rng.normal(20, 5)
        slope = rng.normal(-4, 1.5)
        for s in range(1, n_sessions + 1):
            rows.append(
                {
                    "client": f"c{c:02d}",
                    "session": s,
                    "score": start + slope * np.log(s) + rng.normal(0, 2),
                    "alliance": 5 + 0.1 * s + rng.normal(0, 0.6),
                    "alliance_t": 5 + 0.1 * s + rng.normal(0, 0.6),
                }
            )
    return pd.DataFrame(rows)


_SESSION_KW = {"client": "client", "session": "session"}
_REFERENCE = None


def _expected(d: pd.DataFrame) -> Result:
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = _fit_reference(_sessions(60, 10, seed=9), measure="score", **_SESSION_KW)
    return _expected_response(_REFERENCE, d[d["client"].isin(["c00", "c01", "c02"])])


register(Case("score_all", _two_instruments, lambda d: sciplab.score_all(d, ["PHQ-9", "GAD-7"]), "GAD7_3"))
register(
    Case(
        "reliable_change",
        _pre_post,
        _reliable_change,
        "post_4",
    )
)
register(Case("ssm_scores", _oct, lambda d: _ssm_scores(d, _OCT), "DE", returns_frame=True))
register(
    Case(
        "client_change",
        _sessions,
        lambda d: _client_change(d, measure="score", sd=5.0, rxx=0.85, cutoff=12.0, **_SESSION_KW),
        "score",
    )
)
register(
    Case("detect_ruptures", _sessions, lambda d: _detect_ruptures(d, alliance="alliance", **_SESSION_KW), "alliance")
)
register(
    Case(
        "alliance_gap",
        _sessions,
        lambda d: _alliance_gap(d, client_alliance="alliance", therapist_alliance="alliance_t", **_SESSION_KW),
        "alliance_t",
    )
)
register(Case("growth_model", _sessions, lambda d: _growth_model(d, measure="score", **_SESSION_KW), "score"))
register(Case("expected_response", _sessions, _expected, "score"))
register(
    Case(
        "monitor",
        _sessions,
        lambda d: _monitor(d, measure="score", sd=5.0, rxx=0.85, cutoff=12.0, alliance="alliance"),
        "score",
    )
)
