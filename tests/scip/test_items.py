"""Tests of sciplab.scip.items: recognising and scoring raw questionnaire items."""

from __future__ import annotations

import pandas as pd
import pytest

from sciplab._core.errors import DataError
from sciplab.datasets import load_example
from sciplab.scip.items import has_items, instrument_registry, recognised_instruments, score_recognised
from sciplab.scoring import score_all

REGISTRY = instrument_registry()
BY_ID = {i.id: i for i in REGISTRY}


def test_recognises_the_example_instruments():
    raw = load_example()
    assert [i.id for i in recognised_instruments(raw, REGISTRY)] == ["ECR-S", "MSPSS", "PHQ-9", "PSSE", "TAS-20"]
    assert [i.id for i in recognised_instruments(raw, REGISTRY, exclude={"PHQ-9"})] == [
        "ECR-S", "MSPSS", "PSSE", "TAS-20"
    ]  # fmt: skip


@pytest.mark.parametrize(("column", "hit"), [("ECRS_01", True), ("ecrs1", True), ("ECRS_13", False),
                                             ("ECRS_total", False), ("cats_secure", False)])  # fmt: skip
def test_item_names(column, hit):
    assert has_items(pd.DataFrame({column: [1]}), BY_ID["ECR-S"]) is hit


def test_overlapping_items_refused():
    ecrr = BY_ID["ECR-R"]
    cols = {f"{ecrr.column_prefixes[0]}{k:02d}": [3] for k in ecrr.item_numbers}
    frame = pd.DataFrame(cols)
    fits = [i.id for i in REGISTRY if i.has_key and has_items(frame, i)]
    if len(fits) < 2:
        pytest.skip("no two shipped instruments share item names")
    with pytest.raises(DataError, match="item columns fit both"):
        recognised_instruments(frame, REGISTRY)


def test_scores_equal_the_scoring_engine():
    raw = load_example().head(30)
    scores, ids = score_recognised(raw, REGISTRY)
    pd.testing.assert_frame_equal(scores, score_all(raw, ids).scores)
    empty, none = score_recognised(pd.DataFrame({"x": [1.0]}), REGISTRY)
    assert none == [] and empty.shape == (1, 0)
