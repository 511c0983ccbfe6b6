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
Modifiers: a label (``a*x``), a fixed value (``0.5*x``, ``-1*x``; finite), ``NA*x`` (free; the
``na_free`` column says it was written, so a marker loading can be freed), start values
(``start(0.5)*x`` or ``0.5?x``; column ``start``) and per-group vectors (``c(a1, a2)*x``,
``c(1, NA)*x``, ``start(c(1, 2))*x``; in :attr:`ParsedModel.group_modifiers`, the table row holds
the first group's entry). Constraints ``left == right``, ``left < right``, ``left > right`` on
labels are rows of the table (``lhs``/``rhs`` the normalised expressions) and
:attr:`ParsedModel.constraints`.

This module is also the one expression parser of SCIP Lab: :func:`parse_expression` with
``logic=True`` parses the conditions of the formulation rules (comparisons, ``and``/``or``/``not``,
texts), which :mod:`sciplab.scip.rules` type-checks and evaluates on the tree. Input is bounded:
nesting deeper than :data:`MAX_DEPTH`, expressions of more than :data:`MAX_TOKENS` symbols and
models longer than :data:`MAX_MODEL_CHARS` characters are syntax errors, never a crash. (The lexer
and the expression parser live in :mod:`sciplab.stats._expressions`, to keep modules short.)

The table has lavaan's ``parTable`` columns ``id lhs op rhs user label free ustart`` plus ``line``
and ``col`` (where the term was written), ``start`` and ``na_free``. ``free`` numbers the free
parameters 1..k in order, 0 for fixed parameters, defined parameters and constraints; ``ustart``
holds fixed values. For ``:=`` rows ``rhs`` is the normalised expression text.

Deliberate differences from lavaan: labels used in ``:=`` and constraints must be defined (lavaan
errors later, at fit time); the same label on two parameters (an equality constraint in lavaan) is
kept in the table (the SEM engine imposes it; :func:`sciplab.stats.paths.paths` refuses it);
``equal()`` and ``label()`` modifier functions are not supported (write the label itself).

References
----------
Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of Statistical
Software, 48*(2), 1-36. https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from sciplab._core.errors import ModelSyntaxError, suggest
from sciplab.stats._expressions import (
    _CONSTRAINT_OPS,
    _MODEL_OPS,
    MAX_DEPTH,
    MAX_MODEL_CHARS,
    MAX_TOKENS,
    Expression,
    Token,
    _error,
    _ExprParser,
    _finite,
    _tokenize,
    _unparse,
    parse_expression,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_MODEL_CHARS",
    "MAX_TOKENS",
    "Constraint",
    "Expression",
    "GroupModifier",
    "ParsedModel",
    "parse_expression",
    "parse_model",
]

TABLE_COLUMNS = ["id", "lhs", "op", "rhs", "user", "label", "free", "ustart", "line", "col", "start", "na_free"]

_CONTINUE_AFTER = {"~", "~~", "=~", ":=", "==", "<", ">", "*", "?", "+", "-", "/", "^", "(", ","}
_CONTINUE_BEFORE = {"*", "?", "+", "/", "^", ")", ","}


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
# Model statements


@dataclass(frozen=True)
class GroupModifier:
    """Per-group modifiers of one term, written ``c(...)*x`` (entry ``g`` for group ``g``).

    ``labels`` has ``""`` where a group has no label, ``values`` holds fixed values (NaN: free),
    ``starts`` starting values (NaN: the default start).
    """

    labels: tuple[str, ...]
    values: tuple[float, ...]
    starts: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Constraint:
    """An explicit constraint ``left op right`` with ``op`` one of ``==``, ``<``, ``>``."""

    op: str
    left: Expression
    right: Expression
    line: int
    col: int


@dataclass(frozen=True)
class ParsedModel:
    """A parsed model: the parameter ``table`` plus compiled ``:=`` expressions and constraints.

    ``group_modifiers`` maps a table ``id`` to its per-group modifiers (``c(...)``); the table row
    itself carries the first group's label, value and start. ``constraints`` lists the ``==``,
    ``<`` and ``>`` statements (also rows of the table, ``lhs``/``rhs`` the normalised sides).
    """

    table: pd.DataFrame
    source: str
    expressions: Mapping[str, Expression] = field(default_factory=dict)
    group_modifiers: Mapping[int, GroupModifier] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()

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
    start: float = math.nan
    na_free: bool = False
    group: GroupModifier | None = None
    refs: list[Token] = field(default_factory=list)


@dataclass
class _Term:
    rhs: str
    label: str
    value: float
    fixed: bool
    start: float
    na_free: bool
    group: GroupModifier | None
    tok: Token


_MODIFIER_FUNCTIONS = ("start", "c")


def _vector(toks: list[Token], i: int, source: str, *, names: bool) -> tuple[list[str | float], int]:
    """Parse ``( item, item, ... )`` starting at the '(' token ``toks[i]``; return items and next index.

    Items are numbers (fixed or start values), ``NA`` (NaN) and, with ``names``, labels.
    """
    items: list[str | float] = []
    j = i + 1
    while True:
        if j >= len(toks):
            last = toks[-1]
            raise _error(source, last.line, last.col + len(last.text), "expected ')' to close the modifier")
        sign = 1.0
        if toks[j].text == "-" and j + 1 < len(toks) and toks[j + 1].kind == "number":
            sign, j = -1.0, j + 1
        tok = toks[j]
        if tok.kind == "number":
            items.append(sign * _finite(tok, source))
        elif tok.kind == "name" and tok.text == "NA" and sign == 1.0:
            items.append(math.nan)
        elif tok.kind == "name" and names and sign == 1.0 and tok.text not in _MODIFIER_FUNCTIONS:
            items.append(tok.text)
        else:
            what = "a number, NA or a label" if names else "a number or NA"
            raise _error(source, tok.line, tok.col, f"expected {what} in the modifier but found {tok.text!r}")
        j += 1
        if j < len(toks) and toks[j].text == ",":
            j += 1
            continue
        if j < len(toks) and toks[j].text == ")":
            return items, j + 1
        where = toks[j] if j < len(toks) else toks[-1]
        raise _error(source, where.line, where.col, "expected ',' or ')' in the modifier")


def _parse_term(toks: list[Token], source: str, end_tok: Token) -> _Term:
    """Parse ``[modifier (*|?)]* name`` (or ``1``).

    Modifiers: a label (``a*``), a fixed value (``0.5*``, ``-1*``), ``NA*`` (free), a start value
    (``start(0.5)*`` or ``0.5?``) and per-group vectors (``c(a1, a2)*``, ``c(1, NA)*``,
    ``start(c(1, 2))*``, ``c(1, 2)?``).
    """
    label, value, fixed, start, na_free = "", math.nan, False, math.nan, False
    vectors: dict[str, list[str | float]] = {}
    vec_tok: Token | None = None
    i = 0
    while True:
        if i >= len(toks):
            last = toks[-1] if toks else end_tok
            raise _error(source, last.line, last.col + len(last.text), "expected a variable name")
        sign = 1.0
        j = i
        if toks[j].text == "-" and j + 1 < len(toks) and toks[j + 1].kind == "number":
            sign = -1.0
            j += 1
        tok = toks[j]
        if tok.kind == "name" and j + 1 < len(toks) and toks[j + 1].text == "(" and sign == 1.0:
            if tok.text not in _MODIFIER_FUNCTIONS:
                raise _error(
                    source, tok.line, tok.col, f"modifier function {tok.text!r} is not supported (use start() or c())"
                )
            k = j + 1
            if tok.text == "start" and k + 1 < len(toks) and toks[k + 1].text == "c" and k + 2 < len(toks):
                if toks[k + 2].text != "(":
                    raise _error(source, toks[k + 2].line, toks[k + 2].col, "expected '(' after 'c'")
                items, k = _vector(toks, k + 2, source, names=False)
                if k >= len(toks) or toks[k].text != ")":
                    where = toks[k] if k < len(toks) else toks[-1]
                    raise _error(source, where.line, where.col, "expected ')' to close start()")
                k += 1
                kind = "starts"
            else:
                items, k = _vector(toks, k, source, names=tok.text == "c")
                kind = "starts" if tok.text == "start" else "mixed"
            if k >= len(toks) or toks[k].text not in ("*", "?"):
                where = toks[k] if k < len(toks) else toks[k - 1]
                raise _error(source, where.line, where.col, f"expected '*' and a variable after {tok.text}(...)")
            if toks[k].text == "?":
                if tok.text == "start" or any(isinstance(v, str) for v in items):
                    raise _error(source, toks[k].line, toks[k].col, "'?' sets start values: write c(0.5, 1)?x")
                kind = "starts"
            if kind == "starts" and tok.text == "start" and len(items) == 1 and toks[j + 2].text != "c":
                start = float(items[0])  # start(0.5)*x
            else:
                if kind in vectors or (kind == "mixed" and ("labels" in vectors or "values" in vectors)):
                    raise _error(source, tok.line, tok.col, "a term can have only one c(...) of this kind")
                if vec_tok is not None and len(items) != len(next(iter(vectors.values()))):
                    raise _error(source, tok.line, tok.col, "the c(...) modifiers of one term differ in length")
                vectors[kind] = items
                vec_tok = tok
            i = k + 1
            continue
        is_mod = j + 1 < len(toks) and toks[j + 1].text in ("*", "?")
        if is_mod:
            star = toks[j + 1].text == "*"
            if tok.kind == "number":
                if star:
                    value, fixed = sign * _finite(tok, source), True
                else:
                    start = sign * _finite(tok, source)
            elif tok.kind == "name" and sign == 1.0 and star:
                if tok.text == "NA":
                    value, fixed, na_free = math.nan, False, True
                else:
                    if label:
                        raise _error(source, tok.line, tok.col, "a term can have only one label")
                    label = tok.text
            else:
                raise _error(source, tok.line, tok.col, f"unexpected {tok.text!r} before {toks[j + 1].text!r}")
            i = j + 2
            continue
        if sign == -1.0:
            raise _error(source, toks[i].line, toks[i].col, "a negative value needs '*' and a variable")
        group = None
        if vectors:
            n = len(next(iter(vectors.values())))
            labels = [label] * n
            values = [value if fixed else math.nan] * n
            starts = [start] * n
            for v_i, item in enumerate(vectors.get("mixed", [])):
                if isinstance(item, str):
                    labels[v_i] = item
                else:
                    values[v_i] = item
            if "starts" in vectors:
                starts = [float(v) for v in vectors["starts"]]
            group = GroupModifier(tuple(labels), tuple(float(v) for v in values), tuple(starts))
            label, value, start = group.labels[0], group.values[0], group.starts[0]
            fixed = not math.isnan(value)
        if tok.kind == "name" and tok.text[0] != "." and tok.text != "NA":
            rest = toks[j + 1 :]
            if rest:
                raise _error(source, rest[0].line, rest[0].col, f"unexpected {rest[0].text!r} after {tok.text!r}")
            return _Term(tok.text, label, value, fixed, start, na_free, group, tok)
        if tok.kind == "number" and float(tok.text) == 1.0 and j + 1 == len(toks):
            return _Term("1", label, value, fixed, start, na_free, group, tok)
        if tok.kind == "op" and tok.text == "(":
            raise _error(source, tok.line, tok.col, "expected a modifier or a variable name before '('")
        raise _error(source, tok.line, tok.col, f"expected a variable name but found {tok.text!r}")


def _split_plus(toks: list[Token], source: str, op_tok: Token) -> list[list[Token]]:
    terms: list[list[Token]] = [[]]
    depth = 0
    for tok in toks:
        depth += tok.text == "("
        depth -= tok.text == ")"
        if tok.text == "+" and depth <= 0:
            if not terms[-1]:
                raise _error(source, tok.line, tok.col, "expected a term before '+'")
            terms.append([])
        else:
            terms[-1].append(tok)
    if not terms[-1]:
        where = toks[-1] if toks else op_tok
        raise _error(source, where.line, where.col + len(where.text), f"expected a term after {where.text!r}")
    return terms


def _expression(toks: list[Token], source: str, op_tok: Token, side: str) -> tuple[Expression, list[Token]]:
    if not toks:
        col = op_tok.col + len(op_tok.text) if side == "after" else op_tok.col
        raise _error(source, op_tok.line, col, f"expected an expression {side} {op_tok.text!r}")
    parser = _ExprParser(toks, source)
    tree = parser.parse()
    return Expression(_unparse(tree), tree, tuple(dict.fromkeys(parser.names)), source), parser.name_tokens


def parse_model(model: str) -> ParsedModel:
    """Parse lavaan-style model syntax into a parameter table.

    Parameters
    ----------
    model
        Model text; statements separated by newlines or ``;``, ``#`` comments. Operators ``=~ ~
        ~~ ~1 :=`` and the constraints ``== < >``; modifiers: labels, fixed values, ``NA*``,
        ``start(v)*`` / ``v?``, per-group ``c(...)``.

    Returns
    -------
    ParsedModel
        ``.table`` with columns ``id lhs op rhs user label free ustart line col start na_free``,
        ``.expressions`` mapping each ``:=`` name to its :class:`Expression`, ``.group_modifiers``
        and ``.constraints``.

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
    >>> m = parse_model("f =~ x1 + c(l2a, l2b)*x2 + NA*x3 + 0.7?x4; l2a == l2b")
    >>> m.group_modifiers[2].labels, m.constraints[0].op
    (('l2a', 'l2b'), '==')
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
    constraints: list[Constraint] = []
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
        if op_tok.text in _CONSTRAINT_OPS:
            lexpr, lrefs = _expression(left, source, op_tok, "before")
            rexpr, rrefs = _expression(right, source, op_tok, "after")
            constraints.append(Constraint(op_tok.text, lexpr, rexpr, op_tok.line, op_tok.col))
            rows.append(_Row(lexpr.text, op_tok.text, rexpr.text, line=op_tok.line, col=op_tok.col))
            rows[-1].refs = lrefs + rrefs
            continue
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
                if t.kind == "op" and t.text in _CONSTRAINT_OPS:
                    raise _error(
                        source, t.line, t.col, f"unexpected character {t.text!r} in a definition (write a "
                        "constraint on its own line, e.g. 'a < 1')",
                    )  # fmt: skip
                if t.kind == "op" and t.text in _MODEL_OPS:
                    raise _error(source, t.line, t.col, f"unexpected {t.text!r} in an expression")
            expr, refs = _expression(right, source, op_tok, "after")
            if name in defined_names or any(r.label == name for r in rows if r.op != ":="):
                raise _error(source, left[0].line, left[0].col, f"{name!r} is already defined")
            expressions[name] = expr
            defined_names.add(name)
            rows.append(_Row(name, ":=", expr.text, name, line=left[0].line, col=left[0].col))
            rows[-1].refs = refs  # checked later: definitions may refer to labels defined below
            continue
        lhs_terms = _split_plus(left, source, op_tok)
        lhs_names: list[Token] = []
        for term in lhs_terms:
            if len(term) != 1 or term[0].kind != "name":
                raise _error(source, term[0].line, term[0].col, "expected a variable name on the left")
            lhs_names.append(term[0])
        op = op_tok.text
        for term in _split_plus(right, source, op_tok):
            t = _parse_term(term, source, op_tok)
            rtok, rhs, row_op = t.tok, t.rhs, op
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
                row = _Row(
                    lhs, row_op, rhs, t.label, t.value, t.fixed, rtok.line, rtok.col, t.start, t.na_free, t.group
                )
                seen[key] = row
                rows.append(row)
    labels = {r.label for r in rows if r.op not in (":=", *_CONSTRAINT_OPS) and r.label}
    labels |= {lab for r in rows if r.group is not None for lab in r.group.labels if lab}
    order = {r.lhs: i for i, r in enumerate(rows) if r.op == ":="}
    for i, r in enumerate(rows):
        for tok in r.refs:
            if r.op == ":=" and tok.text in order and tok.text not in labels and order[tok.text] > i:
                raise _error(source, tok.line, tok.col, f"{tok.text!r} is defined further down; define it first")
            if r.op == ":=" and tok.text == r.lhs:
                raise _error(source, tok.line, tok.col, f"{r.lhs!r} cannot be defined in terms of itself")
            if tok.text not in labels and tok.text not in defined_names:
                known = sorted((labels | defined_names) - {r.lhs})
                hint = suggest(tok.text, known) or (
                    f" (known labels: {', '.join(known)})"
                    if known
                    else " (no parameter has a label; write e.g. 'm ~ a*x')"
                )
                where = "':='" if r.op == ":=" else f"a constraint ('{r.op}')"
                raise _error(source, tok.line, tok.col, f"unknown label {tok.text!r} in {where}{hint}")
    table = _to_table(rows)
    groups = {i: r.group for i, r in enumerate(rows, start=1) if r.group is not None}
    return ParsedModel(table, source, expressions, groups, tuple(constraints))


def _to_table(rows: list[_Row]) -> pd.DataFrame:
    free_counter = 0
    records = []
    for i, r in enumerate(rows, start=1):
        if r.op in (":=", *_CONSTRAINT_OPS) or r.fixed:
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
                "start": r.start,
                "na_free": r.na_free,
            }
        )
    table = pd.DataFrame.from_records(records, columns=TABLE_COLUMNS)
    return table.astype(
        {
            "id": "int64",
            "user": "int64",
            "free": "int64",
            "ustart": "float64",
            "line": "int64",
            "col": "int64",
            "start": "float64",
            "na_free": "bool",
        }
    )
