"""Tests of the formulation rule files: loader, validator, condition language, evaluator."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciplab._core.errors import SciplabError
from sciplab.instruments.schema import CONSTRUCTS
from sciplab.scip.rules import (
    ATTACHMENT_ATTRIBUTES,
    CONSTRUCT_ATTRIBUTES,
    EVIDENCE_LEVELS,
    RuleFileError,
    default_rules_path,
    load_rules,
    parse_condition,
    parse_rules,
)

GOOD = """\
format = 1
title = "test rules"

[sources]
levy2011 = "Levy et al. (2011). Attachment style."
mcd2015 = "Mallinckrodt, Choi & Daly (2015)."

[missing.social_support]
adds = "support outside therapy"

[[rule]]
id = "anx"
section = "hypothesis"
when = "attachment.p_anxiety_high >= 0.5"
text = "Anxious."
evidence = "meta-analysis"
sources = ["levy2011"]

[[rule]]
id = "low-support"
section = "plan"
phase = "caution"
when = "social_support.deficit"
text = "Mobilise support."
evidence = "inference"
sources = ["mcd2015", "levy2011"]
"""


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _line(text: str, needle: str, nth: int = 0) -> int:
    hits = [i + 1 for i, ln in enumerate(text.splitlines()) if needle in ln]
    return hits[nth]


# -- the shipped file ----------------------------------------------------------------------------


def test_shipped_rules_load_and_every_rule_is_cited():
    rs = load_rules()
    assert rs.path == str(default_rules_path())
    assert len(rs.rules) >= 25
    assert len({r.id for r in rs.rules}) == len(rs.rules)
    for r in rs.rules:
        assert r.sources and all(s in rs.sources for s in r.sources)
        assert r.evidence in EVIDENCE_LEVELS
        assert r.line is not None and r.line > 0
    # every pattern has an engagement and (except secure) a corrective plan step
    plan = {(r.pattern, r.phase) for r in rs.rules if r.section == "plan"}
    for pattern in ("preoccupied", "dismissing", "fearful"):
        assert (pattern, "engagement") in plan and (pattern, "corrective") in plan
    assert ("secure", "engagement") in plan
    assert rs.profile["deficit_z"] == -1.0 and rs.profile["elevated_z"] == 1.0
    assert set(rs.missing) <= set(CONSTRUCTS)


def test_shipped_rule_lines_point_at_rule_headers():
    rs = load_rules()
    lines = default_rules_path().read_text(encoding="utf-8").splitlines()
    for r in rs.rules:
        assert lines[r.line - 1].strip() == "[[rule]]"


# -- good file ------------------------------------------------------------------------------------


def test_parse_good_file():
    rs = parse_rules(GOOD, where="t.toml")
    assert [r.id for r in rs.rules] == ["anx", "low-support"]
    assert rs.rules[1].phase == "caution"
    assert rs.rules[0].when.variables == ("attachment.p_anxiety_high",)
    assert rs.missing == {"social_support": "support outside therapy"}
    assert rs.rules[0].line == _line(GOOD, "[[rule]]", 0)
    fired, unknown = rs.evaluate({"attachment.p_anxiety_high": 0.7})
    assert [r.id for r, _ in fired] == ["anx"]
    assert fired[0][1] == {"attachment.p_anxiety_high": 0.7}
    assert [r.id for r in unknown] == ["low-support"]


# -- errors: file, line, problem ------------------------------------------------------------------


def test_toml_syntax_error_names_file_and_line():
    bad = _replace(GOOD, 'text = "Anxious."', 'text = "Anxious.')
    with pytest.raises(RuleFileError) as exc:
        parse_rules(bad, where="rules.toml")
    assert exc.value.where == "rules.toml"
    assert exc.value.line == _line(bad, 'text = "Anxious.')
    assert "TOML syntax error" in str(exc.value)
    assert str(exc.value).startswith(f"rules.toml, line {exc.value.line}:")


def test_unknown_construct_in_condition():
    bad = _replace(GOOD, "social_support.deficit", "social_suport.deficit")
    with pytest.raises(RuleFileError) as exc:
        parse_rules(bad, where="r.toml")
    msg = str(exc.value)
    assert exc.value.line == _line(bad, "social_suport.deficit")
    assert "unknown construct 'social_suport'" in msg and "did you mean 'social_support'" in msg


def test_unknown_attribute_in_condition():
    bad = _replace(GOOD, "social_support.deficit", "social_support.defict")
    with pytest.raises(RuleFileError, match=r"unknown attribute 'defict' of social_support .*did you mean 'deficit'"):
        parse_rules(bad)


def test_missing_citation_is_rejected():
    bad = _replace(GOOD, 'sources = ["levy2011"]', "sources = []")
    with pytest.raises(RuleFileError) as exc:
        parse_rules(bad, where="r.toml")
    assert "rule 1: has no citation" in str(exc.value)
    assert exc.value.line == _line(bad, "sources = []")


def test_absent_sources_field_is_rejected():
    bad = _replace(GOOD, 'sources = ["levy2011"]\n', "")
    with pytest.raises(RuleFileError, match="rule 1: has no citation"):
        parse_rules(bad)


def test_unknown_source_key():
    bad = _replace(GOOD, 'sources = ["levy2011"]', 'sources = ["levy2012"]')
    with pytest.raises(RuleFileError, match=r"unknown source 'levy2012' \(did you mean 'levy2011'\?\)") as exc:
        parse_rules(bad)
    assert exc.value.line == _line(bad, 'sources = ["levy2012"]')


def test_unknown_construct_in_missing_table():
    bad = _replace(GOOD, "[missing.social_support]", "[missing.social_suport]")
    with pytest.raises(RuleFileError, match="unknown construct 'social_suport'") as exc:
        parse_rules(bad)
    assert exc.value.line == _line(bad, "[missing.social_suport]")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('evidence = "meta-analysis"', 'evidence = "strong"', "evidence must be one of"),
        ('section = "hypothesis"', 'section = "hypotheses"', "did you mean 'hypothesis'"),
        ('phase = "caution"\n', "", "a plan rule needs phase"),
        ('id = "anx"', 'id = "low-support"', "is used twice"),
        ('id = "anx"', 'id = "Anx Rule"', "must be lower-case"),
        ('text = "Anxious."', 'text = "Anxious."\nweight = 2', "unknown field 'weight'"),
        ('title = "test rules"', 'title = "test rules"\nrule_version = 2', "unknown field 'rule_version'"),
        ("format = 1", "format = 2", "unsupported rule-file format"),
        ('text = "Anxious."', 'text = "Anxious."\npattern = "anxious"', "pattern must be one of"),
    ],
)
def test_validation_errors(old, new, message):
    with pytest.raises(RuleFileError, match=message):
        parse_rules(_replace(GOOD, old, new))


@pytest.mark.parametrize("key", ["higher_is_better", "higher_is_worse"])
def test_profile_polarity_lists_refused(key):
    # polarity has one home (instruments.schema.CONSTRUCT_HIGHER_IS_WORSE): rule files no longer set it
    bad = GOOD + f'\n[profile]\n{key} = ["social_support"]\n'
    with pytest.raises(RuleFileError, match=f"unknown field '{key}'.*CONSTRUCT_HIGHER_IS_WORSE"):
        parse_rules(bad)


def test_shipped_rules_cite_no_internal_docs():
    text = default_rules_path().read_text(encoding="utf-8")
    assert "shared/docs" not in text and "instruments.md" not in text and "scip-model.md" not in text


def test_missing_file(tmp_path):
    with pytest.raises(RuleFileError, match="rule file not found"):
        load_rules(tmp_path / "nope.toml")


def test_load_from_path(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(GOOD, encoding="utf-8")
    assert load_rules(p).path == str(p)


# -- condition language ---------------------------------------------------------------------------


def test_condition_three_valued_logic():
    c = parse_condition("social_support.deficit and attachment.p_fearful >= 0.5")
    assert c.evaluate({"social_support.deficit": True, "attachment.p_fearful": 0.6}) is True
    assert c.evaluate({"social_support.deficit": False}) is False  # false and unknown = false
    assert c.evaluate({"social_support.deficit": True}) is None
    o = parse_condition("social_support.deficit or attachment.p_fearful >= 0.5")
    assert o.evaluate({"social_support.deficit": True}) is True  # true or unknown = true
    assert o.evaluate({"social_support.deficit": False}) is None
    assert o.evaluate({"social_support.deficit": False, "attachment.p_fearful": 0.1}) is False
    n = parse_condition("not social_support.deficit")
    assert n.evaluate({}) is None and n.evaluate({"social_support.deficit": False}) is True


def test_condition_precedence_and_parentheses():
    ctx = {"social_support.deficit": True, "distress.elevated": False, "alliance.present": False}
    assert parse_condition("social_support.deficit or distress.elevated and alliance.present").evaluate(ctx) is True
    assert parse_condition("(social_support.deficit or distress.elevated) and alliance.present").evaluate(ctx) is False


def test_condition_texts_and_numbers():
    c = parse_condition("attachment.pattern == 'fearful' and attachment.pattern_p < .6")
    assert c.evaluate({"attachment.pattern": "fearful", "attachment.pattern_p": 0.55}) is True
    assert c.evaluate({"attachment.pattern": "secure", "attachment.pattern_p": 0.55}) is False
    assert parse_condition("distress.z >= 1e0").evaluate({"distress.z": 1.0}) is True
    assert parse_condition("distress.z >= 1").evaluate({"distress.z": float("nan")}) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("attachment.p_fearful", "must be true or false"),
        ("attachment.p_fearful >= 'high'", "cannot compare a number with a text"),
        ("attachment.pattern < 'fearful'", "compared with == or != only"),
        ("attachment.pattern == 'fearfull'", "never 'fearfull'.*did you mean 'fearful'"),
        ("interpersonal.octant == 'XY'", "never 'XY'"),
        ("social_support.deficit and", "ends too early"),
        ("social_support.deficit)", r"unexpected '\)' at column 23"),
        ("(social_support.deficit", r"expected '\)' to close the parenthesis at column 24"),
        ("social_support.deficit # 1", "unexpected character '#' at column 24"),
        ("social_support", "needs an attribute"),
        ("support.deficit", "unknown construct 'support'"),
        ("a.b.c", "one dot"),
        ("1 and social_support.deficit", "joins true/false conditions"),
        ("not attachment.p_fearful", "'not' applies to a true/false"),
        ("__import__('os').system('x')", "unknown function '__import__'.* at column 1"),
        ("distress.z * 2 > 1", "arithmetic .* is not allowed in conditions"),
        ("-social_support.deficit", "'-' applies to numbers only"),
        ("__import__ == 'os'", "unknown construct '__import__'"),
        ("(" * 60 + "social_support.deficit" + ")" * 60, "nested more than"),
        ("not " * 60 + "social_support.deficit", "nested more than"),
        ("distress.z > 1e999", "not finite"),
        (42, "must be a text"),
    ],
)
def test_condition_errors(text, message):
    with pytest.raises(RuleFileError, match=message):
        parse_condition(text, where="f.toml", line=7)


def test_condition_errors_use_the_syntax_parsers_caret():
    # one parser (sciplab.stats.syntax) for model syntax and conditions: the same caret display
    text = "attachment.p_fearful >= 0.5 and suport.deficit"
    with pytest.raises(RuleFileError) as exc:
        parse_condition(text, where="f.toml", line=7)
    head, src, caret = str(exc.value).split("\n")
    assert head.startswith(f"f.toml, line 7: condition {text!r}: unknown construct 'suport'")
    assert head.endswith("at column 33")
    assert (src, caret) == ("  " + text, "  " + " " * 32 + "^")


def test_condition_negative_numbers():
    c = parse_condition("distress.z <= -1.5")
    assert c.evaluate({"distress.z": -2.0}) is True and c.evaluate({"distress.z": 0.0}) is False
    assert c.evaluate({}) is None


def test_condition_error_names_file_and_line():
    with pytest.raises(RuleFileError) as exc:
        parse_condition("support.deficit", where="f.toml", line=7)
    assert str(exc.value).startswith("f.toml, line 7: condition 'support.deficit': unknown construct")


def test_every_construct_and_attribute_is_accepted():
    for c in CONSTRUCTS:
        for a, kind in CONSTRUCT_ATTRIBUTES.items():
            expr = f"{c}.{a}" if kind == "bool" else f"{c}.{a} == 'x'" if kind == "str" else f"{c}.{a} > 0"
            assert parse_condition(expr).variables == (f"{c}.{a}",)
    for a in ATTACHMENT_ATTRIBUTES:
        assert (
            f"attachment.{a}"
            in parse_condition(f"attachment.{a} == 'secure'" if a == "pattern" else f"attachment.{a} > 0").variables
        )


# -- property: junk never raises anything but project errors --------------------------------------

_TOKENS = [
    "and", "or", "not", "(", ")", "<", "<=", "==", "!=", ">", ">=", "true", "false", "1", "0.5", ".3", "1e400",
    "'fearful'", '"x"', "attachment.p_fearful", "attachment.pattern", "social_support.deficit", "distress.z",
    "foo.bar", "a.b.c", "interpersonal.octant", "'DE'", "#", "@", "-", "\n", "social_support",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_TOKENS), max_size=25).map(" ".join)))
def test_condition_parser_raises_only_project_errors(text):
    try:
        c = parse_condition(text)
    except SciplabError as exc:
        assert isinstance(exc, RuleFileError)
        return
    assert c.evaluate({}) in (True, False, None)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_rule_file_parser_raises_only_project_errors_on_junk(text):
    try:
        parse_rules(text)
    except SciplabError as exc:
        assert isinstance(exc, RuleFileError)


@settings(max_examples=150, deadline=None)
@given(
    when=st.one_of(st.text(max_size=60), st.lists(st.sampled_from(_TOKENS), max_size=15).map(" ".join)),
    field=st.sampled_from(["id", "section", "phase", "evidence", "text", "pattern", "rupture", "note", "sources"]),
    value=st.one_of(st.text(max_size=10), st.integers(), st.lists(st.text(max_size=5), max_size=3), st.booleans()),
)
def test_rule_file_parser_raises_only_project_errors_on_structured_junk(when, field, value):
    text = (
        '[sources]\na = "x"\n[[rule]]\n'
        + "\n".join(
            f"{k} = {json.dumps(v)}"
            for k, v in {
                "id": "r",
                "section": "hypothesis",
                "when": when,
                "text": "t",
                "evidence": "theory",
                "sources": ["a"],
                field: value,
            }.items()
        )  # fmt: skip
        + "\n"
    )
    try:
        parse_rules(text)
    except SciplabError as exc:
        assert isinstance(exc, RuleFileError)
