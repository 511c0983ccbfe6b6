"""Declarative formulation rules: loader, validator and evaluator of rule files (TOML).

A rule file (``scip/rules/formulation.toml`` ships with SCIP Lab) holds, as data a
clinician-researcher can read and adapt:

* ``[sources]``: citation key -> full reference;
* ``[profile]``: thresholds and construct polarity used to flag deficits against norms;
* ``[missing.<construct>]``: what a missing construct would add to the formulation;
* ``[[rule]]``: one statement each: ``id``, ``section`` (``hypothesis`` or ``plan``), ``phase``
  (plan: ``engagement``, ``corrective``, ``marker``, ``caution``), optional ``pattern``, a condition
  ``when``, the ``text``, an ``evidence`` level, ``sources`` (keys of ``[sources]``, at least one),
  optional ``rupture`` (an attachment pattern whose expected rupture type, from
  :func:`sciplab.stats.change.expected_rupture_type`, is attached) and ``note``.

Condition language
------------------
A tiny, safe expression language (parsed here, never passed to ``eval``)::

    expr  := or
    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | cmp
    cmp   := atom (("<" | "<=" | ">" | ">=" | "==" | "!=") atom)?
    atom  := NAME "." ATTR | NUMBER | 'text' | "text" | true | false | "(" expr ")"

``NAME`` is a SCIP construct (:data:`sciplab.instruments.schema.CONSTRUCTS`) or one of the derived
blocks ``attachment`` and ``interpersonal``; ``ATTR`` is one of :data:`CONSTRUCT_ATTRIBUTES`,
:data:`ATTACHMENT_ATTRIBUTES` or :data:`INTERPERSONAL_ATTRIBUTES`. Types are checked on load (numbers
compare with numbers, texts with texts by ``==``/``!=``, the whole condition must be true/false).
Evaluation uses three-valued logic: a variable whose construct was not measured is *unknown*;
``unknown and false`` is false, ``unknown or true`` is true, otherwise unknown propagates and the
rule does not fire (the formulation lists it as not evaluable, with the constructs it needs).

Every problem is a :class:`RuleFileError` naming the file, the line and the problem.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from sciplab._core.errors import SciplabError, suggest
from sciplab.instruments.schema import CONSTRUCTS
from sciplab.stats.circumplex import OCTANT_CODES

__all__ = [
    "ATTACHMENT_ATTRIBUTES",
    "CONSTRUCT_ATTRIBUTES",
    "EVIDENCE_LEVELS",
    "INTERPERSONAL_ATTRIBUTES",
    "Condition",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "default_rules_path",
    "load_rules",
    "parse_condition",
    "parse_rules",
]

#: Attributes of every construct: name -> type ("num", "bool", "str").
CONSTRUCT_ATTRIBUTES: dict[str, str] = {
    "present": "bool",  # measured (never unknown)
    "score": "num",  # raw score on the instrument's metric
    "pomp": "num",  # percent of maximum possible: 100 (x - min) / (max - min)
    "z": "num",  # against the norm used (unknown without a norm)
    "T": "num",
    "deficit": "bool",  # resource below norm / cut-off / band (unknown without a norm)
    "elevated": "bool",  # problem above norm / cut-off / band (unknown without a norm)
    "band": "str",
}
#: Attributes of the derived attachment block.
ATTACHMENT_ATTRIBUTES: dict[str, str] = {
    "p_secure": "num",
    "p_preoccupied": "num",
    "p_dismissing": "num",
    "p_fearful": "num",
    "p_anxiety_high": "num",
    "p_avoidance_high": "num",
    "pattern": "str",  # most probable quadrant
    "pattern_p": "num",  # its probability
}
#: Attributes of the derived interpersonal (SSM) block.
INTERPERSONAL_ATTRIBUTES: dict[str, str] = {
    "elevation": "num",
    "elevation_z": "num",  # elevation of norm-standardised octants (unknown without a norm)
    "amplitude": "num",
    "displacement": "num",
    "fit": "num",
    "interpretable": "bool",  # fit >= .70 and amplitude > 0 (shape interpretable)
    "octant": "str",  # octant nearest to the displacement (unknown when not interpretable)
    "standardized": "bool",
}
_BLOCKS: dict[str, dict[str, str]] = {"attachment": ATTACHMENT_ATTRIBUTES, "interpersonal": INTERPERSONAL_ATTRIBUTES}
_TEXT_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("attachment", "pattern"): ("secure", "preoccupied", "dismissing", "fearful"),
    ("interpersonal", "octant"): OCTANT_CODES,
}

#: Evidence levels a rule may carry.
EVIDENCE_LEVELS: dict[str, str] = {
    "meta-analysis": "pooled estimate across studies",
    "empirical": "stated by at least one empirical study",
    "qualitative": "expert consensus or qualitative study",
    "theory": "claim of the SCIP model, not tested as such",
    "inference": "[inference] our reading; a hypothesis to test, not an established finding",
}
SECTIONS = ("hypothesis", "plan")
PHASES = ("engagement", "corrective", "marker", "caution")
PATTERNS = ("secure", "preoccupied", "dismissing", "fearful")
_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
MAX_CONDITION = 2000
MAX_DEPTH = 40


class RuleFileError(SciplabError, ValueError):
    """A rule file (or a condition) cannot be used: names the file, the line and the problem."""

    def __init__(self, where: str, line: int | None, problem: str) -> None:
        self.where, self.line, self.problem = where, line, problem
        loc = f"{where}, line {line}" if line else where
        super().__init__(f"{loc}: {problem}")


# ---------------------------------------------------------------------------------------------
# Conditions

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^'\n]*'|\"[^\"\n]*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<op><=|>=|==|!=|<|>)"
    r"|(?P<par>[()]))"
)
_KEYWORDS = {"and", "or", "not", "true", "false"}


@dataclasses.dataclass(frozen=True)
class Condition:
    """A parsed condition: ``source`` text, the tree and the variables (``block.attr``) it reads."""

    source: str
    tree: tuple[Any, ...]
    variables: tuple[str, ...]

    def evaluate(self, context: Mapping[str, Any]) -> bool | None:
        """True, False or None (unknown: a variable it needs is unknown or missing from ``context``)."""
        value = _eval(self.tree, context)
        return value if value is None else bool(value)


class _Parser:
    def __init__(self, text: str, where: str, line: int | None) -> None:
        self.text, self.where, self.line = text, where, line
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                col = pos + 1 + len(text[pos:]) - len(text[pos:].lstrip())
                self.fail(f"unexpected character {text[col - 1]!r} at column {col}")
            kind = m.lastgroup or ""  # m is not None here: fail() raised
            self.tokens.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
        self.i = 0
        self.depth = 0
        self.variables: list[str] = []

    def fail(self, problem: str) -> NoReturn:
        raise RuleFileError(self.where, self.line, f"condition {self.text!r}: {problem}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            self.fail("ends too early")
        self.i += 1
        return tok  # type: ignore[return-value]

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "name" and tok[1] == word

    def parse(self) -> tuple[tuple[Any, ...], str]:
        if not self.tokens:
            self.fail("is empty")
        tree, kind = self.p_or()
        tok = self.peek()
        if tok is not None:
            self.fail(f"unexpected {tok[1]!r} at column {tok[2]}")
        if kind != "bool":
            self.fail(f"must be true or false, but it is a {_KIND_WORD[kind]}; compare it (e.g. with >= or ==)")
        return tree, kind

    def p_or(self) -> tuple[tuple[Any, ...], str]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"is nested more than {MAX_DEPTH} levels deep")
        parts = [self.p_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.p_and())
        self.depth -= 1
        return self._combine("or", parts)

    def p_and(self) -> tuple[tuple[Any, ...], str]:
        parts = [self.p_not()]
        while self.is_word("and"):
            self.take()
            parts.append(self.p_not())
        return self._combine("and", parts)

    def _combine(self, op: str, parts: list[tuple[tuple[Any, ...], str]]) -> tuple[tuple[Any, ...], str]:
        if len(parts) == 1:
            return parts[0]
        for _, kind in parts:
            if kind != "bool":
                self.fail(f"'{op}' joins true/false conditions, not a {_KIND_WORD[kind]}")
        return (op, tuple(p[0] for p in parts)), "bool"

    def p_not(self) -> tuple[tuple[Any, ...], str]:
        if self.is_word("not"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                self.fail(f"is nested more than {MAX_DEPTH} levels deep")
            tree, kind = self.p_not()
            self.depth -= 1
            if kind != "bool":
                self.fail(f"'not' applies to a true/false condition, not a {_KIND_WORD[kind]}")
            return ("not", tree), "bool"
        return self.p_cmp()

    def p_cmp(self) -> tuple[tuple[Any, ...], str]:
        left, lkind = self.p_atom()
        tok = self.peek()
        if tok is None or tok[0] != "op":
            return left, lkind
        op = self.take()[1]
        right, rkind = self.p_atom()
        if lkind != rkind:
            self.fail(f"cannot compare a {_KIND_WORD[lkind]} with a {_KIND_WORD[rkind]} ({op})")
        if lkind in ("str", "bool") and op not in ("==", "!="):
            self.fail(f"{_KIND_WORD[lkind]}s are compared with == or != only, not {op}")
        for var, const in ((left, right), (right, left)):
            if var[0] == "var" and const[0] == "const" and (var[1], var[2]) in _TEXT_VALUES:
                allowed = _TEXT_VALUES[(var[1], var[2])]
                if const[1] not in allowed:
                    self.fail(
                        f"{var[1]}.{var[2]} is never {const[1]!r}{suggest(str(const[1]), allowed)}; "
                        f"values: {', '.join(allowed)}"
                    )
        return ("cmp", op, left, right), "bool"

    def p_atom(self) -> tuple[tuple[Any, ...], str]:
        kind, text, col = self.take()
        if kind == "num":
            try:
                value = float(text)
            except (ValueError, OverflowError):  # pragma: no cover - regex admits valid floats only
                self.fail(f"bad number {text!r} at column {col}")
            if value != value or value in (float("inf"), float("-inf")):
                self.fail(f"number {text!r} at column {col} is not finite")
            return ("const", value), "num"
        if kind == "str":
            return ("const", text[1:-1]), "str"
        if kind == "par":
            if text == ")":
                self.fail(f"unexpected ')' at column {col}")
            tree, k = self.p_or()
            close = self.take()
            if close[1] != ")":
                self.fail(f"expected ')' at column {close[2]}, got {close[1]!r}")
            return tree, k
        if kind == "name":
            if text in ("true", "false"):
                return ("const", text == "true"), "bool"
            if text in _KEYWORDS:
                self.fail(f"unexpected {text!r} at column {col}")
            return self._variable(text, col)
        self.fail(f"unexpected {text!r} at column {col}")

    def _variable(self, text: str, col: int) -> tuple[tuple[Any, ...], str]:
        parts = text.split(".")
        if len(parts) != 2:
            known = ", ".join([*CONSTRUCTS, *_BLOCKS])
            if len(parts) == 1 and (parts[0] in CONSTRUCTS or parts[0] in _BLOCKS):
                self.fail(f"{text!r} at column {col} needs an attribute, e.g. {text}.score or {text}.present")
            if len(parts) == 1:
                self.fail(
                    f"unknown construct {text!r} at column {col}"
                    f"{suggest(text, [*CONSTRUCTS, *_BLOCKS])}; known: {known}"
                )
            self.fail(f"{text!r} at column {col}: write construct.attribute (one dot)")
        block, attr = parts
        if block in _BLOCKS:
            attrs = _BLOCKS[block]
        elif block in CONSTRUCTS:
            attrs = CONSTRUCT_ATTRIBUTES
        else:
            self.fail(
                f"unknown construct {block!r} at column {col}{suggest(block, [*CONSTRUCTS, *_BLOCKS])}; "
                f"known: {', '.join([*CONSTRUCTS, *_BLOCKS])}"
            )
        if attr not in attrs:
            self.fail(
                f"unknown attribute {attr!r} of {block} at column {col}{suggest(attr, attrs)}; "
                f"allowed: {', '.join(attrs)}"
            )
        name = f"{block}.{attr}"
        if name not in self.variables:
            self.variables.append(name)
        return ("var", block, attr), attrs[attr]


_KIND_WORD = {"num": "number", "str": "text", "bool": "true/false value"}


def parse_condition(text: Any, *, where: str = "<condition>", line: int | None = None) -> Condition:
    """Parse and type-check a condition.

    Parameters
    ----------
    text
        The condition, e.g. ``"attachment.p_preoccupied >= 0.5 and social_support.deficit"``.
    where, line
        File name and line for error messages.

    Returns
    -------
    Condition

    Raises
    ------
    RuleFileError
        Syntax error, unknown construct or attribute, type mismatch; the message names the column.

    Examples
    --------
    >>> c = parse_condition("attachment.p_fearful >= 0.5 or social_support.deficit")
    >>> c.variables
    ('attachment.p_fearful', 'social_support.deficit')
    >>> c.evaluate({"attachment.p_fearful": 0.2, "social_support.deficit": None}) is None
    True
    >>> c.evaluate({"attachment.p_fearful": 0.7, "social_support.deficit": None})
    True
    """
    if not isinstance(text, str):
        raise RuleFileError(where, line, f"a condition must be a text, got {type(text).__name__}")
    if len(text) > MAX_CONDITION:
        raise RuleFileError(where, line, f"condition is longer than {MAX_CONDITION} characters")
    parser = _Parser(text, where, line)
    tree, _ = parser.parse()
    return Condition(text, tree, tuple(parser.variables))


def _eval(node: tuple[Any, ...], ctx: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "var":
        return ctx.get(f"{node[1]}.{node[2]}")
    if kind == "not":
        v = _eval(node[1], ctx)
        return None if v is None else not v
    if kind in ("and", "or"):
        values = [_eval(n, ctx) for n in node[1]]
        decisive = kind == "or"  # True decides "or", False decides "and"
        if any(v is not None and bool(v) is decisive for v in values):
            return decisive
        return None if any(v is None for v in values) else not decisive
    op, left, right = node[1], _eval(node[2], ctx), _eval(node[3], ctx)
    if left is None or right is None:
        return None
    if isinstance(left, float) and left != left or isinstance(right, float) and right != right:
        return None
    return {
        "<": lambda: left < right,
        "<=": lambda: left <= right,
        ">": lambda: left > right,
        ">=": lambda: left >= right,
        "==": lambda: left == right,
        "!=": lambda: left != right,
    }[op]()


# ---------------------------------------------------------------------------------------------
# Rule files


@dataclasses.dataclass(frozen=True)
class Rule:
    """One formulation statement and the condition that triggers it."""

    id: str
    section: str
    when: Condition
    text: str
    evidence: str
    sources: tuple[str, ...]
    phase: str | None = None
    pattern: str | None = None
    rupture: str | None = None
    note: str = ""
    line: int | None = None


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """A validated rule file."""

    path: str
    title: str
    version: str
    sources: Mapping[str, str]
    rules: tuple[Rule, ...]
    profile: Mapping[str, Any]
    missing: Mapping[str, str]

    def evaluate(self, context: Mapping[str, Any]) -> tuple[list[tuple[Rule, dict[str, Any]]], list[Rule]]:
        """Rules that fire (each with the values of the variables it read) and rules left unknown."""
        fired: list[tuple[Rule, dict[str, Any]]] = []
        unknown: list[Rule] = []
        for rule in self.rules:
            value = rule.when.evaluate(context)
            if value is None:
                unknown.append(rule)
            elif value:
                fired.append((rule, {v: context.get(v) for v in rule.when.variables}))
        return fired, unknown


_TOP = {"format", "title", "version", "sources", "profile", "missing", "rule"}
_RULE_KEYS = {"id", "section", "phase", "pattern", "when", "text", "evidence", "sources", "rupture", "note"}
_PROFILE_KEYS = {"deficit_z", "elevated_z", "deficit_bands", "elevated_bands", "higher_is_better", "higher_is_worse"}


def _line_of(text: str, header: str, index: int | None, key: str | None) -> int | None:
    """1-based line of ``key`` inside the ``index``-th ``[[header]]`` (or ``[header]``) table."""
    lines = text.splitlines()
    pattern = re.compile(
        r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]"
        if index is not None
        else r"^\s*\[\s*" + re.escape(header) + r"\s*\]"
    )
    count = -1
    start = None
    for n, ln in enumerate(lines):
        if pattern.match(ln):
            count += 1
            if index is None or count == index:
                start = n
                break
    if start is None:
        if key is not None:
            for n, ln in enumerate(lines):
                if re.match(r"^\s*" + re.escape(key) + r"\s*=", ln):
                    return n + 1
        return None
    if key is None:
        return start + 1
    for n in range(start + 1, len(lines)):
        if re.match(r"^\s*\[", lines[n]):
            break
        if re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[n]):
            return n + 1
    return start + 1


def default_rules_path() -> Path:
    """Path of the rule file shipped with SCIP Lab (``scip/rules/formulation.toml``)."""
    return Path(str(resources.files("sciplab.scip").joinpath("rules", "formulation.toml")))


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Load and validate a rule file (default: the shipped one).

    Raises
    ------
    RuleFileError
        File missing or unreadable, TOML syntax error, unknown field, construct or attribute,
        missing citation, bad evidence level; naming the file and the line.

    Examples
    --------
    >>> rs = load_rules()
    >>> all(r.sources for r in rs.rules)
    True
    """
    p = default_rules_path() if path is None else Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleFileError(str(p), None, "rule file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleFileError(str(p), None, f"cannot read the rule file: {exc}") from None
    return parse_rules(text, where=str(p))


def parse_rules(text: str, *, where: str = "<rules>") -> RuleSet:
    """Validate the text of a rule file (see the module docstring for the format).

    Examples
    --------
    >>> rs = parse_rules('''
    ... [sources]
    ... levy2011 = "Levy et al. (2011). Attachment style. doi:10.1002/jclp.20756"
    ... [[rule]]
    ... id = "anxiety-outcome"
    ... section = "hypothesis"
    ... when = "attachment.p_anxiety_high >= 0.5"
    ... text = "Attachment anxiety predicts a slower course."
    ... evidence = "meta-analysis"
    ... sources = ["levy2011"]
    ... ''')
    >>> [r.id for r in rs.rules]
    ['anxiety-outcome']
    """
    if not isinstance(text, str):
        raise RuleFileError(where, None, f"rule file content must be text, got {type(text).__name__}")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RuleFileError(where, int(m.group(1)) if m else None, f"TOML syntax error: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise RuleFileError(where, None, f"TOML syntax error: {exc}") from None

    def fail(problem: str, header: str | None = None, index: int | None = None, key: str | None = None) -> NoReturn:
        line = (
            _line_of(text, header, index, key)
            if header is not None
            else (_line_of(text, "", None, key) if key else None)
        )
        raise RuleFileError(where, line, problem)

    for key in raw:
        if key not in _TOP:
            fail(f"unknown field {key!r}{suggest(key, _TOP)}; allowed: {', '.join(sorted(_TOP))}", key=key)
    fmt = raw.get("format", 1)
    if fmt != 1 or isinstance(fmt, bool):
        fail(f"unsupported rule-file format {fmt!r}; this version reads format 1", key="format")
    title = raw.get("title", "")
    version = raw.get("version", "")
    if not isinstance(title, str) or not isinstance(version, str):
        fail("title and version must be texts", key="title")

    sources_raw = raw.get("sources", {})
    if not isinstance(sources_raw, dict):
        fail('[sources] must be a table of key = "citation"', key="sources")
    sources: dict[str, str] = {}
    for key, value in sources_raw.items():
        if not isinstance(value, str) or not value.strip():
            fail(f"source {key!r} must be a non-empty citation text", "sources", None, key)
        sources[key] = value.strip()

    profile_raw = raw.get("profile", {})
    if not isinstance(profile_raw, dict):
        fail("[profile] must be a table", key="profile")
    for key in profile_raw:
        if key not in _PROFILE_KEYS:
            fail(f"[profile]: unknown field {key!r}{suggest(key, _PROFILE_KEYS)}", "profile", None, key)
    profile: dict[str, Any] = {
        "deficit_z": -1.0,
        "elevated_z": 1.0,
        "deficit_bands": (),
        "elevated_bands": (),
        "higher_is_better": (),
        "higher_is_worse": (),
    }
    for key in ("deficit_z", "elevated_z"):
        if key in profile_raw:
            v = profile_raw[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v != v or abs(v) > 10:
                fail(f"[profile] {key} must be a number of SDs (|z| <= 10), got {v!r}", "profile", None, key)
            profile[key] = float(v)
    for key in ("deficit_bands", "elevated_bands", "higher_is_better", "higher_is_worse"):
        if key in profile_raw:
            v = profile_raw[key]
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                fail(f"[profile] {key} must be a list of texts", "profile", None, key)
            if key.startswith("higher"):
                for s in v:
                    if s not in CONSTRUCTS:
                        fail(f"[profile] {key}: unknown construct {s!r}{suggest(s, CONSTRUCTS)}", "profile", None, key)
            profile[key] = tuple(v)
    both = set(profile["higher_is_better"]) & set(profile["higher_is_worse"])
    if both:
        fail(
            f"[profile] constructs listed as both better and worse when higher: {', '.join(sorted(both))}",
            "profile",
            None,
            "higher_is_worse",
        )

    missing_raw = raw.get("missing", {})
    if not isinstance(missing_raw, dict):
        fail("[missing] must be a table of [missing.<construct>] tables", key="missing")
    missing: dict[str, str] = {}
    for name, value in missing_raw.items():
        if name not in CONSTRUCTS and name not in _BLOCKS:
            fail(
                f"[missing.{name}]: unknown construct {name!r}{suggest(name, [*CONSTRUCTS, *_BLOCKS])}",
                f"missing.{name}",
                None,
                None,
            )
        if not isinstance(value, dict) or set(value) != {"adds"} or not isinstance(value["adds"], str):
            fail(f'[missing.{name}] must have exactly one field: adds = "..."', f"missing.{name}", None, None)
        missing[name] = value["adds"].strip()

    rules_raw = raw.get("rule", [])
    if not isinstance(rules_raw, list):
        fail("rules must be written as [[rule]] tables", key="rule")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(rules_raw):

        def rfail(problem: str, key: str | None = None, _i: int = i) -> NoReturn:
            fail(f"rule {_i + 1}: {problem}", "rule", _i, key)

        if not isinstance(r, dict):
            rfail("must be a table")
        for key in r:
            if key not in _RULE_KEYS:
                rfail(f"unknown field {key!r}{suggest(key, _RULE_KEYS)}; allowed: {', '.join(sorted(_RULE_KEYS))}", key)
        for key in ("id", "section", "when", "text", "evidence"):
            if key not in r:
                rfail(f"field {key!r} is required but missing")
            if not isinstance(r[key], str) or not r[key].strip():
                rfail(f"field {key!r} must be a non-empty text", key)
        rid = r["id"].strip()
        if not _ID_RE.match(rid):
            rfail(f"id {rid!r} must be lower-case letters, digits, '-' or '_'", "id")
        if rid in seen:
            rfail(f"id {rid!r} is used twice", "id")
        seen.add(rid)
        if r["section"] not in SECTIONS:
            rfail(
                f"section must be one of {', '.join(SECTIONS)}, got {r['section']!r}{suggest(r['section'], SECTIONS)}",
                "section",
            )
        phase = r.get("phase")
        if r["section"] == "plan":
            if phase not in PHASES:
                rfail(f"a plan rule needs phase = one of {', '.join(PHASES)}, got {phase!r}", "phase")
        elif phase is not None:
            rfail("phase is only for plan rules", "phase")
        for key, allowed in (("pattern", PATTERNS), ("rupture", PATTERNS)):
            v = r.get(key)
            if v is not None and v not in allowed:
                rfail(f"{key} must be one of {', '.join(allowed)}, got {v!r}{suggest(str(v), allowed)}", key)
        if r["evidence"] not in EVIDENCE_LEVELS:
            rfail(
                f"evidence must be one of {', '.join(EVIDENCE_LEVELS)}, got {r['evidence']!r}"
                f"{suggest(r['evidence'], EVIDENCE_LEVELS)}",
                "evidence",
            )
        srcs = r.get("sources")
        if srcs is None or srcs == []:
            rfail(
                'has no citation: sources = ["key", ...] must name at least one entry of [sources]',
                "sources" if srcs is not None else None,
            )
        if not isinstance(srcs, list) or not all(isinstance(s, str) for s in srcs):
            rfail("sources must be a list of citation keys", "sources")
        for s in srcs:
            if s not in sources:
                rfail(f"unknown source {s!r}{suggest(s, sources)}; add it to [sources]", "sources")
        note = r.get("note", "")
        if not isinstance(note, str):
            rfail("note must be a text", "note")
        line = _line_of(text, "rule", i, "when")
        cond = parse_condition(r["when"], where=where, line=line)
        rules.append(
            Rule(
                id=rid,
                section=r["section"],
                when=cond,
                text=" ".join(r["text"].split()),
                evidence=r["evidence"],
                sources=tuple(srcs),
                phase=phase,
                pattern=r.get("pattern"),
                rupture=r.get("rupture"),
                note=" ".join(note.split()),
                line=_line_of(text, "rule", i, None),
            )
        )
    return RuleSet(
        path=where,
        title=title,
        version=version,
        sources=sources,
        rules=tuple(rules),
        profile=profile,
        missing=missing,
    )


def constructs_in(rules: Iterable[Rule]) -> list[str]:
    """Constructs and blocks the conditions of ``rules`` read, in first-use order."""
    out: list[str] = []
    for r in rules:
        for v in r.when.variables:
            block = v.split(".", 1)[0]
            if block not in out:
                out.append(block)
    return out
