"""Tests of sciplab.scip.monitor: the monitoring workflow as one library call."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sciplab import InvalidParameterError
from sciplab.scip.monitor import MonitorResult, monitor
from sciplab.stats.change import client_change, detect_ruptures, expected_response, fit_reference


@pytest.fixture(scope="module")
def caseload() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a"] * 6 + ["b"] * 6 + ["solo"],
        "visit": list(range(6)) * 2 + [0],
        "CORE-10_total": [22, 20, 17, 14, 11, 9, 22, 21, 23, 24, 26, 28, 15],
        "wai": [5.0, 5.1, 5.0, 3.6, 5.0, 5.1, 5.2, 5.3, 5.2, 3.5, 3.6, 3.4, 4.0],
        "wai_t": [4.9, 5.0, 5.0, 4.9, 5.0, 5.0, 5.0, 5.1, 5.0, 5.0, 5.1, 5.0, 4.0],
    })  # fmt: skip


KW = {"client": "id", "session": "visit", "measure": "CORE-10_total"}


def test_monitor_equals_the_analyses_it_runs(caseload) -> None:
    rng = np.random.default_rng(1)
    u = rng.normal(0, [3, 1], (40, 2))
    rows = [(c, t, 25 + u[c, 0] + (u[c, 1] - 4) * np.log(t + 1) + rng.normal(0, 2)) for c in range(40)
            for t in range(8)]  # fmt: skip
    ref = fit_reference(pd.DataFrame(rows, columns=["id", "visit", "CORE-10_total"]), **KW)
    with pytest.warns(Warning, match="only one scored session"):
        res = monitor(caseload, **KW, instrument="CORE-10", scale="total", reference=ref, alliance="wai",
                      therapist_alliance="wai_t", sd_ref=0.3)  # fmt: skip
    assert isinstance(res, MonitorResult) and list(res.parts()) == ["change", "expected", "ruptures", "alliance_gap"]
    assert res.details["cutoff"] == 10 and res.details["higher_is_worse"] is True
    with pytest.warns(Warning):
        plain = client_change(caseload, **KW, rc_points=6, cutoff=10)
    pd.testing.assert_frame_equal(res.change.table, plain.table)
    pd.testing.assert_frame_equal(res.expected.table, expected_response(ref, caseload, cutoff=10).table)
    rup = detect_ruptures(caseload, client="id", session="visit", alliance="wai", sd_ref=0.3)
    pd.testing.assert_frame_equal(res.ruptures.table, rup.table)
    t = res.table.set_index("client")
    assert t.loc["a", "classification"] == "recovered" and t.loc["b", "classification"] == "deteriorated"
    assert t.loc["b", "latest_status"] == "red" and t.loc["a", "n_ruptures"] == 2
    assert set(res.to_dict()) == {"table", "details", "change", "expected", "ruptures", "alliance_gap"}
    json.dumps(res.to_dict(), allow_nan=False)
    text = res.summary(clients=True)
    assert "Expected treatment response" in text and "Alliance rupture-repair" in text


def test_monitor_errors(caseload) -> None:
    with pytest.raises(InvalidParameterError, match="nothing to do"):
        monitor(caseload, **KW)
    with pytest.raises(InvalidParameterError, match="--instrument and --scale go together"):
        monitor(caseload, **KW, instrument="CORE-10")
    with pytest.raises(InvalidParameterError, match="cutoff must be a finite number"):
        monitor(caseload, **KW, rc_points=6, cutoff=float("nan"))
