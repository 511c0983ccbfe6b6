"""Tests of the lavaan-style model syntax parser."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciplab._core.errors import ModelSyntaxError
from sciplab.stats.syntax import TABLE_COLUMNS, parse_expression, parse_model


def test_full_syntax_table():
    m = parse_model(
        """
        # SCIP-style model
        m1 + m2 ~ a*x   # two outcomes, one label (lavaan: equality)
        y ~ b1*m1 + b2*m2 +
            0*x + NA*w
        y ~ 1; m1 ~~ m2
        f =~ x1 + 1*x2 + x3
        ind := a*(b1 + b2)
        diff := a*b1 - a*b2 / 2 ^ 2
        """
    )
    t = m.table
    assert list(t.columns) == TABLE_COLUMNS
    rows = t[["lhs", "op", "rhs", "label", "free"]].values.tolist()
    assert rows[:2] == [["m1", "~", "x", "a", 1], ["m2", "~", "x", "a", 2]]
    y = t[t["lhs"] == "y"]
    assert y[["op", "rhs", "label"]].values.tolist() == [
        ["~", "m1", "b1"], ["~", "m2", "b2"], ["~", "x", ""], ["~", "w", ""], ["~1", "", ""],
    ]  # fmt: skip
    fixed = t[(t["lhs"] == "y") & (t["rhs"] == "x")].iloc[0]
    assert fixed["free"] == 0 and fixed["ustart"] == 0.0
    assert math.isnan(t[(t["lhs"] == "y") & (t["rhs"] == "w")].iloc[0]["ustart"])
    assert t[(t["op"] == "=~")]["rhs"].tolist() == ["x1", "x2", "x3"]
    assert t[(t["op"] == "=~") & (t["rhs"] == "x2")]["ustart"].item() == 1.0
    assert t[t["op"] == "~~"][["lhs", "rhs"]].values.tolist() == [["m1", "m2"]]
    assert m.defined["rhs"].tolist() == ["a*(b1 + b2)", "a*b1 - a*b2/2^2"]
    assert t["free"][t["free"] > 0].tolist() == list(range(1, (t["free"] > 0).sum() + 1))
    assert t.loc[t["lhs"] == "ind", "line"].item() == 8


def test_expressions_evaluate_vectorised():
    e = parse_expression("a*b + (c - d)^2 - sqrt(abs(-a)) / 2")
    vals = {"a": np.array([4.0, 9.0]), "b": 2.0, "c": 3.0, "d": 1.0}
    np.testing.assert_allclose(e.evaluate(vals), [8 + 4 - 1, 18 + 4 - 1.5])
    assert e.names == ("a", "b", "c", "d")
    assert parse_expression("-a*-b").evaluate({"a": 2.0, "b": 3.0}) == 6.0
    assert parse_expression("2^3^2").evaluate({}) == 2.0**9


def test_semicolons_comments_and_continuation_lines():
    m = parse_model("y ~ x1 ! comment\n   + x2; z ~ y\n\n\n")
    assert m.table[["lhs", "rhs"]].values.tolist() == [["y", "x1"], ["y", "x2"], ["z", "y"]]


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("y ~ x +", 1, 8, "expected a term after '\\+'"),
        ("y ~ x\ny ~ x", 2, 5, "specified twice"),
        ("y x", 1, 1, "no operator"),
        ("y ~ x $", 1, 7, "unexpected character"),
        ("m ~ a*x\nab := a*q", 2, 9, "unknown label 'q'"),
        ("m ~ a*x\nab := a*(a", 2, 11, "expected '\\)'"),
        ("y ~ y", 1, 5, "regressed on itself"),
        ("y ~ x ~ z", 1, 7, "second operator"),
        ("y ~ a*b*x", 1, 7, "only one label"),
        ("m ~ a*x\nab := foo(a)", 2, 7, "unknown function"),
        ("m ~ a*x\nab := ab*a", 2, 7, "itself"),
        ("y ~~ 1", 1, 6, "intercept"),
    ],
)
def test_errors_show_line_column_and_caret(text, line, col, message):
    with pytest.raises(ModelSyntaxError, match=message) as info:
        parse_model(text)
    msg = str(info.value)
    assert msg.startswith(f"line {line}, column {col}:")
    src_line, caret = msg.split("\n")[1:3]
    assert src_line == "  " + text.split("\n")[line - 1]
    assert caret == "  " + " " * (col - 1) + "^"


def test_non_string_model():
    with pytest.raises(ModelSyntaxError, match="string"):
        parse_model(42)  # type: ignore[arg-type]


ALPHABET = list("xyab01 ~=*+-:;#()\n.^/") + ["~~", "=~", ":=", "~ 1", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=30).map("".join))
def test_random_junk_parses_or_raises_model_syntax_error(text):
    try:
        m = parse_model(text)
    except ModelSyntaxError as exc:
        assert str(exc).startswith("line ")
    else:
        assert list(m.table.columns) == TABLE_COLUMNS


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_never_crashes(text):
    try:
        parse_model(text)
    except ModelSyntaxError:
        pass
