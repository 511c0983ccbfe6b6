"""Shared builders of session data for the change-analytics tests (tests/stats/test_change_*.py)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

#: Column arguments of the builders' frames.
SESSION_KW = {"client": "client", "session": "session", "measure": "score"}


def _sessions(values: dict[str, list[float]], start: int = 1) -> pd.DataFrame:
    rows = [(cid, start + i, v) for cid, ys in values.items() for i, v in enumerate(ys)]
    return pd.DataFrame(rows, columns=["client", "session", "score"])


def _alliance(a: list[float], cid: str = "c1") -> pd.DataFrame:
    return pd.DataFrame({"client": cid, "session": range(1, len(a) + 1), "wai": a})


@pytest.fixture(scope="session")
def make_sessions() -> Callable[..., pd.DataFrame]:
    """``make_sessions({"a": [30, 18], ...}, start=1)``: long frame ``client, session, score``."""
    return _sessions


@pytest.fixture(scope="session")
def make_alliance() -> Callable[..., pd.DataFrame]:
    """``make_alliance([5.0, 4.0, ...], cid="c1")``: one client's alliance series ``client, session, wai``."""
    return _alliance


@pytest.fixture(scope="session")
def session_kw() -> dict[str, str]:
    """Column arguments (client, session, measure) matching the builders."""
    return dict(SESSION_KW)
