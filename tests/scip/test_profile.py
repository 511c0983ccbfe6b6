"""Tests of sciplab.scip.profile: flags follow the construct polarity of instruments.schema."""

from __future__ import annotations

import pytest

from sciplab.instruments.registry import get_instrument
from sciplab.scip.profile import profile_row, score_band
from sciplab.scip.rules import load_rules

RULES = load_rules()


def _row(inst_id: str, scale: str, value: float) -> dict:
    inst = get_instrument(inst_id)
    m = {"column": inst.column(scale), "instrument": inst, "scale": inst.scale(scale), "value": value}
    return profile_row(m, RULES, None)


def test_inverse_scale_of_a_resource_is_a_deficit_when_high():
    row = _row("TAS-20", "total", 70)  # TAS-20 total measures emotional awareness reversed
    assert row["polarity"] == "higher is worse" and row["flag"] == "deficit"
    assert _row("TAS-20", "total", 40)["flag"] == "not flagged"


@pytest.mark.parametrize(("value", "flag"), [(2.0, "deficit"), (6.5, "not flagged")])
def test_resource_band(value, flag):
    assert _row("MSPSS", "total", value)["flag"] == flag


def test_problem_cutoff_is_elevated():
    row = _row("PHQ-9", "total", 17)
    assert row["polarity"] == "higher is worse" and row["flag"] == "elevated"
    assert row["flag_basis"] == "published clinical cut-off"


def test_construct_without_polarity_is_descriptive():
    row = _row("SEQ", "depth", 5.0)
    assert row["polarity"] is None and row["flag"] == "descriptive"


def test_missing_value_and_band_lookup():
    assert _row("MSPSS", "total", None)["flag"] == "missing"
    inst = get_instrument("MSPSS")
    assert score_band(inst, inst.scale("total"), 2.0)[0] == "low"
