"""Tests of sciplab.stats.change.sessions: validated long data, first and last scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from sciplab import DataError, DataWarning, InvalidParameterError
from sciplab.stats.change import client_change, first_last

KW = {"client": "client", "session": "session", "measure": "score"}


def test_missing_scores_are_skipped_for_first_and_last(make_sessions) -> None:
    data = make_sessions({"a": [np.nan, 30, 20, np.nan]})
    res = client_change(data, **KW, rc_points=6)
    assert res.table[["first_session", "last_session", "pre", "post"]].iloc[0].tolist() == [2, 3, 30, 20]
    assert res.details["n_missing_scores"] == 2


def test_bad_input_errors(make_sessions) -> None:
    data = make_sessions({"a": [30, 18, 17], "b": [20, 21]})
    with pytest.raises(DataError, match=r"column 'scor' not found \(did you mean 'score'\?\)"):
        client_change(data, client="client", session="session", measure="scor", rc_points=6)
    with pytest.raises(DataError, match=r"column 'Session' \(argument session\) not found \(did you mean 'session'"):
        client_change(data, client="client", session="Session", measure="score", rc_points=6)
    dup = data.copy()
    dup.loc[2, "session"] = 2
    with pytest.raises(DataError, match=r"client 'a' has session 2 more than once \(row indexes 1, 2\)"):
        client_change(dup, **KW, rc_points=6)
    dated = data.assign(date=["2024-01-01", "2024-01-08", "2024-01-05", "2024-02-01", "2024-02-08"])
    with pytest.raises(DataError, match=r"client 'a': dates are not in session order: session 3 is dated 2024-01-05"):
        client_change(dated, **KW, rc_points=6, date="date")
    ok = client_change(dated.assign(date=["2024-01-01", "2024-01-08", "2024-01-15", "2024-02-01", "2024-02-08"]),
                       **KW, rc_points=6, date="date")  # fmt: skip
    assert ok.details["n_clients"] == 2
    with pytest.raises(DataError, match="is not a date"):
        client_change(dated.assign(date="soon"), **KW, rc_points=6, date="date")
    with pytest.raises(DataError, match=r"column 'score', row index 1: 'x' is not a number"):
        client_change(data.assign(score=["1", "x", "3", "4", "5"]), **KW, rc_points=6)
    with pytest.raises(DataError, match="session -1 is negative"):
        client_change(data.assign(session=[-1, 2, 3, 1, 2]), **KW, rc_points=6)
    with pytest.raises(InvalidParameterError, match="give both sd and rxx"):
        client_change(data, **KW, sd=7.5)
    with pytest.raises(InvalidParameterError, match="needs sd and rxx, or a published rc_points"):
        client_change(data, **KW)
    with pytest.raises(InvalidParameterError, match="rxx must be in"):
        client_change(data, **KW, sd=7.5, rxx=1.2)
    with pytest.raises(InvalidParameterError, match="level"):
        client_change(data, **KW, rc_points=6, level=95)
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        client_change(data.to_dict(), **KW, rc_points=6)


def test_input_not_mutated(make_sessions) -> None:
    data = make_sessions({"b": [20, 30], "a": [30, 18]}).sample(frac=1, random_state=1)
    before = data.copy(deep=True)
    client_change(data, **KW, rc_points=6)
    pd.testing.assert_frame_equal(data, before)


@settings(max_examples=40, deadline=None)
@given(cells=hs.lists(hs.one_of(hs.text(max_size=4), hs.integers(-3, 50), hs.none()), min_size=2, max_size=8))
def test_property_parsed_session_column_never_crashes(cells) -> None:
    data = pd.DataFrame({"client": "a", "session": cells, "score": 1.0})
    try:
        client_change(data, **KW, rc_points=6)
    except (DataError, InvalidParameterError):
        pass
    except DataWarning:  # pragma: no cover - warnings are errors in the suite
        pass


def test_first_last_helper(make_sessions) -> None:
    fl = first_last(make_sessions({"a": [3, 2, 1], "b": [4]}), **KW)
    assert fl.to_dict("list")["post"][0] == 1 and np.isnan(fl.to_dict("list")["post"][1])
