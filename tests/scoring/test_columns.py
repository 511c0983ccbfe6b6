"""Column matching: default naming, explicit mappings, missing and duplicated columns."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import sciplab
from sciplab import DataError
from sciplab.scoring.columns import default_column_name, match_columns, readings

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


# ----------------------------------------------------------------------------------------------
# Naming as users write it, and never the wrong instrument (issue 10.7, 11.2)

KEYED_OR_NOT = [i for i in sciplab.list_instruments() if i.item_numbers]


def _spellings(inst) -> dict[str, object]:
    """Ways users name item k of ``inst``: id as written, its prefix, lower case, separators, zeros."""
    as_written, prefix = inst.id, inst.prefix
    return {
        "id_01": lambda k: f"{as_written}_{k:02d}",
        "id1": lambda k: f"{as_written}{k}",
        "id 001": lambda k: f"{as_written} {k:03d}",
        "id_lower_underscores": lambda k: as_written.lower().replace("-", "_") + f"_{k}",
        "prefix1": lambda k: f"{prefix}{k}",
        "prefix_01": lambda k: f"{prefix}_{k:02d}",
        "prefix-lower": lambda k: f"{prefix.lower()}-{k}",
    }


def test_prefix_is_exposed() -> None:
    assert sciplab.get_instrument("ECR-S").prefix == "ECRS"
    assert sciplab.get_instrument("PHQ-9").prefix == "PHQ9"
    assert ECR.prefix == "ECR"


@pytest.mark.parametrize("ecrs_name", ["ECR-S_01", "ECRS1", "ecr_s_1", "ECRS_01", "ecrs 001", "Ecr-S1"])
def test_ecr_s_accepts_its_id_as_users_write_it(ecrs_name) -> None:
    cols = [ecrs_name.replace("01", f"{k:02d}").replace("001", f"{k:03d}") for k in range(1, 13)]
    if cols[1] == cols[0]:  # names ending in a bare 1
        cols = [ecrs_name[:-1] + str(k) for k in range(1, 13)]
    data = pd.DataFrame([list(range(1, 8)) + [1] * 5], columns=cols)
    assert match_columns(data, sciplab.get_instrument("ECR-S")) == dict(zip(range(1, 13), cols, strict=True))


@pytest.mark.parametrize("owner", KEYED_OR_NOT, ids=lambda i: i.id)
def test_naming_matrix_each_spelling_is_taken_by_its_own_instrument_only(owner) -> None:
    from sciplab.scoring.columns import stems

    for style, name in _spellings(owner).items():
        cols = [name(k) for k in owner.item_numbers]
        data = pd.DataFrame([[1] * len(cols)], columns=cols)
        assert match_columns(data, owner) == dict(zip(owner.item_numbers, cols, strict=True)), style
        for other in KEYED_OR_NOT:
            if other is owner or stems(other) & stems(owner):  # ECR-R and its interleaved order share ECRR
                continue
            with pytest.raises(DataError, match=rf"{len(other.item_numbers)} item column\(s\) not found"):
                match_columns(data, other)


def test_ecr_forms_side_by_side_in_every_spelling() -> None:
    forms = [sciplab.get_instrument(i) for i in ("ECR", "ECR-S", "ECR-R", "ECR-12")]
    for style in _spellings(ECR):
        parts = [
            pd.DataFrame([[1] * len(f.item_numbers)], columns=[_spellings(f)[style](k) for k in f.item_numbers])
            for f in forms
        ]
        data = pd.concat(parts, axis=1)
        for f, part in zip(forms, parts, strict=True):
            assert list(match_columns(data, f).values()) == list(part.columns), (style, f.id)


def test_a_column_two_instruments_could_own_is_taken_by_neither() -> None:
    # a user definition with prefix ECR1: 'ECR12' is ECR item 12 or ECR1 item 2
    rival = dataclasses.replace(ECR, id="ECR1-X", column_prefixes=("ECR1",), item_numbers=tuple(range(1, 10)))
    data = pd.DataFrame(_values(1), columns=[f"ECR{k}" for k in range(1, 37)])
    assert match_columns(data, ECR, known=[ECR])[12] == "ECR12"
    with pytest.raises(DataError, match=r"'ECR12' reads as item 12 of ECR but also as item 2 of ECR1-X; .*ECR_12"):
        match_columns(data, ECR, known=[ECR, rival])
    with pytest.raises(DataError, match=r"item column\(s\) not found"):
        match_columns(data, rival, known=[ECR, rival])
    # with separators nothing is ambiguous
    spaced = pd.DataFrame(_values(1), columns=[f"ECR_{k}" for k in range(1, 37)])
    assert match_columns(spaced, ECR, known=[ECR, rival])[12] == "ECR_12"
    # sharing a declared prefix is a declared choice (ECR-R and ECR-R-interleaved): no clash
    twin = dataclasses.replace(ECR, id="ECR-TWIN", column_prefixes=("ECRTWIN", "ECR"))
    assert match_columns(data, ECR, known=[ECR, twin])[12] == "ECR12"


def test_the_name_of_the_instrument_is_an_item_only_when_nothing_else_is() -> None:
    phq = sciplab.get_instrument("PHQ-9")
    one_to_nine = pd.DataFrame([[1] * 9], columns=[f"PHQ{k}" for k in range(1, 10)])
    assert match_columns(one_to_nine, phq)[9] == "PHQ9"
    with_total = pd.DataFrame([[1] * 10], columns=[*(f"PHQ9_{k}" for k in range(1, 10)), "PHQ9"])
    assert match_columns(with_total, phq)[9] == "PHQ9_9"
    # IIP-SC items IIP01 ... IIP32: IIP32 is item 32 (the IIP-32's name is no stem of the IIP-SC)
    iip = pd.DataFrame([[1] * 32], columns=[f"IIP{k:02d}" for k in range(1, 33)])
    assert match_columns(iip, sciplab.get_instrument("IIP-SC"))[32] == "IIP32"


def test_pandas_duplicate_suffix_is_never_item_eleven() -> None:
    ecrs = sciplab.get_instrument("ECR-S")
    cols = [f"ECRS_{k:02d}" for k in range(1, 13)]
    data = pd.read_csv(io.StringIO(",".join([*cols, "ECRS_01"]) + "\n" + ",".join(["1"] * 13)))
    assert "ECRS_01.1" in data.columns
    with pytest.raises(DataError, match=r"'ECRS_01\.1' ends in '\.1' like pandas' rename of a duplicated column"):
        match_columns(data, ecrs)
    # without the first copy it is still not item 11 (nor item 1)
    alone = data.drop(columns=["ECRS_01", "ECRS_11"])
    with pytest.raises(DataError, match=r"'ECRS_01\.1' ends in '\.1'.*not read as an item"):
        match_columns(alone, ecrs)
    # PHQ9 total duplicated -> PHQ9.1 is not item 1
    phq = sciplab.get_instrument("PHQ-9")
    dup_total = pd.DataFrame([[1] * 10], columns=[*(f"PHQ{k}" for k in range(1, 10)), "PHQ9.1"])
    with pytest.raises(DataError, match=r"'PHQ9\.1' ends in '\.1'"):
        match_columns(dup_total, phq)


# Property-based: the matcher parses user-written names.

_STEM = st.from_regex(r"[A-Za-z]{1,4}[0-9]{0,2}", fullmatch=True)
_SEP = st.sampled_from(["_", "-", " ", ".", "", "__"])


def _toy(prefix: str, n: int):
    base = sciplab.get_instrument("PHQ-9")
    return dataclasses.replace(base, id=prefix, column_prefixes=(prefix,), item_numbers=tuple(range(1, n + 1)))


@settings(max_examples=150, deadline=None)
@given(_STEM, _STEM, st.integers(1, 40), st.integers(1, 40), _SEP, st.integers(0, 3), st.booleans())
def test_property_a_column_is_its_own_item_or_refused_never_another(pa, pb, na, nb, sep, zeros, upper) -> None:
    assume(pa.lower() != pb.lower())
    a, b = _toy(pa, na), _toy(pb, nb)
    stem = pb.upper() if upper else pb.lower()
    cols = [f"{stem}{sep}{k:0{zeros}d}" for k in b.item_numbers]
    data = pd.DataFrame([[1] * nb], columns=cols)
    for inst in (a, b):
        try:
            got = match_columns(data, inst, known=[a, b])
        except DataError:
            continue
        assert inst is b and got == dict(zip(b.item_numbers, cols, strict=True))
    # with a separator other than '.' and a stem ending in a letter, the owner always finds its items
    if sep not in ("", ".") and pb[-1].isalpha() and not pa.lower().startswith(pb.lower()):
        assert match_columns(data, b, known=[a, b]) == dict(zip(b.item_numbers, cols, strict=True))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=15, unique=True))
def test_property_arbitrary_names_are_matched_or_refused_cleanly(names) -> None:
    data = pd.DataFrame([[1] * len(names)], columns=names)
    phq = sciplab.get_instrument("PHQ-9")
    try:
        got = match_columns(data, phq)
    except DataError:
        return
    for item, col in got.items():
        assert (item, col) and any(k == item for _, k in readings(col))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KEYED_OR_NOT), st.data())
def test_property_duplicate_suffix_never_read_as_an_item(inst, data) -> None:
    spell = data.draw(st.sampled_from(list(_spellings(inst).values())))
    k = data.draw(st.sampled_from(inst.item_numbers))
    n = data.draw(st.integers(1, 3))
    cols = [spell(i) for i in inst.item_numbers]
    frame = pd.DataFrame([[1] * (len(cols) + 1)], columns=[*cols, f"{spell(k)}.{n}"])
    with pytest.raises(DataError, match="pandas"):
        match_columns(frame, inst)
