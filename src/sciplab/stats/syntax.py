"""lavaan-style model syntax -> parameter table.

Implements the subset of lavaan's model syntax (Rosseel 2012, section 4; lavaan tutorial "model
syntax") that observed-variable path models and the later SEM engine need:

=============  ===============================  =============================================
operator       example                          meaning
=============  ===============================  =============================================
``~``          ``y ~ a*x + 0*z + w``            regression (``a`` label, ``0`` fixed value)
``~ 1``        ``y ~ 1``                        intercept (op ``~1`` in the table)
``~~``         ``y1 ~~ y2``                     (residual) (co)variance
``=~``         ``f =~ x1 + x2 + x3``            latent variable (table only; path models refuse)
``:=``         ``ind := a*b``                   defined parameter (``+ - * / ^``, parentheses,
                                                 ``sqrt exp log abs``, finite numbers, labels)
=============  ===============================  =============================================

Statements are separated by newlines or ``;``; a statement continues on the next line when a line
ends with an operator (``+``, ``*``, ``~``...) or the next line starts with ``+``/``*``. ``#`` and
``!`` start comments. Several left-hand sides (``y1 + y2 ~ x``) expand to one row per pair.
Modifiers: a label (``a*x``), a fixed value (``0.5*x``, ``-1*x``; finite), ``NA*x`` (free).

This module is also the one expression parser of SCIP Lab: :func:`parse_expression` with
``logic=True`` parses the conditions of the formulation rules (comparisons, ``and``/``or``/``not``,
texts), which :mod:`sciplab.scip.rules` type-checks and evaluates on the tree. Input is bounded:
nesting deeper than :data:`MAX_DEPTH`, expressions of more than :data:`MAX_TOKENS` symbols and
models longer than :data:`MAX_MODEL_CHARS` characters are syntax errors, never a crash.

The table has lavaan's ``parTable`` columns ``id lhs op rhs user label free ustart`` plus ``line``
and ``col`` (where the term was written). ``free`` numbers the free parameters 1..k in order, 0 for
fixed parameters and defined parameters; ``ustart`` holds fixed values. For ``:=`` rows ``rhs`` is the
normalised expression text.

Deliberate differences from lavaan: labels used in ``:=`` must be defined (lavaan errors later, at
fit time); the same label on two parameters (an equality constraint in lavaan) is kept in the table
but refused by :func:`sciplab.stats.paths.paths`; ``start()``, ``equal()``, ``c()`` vector modifiers
and inequality constraints are not supported yet and raise a :class:`ModelSyntaxError`.

References
----------
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of Statistical
Software, 48*(2), 1-36. https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import ModelSyntaxError, suggest

__all__ = [
    "Expression",
    "ParsedModel",
    "parse_expression",
    "parse_model",
]

TABLE_COLUMNS = ["id", "lhs", "op", "rhs", "user", "label", "free", "ustart", "line", "col"]

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<comment>[#!][^\n]*)
  | (?P<newline>\n)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_.][A-Za-z0-9_.]*)
  | (?P<op>=~|~~|:=|~|\*|\+|-|/|\^|\(|\)|;|,)
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

_MODEL_OPS = {"~", "~~", "=~", ":="}
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


_CONTINUE_AFTER = {"~", "~~", "=~", ":=", "*", "+", "-", "/", "^", "(", ","}
_CONTINUE_BEFORE = {"*", "+", "/", "^", ")", ","}


def _statements(tokens: list[Token]) -> list[list[Token]]:
    """Split tokens into statements, joining lines that continue (operator at a line break)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    for i, tok in enumerate(tokens):
        if tok.kind == "end":
            break
        if tok.kind == "newline":
            if tok.text == "\n" and current:
                prev = current[-1]
                nxt = next((t for t in tokens[i + 1 :] if t.kind != "newline"), None)
                joins_prev = prev.kind == "op" and prev.text in _CONTINUE_AFTER
                joins_next = (
                    nxt is not None and nxt.kind == "op" and (nxt.text in _CONTINUE_BEFORE or nxt.text in _MODEL_OPS)
                )
                if joins_prev or joins_next:
                    continue
            if current:
                out.append(current)
                current = []
            continue
        current.append(tok)
    if current:
        out.append(current)
    return out


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


# --------------------------------------------------------------------------------------------
# Model statements


@dataclass(frozen=True)
class ParsedModel:
    """A parsed model: the parameter ``table`` plus the compiled ``:=`` expressions."""

    table: pd.DataFrame
    source: str
    expressions: Mapping[str, Expression] = field(default_factory=dict)

    @property
    def defined(self) -> pd.DataFrame:
        """The ``:=`` rows."""
        return self.table[self.table["op"] == ":="]


@dataclass
class _Row:
    lhs: str
    op: str
    rhs: str
    label: str = ""
    ustart: float = math.nan
    fixed: bool = False
    line: int = 0
    col: int = 0


def _parse_term(toks: list[Token], source: str, end_tok: Token) -> tuple[str, str, float, bool, Token]:
    """Parse ``[modifier *]* name`` (or ``1``); return rhs, label, value, fixed, rhs token."""
    label, value, fixed = "", math.nan, False
    i = 0
    while True:
        if i >= len(toks):
            last = toks[-1] if toks else end_tok
            raise _error(source, last.line, last.col + len(last.text), "expected a variable name")
        # modifier: [-]number or name, followed by '*'
        sign = 1.0
        j = i
        if toks[j].text == "-" and j + 1 < len(toks) and toks[j + 1].kind == "number":
            sign = -1.0
            j += 1
        tok = toks[j]
        is_mod = j + 1 < len(toks) and toks[j + 1].text == "*"
        if is_mod:
            if tok.kind == "number":
                value, fixed = sign * _finite(tok, source), True
            elif tok.kind == "name" and sign == 1.0:
                if tok.text == "NA":
                    value, fixed = math.nan, False
                else:
                    if j + 2 < len(toks) and toks[j + 2].text == "(":
                        raise _error(source, tok.line, tok.col, "modifier functions are not supported")
                    if label:
                        raise _error(source, tok.line, tok.col, "a term can have only one label")
                    label = tok.text
            else:
                raise _error(source, tok.line, tok.col, f"unexpected {tok.text!r} before '*'")
            i = j + 2
            continue
        if sign == -1.0:
            raise _error(source, toks[i].line, toks[i].col, "a negative value needs '*' and a variable")
        if tok.kind == "name" and tok.text[0] != "." and tok.text != "NA":
            rest = toks[j + 1 :]
            if rest:
                raise _error(source, rest[0].line, rest[0].col, f"unexpected {rest[0].text!r} after {tok.text!r}")
            return tok.text, label, value, fixed, tok
        if tok.kind == "number" and float(tok.text) == 1.0 and j + 1 == len(toks):
            return "1", label, value, fixed, tok
        if tok.kind == "op" and tok.text == "(":
            raise _error(source, tok.line, tok.col, "modifier functions and c() are not supported")
        raise _error(source, tok.line, tok.col, f"expected a variable name but found {tok.text!r}")


def _split_plus(toks: list[Token], source: str, op_tok: Token) -> list[list[Token]]:
    terms: list[list[Token]] = [[]]
    for tok in toks:
        if tok.text == "+":
            if not terms[-1]:
                raise _error(source, tok.line, tok.col, "expected a term before '+'")
            terms.append([])
        else:
            terms[-1].append(tok)
    if not terms[-1]:
        where = toks[-1] if toks else op_tok
        raise _error(source, where.line, where.col + len(where.text), f"expected a term after {where.text!r}")
    return terms


def parse_model(model: str) -> ParsedModel:
    """Parse lavaan-style model syntax into a parameter table.

    Parameters
    ----------
    model
        Model text; statements separated by newlines or ``;``, ``#`` comments.

    Returns
    -------
    ParsedModel
        ``.table`` with columns ``id lhs op rhs user label free ustart line col`` and
        ``.expressions`` mapping each ``:=`` name to its :class:`Expression`.

    Raises
    ------
    ModelSyntaxError
        The message gives the line, the column and shows the line with a caret under the problem.

    Examples
    --------
    >>> m = parse_model('''
    ... m ~ a*x          # a path
    ... y ~ b*m + 0*x
    ... ind := a*b
    ... ''')
    >>> m.table[["lhs", "op", "rhs", "label", "free"]].values.tolist()
    [['m', '~', 'x', 'a', 1], ['y', '~', 'm', 'b', 2], ['y', '~', 'x', '', 0], ['ind', ':=', 'a*b', 'ind', 0]]
    """
    if not isinstance(model, str):
        raise ModelSyntaxError(f"model must be a string of lavaan-style syntax, got {type(model).__name__}")
    if len(model) > MAX_MODEL_CHARS:
        raise ModelSyntaxError(
            f"the model text has {len(model):,} characters; at most {MAX_MODEL_CHARS:,} are accepted"
        )
    source = model.replace("\r\n", "\n").replace("\r", "\n")
    tokens = _tokenize(source)
    rows: list[_Row] = []
    expressions: dict[str, Expression] = {}
    seen: dict[tuple[str, str, str], _Row] = {}
    defined_names: set[str] = set()
    for stmt in _statements(tokens):
        ops = [i for i, t in enumerate(stmt) if t.kind == "op" and t.text in _MODEL_OPS]
        if not ops:
            tok = stmt[0]
            raise _error(source, tok.line, tok.col, "expected a statement with ~, ~~, =~ or := (no operator found)")
        k = ops[0]
        op_tok = stmt[k]
        if len(ops) > 1 and op_tok.text != ":=":
            extra = stmt[ops[1]]
            raise _error(source, extra.line, extra.col, f"a second operator {extra.text!r} in one statement")
        left, right = stmt[:k], stmt[k + 1 :]
        if not left:
            raise _error(source, op_tok.line, op_tok.col, f"expected a name before {op_tok.text!r}")
        if op_tok.text == ":=":
            if len(left) != 1 or left[0].kind != "name":
                bad = left[1] if len(left) > 1 else left[0]
                raise _error(source, bad.line, bad.col, "a defined parameter needs a single name before ':='")
            name = left[0].text
            if not right:
                raise _error(source, op_tok.line, op_tok.col + 2, "expected an expression after ':='")
            for t in right:
                if t.kind == "op" and t.text in _MODEL_OPS:
                    raise _error(source, t.line, t.col, f"unexpected {t.text!r} in an expression")
            parser = _ExprParser(right, source)
            tree = parser.parse()
            expr = Expression(_unparse(tree), tree, tuple(dict.fromkeys(parser.names)), source)
            if name in defined_names or any(r.label == name for r in rows if r.op != ":="):
                raise _error(source, left[0].line, left[0].col, f"{name!r} is already defined")
            expressions[name] = expr
            defined_names.add(name)
            rows.append(_Row(name, ":=", expr.text, name, line=left[0].line, col=left[0].col))
            # checked later against all labels (definitions may refer to labels defined below)
            for tok in parser.name_tokens:
                rows[-1].__dict__.setdefault("_refs", []).append(tok)
            continue
        lhs_terms = _split_plus(left, source, op_tok)
        lhs_names: list[Token] = []
        for term in lhs_terms:
            if len(term) != 1 or term[0].kind != "name":
                raise _error(source, term[0].line, term[0].col, "expected a variable name on the left")
            lhs_names.append(term[0])
        op = op_tok.text
        for term in _split_plus(right, source, op_tok):
            rhs, label, value, fixed, rtok = _parse_term(term, source, op_tok)
            row_op = op
            if rhs == "1":
                if op != "~":
                    raise _error(source, rtok.line, rtok.col, f"'1' (intercept) only goes with '~', not {op!r}")
                row_op, rhs = "~1", ""
            for ltok in lhs_names:
                lhs = ltok.text
                if row_op == "~" and lhs == rhs:
                    raise _error(source, rtok.line, rtok.col, f"{lhs!r} cannot be regressed on itself")
                key = (lhs, row_op, rhs)
                if row_op == "~~":
                    key = (min(lhs, rhs), row_op, max(lhs, rhs))
                if key in seen:
                    what = f"{lhs} {row_op} {rhs}".strip()
                    first = seen[key].line
                    raise _error(source, rtok.line, rtok.col, f"'{what}' is specified twice (first on line {first})")
                row = _Row(lhs, row_op, rhs, label, value, fixed, rtok.line, rtok.col)
                seen[key] = row
                rows.append(row)
    labels = {r.label for r in rows if r.op != ":=" and r.label}
    order = {r.lhs: i for i, r in enumerate(rows) if r.op == ":="}
    for i, r in enumerate(rows):
        for tok in r.__dict__.get("_refs", []):
            if tok.text in order and tok.text not in labels and order[tok.text] > i:
                raise _error(source, tok.line, tok.col, f"{tok.text!r} is defined further down; define it first")
            if tok.text == r.lhs:
                raise _error(source, tok.line, tok.col, f"{r.lhs!r} cannot be defined in terms of itself")
            if tok.text not in labels and tok.text not in defined_names:
                known = sorted((labels | defined_names) - {r.lhs})
                hint = suggest(tok.text, known) or (
                    f" (known labels: {', '.join(known)})"
                    if known
                    else " (no parameter has a label; write e.g. 'm ~ a*x')"
                )
                raise _error(source, tok.line, tok.col, f"unknown label {tok.text!r} in ':='{hint}")
    return ParsedModel(_to_table(rows), source, expressions)


def _to_table(rows: list[_Row]) -> pd.DataFrame:
    free_counter = 0
    records = []
    for i, r in enumerate(rows, start=1):
        if r.op == ":=" or r.fixed:
            free = 0
        else:
            free_counter += 1
            free = free_counter
        records.append(
            {
                "id": i,
                "lhs": r.lhs,
                "op": r.op,
                "rhs": r.rhs,
                "user": 1,
                "label": r.label,
                "free": free,
                "ustart": r.ustart if r.fixed else math.nan,
                "line": r.line,
                "col": r.col,
            }
        )
    table = pd.DataFrame.from_records(records, columns=TABLE_COLUMNS)
    return table.astype(
        {"id": "int64", "user": "int64", "free": "int64", "ustart": "float64", "line": "int64", "col": "int64"}
    )
