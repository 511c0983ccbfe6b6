"""Scoring engine: every shipped keyed instrument on hand-computed cases, missing-data rules,
norms, flags, bands, and bad input.

The scoring keys below are written out by hand from ../shared/docs/instruments.md (section numbers
in comments). Nothing is read from the definition files to build an expectation: the tests score
data with the shipped definitions and compare with values computed from these literals, so a wrong
edit to a definition or a scoring bug fails here. Output column names (``<ID>_<scale>``) and the
column prefixes are the package's naming convention, also written literally.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from tests.scoring.conftest import phq as build_phq

import sciplab
from sciplab import DataError, InstrumentDefinitionError, InvalidParameterError, KeyNotVerifiedError
from sciplab.scoring.engine import ScoreResult


@dataclass(frozen=True)
class HandScale:
    items: tuple[int, ...]
    rule: str  # "sum" or "mean"
    multiplier: float = 1.0


@dataclass(frozen=True)
class HandKey:
    prefix: str  # column prefix used to name the test data's columns
    lo: int
    hi: int
    items: tuple[int, ...]  # item numbers on the form (ECR-12: original ECR numbering)
    reverse: frozenset[int]
    scales: dict[str, HandScale]
    status: str  # key status per instruments.md: "verified" / "single-source"
    notes: dict[str, str] = field(default_factory=dict)


def _r(a: int, b: int, step: int = 1) -> tuple[int, ...]:
    return tuple(range(a, b + 1, step))


ODD_36, EVEN_36 = _r(1, 35, 2), _r(2, 36, 2)

# IIP octants, instruments.md §7.1 table (IIP-32 items | IIP-SC items)
IIP32_OCTANTS = {
    "PA": (22, 25, 28, 30),
    "BC": (14, 16, 17, 18),
    "DE": (10, 11, 13, 15),
    "FG": (2, 5, 9, 19),
    "HI": (4, 6, 7, 12),
    "JK": (1, 8, 20, 31),
    "LM": (23, 26, 27, 32),
    "NO": (3, 21, 24, 29),
}
IIPSC_OCTANTS = {
    "PA": (1, 9, 17, 25),
    "BC": (2, 10, 18, 26),
    "DE": (3, 11, 19, 27),
    "FG": (4, 12, 20, 28),
    "HI": (5, 13, 21, 29),
    "JK": (6, 14, 22, 30),
    "LM": (7, 15, 23, 31),
    "NO": (8, 16, 24, 32),
}

# CORE-OM domains, §6.5
CORE_W = (4, 14, 17, 31)
CORE_P = (2, 5, 8, 11, 13, 15, 18, 20, 23, 27, 28, 30)
CORE_F = (1, 3, 7, 10, 12, 19, 21, 25, 26, 29, 32, 33)
CORE_R = (6, 9, 16, 22, 24, 34)

KEYS: dict[str, HandKey] = {
    # §3.1: avoidance = odd, anxiety = even; reverse 3, 15, 19, 22, 25, 27, 29, 31, 33, 35; means 1-7
    "ECR": HandKey(
        "ECR",
        1,
        7,
        _r(1, 36),
        frozenset({3, 15, 19, 22, 25, 27, 29, 31, 33, 35}),
        {"avoidance": HandScale(ODD_36, "mean"), "anxiety": HandScale(EVEN_36, "mean")},
        "verified",
    ),
    # §3.2 (author's item-page order): anxiety 1-18, avoidance 19-36
    "ECR-R": HandKey(
        "ECRR",
        1,
        7,
        _r(1, 36),
        frozenset({9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36}),
        {"anxiety": HandScale(_r(1, 18), "mean"), "avoidance": HandScale(_r(19, 36), "mean")},
        "verified",
    ),
    # §3.2 numbering trap: interleaved order (odd = avoidance, even = anxiety), dependlab reverse set
    # (one implementation -> single-source)
    "ECR-R-interleaved": HandKey(
        "ECRR",
        1,
        7,
        _r(1, 36),
        frozenset({2, 3, 5, 11, 15, 17, 19, 22, 25, 27, 29, 31, 33, 35}),
        {"anxiety": HandScale(EVEN_36, "mean"), "avoidance": HandScale(ODD_36, "mean")},
        "single-source",
    ),
    # §3.3
    "ECR-S": HandKey(
        "ECRS",
        1,
        7,
        _r(1, 12),
        frozenset({1, 5, 8, 9}),
        {"anxiety": HandScale((2, 4, 6, 8, 10, 12), "mean"), "avoidance": HandScale((1, 3, 5, 7, 9, 11), "mean")},
        "verified",
    ),
    # §3.4, original ECR numbering
    "ECR-12": HandKey(
        "ECR12",
        1,
        7,
        (2, 6, 8, 9, 14, 15, 18, 24, 25, 27, 29, 31),
        frozenset({15, 25, 27, 29, 31}),
        {"anxiety": HandScale((2, 6, 8, 14, 18, 24), "mean"), "avoidance": HandScale((9, 15, 25, 27, 29, 31), "mean")},
        "single-source",
    ),
    # §3.5: sums, 0-3
    "PBI": HandKey(
        "PBI",
        0,
        3,
        _r(1, 25),
        frozenset({2, 4, 14, 16, 18, 24, 3, 7, 15, 21, 22, 25}),
        {
            "care": HandScale((1, 5, 6, 11, 12, 17, 2, 4, 14, 16, 18, 24), "sum"),
            "overprotection": HandScale((8, 9, 10, 13, 19, 20, 23, 3, 7, 15, 21, 22, 25), "sum"),
        },
        "verified",
    ),
    # §4.1: sums 1-5
    "TAS-20": HandKey(
        "TAS20",
        1,
        5,
        _r(1, 20),
        frozenset({4, 5, 10, 18, 19}),
        {
            "DIF": HandScale((1, 3, 6, 7, 9, 13, 14), "sum"),
            "DDF": HandScale((2, 4, 11, 12, 17), "sum"),
            "EOT": HandScale((5, 8, 10, 15, 16, 18, 19, 20), "sum"),
            "total": HandScale(_r(1, 20), "sum"),
        },
        "verified",
    ),
    # §4.2(a): 25 items, 1-5, no reverse items; sum (default) or mean
    "PSSE": HandKey("PSSE", 1, 5, _r(1, 25), frozenset(), {"total": HandScale(_r(1, 25), "sum")}, "single-source"),
    # §5.1: sums 1-4
    "SPS": HandKey(
        "SPS",
        1,
        4,
        _r(1, 24),
        frozenset({2, 3, 6, 9, 10, 14, 15, 18, 19, 21, 22, 24}),
        {
            "guidance": HandScale((3, 12, 16, 19), "sum"),
            "reassurance_of_worth": HandScale((6, 9, 13, 20), "sum"),
            "social_integration": HandScale((5, 8, 14, 22), "sum"),
            "attachment": HandScale((2, 11, 17, 21), "sum"),
            "opportunity_for_nurturance": HandScale((4, 7, 15, 24), "sum"),
            "reliable_alliance": HandScale((1, 10, 18, 23), "sum"),
            "total": HandScale(_r(1, 24), "sum"),
        },
        "verified",
    ),
    # §5.2: means 1-7, no reverse items
    "MSPSS": HandKey(
        "MSPSS",
        1,
        7,
        _r(1, 12),
        frozenset(),
        {
            "significant_other": HandScale((1, 2, 5, 10), "mean"),
            "family": HandScale((3, 4, 8, 11), "mean"),
            "friends": HandScale((6, 7, 9, 12), "mean"),
            "total": HandScale(_r(1, 12), "mean"),
        },
        "verified",
    ),
    # §7.1: octant = mean of 4 items, 0-4, no reverse items ("total" = mean of all 32 items)
    "IIP-32": HandKey(
        "IIP32",
        0,
        4,
        _r(1, 32),
        frozenset(),
        {**{k: HandScale(v, "mean") for k, v in IIP32_OCTANTS.items()}, "total": HandScale(_r(1, 32), "mean")},
        "single-source",
    ),
    "IIP-SC": HandKey(
        "IIPSC",
        0,
        4,
        _r(1, 32),
        frozenset(),
        {**{k: HandScale(v, "mean") for k, v in IIPSC_OCTANTS.items()}, "total": HandScale(_r(1, 32), "mean")},
        "single-source",
    ),
    # §6.1-6.3: sums, no reverse items
    "PHQ-9": HandKey("PHQ9", 0, 3, _r(1, 9), frozenset(), {"total": HandScale(_r(1, 9), "sum")}, "verified"),
    "GAD-7": HandKey("GAD7", 0, 3, _r(1, 7), frozenset(), {"total": HandScale(_r(1, 7), "sum")}, "verified"),
    "K10": HandKey("K10", 1, 5, _r(1, 10), frozenset(), {"total": HandScale(_r(1, 10), "sum")}, "verified"),
    "K10-US": HandKey("K10US", 0, 4, _r(1, 10), frozenset(), {"total": HandScale(_r(1, 10), "sum")}, "verified"),
    # §6.4: reverse 2 and 3, sum 0-40
    "CORE-10": HandKey(
        "CORE10", 0, 4, _r(1, 10), frozenset({2, 3}), {"total": HandScale(_r(1, 10), "sum")}, "single-source"
    ),
    # §6.5: domain and total means; clinical score = mean x 10; raw total sum 0-136
    "CORE-OM": HandKey(
        "COREOM",
        0,
        4,
        _r(1, 34),
        frozenset({3, 4, 7, 12, 19, 21, 31, 32}),
        {
            "W": HandScale(CORE_W, "mean"),
            "P": HandScale(CORE_P, "mean"),
            "F": HandScale(CORE_F, "mean"),
            "R": HandScale(CORE_R, "mean"),
            "total": HandScale(_r(1, 34), "mean"),
            "clinical": HandScale(_r(1, 34), "mean", 10.0),
            "total_sum": HandScale(_r(1, 34), "sum"),
        },
        "verified",
    ),
    # §8.1: sums 1-5, no reverse items
    "WAI-SR": HandKey(
        "WAISR",
        1,
        5,
        _r(1, 12),
        frozenset(),
        {
            "task": HandScale((1, 2, 10, 12), "sum"),
            "bond": HandScale((3, 5, 7, 9), "sum"),
            "goal": HandScale((4, 6, 8, 11), "sum"),
            "total": HandScale(_r(1, 12), "sum"),
        },
        "verified",
    ),
}


def colname(key: HandKey, item: int) -> str:
    return f"{key.prefix}_{item:02d}"


def frame(key: HandKey, values: np.ndarray) -> pd.DataFrame:
    """A DataFrame with one column per item of ``key`` (``values``: rows x items, in item order)."""
    return pd.DataFrame(values, columns=[colname(key, i) for i in key.items])


def expected_scores(key: HandKey, raw: pd.DataFrame, *, rule: str | None = None, iid: str = "") -> pd.DataFrame:
    """Scale scores from the hand key: reverse = lo + hi - x, then sum or mean of the scale's items.

    Rows with missing items are scored from the answered items (mean, or mean x k for sums); the
    caller decides which rows a minimum-answered rule leaves NaN.
    """
    x = raw.astype(float).copy()
    for i in key.reverse:
        c = colname(key, i)
        x[c] = key.lo + key.hi - x[c]
    out = {}
    for name, sc in key.scales.items():
        sub = x[[colname(key, i) for i in sc.items]]
        r = rule or sc.rule
        val = sub.mean(axis=1) * (len(sc.items) if r == "sum" else 1)
        out[f"{iid}_{name}"] = val * sc.multiplier
    return pd.DataFrame(out, index=raw.index)


# ----------------------------------------------------------------------------------------------
# Every shipped keyed instrument

SHIPPED = sciplab.list_instruments()
KEYED = [i for i in SHIPPED if i.has_key]
STRUCTURE_ONLY = [i for i in SHIPPED if not i.has_key]


def _random_rows(key: HandKey, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = len(key.items)
    return np.vstack(
        [
            rng.integers(key.lo, key.hi + 1, size=(2, k)),
            np.full((1, k), key.lo),
            np.full((1, k), key.hi),
        ]
    )


@pytest.mark.parametrize("inst", KEYED, ids=lambda i: i.id)
def test_every_keyed_instrument_scores_as_the_hand_key(inst) -> None:
    assert inst.id in KEYS, (
        f"{inst.id} is shipped with a key but has no hand-written key in this test: add it from "
        "instruments.md so its scoring is pinned"
    )
    key = KEYS[inst.id]
    raw = frame(key, _random_rows(key, seed=sum(map(ord, inst.id))))
    raw.index = pd.Index([f"p{i}" for i in range(len(raw))], name="client")
    res = sciplab.score(raw, inst.id)
    assert isinstance(res, ScoreResult)
    expected = expected_scores(key, raw, iid=inst.id)
    assert list(res.scores.columns) == list(expected.columns)
    pd.testing.assert_index_equal(res.scores.index, raw.index)
    assert_allclose(res.scores.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    # every score is complete, every item answered
    for name, sc in key.scales.items():
        col = f"{inst.id}_{name}"
        assert (res.validity[f"{col}_status"] == "complete").all()
        assert (res.validity[f"{col}_answered"] == len(sc.items)).all()
    # key status recorded; a SINGLE-SOURCE key is noted in the details
    info = res.details["instruments"][0]
    assert info["key_status"] == key.status
    assert info["reverse_keyed_items"] == sorted(key.reverse)
    single = any("SINGLE-SOURCE" in n for n in info["notes"])
    assert single == (key.status == "single-source")


@pytest.mark.parametrize("inst", KEYED, ids=lambda i: i.id)
def test_every_keyed_instrument_all_minimum_and_all_maximum(inst) -> None:
    """All-minimum responses: reversed items contribute the maximum (min + max - x)."""
    key = KEYS[inst.id]
    k = len(key.items)
    raw = frame(key, np.array([[key.lo] * k, [key.hi] * k]))
    res = sciplab.score(raw, inst)
    for name, sc in key.scales.items():
        n_rev = len(set(sc.items) & key.reverse)
        n_dir = len(sc.items) - n_rev
        lo_total = n_dir * key.lo + n_rev * key.hi
        hi_total = n_dir * key.hi + n_rev * key.lo
        div = 1 if sc.rule == "sum" else len(sc.items)
        got = res.scores[f"{inst.id}_{name}"].to_numpy()
        assert_allclose(got, [lo_total / div * sc.multiplier, hi_total / div * sc.multiplier], atol=1e-12)


def test_hand_computed_literals() -> None:
    """A few numbers worked out on paper from instruments.md."""
    # ECR all 1: avoidance has 9 reversed odd items -> (9*7 + 9*1)/18 = 4; anxiety has item 22 -> 24/18
    ecr = sciplab.score(frame(KEYS["ECR"], np.ones((1, 36), dtype=int)), "ECR").scores.iloc[0]
    assert ecr["ECR_avoidance"] == pytest.approx(4.0)
    assert ecr["ECR_anxiety"] == pytest.approx(24 / 18)
    # CORE-OM all 0: the 8 reversed items score 4 -> W (4R, 31R) 2.0, F (6 of 12 reversed) 2.0,
    # total mean 32/34, clinical x10, raw sum 32
    core = sciplab.score(frame(KEYS["CORE-OM"], np.zeros((1, 34), dtype=int)), "CORE-OM").scores.iloc[0]
    assert core["CORE-OM_W"] == pytest.approx(2.0)
    assert core["CORE-OM_P"] == pytest.approx(0.0)
    assert core["CORE-OM_F"] == pytest.approx(2.0)
    assert core["CORE-OM_R"] == pytest.approx(0.0)
    assert core["CORE-OM_total"] == pytest.approx(32 / 34)
    assert core["CORE-OM_clinical"] == pytest.approx(320 / 34)
    assert core["CORE-OM_total_sum"] == pytest.approx(32.0)
    # PBI all 0: six reversed items per scale score 3 -> 18 and 18
    pbi = sciplab.score(frame(KEYS["PBI"], np.zeros((1, 25), dtype=int)), "PBI").scores.iloc[0]
    assert (pbi["PBI_care"], pbi["PBI_overprotection"]) == (18.0, 18.0)
    # CORE-10 all 4: items 2, 3 reversed to 0 -> 32
    assert sciplab.score(frame(KEYS["CORE-10"], np.full((1, 10), 4)), "CORE-10").scores.iloc[0, 0] == 32.0
    # SPS all 4: 12 direct items x 4 + 12 reversed x 1 = 60; guidance (3R, 12, 16, 19R) = 10
    sps = sciplab.score(frame(KEYS["SPS"], np.full((1, 24), 4)), "SPS").scores.iloc[0]
    assert (sps["SPS_total"], sps["SPS_guidance"]) == (60.0, 10.0)
    # TAS-20 all 3: 3 is its own reverse on 1-5 -> 60 (DIF 21, DDF 15, EOT 24)
    tas = sciplab.score(frame(KEYS["TAS-20"], np.full((1, 20), 3)), "TAS-20").scores.iloc[0]
    assert tas.tolist() == [21.0, 15.0, 24.0, 60.0]


@pytest.mark.parametrize("inst", STRUCTURE_ONLY, ids=lambda i: i.id)
def test_structure_only_instruments_need_a_key_file(inst) -> None:
    cols = [f"{inst.column_prefixes[0]}_{i:02d}" for i in (inst.item_numbers or range(1, 13))]
    data = pd.DataFrame([[1] * len(cols)], columns=cols)
    with pytest.raises(KeyNotVerifiedError) as err:
        sciplab.score(data, inst.id)
    msg = str(err.value)
    assert inst.id in msg
    assert "key" in msg and "--key FILE" in msg
    assert "never guesses" in msg  # says why: no verified key, and keys are never guessed
    assert "no verified item-to-scale key" in msg


def test_cats_without_key_message() -> None:
    data = pd.DataFrame([[1] * 36], columns=[f"CATS_{i:02d}" for i in range(1, 37)])
    with pytest.raises(KeyNotVerifiedError, match=r"ships without a scoring key.*key_file"):
        sciplab.score(data, "CATS")


def test_cats_with_a_user_key_file(tmp_path: Path) -> None:
    """A user-supplied key (test fixture, not a real CATS key) is used as given."""
    key = tmp_path / "cats-key.toml"
    scales = "\n".join(
        f'[[scales]]\nname = "{name}"\nlabel = "{name}"\nconstruct = "client_attachment_to_therapist"\n'
        f'items = {list(items)}\nmissing = {{ min_answered = {len(items)}, prorate = false, source = "test" }}\n'
        for name, items in (
            ("secure", range(1, 13)),
            ("avoidant_fearful", range(13, 25)),
            ("preoccupied_merger", range(25, 37)),
        )
    )
    key.write_text(
        'format = 1\nid = "CATS"\nname = "CATS (user key)"\ncitation = "test"\nitems = 36\nscoring = "mean"\n'
        '[response]\nmin = 1\nmax = 6\nsource = "test"\n'
        '[licence]\nitem_text = false\nstatement = "test"\nsource = "test"\nstatus = "unverified"\n'
        '[key]\nstatus = "single-source"\nreverse = [1]\nsources = ["user file"]\n' + scales
    )
    data = pd.DataFrame([list(range(1, 7)) * 6], columns=[f"CATS_{i:02d}" for i in range(1, 37)])
    res = sciplab.score(data, "CATS", key_file=str(key))
    x = np.array(list(range(1, 7)) * 6, dtype=float)
    x[0] = 1 + 6 - x[0]
    assert_allclose(res.scores.iloc[0].to_numpy(), [x[:12].mean(), x[12:24].mean(), x[24:].mean()])


# ----------------------------------------------------------------------------------------------
# Missing-data rule, prorating, rule= override, multiplier

PHQ = KEYS["PHQ-9"]


#: PHQ-9 responses in the hand key's column naming (PHQ9_01 ...), from the one builder of the scoring tests
phq = functools.partial(build_phq, columns=[colname(PHQ, i) for i in PHQ.items])


def test_default_rule_needs_every_item() -> None:
    data = phq([[1, 2, 3, 0, 1, 2, 3, np.nan, 1], [1] * 9])
    res = sciplab.score(data, "PHQ-9")
    assert np.isnan(res.scores.iloc[0, 0])
    assert res.scores.iloc[1, 0] == 9.0
    assert res.validity["PHQ-9_total_status"].tolist() == ["too_few_items", "complete"]
    assert res.validity["PHQ-9_total_answered"].tolist() == [8, 9]
    assert res.table.loc[0, "n_valid"] == 1 and res.table.loc[0, "n_missing"] == 1


def test_sum_prorated_with_min_answered_override() -> None:
    data = phq(
        [
            [1, 2, 3, 0, 1, 2, 3, np.nan, np.nan],  # 7 answered: 12 / 7 * 9
            [1, 2, 3, 0, 1, 2, np.nan, np.nan, np.nan],  # 6 answered: too few
            [1] * 9,
        ]
    )
    res = sciplab.score(data, "PHQ-9", min_answered=7)
    assert_allclose(res.scores["PHQ-9_total"].to_numpy(), [12 / 7 * 9, np.nan, 9.0])
    assert res.validity["PHQ-9_total_status"].tolist() == ["prorated", "too_few_items", "complete"]
    assert res.validity["PHQ-9_total_answered"].tolist() == [7, 6, 9]
    row = res.table.iloc[0]
    assert (row["n_valid"], row["n_prorated"], row["n_missing"]) == (2, 1, 1)
    rule = res.details["instruments"][0]["scales"]["total"]
    assert rule == {
        "scoring": "sum",
        "min_answered": 7,
        "of_items": 9,
        "multiplier": 1.0,
        "rule_source": "user-supplied: at least 7 of 9 items",
    }


def test_min_answered_as_proportion_and_per_scale_mapping() -> None:
    data = phq([[1, 2, 3, 0, 1, 2, 3, np.nan, np.nan]])
    res = sciplab.score(data, "PHQ-9", min_answered=0.75)  # ceil(6.75) = 7 items
    assert res.details["instruments"][0]["scales"]["total"]["min_answered"] == 7
    assert res.scores.iloc[0, 0] == pytest.approx(12 / 7 * 9)
    assert sciplab.score(data, "PHQ-9", min_answered=0.8).validity.iloc[0, 1] == "too_few_items"  # 8 items

    ecrs = KEYS["ECR-S"]
    vals = np.array([[2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6]], dtype=float)
    vals[0, 1] = np.nan  # item 2 (anxiety)
    vals[0, 0] = np.nan  # item 1 (avoidance)
    res = sciplab.score(frame(ecrs, vals), "ECR-S", min_answered={"Anxiety": 5})
    # anxiety = mean of the answered items 4, 6, 8R, 10, 12 -> 5, 7, 8 - 2, 4, 6
    assert res.scores.iloc[0]["ECR-S_anxiety"] == pytest.approx(np.mean([5, 7, 6, 4, 6]))
    assert res.validity.iloc[0]["ECR-S_anxiety_status"] == "prorated"
    assert np.isnan(res.scores.iloc[0]["ECR-S_avoidance"])  # default rule: all 6 items
    assert res.validity.iloc[0]["ECR-S_avoidance_status"] == "too_few_items"


@pytest.mark.parametrize(
    "bad", [0, 10, -1, "7", True, [7], math.nan, math.inf, -math.inf, 7.5, np.float64("nan"), {"total": math.nan}]
)
def test_min_answered_out_of_range_rejected(bad) -> None:
    with pytest.raises(InvalidParameterError, match="min_answered"):
        sciplab.score(phq([[1] * 9]), "PHQ-9", min_answered=bad)


def test_min_answered_mapping_with_unknown_scale_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"'anxeity'.*scales: anxiety, avoidance"):
        sciplab.score(frame(KEYS["ECR-S"], np.ones((1, 12))), "ECR-S", min_answered={"anxeity": 5})


def test_core_om_published_missing_rule() -> None:
    """§6.5: total valid with up to 3 missing items, at most 1 missing in P and F; scores are means."""
    key = KEYS["CORE-OM"]
    rng = np.random.default_rng(7)
    vals = rng.integers(0, 5, size=(3, 34)).astype(float)
    vals[0, [2 - 1]] = np.nan  # one P item (2) missing: P prorated
    vals[1, [2 - 1, 5 - 1]] = np.nan  # two P items missing: P invalid
    vals[2, [1 - 1, 2 - 1, 6 - 1, 4 - 1]] = np.nan  # 4 missing: total invalid; W loses item 4
    raw = frame(key, vals)
    res = sciplab.score(raw, "CORE-OM")
    exp = expected_scores(key, raw, iid="CORE-OM")  # means of the answered items
    s, v = res.scores, res.validity
    assert s.loc[0, "CORE-OM_P"] == pytest.approx(exp.loc[0, "CORE-OM_P"])
    assert v.loc[0, "CORE-OM_P_status"] == "prorated"
    assert np.isnan(s.loc[1, "CORE-OM_P"]) and v.loc[1, "CORE-OM_P_status"] == "too_few_items"
    for r in (0, 1):  # 1 or 2 missing items: total, clinical and raw sum valid
        assert s.loc[r, "CORE-OM_total"] == pytest.approx(exp.loc[r, "CORE-OM_total"])
        assert s.loc[r, "CORE-OM_clinical"] == pytest.approx(10 * exp.loc[r, "CORE-OM_total"])
        assert s.loc[r, "CORE-OM_total_sum"] == pytest.approx(34 * exp.loc[r, "CORE-OM_total"])
        assert v.loc[r, "CORE-OM_total_status"] == "prorated"
    assert s.loc[2, ["CORE-OM_total", "CORE-OM_clinical", "CORE-OM_total_sum", "CORE-OM_W"]].isna().all()
    assert v.loc[2, "CORE-OM_total_answered"] == 30


def test_rule_override_sum_and_mean() -> None:
    sps = KEYS["SPS"]
    raw = frame(sps, _random_rows(sps, 11))
    res = sciplab.score(raw, "SPS", rule="mean")
    assert_allclose(res.scores.to_numpy(), expected_scores(sps, raw, rule="mean", iid="SPS").to_numpy())
    assert_allclose(res.scores["SPS_guidance"], sciplab.score(raw, "SPS").scores["SPS_guidance"] / 4)
    assert set(res.table["scoring"]) == {"mean"}

    mspss = KEYS["MSPSS"]
    raw = frame(mspss, _random_rows(mspss, 12))
    res = sciplab.score(raw, "MSPSS", rule="sum")
    assert_allclose(res.scores.to_numpy(), expected_scores(mspss, raw, rule="sum", iid="MSPSS").to_numpy())
    assert res.details["instruments"][0]["scales"]["total"]["scoring"] == "sum"

    psse = KEYS["PSSE"]
    raw = frame(psse, _random_rows(psse, 13))
    assert_allclose(sciplab.score(raw, "PSSE", rule="mean").scores.iloc[:, 0], raw.mean(axis=1))
    with pytest.raises(InvalidParameterError, match="rule must be"):
        sciplab.score(raw, "PSSE", rule="median")


def test_scales_subset_needs_only_their_items() -> None:
    key = KEYS["ECR-S"]
    raw = frame(key, _random_rows(key, 3))[[colname(key, i) for i in (2, 4, 6, 8, 10, 12)]]
    res = sciplab.score(raw, "ECR-S", scales=["anxiety"])
    assert list(res.scores.columns) == ["ECR-S_anxiety"]
    with pytest.raises(InstrumentDefinitionError, match=r"no scale 'anxeity' \(did you mean 'anxiety'\?\)"):
        sciplab.score(raw, "ECR-S", scales=["anxeity"])


# ----------------------------------------------------------------------------------------------
# IIP-SC raw file (10 respondents, 2 missing cells)

RAW_IIPSC = Path(__file__).resolve().parents[3] / "shared" / "data" / "raw_iipsc.csv"


@pytest.mark.skipif(not RAW_IIPSC.exists(), reason=f"shared example file {RAW_IIPSC} is not available")
def test_iipsc_raw_file_octants_with_min_answered_3() -> None:
    raw = pd.read_csv(RAW_IIPSC)
    assert raw.shape == (10, 32) and int(raw.isna().sum().sum()) == 2
    data = sciplab.read_data(RAW_IIPSC)
    res = sciplab.score(data, "IIP-SC", min_answered=3)
    for octant, items in IIPSC_OCTANTS.items():  # instruments.md §7.1
        cols = [f"IIP{i:02d}" for i in items]
        expected = raw[cols].mean(axis=1, skipna=True)
        assert_allclose(res.scores[f"IIP-SC_{octant}"], expected, atol=1e-12)
        status = np.where(raw[cols].notna().all(axis=1), "complete", "prorated")
        assert res.validity[f"IIP-SC_{octant}_status"].tolist() == status.tolist()
    assert_allclose(res.scores["IIP-SC_total"], raw.mean(axis=1, skipna=True), atol=1e-12)
    missing_rows = sorted(np.flatnonzero(raw.isna().any(axis=1)).tolist())
    assert missing_rows == [3, 7]
    assert res.validity.loc[3, "IIP-SC_FG_status"] == "prorated"
    assert res.validity.loc[7, "IIP-SC_JK_status"] == "prorated"
    assert res.details["source"] == str(RAW_IIPSC)
    # default rule (all 4 items): those two octants are missing
    strict = sciplab.score(data, "IIP-SC")
    assert np.isnan(strict.scores.loc[3, "IIP-SC_FG"]) and np.isnan(strict.scores.loc[7, "IIP-SC_JK"])
    assert strict.scores.drop(columns=["IIP-SC_FG", "IIP-SC_JK", "IIP-SC_total"]).notna().all().all()


# ----------------------------------------------------------------------------------------------
# Norms, flags, bands

# IIP-SC norms, instruments.md §7.1 (students: 4-item sum metric; outpatients: item-mean metric)
STUDENTS = {
    "PA": (3.04, 2.64), "BC": (3.17, 2.76), "DE": (3.60, 3.42), "FG": (4.19, 3.79),
    "HI": (5.68, 3.66), "JK": (5.54, 3.41), "LM": (5.86, 3.30), "NO": (4.10, 3.20),
}  # fmt: skip
OUTPATIENTS = {
    "PA": (0.99, 0.82), "BC": (0.97, 0.85), "DE": (1.30, 1.07), "FG": (1.33, 0.98),
    "HI": (1.81, 0.89), "JK": (1.92, 0.89), "LM": (2.14, 0.90), "NO": (1.43, 1.05),
}  # fmt: skip


def _iipsc_data() -> pd.DataFrame:
    return frame(KEYS["IIP-SC"], _random_rows(KEYS["IIP-SC"], 21))


def test_norm_z_t_percentile_item_sum_norm_divided_by_4() -> None:
    raw = _iipsc_data()
    res = sciplab.score(raw, "IIP-SC", norm="students")
    for octant, (m, sd) in STUDENTS.items():
        col = f"IIP-SC_{octant}"
        z = (res.scores[col] - m / 4) / (sd / 4)
        assert_allclose(res.scores[f"{col}_z"], z, atol=1e-12)
        assert_allclose(res.scores[f"{col}_T"], 50 + 10 * z, atol=1e-10)
        assert_allclose(res.scores[f"{col}_pct"], 100 * stats.norm.cdf(z), atol=1e-10)
    # one pinned number: PA score 1.0 against M 3.04/4, SD 2.64/4 -> z = (1 - 0.76) / 0.66
    one = frame(KEYS["IIP-SC"], np.ones((1, 32), dtype=int))
    r1 = sciplab.score(one, "IIP-SC", norm="students").scores.iloc[0]
    assert r1["IIP-SC_PA_z"] == pytest.approx(0.24 / 0.66)
    assert r1["IIP-SC_PA_T"] == pytest.approx(50 + 2.4 / 0.66)
    info = res.details["instruments"][0]["norm"]
    assert info["id"] == "students" and info["n"] == 872 and info["metric"] == "item_sum"
    assert info["on_score_metric"]["PA"] == pytest.approx({"mean": 0.76, "sd": 0.66})
    assert info["scales_without_norm"] == ["total"]
    assert "IIP-SC_total_z" not in res.scores
    assert any("norm 'students' is SINGLE-SOURCE" in n for n in res.details["instruments"][0]["notes"])


def test_norm_item_mean_metric_and_rule_override() -> None:
    raw = _iipsc_data()
    res = sciplab.score(raw, "IIP-SC", norm="outpatients")
    for octant, (m, sd) in OUTPATIENTS.items():
        col = f"IIP-SC_{octant}"
        assert_allclose(res.scores[f"{col}_z"], (res.scores[col] - m) / sd, atol=1e-12)
    # scored as sums: the item-sum norm applies as published, the item-mean norm x 4
    res = sciplab.score(raw, "IIP-SC", norm="students", rule="sum")
    for octant, (m, sd) in STUDENTS.items():
        col = f"IIP-SC_{octant}"
        assert_allclose(res.scores[f"{col}_z"], (res.scores[col] - m) / sd, atol=1e-12)
    res = sciplab.score(raw, "IIP-SC", norm="outpatients", rule="sum")
    m, sd = OUTPATIENTS["PA"]
    assert_allclose(res.scores["IIP-SC_PA_z"], (res.scores["IIP-SC_PA"] - 4 * m) / (4 * sd), atol=1e-12)


def test_unknown_norm() -> None:
    with pytest.raises(InstrumentDefinitionError, match=r"no norm 'student'.*did you mean 'students'"):
        sciplab.score(_iipsc_data(), "IIP-SC", norm="student")
    with pytest.raises(InstrumentDefinitionError, match="no published norms"):
        sciplab.score(phq([[1] * 9]), "PHQ-9", norm="general")


def test_phq9_item_9_flag() -> None:
    rows = [[0] * 8 + [0], [0] * 8 + [1], [3] * 8 + [np.nan], [0] * 8 + [3]]
    res = sciplab.score(phq(rows), "PHQ-9", min_answered=8)
    assert res.flags["PHQ-9_self_harm"].tolist() == [False, True, False, True]
    assert "FLAG PHQ-9_self_harm: 2 respondent(s)" in res.summary()


def test_core_risk_flags() -> None:
    core10 = KEYS["CORE-10"]
    vals = np.zeros((3, 10), dtype=int)
    vals[1, 5] = 1  # item 6
    vals[2, 4] = 4  # item 5 is not the risk item
    assert sciplab.score(frame(core10, vals), "CORE-10").flags["CORE-10_risk"].tolist() == [False, True, False]
    core = KEYS["CORE-OM"]
    vals = np.zeros((len(CORE_R) + 1, 34), dtype=int)
    for r, item in enumerate(CORE_R):
        vals[r, item - 1] = 2
    flags = sciplab.score(frame(core, vals), "CORE-OM").flags["CORE-OM_risk"].tolist()
    assert flags == [True] * len(CORE_R) + [False]


def _phq_with_totals(totals: list[int]) -> pd.DataFrame:
    rows = []
    for t in totals:
        row = [3] * (t // 3) + ([t % 3] if t % 3 else [])
        rows.append(row + [0] * (9 - len(row)))
    return phq(rows)


def test_phq9_severity_bands() -> None:
    totals = [0, 4, 5, 9, 10, 14, 15, 19, 20, 27]
    res = sciplab.score(_phq_with_totals(totals), "PHQ-9")
    assert res.scores["PHQ-9_total"].tolist() == totals
    assert res.bands["PHQ-9_total_band"].tolist() == [
        "minimal", "minimal", "mild", "mild", "moderate", "moderate",
        "moderately severe", "moderately severe", "severe", "severe",
    ]  # fmt: skip
    # a prorated fractional score between integer bands falls in the lower band: 4/8*9 = 4.5
    res = sciplab.score(phq([[1, 1, 1, 1, 0, 0, 0, 0, np.nan]]), "PHQ-9", min_answered=8)
    assert res.scores.iloc[0, 0] == pytest.approx(4.5)
    assert res.bands.iloc[0, 0] == "minimal"
    # a missing score has no band
    assert pd.isna(sciplab.score(phq([[1] * 8 + [np.nan]]), "PHQ-9").bands.iloc[0, 0])


def test_bands_not_applied_to_a_rule_override() -> None:
    res = sciplab.score(_phq_with_totals([27]), "PHQ-9", rule="mean")
    assert res.scores.iloc[0, 0] == 3.0
    assert "PHQ-9_total_band" not in res.bands  # 0-27 bands do not apply to item means


def test_other_bands() -> None:
    gad = KEYS["GAD-7"]
    rows = [[0] * 7, [1] * 4 + [0] * 3, [1] * 5 + [0] * 2, [3, 3, 3, 1, 0, 0, 0], [3] * 5 + [0] * 2, [3] * 7]
    res = sciplab.score(frame(gad, np.array(rows)), "GAD-7")
    assert res.scores.iloc[:, 0].tolist() == [0, 4, 5, 10, 15, 21]
    assert res.bands["GAD-7_total_band"].tolist() == ["minimal", "minimal", "mild", "moderate", "severe", "severe"]
    # K10 (1-5 coding): ABS bands and the alternative clinical bands, each in its own column
    k10 = KEYS["K10"]
    rows = [[1] * 10, [2] * 5 + [1] * 5, [2] * 10, [3] * 5 + [2] * 5, [3] * 10, [5] * 10]
    res = sciplab.score(frame(k10, np.array(rows)), "K10")
    assert res.scores.iloc[:, 0].tolist() == [10, 15, 20, 25, 30, 50]
    assert res.bands["K10_total_band"].tolist() == ["low", "low", "moderate", "high", "very high", "very high"]
    assert res.bands["K10_total_band2"].tolist() == [
        "likely well",
        "likely well",
        "mild",
        "moderate",
        "severe",
        "severe",
    ]
    # TAS-20: <= 51 non-alexithymic, 52-60 possible, >= 61 alexithymic (item 1 varies; it is not reversed)
    tas = KEYS["TAS-20"]
    base = np.full((4, 20), 2)  # reversed items 4, 5, 10, 18, 19 score 4 -> total 15*2 + 5*4 = 50
    base[:, 0] = [3, 4, 2, 2]  # +1, +2
    base[2, [1, 2]] = [5, 5]  # items 2, 3 (direct): 50 + 6 = 56
    base[3, [1, 2, 5, 6]] = 5  # +12 -> 62
    res = sciplab.score(frame(tas, base), "TAS-20")
    assert res.scores["TAS-20_total"].tolist() == [51, 52, 56, 62]
    assert res.bands["TAS-20_total_band"].tolist() == [
        "non-alexithymic", "possible alexithymia", "possible alexithymia", "alexithymic",
    ]  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Bad input


def test_out_of_range_message_names_row_column_item_value_and_range() -> None:
    data = phq([[1] * 9, [1, 1, 4, 1, 1, 1, 1, 1, 1], [1] * 8 + [-1]], index=["a", "b", "c"])
    with pytest.raises(DataError) as err:
        sciplab.score(data, "PHQ-9")
    msg = str(err.value)
    assert "PHQ-9: 2 invalid response(s) in 2 row(s)" in msg
    assert "row 2 (index 'b'), column 'PHQ9_03' (item 3): 4.0, expected an integer from 0 to 3" in msg
    assert "row 3 (index 'c'), column 'PHQ9_09' (item 9): -1.0, expected an integer from 0 to 3" in msg
    assert "on_invalid='missing'" in msg


def test_more_than_20_bad_cells_lists_first_20_and_a_count() -> None:
    data = phq([[9] * 9, [9] * 9, [9] * 7 + [1, 1]])  # 25 bad cells
    with pytest.raises(DataError) as err:
        sciplab.score(data, "PHQ-9")
    msg = str(err.value)
    assert "25 invalid response(s) in 3 row(s)" in msg
    assert msg.count("expected an integer from 0 to 3") == 20
    assert "... and 5 more" in msg


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.5, "2.5"), ("abc", "'abc'"), ("two", "'two'"), (True, "True"), (float("inf"), "inf")],
)
def test_non_integer_non_numeric_and_boolean_cells(value, shown) -> None:
    data = phq([[1] * 9, [1] * 9]).astype(object)
    data.iloc[1, 4] = value
    with pytest.raises(DataError) as err:
        sciplab.score(data, "PHQ-9")
    assert f"row 2 (index 1), column 'PHQ9_05' (item 5): {shown}, expected an integer from 0 to 3" in str(err.value)


def test_boolean_column_is_invalid() -> None:
    data = phq([[1] * 9, [1] * 9])
    data["PHQ9_02"] = [True, False]
    with pytest.raises(DataError, match=r"column 'PHQ9_02' \(item 2\): False"):
        sciplab.score(data, "PHQ-9")


def test_numeric_text_and_blanks_are_accepted() -> None:
    data = phq([[1] * 9, [1] * 9]).astype(object)
    data.iloc[0, 0] = " 3 "
    data.iloc[1, 0] = "  "  # blank text is a missing answer, not an invalid one
    res = sciplab.score(data, "PHQ-9", min_answered=8)
    assert res.scores.iloc[:, 0].tolist() == [11.0, 9.0]
    assert res.validity["PHQ-9_total_status"].tolist() == ["complete", "prorated"]
    assert res.details["n_invalid_responses"] == 0


def test_on_invalid_missing_reports_count_and_items() -> None:
    data = phq([[1] * 9, [1, 1, 4, 1, 1, 1, 1, 1, 1], [1] * 9]).astype(object)
    data.iloc[2, 2] = "x"
    data.iloc[2, 8] = 2.5
    res = sciplab.score(data, "PHQ-9", on_invalid="missing", min_answered=7)
    assert res.validity["PHQ-9_invalid"].tolist() == [0, 1, 2]
    assert res.validity["PHQ-9_invalid_items"].tolist() == ["", "3", "3,9"]
    assert res.validity["PHQ-9_total_answered"].tolist() == [9, 8, 7]
    assert res.validity["PHQ-9_total_status"].tolist() == ["complete", "prorated", "prorated"]
    assert_allclose(res.scores.iloc[:, 0], [9, 9, 9])
    assert res.details["n_invalid_responses"] == 3 and res.details["on_invalid"] == "missing"
    with pytest.raises(InvalidParameterError, match="on_invalid must be 'error' or 'missing'"):
        sciplab.score(data, "PHQ-9", on_invalid="drop")


def test_unknown_instrument_with_suggestion() -> None:
    with pytest.raises(InstrumentDefinitionError, match=r"unknown instrument 'PHQ-8' \(did you mean 'PHQ-9'"):
        sciplab.score(phq([[1] * 9]), "PHQ-8")


def test_empty_and_non_dataframe_input() -> None:
    with pytest.raises(DataError, match="no rows to score"):
        sciplab.score(phq([[1] * 9]).iloc[:0], "PHQ-9")
    with pytest.raises(DataError, match="no rows to score"):
        sciplab.score(pd.DataFrame(), "PHQ-9")
    with pytest.raises(DataError, match="must be a pandas DataFrame, got ndarray"):
        sciplab.score(np.ones((2, 9)), "PHQ-9")  # type: ignore[arg-type]
    empty = pd.DataFrame(index=[0, 1])
    with pytest.raises(DataError, match=r"9 item column\(s\) not found: PHQ9_01"):
        sciplab.score(empty, "PHQ-9")


def test_error_names_the_source_file() -> None:
    data = phq([[1] * 8 + [5]])
    data.attrs["source"] = "clinic.csv"
    with pytest.raises(DataError, match=r"^clinic\.csv: PHQ-9: 1 invalid"):
        sciplab.score(data, "PHQ-9")


def test_input_is_never_modified() -> None:
    key = KEYS["ECR-S"]
    rng = np.random.default_rng(5)
    data = frame(key, rng.integers(1, 8, size=(30, 12)).astype(float)).astype(object)
    data.iloc[0, 3] = "7"
    data.iloc[1, 4] = "bad"
    data.iloc[2, 5] = np.nan
    data.iloc[3, 6] = 99
    data.insert(0, "client", [f"c{i}" for i in range(30)])
    data["ECRS_01"] = pd.to_numeric(data["ECRS_01"]).astype("Int64")
    data.attrs["source"] = "x.csv"
    before = copy.deepcopy(data)
    sciplab.score(data, "ECR-S", on_invalid="missing", min_answered=1)
    with pytest.raises(DataError):
        sciplab.score(data, "ECR-S")
    sciplab.reliability(data, "ECR-S", on_invalid="missing")
    floats = frame(key, rng.integers(1, 8, size=(5, 12)).astype(float))  # float64 block: no aliasing
    floats_before = floats.copy(deep=True)
    sciplab.score(floats, "ECR-S")
    pd.testing.assert_frame_equal(floats, floats_before, check_exact=True)
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert data.dtypes.equals(before.dtypes)
    assert data.attrs == before.attrs


# ----------------------------------------------------------------------------------------------
# score_all and the result object


def test_score_all_combines_instruments() -> None:
    data = pd.concat([phq([[1] * 9, [2] * 9]), frame(KEYS["GAD-7"], np.array([[3] * 7, [0] * 7]))], axis=1)
    res = sciplab.score_all(data, ["PHQ-9", "GAD-7"])
    assert res.scores.to_dict("list") == {"PHQ-9_total": [9.0, 18.0], "GAD-7_total": [21.0, 0.0]}
    assert [d["id"] for d in res.details["instruments"]] == ["PHQ-9", "GAD-7"]
    assert list(res.table["column"]) == ["PHQ-9_total", "GAD-7_total"]
    assert list(res.bands.columns) == ["PHQ-9_total_band", "GAD-7_total_band"]
    with pytest.raises(InvalidParameterError, match="listed twice"):
        sciplab.score_all(data, ["PHQ-9", "phq-9"])
    with pytest.raises(InvalidParameterError, match="columns="):
        sciplab.score_all(data, ["PHQ-9"], columns=list(data.columns[:9]))
    with pytest.raises(InvalidParameterError, match="at least one instrument"):
        sciplab.score_all(data, [])


def test_table_pins_descriptives_and_summary() -> None:
    key = KEYS["CORE-10"]
    raw = frame(key, _random_rows(key, 30).astype(float))
    raw.iloc[0, 0] = np.nan
    res = sciplab.score(raw, "CORE-10")
    expected = expected_scores(key, raw, iid="CORE-10")["CORE-10_total"]
    expected[0] = np.nan
    row = res.table.iloc[0]
    assert row["column"] == "CORE-10_total" and row["scoring"] == "sum" and row["n_items"] == 10
    assert (row["n_valid"], row["n_prorated"], row["n_missing"]) == (3, 0, 1)
    assert row["mean"] == pytest.approx(expected.mean())
    assert row["sd"] == pytest.approx(expected.std(ddof=1))
    assert (row["min"], row["max"]) == (expected.min(), expected.max())
    assert row["construct"] == "distress" and row["direction"] == "positive"
    text = res.summary()
    assert text.splitlines()[0] == "Scale scores"
    assert "CORE-10 (Clinical Outcomes in Routine Evaluation - 10): key single-source" in text
    assert "scoring key is SINGLE-SOURCE" in text
    html = res._repr_html_()
    assert "<li>CORE-10: key single-source</li>" in html


def test_doc_example_numbers() -> None:
    """The numbers in score()'s docstring example."""
    df = pd.DataFrame({f"PHQ9_{i}": [1, 0] for i in range(1, 10)})
    assert sciplab.score(df, "PHQ-9").scores["PHQ-9_total"].tolist() == [9.0, 0.0]
    assert math.isclose(sciplab.score(df, "phq9").scores.iloc[0, 0], 9.0)


def test_complex_responses_are_refused_by_column_and_row() -> None:
    data = phq([[1] * 9, [2] * 9]).astype(complex)
    data.loc[1, "PHQ9_03"] = 2 + 1j
    with pytest.raises(DataError, match=r"column 'PHQ9_03', row 2 \(index 1\): \(2\+1j\) is not a real number"):
        sciplab.score(data, "PHQ-9")
    # in an object column too (e.g. built by hand), never cut to the real part
    obj = phq([[1] * 9, [2] * 9]).astype(object)
    obj.loc[0, "PHQ9_09"] = 1 - 2j
    with pytest.raises(DataError, match=r"column 'PHQ9_09', row 1 \(index 0\)"):
        sciplab.score(obj, "PHQ-9")
    # complex dtype with real values only scores as the real numbers they are
    real = phq([[1] * 9, [2] * 9]).astype(complex)
    assert sciplab.score(real, "PHQ-9").scores["PHQ-9_total"].tolist() == [9.0, 18.0]
