"""Declarative formulation rules: loader, validator and evaluator of rule files (TOML).

A rule file (``scip/rules/formulation.toml`` ships with SCIP Lab) holds, as data a
clinician-researcher can read and adapt:

* ``[sources]``: citation key -> full reference;
* ``[profile]``: thresholds and band labels used to flag deficits against norms (construct
  polarity is not set here: it has one home, :data:`sciplab.instruments.schema.CONSTRUCT_HIGHER_IS_WORSE`);
* ``[missing.<construct>]``: what a missing construct would add to the formulation;
* ``[[rule]]``: one statement each: ``id``, ``section`` (``hypothesis`` or ``plan``), ``phase``
  (plan: ``engagement``, ``corrective``, ``marker``, ``caution``), optional ``pattern``, a condition
  ``when``, the ``text``, an ``evidence`` level, ``sources`` (keys of ``[sources]``, at least one),
  optional ``rupture`` (an attachment pattern whose expected rupture type, from
  :func:`sciplab.scip.relationship.expected_rupture_type`, is attached) and ``note``.

Condition language
------------------
A tiny, safe expression language, parsed by the one expression parser of SCIP Lab
(:func:`sciplab.stats.syntax.parse_expression` with ``logic=True``; never passed to ``eval``)::

    expr  := or
    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | cmp
    cmp   := value (("<" | "<=" | ">" | ">=" | "==" | "!=") value)?
    value := NAME "." ATTR | NUMBER | -NUMBER | 'text' | "text" | true | false | "(" expr ")"

``NAME`` is a SCIP construct (:data:`sciplab.instruments.schema.CONSTRUCTS`) or one of the derived
blocks ``attachment`` and ``interpersonal``; ``ATTR`` is one of :data:`CONSTRUCT_ATTRIBUTES`,
:data:`ATTACHMENT_ATTRIBUTES` or :data:`INTERPERSONAL_ATTRIBUTES`. Types are checked on load (numbers
compare with numbers, texts with texts by ``==``/``!=``, the whole condition must be true/false).
Evaluation uses three-valued logic: a variable whose construct was not measured is *unknown*;
``unknown and false`` is false, ``unknown or true`` is true, otherwise unknown propagates and the
rule does not fire (the formulation lists it as not evaluable, with the constructs it needs).

This module checks the types on the parsed tree and evaluates it. Every problem is a
:class:`RuleFileError` naming the file, the line, the column and the problem (with a caret).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from sciplab._core.errors import ModelSyntaxError, SciplabError, suggest
from sciplab.instruments.schema import CONSTRUCTS
from sciplab.scip.constructs import OCTANT_CODES, QUADRANTS
from sciplab.stats.syntax import Expression, parse_expression

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
    ("attachment", "pattern"): QUADRANTS,
    ("interpersonal", "octant"): tuple(OCTANT_CODES),
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
PATTERNS = QUADRANTS
_ID_RE = re.compile(r"^[a-z][a-z0-9_-]*$")
MAX_CONDITION = 2000


class RuleFileError(SciplabError, ValueError):
    """A rule file (or a condition) cannot be used: names the file, the line and the problem."""

    def __init__(self, where: str, line: int | None, problem: str) -> None:
        self.where, self.line, self.problem = where, line, problem
        loc = f"{where}, line {line}" if line else where
        super().__init__(f"{loc}: {problem}")


# ---------------------------------------------------------------------------------------------
# Conditions: parsed by the one expression parser (sciplab.stats.syntax), checked and evaluated here

_KIND_WORD = {"num": "number", "str": "text", "bool": "true/false value"}


@dataclasses.dataclass(frozen=True)
class Condition:
    """A parsed condition: ``source`` text, the syntax tree and the variables (``block.attr``) it reads."""

    source: str
    tree: tuple[Any, ...]
    variables: tuple[str, ...]

    def evaluate(self, context: Mapping[str, Any]) -> bool | None:
        """True, False or None (unknown: a variable it needs is unknown or missing from ``context``)."""
        value = _eval(self.tree, context)
        return value if value is None else bool(value)


class _Checker:
    """Type checks of a condition's tree: names are ``block.attr``; numbers, texts, true/false."""

    def __init__(self, expr: Expression, where: str, line: int | None) -> None:
        self.expr, self.where, self.line = expr, where, line
        self.variables: list[str] = []

    def fail(self, node: tuple[Any, ...], problem: str) -> NoReturn:
        raise _condition_error(self.expr.source, self.expr.error(node, problem), self.where, self.line)

    def kind(self, node: tuple[Any, ...]) -> str:
        tag = node[0]
        if tag in ("num", "str", "bool"):
            return tag
        if tag == "name":
            return self._variable(node)
        if tag == "neg":
            if self.kind(node[2]) != "num":
                self.fail(node, "'-' applies to numbers only")
            return "num"
        if tag == "not":
            k = self.kind(node[2])
            if k != "bool":
                self.fail(node, f"'not' applies to a true/false condition, not a {_KIND_WORD[k]}")
            return "bool"
        if tag in ("and", "or"):
            for part in node[2]:
                k = self.kind(part)
                if k != "bool":
                    self.fail(part, f"'{tag}' joins true/false conditions, not a {_KIND_WORD[k]}")
            return "bool"
        if tag == "cmp":
            return self._comparison(node)
        self.fail(node, "arithmetic (+ - * / ^ and functions) is not allowed in conditions; compare a value")

    def _comparison(self, node: tuple[Any, ...]) -> str:
        op, left, right = node[2], node[3], node[4]
        lkind, rkind = self.kind(left), self.kind(right)
        if lkind != rkind:
            self.fail(node, f"cannot compare a {_KIND_WORD[lkind]} with a {_KIND_WORD[rkind]} ({op})")
        if lkind in ("str", "bool") and op not in ("==", "!="):
            self.fail(node, f"{_KIND_WORD[lkind]}s are compared with == or != only, not {op}")
        for var, const in ((left, right), (right, left)):
            if var[0] == "name" and const[0] == "str" and tuple(var[2].split(".")) in _TEXT_VALUES:
                allowed = _TEXT_VALUES[tuple(var[2].split("."))]  # type: ignore[index]
                if const[2] not in allowed:
                    self.fail(
                        const,
                        f"{var[2]} is never {const[2]!r}{suggest(str(const[2]), allowed)}; "
                        f"values: {', '.join(allowed)}",
                    )
        return "bool"

    def _variable(self, node: tuple[Any, ...]) -> str:
        text = node[2]
        parts = text.split(".")
        known = [*CONSTRUCTS, *_BLOCKS]
        if len(parts) != 2 or not all(parts):
            if len(parts) == 1 and text in known:
                self.fail(node, f"{text!r} needs an attribute, e.g. {text}.score or {text}.present")
            if len(parts) == 1:
                self.fail(node, f"unknown construct {text!r}{suggest(text, known)}; known: {', '.join(known)}")
            self.fail(node, f"{text!r}: write construct.attribute (one dot)")
        block, attr = parts
        if block in _BLOCKS:
            attrs = _BLOCKS[block]
        elif block in CONSTRUCTS:
            attrs = CONSTRUCT_ATTRIBUTES
        else:
            self.fail(node, f"unknown construct {block!r}{suggest(block, known)}; known: {', '.join(known)}")
        if attr not in attrs:
            self.fail(node, f"unknown attribute {attr!r} of {block}{suggest(attr, attrs)}; allowed: {', '.join(attrs)}")
        if text not in self.variables:
            self.variables.append(text)
        return attrs[attr]


def _condition_error(text: str, exc: ModelSyntaxError, where: str, line: int | None) -> RuleFileError:
    """The parser's caret message, framed by the rule file's name and line."""
    problem, row, col = exc.problem, exc.line, exc.col  # type: ignore[attr-defined]
    at = f"column {col}" if row == 1 else f"line {row} of the condition, column {col}"
    snippet = str(exc).split("\n", 1)[1]
    return RuleFileError(where, line, f"condition {text!r}: {problem} at {at}\n{snippet}")


def parse_condition(text: Any, *, where: str = "<condition>", line: int | None = None) -> Condition:
    """Parse and type-check a condition.

    The text is parsed by :func:`sciplab.stats.syntax.parse_expression` (``logic=True``): the
    grammar, nesting bound and caret messages are those of the model syntax.

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
        Syntax error, unknown construct or attribute, type mismatch; the message names the column
        and shows a caret under the problem.

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
    if not text.strip():
        raise RuleFileError(where, line, f"condition {text!r} is empty")
    try:
        expr = parse_expression(text, logic=True)
    except ModelSyntaxError as exc:
        raise _condition_error(text, exc, where, line) from None
    checker = _Checker(expr, where, line)
    kind = checker.kind(expr.tree)
    if kind != "bool":
        checker.fail(
            expr.tree, f"must be true or false, but it is a {_KIND_WORD[kind]}; compare it (e.g. with >= or ==)"
        )
    return Condition(text, expr.tree, tuple(checker.variables))


def _eval(node: tuple[Any, ...], ctx: Mapping[str, Any]) -> Any:
    """Three-valued evaluation of a checked tree (None = unknown)."""
    kind = node[0]
    if kind in ("num", "str", "bool"):
        return node[2]
    if kind == "name":
        return ctx.get(node[2])
    if kind == "neg":
        v = _eval(node[2], ctx)
        return None if v is None else -v
    if kind == "not":
        v = _eval(node[2], ctx)
        return None if v is None else not v
    if kind in ("and", "or"):
        values = [_eval(n, ctx) for n in node[2]]
        decisive = kind == "or"  # True decides "or", False decides "and"
        if any(v is not None and bool(v) is decisive for v in values):
            return decisive
        return None if any(v is None for v in values) else not decisive
    op, left, right = node[2], _eval(node[3], ctx), _eval(node[4], ctx)
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
_PROFILE_KEYS = {"deficit_z", "elevated_z", "deficit_bands", "elevated_bands"}
_POLARITY_KEYS = {"higher_is_better", "higher_is_worse"}  # removed: polarity lives in instruments.schema


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
        if key in _POLARITY_KEYS:
            fail(
                f"[profile]: unknown field {key!r}: construct polarity is no longer set in rule files; SCIP Lab "
                "reads it from sciplab.instruments.schema.CONSTRUCT_HIGHER_IS_WORSE (a scale with direction = "
                '"inverse" flips it); remove the field',
                "profile",
                None,
                key,
            )
        if key not in _PROFILE_KEYS:
            fail(f"[profile]: unknown field {key!r}{suggest(key, _PROFILE_KEYS)}", "profile", None, key)
    profile: dict[str, Any] = {
        "deficit_z": -1.0,
        "elevated_z": 1.0,
        "deficit_bands": (),
        "elevated_bands": (),
    }
    for key in ("deficit_z", "elevated_z"):
        if key in profile_raw:
            v = profile_raw[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or v != v or abs(v) > 10:
                fail(f"[profile] {key} must be a number of SDs (|z| <= 10), got {v!r}", "profile", None, key)
            profile[key] = float(v)
    for key in ("deficit_bands", "elevated_bands"):
        if key in profile_raw:
            v = profile_raw[key]
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                fail(f"[profile] {key} must be a list of texts", "profile", None, key)
            profile[key] = tuple(v)

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
