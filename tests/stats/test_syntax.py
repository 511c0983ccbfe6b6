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


# -- bounded, typed errors on hostile input (issue 11.3, 11.8) --------------------------------


@pytest.mark.parametrize("text", ["", " ", "# c", ";", "\n\n"])
def test_empty_expression_is_a_syntax_error(text):
    with pytest.raises(ModelSyntaxError, match="expected an expression"):
        parse_expression(text)


@pytest.mark.parametrize(
    "expr",
    ["(" * 198 + "a" + ")" * 198, "-" * 990 + "a", "a" + "^a" * 300, "sqrt(" * 80 + "a" + ")" * 80],
)
def test_deep_nesting_is_refused_with_a_syntax_error(expr):
    with pytest.raises(ModelSyntaxError, match="nested more than 50 levels"):
        parse_expression(expr)
    with pytest.raises(ModelSyntaxError, match="nested more than 50 levels"):
        parse_model(f"m ~ a*x\nd := {expr}")


def test_long_sums_are_flat_and_evaluate():
    e = parse_expression(" + ".join(["a"] * 1000) + " - " + " * ".join(["a"] * 1000))
    assert e.evaluate({"a": 1.0}) == 999.0
    m = parse_model("m ~ a*x\nd := " + " + ".join(["a"] * 1000))
    assert m.expressions["d"].evaluate({"a": np.array([1.0, 2.0])}).tolist() == [1000.0, 2000.0]


def test_too_many_symbols_are_refused():
    with pytest.raises(ModelSyntaxError, match="more than 5,000 symbols"):
        parse_expression(" + ".join(["a"] * 3000))


def test_model_length_is_bounded():
    with pytest.raises(ModelSyntaxError, match="at most 1,000,000"):
        parse_model("y ~ x\n" + "#" * 1_000_001)


@pytest.mark.parametrize(("text", "col"), [("y ~ 1e999*x", 5), ("y ~ -1e400*x", 6), ("m ~ a*x\nd := a*1e999", 8)])
def test_non_finite_numbers_are_syntax_errors(text, col):
    with pytest.raises(ModelSyntaxError, match="not finite") as info:
        parse_model(text)
    assert f"column {col}:" in str(info.value)


# -- conditions: the same parser with comparisons and and/or/not (issue 12.5) -------------------


def test_logic_expressions_evaluate_elementwise():
    e = parse_expression("a >= 1 and not (b == 'x' or c < -2 * a)", logic=True)
    assert e.names == ("a", "b", "c")
    out = e.evaluate({"a": np.array([0.0, 1.0, 2.0]), "b": "y", "c": np.array([0.0, 0.0, -5.0])})
    assert out.tolist() == [False, True, False]
    assert e.text == "a >= 1 and not (b == 'x' or c < -2*a)"
    assert bool(parse_expression("true or false", logic=True).evaluate({}))
    assert parse_expression("x.p != 'a' and x.q <= 2", logic=True).names == ("x.p", "x.q")


@pytest.mark.parametrize(
    ("text", "col", "message"),
    [
        ("a and", 6, "ends too early"),
        ("a)", 2, r"unexpected '\)'"),
        ("a # 1", 3, "unexpected character '#'"),
        ("a ! b", 3, "unexpected character '!'"),
        ("(a", 3, r"expected '\)'"),
        ("a == == b", 6, "expected a number"),
        ("a < b < c", 7, "unexpected '<'"),
        ("and a", 1, "unexpected 'and'"),
        ("a > 1e999", 5, "not finite"),
    ],
)
def test_logic_errors_show_column_and_caret(text, col, message):
    with pytest.raises(ModelSyntaxError, match=message) as info:
        parse_expression(text, logic=True)
    msg = str(info.value)
    assert msg.startswith(f"line 1, column {col}:")
    assert msg.split("\n")[1:3] == ["  " + text, "  " + " " * (col - 1) + "^"]
    assert info.value.problem in msg.split("\n")[0] and info.value.col == col


def test_comparisons_are_not_part_of_model_definitions():
    with pytest.raises(ModelSyntaxError, match="unexpected character '<'"):
        parse_model("m ~ a*x\nd := a < 1")


LOGIC_ALPHABET = [*"ab1.() -*'", " and ", " or ", "not ", "<", "<=", "==", "!=", "#", "true", '"x"', "^", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LOGIC_ALPHABET), max_size=30).map("".join))
def test_random_conditions_parse_or_raise_model_syntax_error(text):
    try:
        e = parse_expression(text, logic=True)
    except ModelSyntaxError as exc:
        assert str(exc).startswith("line ")
    else:  # the normalised text parses to the same tree shape
        assert parse_expression(e.text, logic=True).text == e.text


# -- SEM extensions (issue 14): start values, NA*, per-group c(), constraints -------------------


def test_sem_modifiers_start_na_and_group_vectors():
    m = parse_model(
        """
        visual =~ NA*x1 + start(0.6)*x2 + 0.7?x3
        textual =~ x4 + c(a1, a2)*x5 + c(1, NA)*x6 + start(c(0.5, 0.8))*x7
        x1 ~ c(i1, i1)*1
        visual ~~ 1*visual
        """
    )
    t = m.table.set_index("rhs")
    assert bool(t.loc["x1", "na_free"]) and t.loc["x1", "free"] > 0
    assert t.loc["x2", "start"] == 0.6 and t.loc["x3", "start"] == 0.7 and t.loc["x3", "free"] > 0
    g5 = m.group_modifiers[int(t.loc["x5", "id"])]
    assert g5.labels == ("a1", "a2") and all(math.isnan(v) for v in g5.values)
    g6 = m.group_modifiers[int(t.loc["x6", "id"])]
    assert g6.values[0] == 1.0 and math.isnan(g6.values[1]) and t.loc["x6", "free"] == 0
    assert m.group_modifiers[int(t.loc["x7", "id"])].starts == (0.5, 0.8)
    assert t.loc["x5", "label"] == "a1"


def test_constraints_are_rows_and_expressions():
    m = parse_model("y ~ a*x1 + b*x2 + c*x3\na == 2*b\nc > 0\nb < a + 1\nd := a - b")
    assert [c.op for c in m.constraints] == ["==", ">", "<"]
    rows = m.table[m.table["op"].isin(["==", "<", ">"])][["lhs", "op", "rhs", "free"]].values.tolist()
    assert rows == [["a", "==", "2*b", 0], ["c", ">", "0", 0], ["b", "<", "a + 1", 0]]
    c = m.constraints[0]
    assert c.left.evaluate({"a": 4.0}) == 4.0 and c.right.evaluate({"b": 2.0}) == 4.0


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("y ~ a*x\na == q", 2, 6, "unknown label 'q' in a constraint"),
        ("== a", 1, 1, "expected an expression before '=='"),
        ("y ~ a*x\na >", 2, 4, "expected an expression after '>'"),
        ("y ~ equal(a)*x", 1, 5, "modifier function 'equal' is not supported"),
        ("y ~ c(a, 1*x", 1, 11, "expected ',' or '\\)'"),
        ("y ~ c(a, b)*c(1, 2, 3)?x", 1, 13, "differ in length"),
        ("y ~ start(a)*x", 1, 11, "expected a number or NA"),
        ("y ~ c(a, b)?x", 1, 12, "'\\?' sets start values"),
    ],
)
def test_sem_syntax_errors_show_caret(text, line, col, message):
    with pytest.raises(ModelSyntaxError, match=message) as info:
        parse_model(text)
    msg = str(info.value)
    assert msg.startswith(f"line {line}, column {col}:")
    assert msg.split("\n")[2] == "  " + " " * (col - 1) + "^"


SEM_ALPHABET = [*"xyab01 ~=*+-;()\n.?,<>", "~~", "=~", "==", "c(", "start(", "NA*", ":="]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SEM_ALPHABET), max_size=30).map("".join))
def test_random_sem_syntax_parses_or_raises_model_syntax_error(text):
    try:
        m = parse_model(text)
    except ModelSyntaxError as exc:
        assert str(exc).startswith("line ")
    else:
        assert list(m.table.columns) == TABLE_COLUMNS
        assert all(len(g) >= 1 for g in m.group_modifiers.values())
