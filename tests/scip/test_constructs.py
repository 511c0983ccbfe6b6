"""Tests of sciplab.scip.constructs: one home for quadrants, octant codes and polarity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sciplab.instruments.schema import CONSTRUCT_HIGHER_IS_WORSE, CONSTRUCTS
from sciplab.scip import rules
from sciplab.scip.constructs import ATTACHMENT_SIDES, OCTANT_CODES, QUADRANTS, higher_is_worse

SRC = Path(__file__).parents[2] / "src" / "sciplab"


def test_quadrants_and_sides_agree():
    assert QUADRANTS == ("secure", "preoccupied", "dismissing", "fearful")
    assert set(ATTACHMENT_SIDES) == set(QUADRANTS)
    assert ATTACHMENT_SIDES["fearful"] == ("high", "high") and ATTACHMENT_SIDES["preoccupied"] == ("high", "low")
    assert len(OCTANT_CODES) == 8 and OCTANT_CODES[0] == "PA"


def test_rules_use_the_one_home():
    assert rules.PATTERNS is QUADRANTS


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_polarity_follows_schema_and_direction(construct):
    worse = CONSTRUCT_HIGHER_IS_WORSE[construct]
    assert higher_is_worse(construct) is worse
    assert higher_is_worse(construct, "inverse") is (None if worse is None else not worse)


def test_unknown_construct_has_no_polarity():
    assert higher_is_worse(None) is None and higher_is_worse("nonsense") is None


def _string_tuples(path: Path) -> list[tuple[str, ...]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Tuple | ast.List)
            and node.elts
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
        ):
            out.append(tuple(e.value for e in node.elts))
    return out


@pytest.mark.parametrize("folder", ["scip", "plot", "reports"])
def test_quadrant_names_typed_once(folder):
    # the four names as a literal sequence appear only in scip/constructs.py
    for path in (SRC / folder).rglob("*.py"):
        if path.name == "constructs.py":
            continue
        for seq in _string_tuples(path):
            assert set(QUADRANTS) - set(seq), f"{path} lists the quadrant names again: {seq}"
