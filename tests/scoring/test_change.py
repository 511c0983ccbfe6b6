"""Reliable and clinically significant change (Jacobson & Truax 1991) on hand-computed numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from tests.scoring.conftest import phq

import sciplab
from sciplab import DataError, InvalidParameterError

Z = 1.959963984540054  # Phi^-1(0.975)


def test_jacobson_truax_phq9_by_hand() -> None:
    # SD 5, r_xx .85: S_diff = 5 sqrt(2) sqrt(.15) = 2.7386; reliable when |change| > 1.96 S_diff = 5.3676
    s_diff = 5 * math.sqrt(2) * math.sqrt(1 - 0.85)
    assert s_diff == pytest.approx(2.738613, abs=1e-6)
    pre = pd.Series([20, 20, 20, 5, 12], index=["a", "b", "c", "d", "e"])
    post = pd.Series([8, 14, 19, 15, 12], index=pre.index)
    res = sciplab.reliable_change(pre, post, instrument="PHQ-9", scale="total", sd=5.0, rxx=0.85)
    t = res.table.set_index("id")
    assert t["change"].tolist() == [-12, -6, -1, 10, 0]
    np.testing.assert_allclose(t["rc"], [-12 / s_diff, -6 / s_diff, -1 / s_diff, 10 / s_diff, 0])
    assert t["reliable"].tolist() == [True, True, False, True, False]
    # published cut-off 10 (higher is worse): 8 crossed, 14 did not
    assert t["classification"].tolist() == ["recovered", "improved", "unchanged", "deteriorated", "unchanged"]
    d = res.details
    assert d["method"] == "jacobson-truax" and d["higher_is_worse"] is True
    assert d["s_diff"] == pytest.approx(s_diff)
    assert d["min_reliable_change"] == pytest.approx(Z * s_diff)
    assert d["z"] == pytest.approx(Z)
    assert (d["sd"], d["rxx"]) == (5.0, 0.85)
    assert (d["sd_source"], d["rxx_source"]) == ("user-supplied", "user-supplied")
    assert (d["cutoff"], d["cutoff_type"]) == (10.0, "published")
    assert "Kroenke" in d["cutoff_source"] or "instruments.md" in d["cutoff_source"]
    text = res.summary()
    assert "recovered" in text and "S_diff = 2.739" in text


def test_reliable_threshold_is_strict_and_level() -> None:
    # |RC| must exceed 1.96: changes just below and just above 1.96 S_diff
    s_diff = 4 * math.sqrt(2) * math.sqrt(0.2)
    edge = Z * s_diff
    res = sciplab.reliable_change(
        [20, 20], [20 - edge * 0.999, 20 - edge * 1.001], instrument="PHQ-9", scale="total", sd=4, rxx=0.8, cutoff=None
    )
    assert res.table["classification"].tolist() == ["unchanged", "improved"]
    res90 = sciplab.reliable_change(
        [20], [20 - edge * 0.9], instrument="PHQ-9", scale="total", sd=4, rxx=0.8, level=0.9
    )
    assert res90.details["z"] == pytest.approx(1.6448536269514722)
    assert res90.table["reliable"].tolist() == [True]


def test_iipsc_cutoffs_a_b_c_from_norms_on_item_mean_metric() -> None:
    """PA octant. Outpatients (dysfunctional, item means): M .99, SD .82. Students (functional,
    4-item sums 3.04 / 2.64) -> item means .76 / .66 (instruments.md §7.1)."""
    m_dys, sd_dys = 0.99, 0.82
    m_fun, sd_fun = 3.04 / 4, 2.64 / 4
    a = m_dys - 2 * sd_dys
    b = m_fun + 2 * sd_fun
    c = (sd_fun * m_dys + sd_dys * m_fun) / (sd_fun + sd_dys)
    assert (a, b, c) == pytest.approx((-0.65, 2.08, 0.862568), abs=1e-6)
    pre, post = [2.5, 2.5, 2.5, 1.0], [0.5, 1.25, 2.25, 2.5]
    kwargs = dict(instrument="IIP-SC", scale="PA", rxx=0.8)
    res = sciplab.reliable_change(pre, post, **kwargs)
    d = res.details
    assert (d["cutoff_type"], d["cutoff"]) == ("c", pytest.approx(c))
    assert "'outpatients'" in d["cutoff_source"] and "'students'" in d["cutoff_source"]
    # SD from the dysfunctional norm: S_diff = .82 sqrt(2) sqrt(.2)
    s_diff = 0.82 * math.sqrt(2) * math.sqrt(0.2)
    assert d["sd"] == pytest.approx(0.82) and d["s_diff"] == pytest.approx(s_diff)
    assert "norm 'outpatients'" in d["sd_source"] and "N = 106" in d["sd_source"]
    # changes -2, -1.25, -.25, +1.5 vs 1.96 S_diff = 1.0165
    assert res.table["classification"].tolist() == ["recovered", "improved", "unchanged", "deteriorated"]
    assert res.table["crossed_cutoff"].tolist() == [True, False, False, False]
    assert sciplab.reliable_change(pre, post, cutoff="a", **kwargs).details["cutoff"] == pytest.approx(a)
    assert sciplab.reliable_change(pre, post, cutoff="b", **kwargs).details["cutoff"] == pytest.approx(b)
    rb = sciplab.reliable_change(pre, post, cutoff="b", **kwargs)
    assert rb.table["classification"].tolist() == ["recovered", "recovered", "unchanged", "deteriorated"]


def test_missing_reliability_or_sd_is_explained() -> None:
    with pytest.raises(InvalidParameterError, match=r"IIP-SC PA: reliable change needs a reliability \(none recorded"):
        sciplab.reliable_change([2], [1], instrument="IIP-SC", scale="PA")
    with pytest.raises(InvalidParameterError, match=r"needs an SD \(no dysfunctional or general norm.*sd='pre'"):
        sciplab.reliable_change([4], [3], instrument="ECR-R", scale="anxiety")
    with pytest.raises(InvalidParameterError, match=r"needs an SD .* and a reliability"):
        sciplab.reliable_change([4], [3], instrument="MSPSS", scale="total")


def test_published_reliability_and_sd_pre() -> None:
    """ECR-R records alpha .86 / retest .82 for anxiety (a Turkish adaptation, instruments.md §3.2)."""
    pre = pd.Series([5.0, 4.0, 6.0, 3.0])
    post = pd.Series([3.0, 4.5, 6.0, 5.5])
    sd_pre = pre.std(ddof=1)
    res = sciplab.reliable_change(pre, post, instrument="ECR-R", scale="anxiety", sd="pre")
    d = res.details
    assert d["rxx"] == 0.86 and d["rxx_source"].startswith("alpha = 0.86")
    assert d["sd"] == pytest.approx(sd_pre) and d["sd_source"] == "SD of the pre-treatment scores (n = 4)"
    assert d["s_diff"] == pytest.approx(sd_pre * math.sqrt(2) * math.sqrt(0.14))
    assert d["cutoff"] is None  # no norms, no published cut-off
    # anxiety: higher is worse; changes -2, +.5, 0, +2.5 vs 1.96 * 0.6901 = 1.353
    assert res.table["classification"].tolist() == ["improved", "unchanged", "unchanged", "deteriorated"]
    assert "no cut-off available" in res.summary()
    retest = sciplab.reliable_change(pre, post, instrument="ECR-R", scale="anxiety", sd="pre", reliability="retest")
    assert retest.details["rxx"] == 0.82


def test_higher_is_better_scale_mspss() -> None:
    pre, post = [3.0, 6.0, 3.0, 4.0], [6.0, 3.0, 4.5, 4.2]
    res = sciplab.reliable_change(pre, post, instrument="MSPSS", scale="total", sd=1.0, rxx=0.9, cutoff=5.0)
    # S_diff = sqrt(2) sqrt(.1) = .4472, 1.96 S_diff = .8765; higher support is better
    assert res.details["higher_is_worse"] is False
    assert res.table["improvement"].tolist() == pytest.approx([3.0, -3.0, 1.5, 0.2])
    assert res.table["classification"].tolist() == ["recovered", "deteriorated", "improved", "unchanged"]
    # cut-offs a and b flip sign for higher-is-better scales
    iip = sciplab.reliable_change(
        [3.0], [1.0], instrument="IIP-SC", scale="PA", rxx=0.8, cutoff="a", higher_is_worse=False
    )
    assert iip.details["cutoff"] == pytest.approx(0.99 + 2 * 0.82)


def test_core10_published_points_and_cutoff() -> None:
    """CORE-10: reliable change >= 6 points, clinical cut-off 10 (instruments.md §6.4)."""
    pre = [20, 20, 14, 12, 10, 16]
    post = [8, 15, 8, 10, 16, 10]
    res = sciplab.reliable_change(pre, post, instrument="CORE-10", scale="total")
    d = res.details
    assert d["method"] == "published-points" and d["min_reliable_change"] == 6.0
    assert np.isnan(d["s_diff"]) and (d["sd"], d["rxx"]) == (None, None)
    assert (d["cutoff"], d["cutoff_type"]) == (10.0, "published")
    assert d["published_reliable_change"]["points"] == 6.0
    assert d["published_reliable_change"]["status"] == "single-source"
    assert res.table["rc"].isna().all()
    # a score of exactly 10 after a reliable improvement still counts as clinical (conservative)
    assert res.table["classification"].tolist() == [
        "recovered", "unchanged", "recovered", "unchanged", "deteriorated", "improved",
    ]  # fmt: skip
    assert "published reliable change: 6 points" in res.summary()
    # with an SD and r_xx the Jacobson-Truax index is used instead
    jt = sciplab.reliable_change(pre, post, instrument="CORE-10", scale="total", sd=7.0, rxx=0.9)
    assert jt.details["method"] == "jacobson-truax"


def test_missing_scores_are_unclassified() -> None:
    res = sciplab.reliable_change([20, np.nan], [8, 10], instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    assert res.table["classification"].tolist()[0] == "recovered"
    assert pd.isna(res.table["classification"].iloc[1])
    assert res.details["n_incomplete"] == 1
    json.dumps(res.to_dict(), allow_nan=False)


def test_bad_scores_and_parameters() -> None:
    kw = dict(instrument="PHQ-9", scale="total", sd=5.0, rxx=0.85)
    with pytest.raises(
        DataError, match=r"post: score 28.0 at index 1 is outside the possible range 0-27 of PHQ-9 total"
    ):
        sciplab.reliable_change([1, 2], [3, 28], **kw)
    with pytest.raises(DataError, match="outside the possible range 1-7"):
        sciplab.reliable_change([0.5], [3], instrument="ECR-R", scale="anxiety", sd=1, rxx=0.8)
    with pytest.raises(DataError, match="different indexes"):
        sciplab.reliable_change(pd.Series([1, 2], index=["a", "b"]), pd.Series([1, 2], index=["a", "c"]), **kw)
    with pytest.raises(DataError, match="pre has 2 scores but post has 3"):
        sciplab.reliable_change([1, 2], [1, 2, 3], **kw)
    with pytest.raises(DataError, match=r"pre: row 2 \(index 1\) is not a number: 'x'"):
        sciplab.reliable_change([1, "x"], [1, 2], **kw)
    with pytest.raises(DataError, match="no scores given"):
        sciplab.reliable_change([], [], **kw)
    with pytest.raises(DataError, match="expected one column"):
        sciplab.reliable_change(pd.DataFrame({"a": [1], "b": [2]}), [1], **kw)
    with pytest.raises(InvalidParameterError, match="sd must be a number, 'pre' or None"):
        sciplab.reliable_change([1], [2], instrument="PHQ-9", scale="total", sd="post", rxx=0.8)
    with pytest.raises(InvalidParameterError, match="sd must be positive"):
        sciplab.reliable_change([1], [2], instrument="PHQ-9", scale="total", sd=-1, rxx=0.8)
    with pytest.raises(InvalidParameterError, match=r"rxx must be in \(0, 1\)"):
        sciplab.reliable_change([1], [2], instrument="PHQ-9", scale="total", sd=5, rxx=1.2)
    with pytest.raises(InvalidParameterError, match="level must be in"):
        sciplab.reliable_change([1], [2], level=1.5, **kw)
    with pytest.raises(InvalidParameterError, match="cut-off 'c' cannot be computed"):
        sciplab.reliable_change([1], [2], cutoff="c", **kw)
    with pytest.raises(InvalidParameterError, match="cutoff must be"):
        sciplab.reliable_change([1], [2], cutoff="d", **kw)  # type: ignore[arg-type]
    with pytest.raises(sciplab.InstrumentDefinitionError, match="no scale 'totl'"):
        sciplab.reliable_change([1], [2], instrument="PHQ-9", scale="totl", sd=5, rxx=0.8)


def test_scores_from_score_feed_reliable_change() -> None:
    rows_pre = [[3] * 9, [2] * 9]
    rows_post = [[0] * 9, [2] * 9]
    pre = sciplab.score(phq(rows_pre), "PHQ-9").scores["PHQ-9_total"]
    post = sciplab.score(phq(rows_post), "PHQ-9").scores["PHQ-9_total"]
    res = sciplab.reliable_change(pre, post, instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    assert res.table["classification"].tolist() == ["recovered", "unchanged"]
    assert res.table["id"].tolist() == [0, 1]


def test_recovered_needs_a_dysfunctional_start_issue_10_1() -> None:
    # 9 is already below the PHQ-9 cut-off of 10: a reliable improvement to 2 is "improved", not "recovered"
    res = sciplab.reliable_change([9, 15], [2, 2], instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    assert res.table["classification"].tolist() == ["improved", "recovered"]
    assert res.table["crossed_cutoff"].tolist() == [False, True]
    assert "dysfunctional side" in res.details["recovered_rule"]


def test_retest_stability_is_not_used_as_reliability() -> None:
    # ECR records only a retest coefficient (.55 over two weeks to two decades): refused, saying what to pass
    with pytest.raises(
        InvalidParameterError, match=r"trait stability, not measurement error.*rxx=NUMBER \(CLI: --rxx\)"
    ):
        sciplab.reliable_change([5.0, 4.0], [3.0, 4.0], instrument="ECR", scale="anxiety", sd=1.0)
    asked = sciplab.reliable_change([5.0], [3.0], instrument="ECR", scale="anxiety", sd=1.0, reliability="retest")
    assert asked.details["rxx"] == 0.55 and "asked for" in asked.details["rxx_source"]
    own = sciplab.reliable_change([5.0], [3.0], instrument="ECR", scale="anxiety", sd=1.0, rxx=0.9)
    assert own.details["rxx_source"] == "user-supplied"


def test_item_level_data_are_scored_first() -> None:
    pre = phq([[3] * 9, [2] * 9, [1] * 9], index=["x", "y", "z"])
    post = phq([[2] * 9, [0] * 9, [1] * 9], index=["y", "x", "z"])  # other order
    res = sciplab.reliable_change(pre, post, instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    t = res.table.set_index("id")
    assert t.loc["x", ["pre", "post"]].tolist() == [27.0, 0.0] and t.loc["y", ["pre", "post"]].tolist() == [18.0, 18.0]
    assert t["classification"].tolist() == ["recovered", "unchanged", "unchanged"]
    scored = sciplab.score(pre, "PHQ-9").scores
    same = sciplab.reliable_change(scored, post, instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    pd.testing.assert_frame_equal(same.table, res.table)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cutoff": float("nan")}, "cutoff must be a finite number"),
        ({"cutoff": float("inf")}, "cutoff must be a finite number"),
        ({"sd": float("inf")}, "sd must be a finite number"),
        ({"rxx": float("nan")}, "rxx must be a finite number"),
    ],
)
def test_non_finite_options_are_refused(kwargs, message) -> None:
    base = {"instrument": "PHQ-9", "scale": "total", "sd": 5.0, "rxx": 0.85}
    with pytest.raises(InvalidParameterError, match=message):
        sciplab.reliable_change([20], [8], **{**base, **kwargs})
    with pytest.raises(DataError, match="outside the possible range"):
        sciplab.reliable_change([20], [float("inf")], **base)


def test_one_rule_printed_everywhere() -> None:
    # the Jacobson-Truax criterion is strict (|RC| > z) in the kernel and in every summary
    res = sciplab.reliable_change([20], [8], instrument="PHQ-9", scale="total", sd=5, rxx=0.85)
    assert "reliable change needs |change| > 5.368 points" in res.summary()
    pts = sciplab.reliable_change([20], [8], instrument="CORE-10", scale="total")
    assert "reliable change needs |change| >= 6.000 points" in pts.summary()
    assert "client  " not in res.summary() and "recovered" in res.summary(clients=True).splitlines()[-1]


def test_polarity_comes_from_the_construct_table() -> None:
    # SEQ depth measures session impact: neither better nor worse, so the direction must be given
    with pytest.raises(
        InvalidParameterError, match="cannot tell whether higher scores are worse; pass higher_is_worse"
    ):
        sciplab.reliable_change([3.0], [5.0], instrument="SEQ", scale="depth", sd=1, rxx=0.9)
    res = sciplab.reliable_change([3.0], [5.0], instrument="SEQ", scale="depth", sd=1, rxx=0.9, higher_is_worse=False)
    assert res.table["classification"].tolist() == ["improved"]


def test_instrument_client_change_binds_constants_to_the_session_kernel() -> None:
    from sciplab.scoring.change import instrument_client_change
    from sciplab.stats.change import client_change

    df = pd.DataFrame({"id": ["a", "a", "b", "b", "c", "c"], "s": [1, 6, 1, 6, 1, 6],
                       "CORE-10_total": [22, 9, 9, 2, 14, 17]})  # fmt: skip
    res = instrument_client_change(df, client="id", session="s", instrument="CORE-10", scale="total")
    assert res.table["classification"].tolist() == ["recovered", "improved", "unchanged"]
    d = res.details
    assert (d["method"], d["min_reliable_change"], d["cutoff"], d["cutoff_type"]) == (
        "published-points",
        6,
        10,
        "published",
    )
    assert "CORE" in d["rc_source"] or d["rc_source"]
    plain = client_change(df, client="id", session="s", measure="CORE-10_total", rc_points=6, cutoff=10)
    pd.testing.assert_frame_equal(res.table, plain.table)
    assert "published reliable change: 6 points" in res.summary()
    with pytest.raises(DataError, match="outside the possible range 0-40"):
        instrument_client_change(df.assign(**{"CORE-10_total": [22, 9, 9, 2, 14, 41]}), client="id", session="s",
                                 instrument="CORE-10", scale="total")  # fmt: skip
    # sd="pre": the SD of the clients' first scores
    pre_sd = instrument_client_change(df, client="id", session="s", instrument="CORE-10", scale="total", sd="pre",
                                      rxx=0.9)  # fmt: skip
    assert pre_sd.details["sd"] == pytest.approx(np.std([22, 9, 14], ddof=1)) and pre_sd.details["s_diff"] > 0
