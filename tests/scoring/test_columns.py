"""Column matching: default naming, explicit mappings, missing and duplicated columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sciplab
from sciplab import DataError
from sciplab.scoring.columns import default_column_name, match_columns

ECR = sciplab.get_instrument("ECR")
# ECR key, instruments.md §3.1: avoidance = odd items, anxiety = even; reverse 3, 15, 19, 22, 25,
# 27, 29, 31, 33, 35
REVERSE = {3, 15, 19, 22, 25, 27, 29, 31, 33, 35}


def _values(n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(1, 8, size=(n, 36))


def _expected(vals: np.ndarray) -> pd.DataFrame:
    x = vals.astype(float).copy()
    for i in REVERSE:
        x[:, i - 1] = 8 - x[:, i - 1]
    return pd.DataFrame({"ECR_avoidance": x[:, 0::2].mean(axis=1), "ECR_anxiety": x[:, 1::2].mean(axis=1)})


@pytest.mark.parametrize(
    "namer",
    [
        lambda i: f"ECR_{i:02d}",
        lambda i: f"ecr{i}",
        lambda i: f"Ecr-{i:02d}",
        lambda i: f"ECR {i}",
        lambda i: f"ecr_{i:03d}",
        lambda i: f"ECR36_{i}",  # second prefix of the definition
    ],
    ids=["ECR_01", "ecr1", "Ecr-01", "ECR 1", "ecr_001", "ECR36_1"],
)
def test_default_naming_variants(namer) -> None:
    vals = _values()
    data = pd.DataFrame(vals, columns=[namer(i) for i in range(1, 37)])
    res = sciplab.score(data, "ECR")
    pd.testing.assert_frame_equal(res.scores, _expected(vals))
    assert res.details["instruments"][0]["columns"]["1"] == namer(1)


def test_shuffled_columns_and_extra_columns_are_fine() -> None:
    vals = _values()
    data = pd.DataFrame(vals, columns=[f"ECR_{i:02d}" for i in range(1, 37)])
    data.insert(0, "id", ["a", "b", "c"])
    data["ECR_total_old"] = 0
    data = data[list(reversed(data.columns))]
    pd.testing.assert_frame_equal(sciplab.score(data, "ECR").scores, _expected(vals))


def test_explicit_mapping_dict_and_list() -> None:
    vals = _values()
    names = [f"q{i}" for i in range(36, 0, -1)]  # q36 holds item 1, ...
    data = pd.DataFrame(vals, columns=names)
    mapping = {i: f"q{37 - i}" for i in range(1, 37)}
    pd.testing.assert_frame_equal(sciplab.score(data, "ECR", columns=mapping).scores, _expected(vals))
    str_keys = {str(k): v for k, v in mapping.items()}
    pd.testing.assert_frame_equal(sciplab.score(data, "ECR", columns=str_keys).scores, _expected(vals))
    pd.testing.assert_frame_equal(sciplab.score(data, "ECR", columns=names).scores, _expected(vals))


def test_non_string_column_labels() -> None:
    vals = _values()
    data = pd.DataFrame(vals)  # columns 0..35
    res = sciplab.score(data, "ECR", columns=list(range(36)))
    pd.testing.assert_frame_equal(res.scores, _expected(vals))
    res = sciplab.score(data, "ECR", columns={i: i - 1 for i in range(1, 37)})
    pd.testing.assert_frame_equal(res.scores, _expected(vals))


def test_mapping_errors() -> None:
    data = pd.DataFrame(_values(), columns=[f"q{i}" for i in range(1, 37)])
    with pytest.raises(DataError, match=r"mapped columns not in the data: 'Q1' \(did you mean 'q1'"):
        sciplab.score(data, "ECR", columns={1: "Q1", **{i: f"q{i}" for i in range(2, 37)}})
    with pytest.raises(DataError, match="item 37 is not an item of ECR"):
        sciplab.score(data, "ECR", columns={37: "q1"})
    with pytest.raises(DataError, match="key 'first' is not an item number"):
        sciplab.score(data, "ECR", columns={"first": "q1"})
    with pytest.raises(DataError, match="column list has 35 names but ECR has 36 items"):
        sciplab.score(data, "ECR", columns=[f"q{i}" for i in range(1, 36)])
    with pytest.raises(DataError, match=r"same column for several items: \['q1'\]"):
        sciplab.score(data, "ECR", columns={1: "q1", 2: "q1"})
    with pytest.raises(DataError, match=r"34 item column\(s\) not found: ECR_03"):
        sciplab.score(data, "ECR", columns={1: "q1", 2: "q2"})


def test_missing_items_listed_with_expected_names() -> None:
    data = pd.DataFrame(_values(), columns=[f"ECR_{i:02d}" for i in range(1, 37)])
    with pytest.raises(DataError) as err:
        sciplab.score(data.drop(columns=["ECR_05", "ECR_36"]), "ECR")
    msg = str(err.value)
    assert "ECR: 2 item column(s) not found: ECR_05, ECR_36." in msg
    assert "Expected names like ECR_01" in msg and "case-insensitive" in msg and "--map FILE" in msg
    with pytest.raises(DataError, match=r"20 item column\(s\) not found: ECR_17, .*, ECR_28 and 8 more"):
        sciplab.score(data.iloc[:, :16], "ECR")


def test_duplicated_item_columns() -> None:
    data = pd.DataFrame(_values(), columns=[f"ECR_{i:02d}" for i in range(1, 37)])
    data["ecr1"] = data["ECR_01"]
    with pytest.raises(DataError, match=r"duplicated item columns: item 1 of ECR matches 'ECR_01', 'ecr1'"):
        sciplab.score(data, "ECR")
    # not a problem when that item is not needed, nor with an explicit mapping
    assert list(sciplab.score(data, "ECR", scales=["anxiety"]).scores.columns) == ["ECR_anxiety"]
    cols = [f"ECR_{i:02d}" for i in range(1, 37)]
    sciplab.score(data, "ECR", columns=cols)


def test_duplicated_column_names() -> None:
    data = pd.DataFrame(_values(), columns=[f"ECR_{i:02d}" for i in range(1, 37)])
    dup = pd.concat([data, data[["ECR_02"]]], axis=1)
    with pytest.raises(DataError, match="duplicated column names: ECR_02"):
        sciplab.score(dup, "ECR")
    mixed = data.copy()
    mixed.columns = [1, *mixed.columns[1:]]
    mixed["1"] = 0  # 1 and "1" read the same
    with pytest.raises(DataError, match="duplicated column names: 1"):
        sciplab.score(mixed, "ECR", columns=list(mixed.columns[:36]))


def test_ecr12_uses_original_ecr_numbers_and_other_forms_do_not_collide() -> None:
    ecr12 = sciplab.get_instrument("ECR-12")
    items = [2, 6, 8, 9, 14, 15, 18, 24, 25, 27, 29, 31]  # instruments.md §3.4
    data = pd.DataFrame([[1] * 12], columns=[f"ECR12_{i:02d}" for i in items])
    assert match_columns(data, ecr12) == {i: f"ECR12_{i:02d}" for i in items}
    # ECR columns next to ECR-S and ECR-12 columns: each form finds only its own
    full = pd.concat(
        [
            pd.DataFrame(_values(1), columns=[f"ECR_{i:02d}" for i in range(1, 37)]),
            pd.DataFrame([[1] * 12], columns=[f"ECRS_{i:02d}" for i in range(1, 13)]),
            data,
        ],
        axis=1,
    )
    assert set(match_columns(full, ECR).values()) == {f"ECR_{i:02d}" for i in range(1, 37)}
    assert set(match_columns(full, sciplab.get_instrument("ECR-S")).values()) == {f"ECRS_{i:02d}" for i in range(1, 13)}
    assert set(match_columns(full, ecr12).values()) == {f"ECR12_{i:02d}" for i in items}


def test_default_column_name() -> None:
    assert default_column_name(ECR, 1) == "ECR_01"
    assert default_column_name(sciplab.get_instrument("PHQ-9"), 9) == "PHQ9_09"
    assert default_column_name(sciplab.get_instrument("CORE-OM"), 34) == "COREOM_34"
