"""Tests of the item parcels (item-to-construct balance, Little et al. 2002)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sciplab._core.errors import DataError, DataWarning, InvalidParameterError
from sciplab.datasets import load_example
from sciplab.scoring.parcels import balance_parcels, build_parcels, one_factor_loadings


def test_serpentine_deal_balances_parcels():
    # ranks 1..9 -> parcels 1 2 3 | 3 2 1 | 1 2 3
    lam = np.array([0.9, 0.5, 0.8, 0.4, 0.7, 0.3, 0.6, 0.2, 0.1])
    assert balance_parcels(lam, 3).tolist() == [0, 1, 1, 0, 2, 0, 2, 1, 2]
    sums = [lam[balance_parcels(lam, 3) == k].sum() for k in range(3)]
    assert max(sums) - min(sums) < 0.25
    assert balance_parcels(np.array([0.5, 0.5, 0.5]), 3).tolist() == [0, 1, 2]  # ties by position


def test_one_factor_loadings_recover_known_loadings():
    rng = np.random.default_rng(4)
    f = rng.standard_normal(20000)
    lam = np.array([0.9, 0.7, 0.5, 0.3])
    X = f[:, None] * lam + rng.standard_normal((20000, 4)) * np.sqrt(1 - lam**2)
    X[rng.random(X.shape) < 0.05] = np.nan  # pairwise-complete
    np.testing.assert_allclose(one_factor_loadings(X), lam, atol=0.03)
    np.testing.assert_allclose(one_factor_loadings(-X), lam, atol=0.03)  # sign: positive sum


def test_parcels_of_the_example_are_means_of_the_keyed_items():
    data = load_example()
    res = build_parcels(data, {"attachment_avoidance": "ECR-S:avoidance", "emotional_awareness": "TAS-20:total"})
    assert list(res.parcels.columns) == [f"attachment_avoidance_p{k}" for k in (1, 2, 3)] + [
        f"emotional_awareness_p{k}" for k in (1, 2, 3)
    ]
    sizes = res.table.groupby("parcel").size()
    assert sizes.filter(like="avoidance").tolist() == [2, 2, 2]
    assert sorted(sizes.filter(like="awareness").tolist()) == [6, 7, 7]
    # independent computation: ECR-S reverse keys 1, 5, 9 of the avoidance items (1-7 scale)
    for parcel, rows in res.table[res.table["name"] == "attachment_avoidance"].groupby("parcel"):
        cols = rows["column"].tolist()
        keyed = data[cols].astype(float).copy()
        for item, col in zip(rows["item"], cols, strict=True):
            if item in (1, 5, 9):
                keyed[col] = 8 - keyed[col]
        expected = keyed.mean(axis=1, skipna=True)
        expected[keyed.notna().sum(axis=1) < 1] = np.nan
        np.testing.assert_allclose(res.parcels[parcel], expected, equal_nan=True)
    # TAS-20 measures emotional awareness inversely: parcels are reflected
    tas = [c for c in data.columns if c.startswith("TAS20")]
    assert np.corrcoef(res.parcels["emotional_awareness_p1"].fillna(3), data[tas].fillna(3).mean(axis=1))[0, 1] < -0.5
    # each parcel's anchor is one of the three highest-loading items
    anchors = res.table[res.table["name"] == "emotional_awareness"].sort_values("rank").head(3)
    assert sorted(anchors["parcel"]) == [f"emotional_awareness_p{k}" for k in (1, 2, 3)]
    assert "Rule: item-to-construct balance" in res.summary()
    assert res.indicators()["attachment_avoidance"] == [f"attachment_avoidance_p{k}" for k in (1, 2, 3)]


def test_allocation_is_reused_and_min_answered_applies():
    data = load_example()
    first = build_parcels(data.iloc[:200], {"distress": "PHQ-9:total"})
    second = build_parcels(data.iloc[200:], {"distress": "PHQ-9:total"}, allocation=first.table)
    assert second.details["rule"] == "given allocation"
    pd.testing.assert_series_equal(first.table.set_index("item")["parcel"], second.table.set_index("item")["parcel"])
    holes = data.copy()
    cols = first.table[first.table["parcel"] == "distress_p1"]["column"].tolist()
    holes.loc[0, cols[:2]] = np.nan  # 2 of 3 items missing: fewer than half answered
    res = build_parcels(holes, {"distress": "PHQ-9:total"}, allocation=first.table)
    assert np.isnan(res.parcels.loc[0, "distress_p1"])
    assert res.parcels["distress_p2"].notna().iloc[0]


def test_bad_input_is_refused_clearly():
    data = load_example()
    with pytest.raises(DataError, match="too few for 7 parcels"):
        build_parcels(data, {"a": "ECR-S:anxiety"}, n_parcels=7)
    with pytest.raises(InvalidParameterError, match="INSTRUMENT:scale"):
        build_parcels(data, {"a": "ECR-S anxiety"})
    with pytest.raises(InvalidParameterError, match="n_parcels"):
        build_parcels(data, {"a": "ECR-S:anxiety"}, n_parcels=0)
    with pytest.raises(InvalidParameterError, match="min_answered"):
        build_parcels(data, {"a": "ECR-S:anxiety"}, min_answered=0)
    with pytest.raises(DataError, match="item column"):
        build_parcels(data[["id"]], {"a": "ECR-S:anxiety"})
    with pytest.raises(Exception, match="no scale"):
        build_parcels(data, {"a": "ECR-S:anxeity"})


def test_an_item_that_does_not_load_is_flagged():
    rng = np.random.default_rng(0)
    f = rng.standard_normal(400)
    items = np.clip(np.round(4 + f[:, None] + rng.normal(size=(400, 12))), 1, 7)
    items[:, [0, 4, 7, 8]] = 8 - items[:, [0, 4, 7, 8]]  # ECR-S reverse-keyed items 1, 5, 8, 9
    items[:, 1] = rng.integers(1, 8, 400)  # item 2 is noise
    frame = pd.DataFrame(items, columns=[f"ECRS_{i:02d}" for i in range(1, 13)])
    with pytest.warns(DataWarning, match=r"item\(s\) \[2\] load below"):
        build_parcels(frame, {"attachment_anxiety": "ECR-S:anxiety"})
