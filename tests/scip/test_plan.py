"""Tests of sciplab.scip.plan: rule context, statement order and missing constructs."""

from __future__ import annotations

import pandas as pd

from sciplab.instruments.registry import get_instrument
from sciplab.scip.plan import STATEMENT_COLUMNS, missing_constructs, rule_context, statements
from sciplab.scip.rules import PHASES, load_rules

RULES = load_rules()
ATT = {
    "anxiety": {"p_high": 0.9, "column": "ECR-S_anxiety"},
    "avoidance": {"p_high": 0.1, "column": "ECR-S_avoidance"},
    "quadrant_probabilities": {"secure": 0.09, "preoccupied": 0.81, "dismissing": 0.01, "fearful": 0.09},
    "most_probable": {"pattern": "preoccupied", "p": 0.81},
}
PROFILE = pd.DataFrame([{"construct": "social_support", "column": "MSPSS_total", "score": 2.0, "pomp": 16.7,
                         "z": None, "T": None, "band": "low", "flag": "deficit"}])  # fmt: skip


def test_context_and_statement_order():
    ctx, cols = rule_context(PROFILE, ATT, None)
    assert ctx["social_support.deficit"] is True and ctx["attachment.pattern"] == "preoccupied"
    assert ctx["distress.present"] is False and "distress.deficit" not in ctx
    table, cited, not_evaluated = statements(RULES, ctx, cols, {"MSPSS_total": 2.0})
    assert list(table.columns) == STATEMENT_COLUMNS
    sections = list(table["section"])
    assert sections == sorted(sections, key=lambda s: s != "hypothesis")
    phases = [p for p in table["phase"] if isinstance(p, str)]
    assert phases == sorted(phases, key=PHASES.index)
    assert set(cited) == {k for s in table["sources"] for k in s}
    low = table[table["id"] == "low-support"].iloc[0]
    assert low["data"] == {"MSPSS_total": 2.0} and low["triggered_by"] == {"social_support.deficit": True}
    assert any(n["rule"] == "caution-high-distress" for n in not_evaluated)


def test_missing_names_scored_columns():
    ctx, cols = rule_context(PROFILE, ATT, None)
    _, _, not_evaluated = statements(RULES, ctx, cols, {})
    miss = {m["construct"]: m for m in missing_constructs(RULES, ctx, [get_instrument("PHQ-9")], not_evaluated, False)}
    assert "social_support" not in miss
    assert miss["distress"]["measured_by"] == ["PHQ-9_total"]
    assert "caution-high-distress" in miss["distress"]["would_evaluate"]
