"""Lexer and expression parser behind :mod:`sciplab.stats.syntax` (the one lavaan-style parser).

Split out of ``syntax.py`` to keep modules short; import the public names (:class:`Expression`,
:func:`parse_expression`, :data:`MAX_DEPTH`...) from :mod:`sciplab.stats.syntax`.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sciplab._core.errors import ModelSyntaxError

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<comment>[#!][^\n]*)
  | (?P<newline>\n)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_.][A-Za-z0-9_.]*)
  | (?P<op>=~|==|~~|:=|~|\*|\+|-|/|\^|\(|\)|;|,|<|>|\?)
    """,
    re.VERBOSE,
)
# conditions (``logic=True``): no comments ('#' and '!' are errors), texts in quotes, comparisons
_LOGIC_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'[^'\n]*'|"[^"\n]*")
  | (?P<name>[A-Za-z_.][A-Za-z0-9_.]*)
  | (?P<op><=|>=|==|!=|<|>|\*|\+|-|/|\^|\(|\)|,)
    """,
    re.VERBOSE,
)

_MODEL_OPS = {"~", "~~", "=~", ":=", "==", "<", ">"}
_CONSTRAINT_OPS = ("==", "<", ">")
_COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
_KEYWORDS = ("and", "or", "not", "true", "false")
_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "abs": np.abs,
}

MAX_DEPTH = 50
"""Deepest nesting of an expression (parentheses, signs, powers, function calls, ``not``)."""
MAX_TOKENS = 5000
"""Most symbols (names, numbers, operators) in one expression."""
MAX_MODEL_CHARS = 1_000_000
"""Longest model text accepted (characters)."""


@dataclass(frozen=True)
class Token:
    """A lexical token with its 1-based line and column."""

    kind: str  # name, number, string, op, newline, end
    text: str
    line: int
    col: int


def _error(source: str, line: int, col: int, message: str) -> ModelSyntaxError:
    """A :class:`ModelSyntaxError` showing the line with a caret; ``.problem/.line/.col`` kept."""
    lines = source.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    caret = " " * (max(col, 1) - 1) + "^"
    exc = ModelSyntaxError(f"line {line}, column {col}: {message}\n  {text}\n  {caret}")
    exc.problem, exc.line, exc.col = message, line, col  # type: ignore[attr-defined]
    return exc


def _tokenize(source: str, *, logic: bool = False) -> list[Token]:
    pattern = _LOGIC_TOKEN_RE if logic else _TOKEN_RE
    tokens: list[Token] = []
    line, line_start, pos = 1, 0, 0
    while pos < len(source):
        m = pattern.match(source, pos)
        if m is None:
            col = pos - line_start + 1
            raise _error(source, line, col, f"unexpected character {source[pos]!r}")
        kind = m.lastgroup or ""
        text = m.group()
        col = pos - line_start + 1
        if kind == "newline":
            tokens.append(Token("newline", text, line, col))
            line += 1
            line_start = m.end()
        elif kind in ("name", "number", "op", "string"):
            if kind == "op" and text == ";":
                kind = "newline"
            tokens.append(Token(kind, text, line, col))
        pos = m.end()
    tokens.append(Token("end", "", line, pos - line_start + 1))
    return tokens


# --------------------------------------------------------------------------------------------
# Expressions (right-hand side of :=, and conditions)
#
# Tree nodes are tuples ``(kind, (line, col), ...)``:
#   ("num", pos, value)  ("str", pos, text)  ("bool", pos, value)  ("name", pos, name)
#   ("neg", pos, operand)  ("call", pos, function, argument)  ("pow", pos, base, exponent)
#   ("chain", pos, first, ((op, operand), ...))   left to right, ops of one level: + - or * /
#   ("cmp", pos, op, left, right)  ("and", pos, parts)  ("or", pos, parts)  ("not", pos, operand)
# Sums and products are flat chains, so a 1,000-term sum is not 1,000 levels deep.


@dataclass(frozen=True)
class Expression:
    """A parsed expression over parameter labels (or, with ``logic=True``, a condition).

    ``names`` are the labels it uses; :meth:`evaluate` works elementwise on arrays, so one call
    evaluates the expression for every bootstrap replicate. ``tree`` is the syntax tree (node
    kinds listed in the module source), each node with the ``(line, col)`` it was written at.
    """

    text: str
    tree: tuple[Any, ...]
    names: tuple[str, ...]
    source: str = ""

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with ``values[label]`` (scalars or arrays of equal shape).

        Examples
        --------
        >>> parse_expression("a*b + c").evaluate({"a": 2.0, "b": 3.0, "c": 1.0})
        7.0
        >>> bool(parse_expression("a > 1 and not b == 2", logic=True).evaluate({"a": 2, "b": 3}))
        True
        """
        with np.errstate(all="ignore"):
            return _eval(self.tree, values)

    def error(self, node: tuple[Any, ...], message: str) -> ModelSyntaxError:
        """A caret error pointing at ``node`` of :attr:`tree` (for checks made on the tree)."""
        line, col = node[1]
        return _error(self.source or self.text, line, col, message)


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": np.divide,  # x / 0 gives inf or NaN (a failed replicate), not an exception
}
_CMP: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _eval(node: tuple[Any, ...], values: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind in ("num", "str", "bool"):
        return node[2]
    if kind == "name":
        return values[node[2]]
    if kind == "neg":
        return -_eval(node[2], values)
    if kind == "call":
        return _FUNCTIONS[node[2]](_eval(node[3], values))
    if kind == "pow":
        return np.power(_eval(node[2], values), _eval(node[3], values))
    if kind == "chain":
        out = _eval(node[2], values)
        for op, operand in node[3]:
            out = _ARITH[op](out, _eval(operand, values))
        return out
    if kind == "cmp":
        return _CMP[node[2]](_eval(node[3], values), _eval(node[4], values))
    if kind == "not":
        return np.logical_not(_eval(node[2], values))
    combine = np.logical_and if kind == "and" else np.logical_or
    parts = [_eval(p, values) for p in node[2]]
    out = parts[0]
    for p in parts[1:]:
        out = combine(out, p)
    return out


class _ExprParser:
    """Recursive-descent parser of expressions, nesting bounded by :data:`MAX_DEPTH`.

    or := and ('or' and)*; and := not ('and' not)*; not := 'not' not | cmp;
    cmp := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum)?;
    sum := prod (('+'|'-') prod)*; prod := unary (('*'|'/') unary)*;
    unary := '-' unary | power; power := atom ('^' unary)?;
    atom := number | name | f(sum) | (expr) | 'text' | true | false.
    Without ``logic`` (``:=`` definitions) the top rule is ``sum`` and there are no texts,
    comparisons or keywords.
    """

    def __init__(self, tokens: list[Token], source: str, *, logic: bool = False) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source
        self.logic = logic
        self.depth = 0
        self.names: list[str] = []
        self.name_tokens: list[Token] = []

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def fail(self, message: str, tok: Token | None = None) -> ModelSyntaxError:
        tok = tok or self.peek() or self._after_last()
        return _error(self.source, tok.line, tok.col, message)

    def _after_last(self) -> Token:
        if not self.tokens:  # nothing but blanks or comments
            lines = self.source.split("\n")
            return Token("end", "", len(lines), len(lines[-1]) + 1)
        last = self.tokens[-1]
        return Token("end", "", last.line, last.col + len(last.text))

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.fail("the expression ends too early")
        self.pos += 1
        return tok

    def is_op(self, *texts: str) -> Token | None:
        tok = self.peek()
        return tok if tok is not None and tok.kind == "op" and tok.text in texts else None

    def is_word(self, word: str) -> Token | None:
        tok = self.peek()
        return tok if self.logic and tok is not None and tok.kind == "name" and tok.text == word else None

    def deeper(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the expression is nested more than {MAX_DEPTH} levels deep", tok)

    def parse(self) -> tuple[Any, ...]:
        if not self.tokens:
            raise self.fail("expected an expression")
        if len(self.tokens) > MAX_TOKENS:
            raise self.fail(
                f"the expression has more than {MAX_TOKENS:,} symbols; split it into shorter parts",
                self.tokens[MAX_TOKENS],
            )
        tree = self.p_or() if self.logic else self.p_sum()
        tok = self.peek()
        if tok is not None:
            raise self.fail(f"unexpected {tok.text!r}", tok)
        return tree

    def p_or(self) -> tuple[Any, ...]:
        return self._joined("or", self.p_and)

    def p_and(self) -> tuple[Any, ...]:
        return self._joined("and", self.p_not)

    def _joined(self, word: str, part: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        first = part()
        parts = [first]
        at = None
        while (tok := self.is_word(word)) is not None:
            at = at or tok
            self.pos += 1
            parts.append(part())
        return first if at is None else (word, (at.line, at.col), tuple(parts))

    def p_not(self) -> tuple[Any, ...]:
        if (tok := self.is_word("not")) is not None:
            self.pos += 1
            self.deeper(tok)
            node = ("not", (tok.line, tok.col), self.p_not())
            self.depth -= 1
            return node
        return self.p_cmp()

    def p_cmp(self) -> tuple[Any, ...]:
        left = self.p_sum()
        if self.logic and (tok := self.is_op(*_COMPARISONS)) is not None:
            self.pos += 1
            return ("cmp", (tok.line, tok.col), tok.text, left, self.p_sum())
        return left

    def p_sum(self) -> tuple[Any, ...]:
        return self._chain(("+", "-"), self.p_prod)

    def p_prod(self) -> tuple[Any, ...]:
        return self._chain(("*", "/"), self.p_unary)

    def _chain(self, ops: tuple[str, ...], part: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        first = part()
        rest: list[tuple[str, tuple[Any, ...]]] = []
        while (tok := self.is_op(*ops)) is not None:
            self.pos += 1
            rest.append((tok.text, part()))
        return first if not rest else ("chain", first[1], first, tuple(rest))

    def p_unary(self) -> tuple[Any, ...]:
        if (tok := self.is_op("-", "+")) is not None:
            self.pos += 1
            self.deeper(tok)
            inner = self.p_unary()
            self.depth -= 1
            return ("neg", (tok.line, tok.col), inner) if tok.text == "-" else inner
        return self.p_power()

    def p_power(self) -> tuple[Any, ...]:
        node = self.p_atom()
        if (tok := self.is_op("^")) is not None:
            self.pos += 1
            self.deeper(tok)
            node = ("pow", (tok.line, tok.col), node, self.p_unary())
            self.depth -= 1
        return node

    def p_atom(self) -> tuple[Any, ...]:
        tok = self.take()
        pos = (tok.line, tok.col)
        if tok.kind == "number":
            return ("num", pos, _finite(tok, self.source))
        if tok.kind == "string":
            return ("str", pos, tok.text[1:-1])
        if tok.kind == "name":
            if self.logic and tok.text in _KEYWORDS:
                if tok.text in ("true", "false"):
                    return ("bool", pos, tok.text == "true")
                raise self.fail(f"unexpected {tok.text!r}", tok)
            if self.is_op("(") is not None:
                if tok.text not in _FUNCTIONS:
                    allowed = ", ".join(sorted(_FUNCTIONS))
                    raise self.fail(f"unknown function {tok.text!r} (allowed: {allowed})", tok)
                self.pos += 1
                self.deeper(tok)
                inner = self.p_sum()
                self.depth -= 1
                if self.is_op(")") is None:
                    raise self.fail("expected ')' to close the function call")
                self.pos += 1
                return ("call", pos, tok.text, inner)
            self.names.append(tok.text)
            self.name_tokens.append(tok)
            return ("name", pos, tok.text)
        if tok.kind == "op" and tok.text == "(":
            self.deeper(tok)
            inner = self.p_or() if self.logic else self.p_sum()
            self.depth -= 1
            if self.is_op(")") is None:
                raise self.fail("expected ')' to close the parenthesis")
            self.pos += 1
            return inner
        raise self.fail(f"expected a number, a label or '(' but found {tok.text!r}", tok)


def _finite(tok: Token, source: str) -> float:
    """The value of a number token; infinite values (e.g. ``1e999``) are syntax errors."""
    value = float(tok.text)
    if not math.isfinite(value):
        raise _error(source, tok.line, tok.col, f"number {tok.text!r} is not finite (too large)")
    return value


_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7, "^": 8}


def _unparse(node: tuple[Any, ...], parent: int = 0) -> str:
    """Normalised text of a tree (parentheses only where precedence needs them)."""
    kind = node[0]
    if kind == "num":
        value = node[2]
        return repr(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)
    if kind == "str":
        return repr(node[2])
    if kind == "bool":
        return "true" if node[2] else "false"
    if kind == "name":
        return str(node[2])
    if kind == "call":
        return f"{node[2]}({_unparse(node[3])})"
    if kind == "neg":
        text, p = "-" + _unparse(node[2], _PREC["neg"]), _PREC["neg"]
    elif kind == "not":
        text, p = "not " + _unparse(node[2], _PREC["not"]), _PREC["not"]
    elif kind == "pow":
        p = _PREC["^"]
        text = f"{_unparse(node[2], p + 1)}^{_unparse(node[3], p)}"
    elif kind == "chain":
        p = _PREC[node[3][0][0]]
        text = _unparse(node[2], p)
        for op, operand in node[3]:
            right = _unparse(operand, p + 1)
            text += f"{op}{right}" if p == _PREC["*"] else f" {op} {right}"
    elif kind == "cmp":
        p = _PREC["cmp"]
        text = f"{_unparse(node[3], p + 1)} {node[2]} {_unparse(node[4], p + 1)}"
    else:  # and, or
        p = _PREC[kind]
        text = f" {kind} ".join(_unparse(part, p + 1) for part in node[2])
    return f"({text})" if p < parent else text


def parse_expression(text: str, *, logic: bool = False) -> Expression:
    """Parse the right-hand side of a ``:=`` definition, or a condition (``logic=True``).

    Parameters
    ----------
    text
        Arithmetic on labels and numbers: ``+ - * / ^``, parentheses, ``sqrt exp log abs``.
        With ``logic=True`` also comparisons ``< <= > >= == !=``, ``and``, ``or``, ``not``,
        ``true``, ``false`` and texts in quotes (``'fearful'``); ``#`` and ``!`` do not start
        comments there.
    logic
        Parse a condition (used by :mod:`sciplab.scip.rules`, which type-checks the tree).

    Returns
    -------
    Expression
        With the normalised ``text``, the syntax ``tree`` and the ``names`` used.

    Raises
    ------
    ModelSyntaxError
        With line, column and a caret under the problem; also for an empty expression,
        infinite numbers (``1e999``), nesting deeper than :data:`MAX_DEPTH` and more than
        :data:`MAX_TOKENS` symbols.

    Examples
    --------
    >>> e = parse_expression("a1*b1 + (a2 * b2)")
    >>> e.text, e.names
    ('a1*b1 + a2*b2', ('a1', 'b1', 'a2', 'b2'))
    >>> parse_expression("x.z >= -1 and not (y.p == 'high')", logic=True).text
    "x.z >= -1 and not y.p == 'high'"
    """
    if not isinstance(text, str):
        raise ModelSyntaxError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_MODEL_CHARS:
        raise ModelSyntaxError(f"the expression is longer than {MAX_MODEL_CHARS:,} characters")
    tokens = [t for t in _tokenize(text, logic=logic) if t.kind not in ("newline", "end")]
    parser = _ExprParser(tokens, text, logic=logic)
    tree = parser.parse()
    return Expression(_unparse(tree), tree, tuple(dict.fromkeys(parser.names)), text)
