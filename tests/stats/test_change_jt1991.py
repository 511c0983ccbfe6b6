"""Jacobson & Truax (1991) worked example data (Table 2, DAS, higher = better) through client_change.

The expected values are computed independently here from the published formulas (analysis-methods
§5): S_diff = SD_pre * sqrt(2) * sqrt(1 - r_xx), RC = (post - pre) / S_diff, reliable when
|RC| > 1.96; cut-off a = M_pre + 2 SD_pre for a higher-is-better measure (two SDs beyond the
dysfunctional mean, in the direction of functioning), with the pre-treatment sample as the
dysfunctional distribution; r_xx = .84 as used with these data by AWKruijt/JT-RCI. Recovered is
the paper's definition of clinically significant change: a reliable improvement that moves the
couple from the dysfunctional side of the cut-off (pre, at or below it for this higher-is-better
measure) to the functional side (post, above it); a reliable improvement that starts on the
functional side is "improved".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sciplab.stats.change import client_change

DAS = Path(__file__).resolve().parents[1] / "reference" / "jt1991_table2_das.csv"


def _expected_classes(pre: np.ndarray, post: np.ndarray, reliable: np.ndarray, cut: float) -> np.ndarray:
    crossed = (pre <= cut) & (post > cut)  # dysfunctional -> functional (higher is better)
    return np.where(
        ~reliable, "unchanged", np.where(post > pre, np.where(crossed, "recovered", "improved"), "deteriorated")
    )


@pytest.fixture
def das() -> pd.DataFrame:
    return pd.read_csv(DAS, comment="#")


def test_worked_example_rc_and_classes(das: pd.DataFrame) -> None:
    pre, post = das["pre"].to_numpy(), das["post"].to_numpy()
    sd_pre = pre.std(ddof=1)
    s_diff = sd_pre * np.sqrt(2.0) * np.sqrt(1 - 0.84)
    rc = (post - pre) / s_diff
    cut_a = pre.mean() + 2 * sd_pre  # higher is better: functional side lies above
    reliable = np.abs(rc) > 1.959963984540054
    expected = _expected_classes(pre, post, reliable, cut_a)
    long = pd.concat(
        [das.assign(session=1, score=das["pre"]), das.assign(session=2, score=das["post"])], ignore_index=True
    )
    res = client_change(
        long, client="ppid", session="session", measure="score", sd=sd_pre, rxx=0.84, cutoff=cut_a,
        higher_is_worse=False,
    )  # fmt: skip
    got = res.table.set_index("client").loc[das["ppid"]]
    np.testing.assert_allclose(got["rc"].to_numpy(), rc, rtol=1e-12)
    assert got["classification"].astype(str).tolist() == expected.tolist()
    assert res.details["s_diff"] == pytest.approx(s_diff, rel=1e-12)
    # sanity on the published data: most couples improved, a few deteriorated
    counts = pd.Series(expected).value_counts()
    assert counts.get("deteriorated", 0) >= 1 and counts.get("unchanged", 0) >= 1


def test_couples_starting_functional_are_improved_not_recovered(das: pd.DataFrame) -> None:
    # with cut-off a no couple starts on the functional side; a cut-off at the pre-treatment median
    # puts half of them there: their reliable improvements are "improved", never "recovered"
    pre, post = das["pre"].to_numpy(), das["post"].to_numpy()
    sd_pre = pre.std(ddof=1)
    rc = (post - pre) / (sd_pre * np.sqrt(2.0) * np.sqrt(1 - 0.84))
    cut = float(np.median(pre))
    expected = _expected_classes(pre, post, np.abs(rc) > 1.959963984540054, cut)
    long = pd.concat(
        [das.assign(session=1, score=das["pre"]), das.assign(session=2, score=das["post"])], ignore_index=True
    )
    res = client_change(long, client="ppid", session="session", measure="score", sd=sd_pre, rxx=0.84, cutoff=cut,
                        higher_is_worse=False)  # fmt: skip
    got = res.table.set_index("client").loc[das["ppid"]]["classification"].astype(str).to_numpy()
    assert got.tolist() == expected.tolist()
    started_functional = (pre > cut) & (np.abs(rc) > 1.959963984540054) & (post > pre)
    assert started_functional.any() and set(got[started_functional]) == {"improved"}
