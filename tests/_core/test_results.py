"""Result base class: JSON-safe to_dict (NaN -> None), summary and HTML."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pandas as pd

import sciplab
from sciplab._core.results import Result, package_version, to_jsonable


@dataclasses.dataclass
class Point:
    x: float
    y: int


def test_to_jsonable_values() -> None:
    assert to_jsonable(np.float64("nan")) is None
    assert to_jsonable(float("inf")) is None
    assert to_jsonable(-np.inf) is None
    assert to_jsonable(pd.NA) is None and to_jsonable(pd.NaT) is None
    assert to_jsonable(np.int64(3)) == 3 and type(to_jsonable(np.int64(3))) is int
    assert to_jsonable(np.float32(0.5)) == 0.5 and type(to_jsonable(np.float32(0.5))) is float
    assert to_jsonable(np.bool_(True)) is True
    assert to_jsonable(np.array([1.0, np.nan])) == [1.0, None]
    assert to_jsonable(pd.Series([1.0, np.nan], index=["a", "b"])) == {"a": 1.0, "b": None}
    assert to_jsonable({1: (1, {2}), "k": [np.nan]}) == {"1": [1, [2]], "k": [None]}
    assert to_jsonable(pd.Timestamp("2024-01-02")) == "2024-01-02T00:00:00"
    assert to_jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert to_jsonable(Point(np.nan, 2)) == {"x": None, "y": 2}
    assert to_jsonable(pd.Categorical(["a"])[0]) == "a"
    assert to_jsonable(object.__new__(object)).startswith("<object")


def test_result_to_dict_is_json_safe() -> None:
    table = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", None], "c": pd.array([1, None], dtype="Int64")})
    res = Result(table=table, details={"n": np.int64(2), "ci": (np.nan, 1.0), "nested": {"v": np.float64("inf")}})
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == {
        "table": [{"a": 1.0, "b": "x", "c": 1}, {"a": None, "b": None, "c": None}],
        "details": {"n": 2, "ci": [None, 1.0], "nested": {"v": None}},
    }
    assert json.loads(res.to_json()) == d


def test_summary_and_html() -> None:
    res = Result(table=pd.DataFrame({"est": [0.12345]}), details={"n": 10, "note": "<b>&", "skip": [1]})
    text = res.summary()
    assert text.splitlines()[:2] == ["Result", "======"]
    assert "0.123" in text and "n: 10" in text and "skip" not in text
    assert str(res) == text
    html = res._repr_html_()
    assert html.startswith("<h4>Result</h4>")
    assert "&lt;b&gt;&amp;" in html and "<b>&" not in html.replace("<b>note</b>", "")
    assert "0.123" in html


def test_score_result_to_dict_is_json_safe() -> None:
    df = pd.DataFrame({f"PHQ9_{i}": [1, 2, np.nan] for i in range(1, 10)})
    res = sciplab.score(df, "PHQ-9")
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["scores"] == [
        {"row": 0, "PHQ-9_total": 9.0},
        {"row": 1, "PHQ-9_total": 18.0},
        {"row": 2, "PHQ-9_total": None},
    ]
    assert d["bands"][2]["PHQ-9_total_band"] is None
    assert d["flags"][0]["PHQ-9_self_harm"] is True
    assert d["validity"][2]["PHQ-9_total_status"] == "too_few_items"
    assert "<li>PHQ-9: key verified</li>" in res._repr_html_()


def test_package_version() -> None:
    """Results record the declared version: pyproject's, the installed metadata's and ``sciplab.__version__``."""
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    pyproject = Path(sciplab.__file__).parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    assert package_version() == declared == version("sciplab") == sciplab.__version__
