"""Tests of sciplab.scip.sections: structured report sections and their plain-text rendering."""

from __future__ import annotations

from sciplab.scip.formulate import formulate
from sciplab.scip.sections import Section, Statement, fmt, render_text


def test_fmt():
    assert fmt(None) == "NA" and fmt(float("nan")) == "NA" and fmt(1.23456, 3) == "1.235" and fmt("x") == "x"
    assert fmt(True) == "True"


def test_render_text_layout():
    secs = [
        Section("a", "Facts", lines=("one",)),
        Section("plan", "Plan", statements=(Statement("Do it.", "engagement", (("evidence", "theory"),)),)),
        Section("missing", "Missing", empty="(nothing)"),
    ]
    assert render_text("Head", secs).splitlines() == [
        "Head", "====", "", "Facts", "  one", "", "Plan", "  - [engagement] Do it.", "      evidence: theory",
        "", "Missing", "  (nothing)",
    ]  # fmt: skip


def test_interpersonal_section_only_with_octants():
    keys = [s.key for s in formulate({"MSPSS_total": 2.0}).sections()]
    assert "interpersonal" not in keys and keys[-1] == "sources"
