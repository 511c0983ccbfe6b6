"""Tests of sciplab.scip.relationship: the rupture type to expect by attachment pattern."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sciplab import InvalidParameterError
from sciplab.scip.relationship import detect_ruptures_by_attachment, expected_rupture_type

RKW = {"client": "client", "session": "session", "alliance": "wai"}


def _alliance(a: list[float], cid: str) -> pd.DataFrame:
    return pd.DataFrame({"client": cid, "session": range(1, len(a) + 1), "wai": a})


def test_ruptures_several_clients_attachment_and_defaults() -> None:
    data = pd.concat([
        _alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0, 5.1], "anx"),
        _alliance([5.0, 5.0, 5.1, 5.0, 5.1, 5.0, 5.0], "sec"),
        _alliance([4.0], "solo"),
    ])  # fmt: skip
    data["pattern"] = data["client"].map({"anx": "preoccupied", "sec": "secure", "solo": ""})
    res = detect_ruptures_by_attachment(data, **RKW, attachment="pattern")
    assert set(res.table["client"]) == {"anx"} and res.table["expected_rupture"].tolist() == ["confrontation"] * 2
    assert res.details["notes"] == {"solo": "only one alliance rating: no rupture can be detected"}
    assert res.details["sd_ref_source"].startswith("pooled SD of session-to-session differences in the data (n = 12)")
    assert "attachment preoccupied -> watch for confrontation" in res.summary()
    assert set(res.details["expected_rupture_types"]) == {"anx", "sec"}
    mapped = detect_ruptures_by_attachment(data, **RKW, attachment={"anx": "avoidant"})
    assert mapped.table["expected_rupture"].tolist() == ["withdrawal"] * 2
    json.dumps(res.to_dict(), allow_nan=False)


def test_attachment_errors() -> None:
    data = _alliance([5.0, 5.1, 5.0, 5.1, 3.6, 5.0], "a")
    with pytest.raises(InvalidParameterError, match="attachment column 'patern' not found"):
        detect_ruptures_by_attachment(data.assign(pattern="secure"), **RKW, sd_ref=0.3, attachment="patern")
    with pytest.raises(InvalidParameterError, match="must be a column name or a mapping"):
        detect_ruptures_by_attachment(data, **RKW, sd_ref=0.3, attachment=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="unknown attachment pattern 'avoidnt'"):
        detect_ruptures_by_attachment(data, **RKW, sd_ref=0.3, attachment={"a": "avoidnt"})


def test_expected_rupture_types() -> None:
    assert expected_rupture_type("anxious")["expected_rupture"] == "confrontation"
    assert expected_rupture_type("Preoccupied")["also"] == "deferential withdrawal"
    d = expected_rupture_type("dismissing")
    # the papers themselves, not an internal document users do not have (issue 10.16)
    assert d["expected_rupture"] == "withdrawal" and "Mallinckrodt, Choi & Daly (2015)" in d["sources"][0]
    assert "Safran & Muran (2000)" in d["sources"][0]
    for pattern in ("anxious", "avoidant", "fearful", "secure"):
        info = expected_rupture_type(pattern)
        assert ".md" not in " ".join([*info["sources"], info["evidence"]])
    assert "[inference]" in d["evidence"]
    with pytest.raises(InvalidParameterError, match="did you mean 'avoidant'"):
        expected_rupture_type("avoidnt")
