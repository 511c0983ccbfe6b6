"""Octant scoring for circumplex analyses: IIP-SC/IIP-32 items -> octants, norms, ipsatization, SSM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sciplab
from sciplab.cli.main import app
from sciplab.scoring.octants import octant_scales, octant_scores

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
# IIP-SC octant items (instruments.md §7.1), written literally: octant k = items k, k+8, k+16, k+24
IIPSC = {
    code: [k + 1 + 8 * j for j in range(4)] for k, code in enumerate(["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"])
}
STUDENTS_SUM = dict(
    zip(
        IIPSC,
        zip(
            [3.04, 3.17, 3.60, 4.19, 5.68, 5.54, 5.86, 4.10],
            [2.64, 2.76, 3.42, 3.79, 3.66, 3.41, 3.30, 3.20],
            strict=True,
        ),
        strict=True,
    )
)


@pytest.fixture
def raw() -> pd.DataFrame:
    path = DATA / "raw_iipsc.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path} (see ../shared/data/README.md)")
    return pd.read_csv(path)


def expected_octants(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: raw[[f"IIP{i:02d}" for i in items]].mean(axis=1) for c, items in IIPSC.items()})


def test_scales_and_angles_from_definition():
    names, angles = octant_scales("IIP-SC")
    assert names == list(IIPSC)
    assert angles == (90, 135, 180, 225, 270, 315, 360, 45)
    names32, _ = octant_scales("IIP-32")
    assert names32 == list(IIPSC)
    with pytest.raises(sciplab.InstrumentDefinitionError):
        octant_scales("PHQ-9")


def test_raw_iipsc_octants_match_item_means(raw):
    got = octant_scores(raw, "IIP-SC", min_answered=3).scores
    pd.testing.assert_frame_equal(got, expected_octants(raw), check_names=False)
    # with the default rule (all 4 items), the two rows with a missing item lose that octant
    strict = octant_scores(raw, "IIP-SC").scores
    assert np.isnan(strict.loc[3, "JK"]) or np.isnan(strict.loc[3, "FG"])
    assert int(strict.isna().sum().sum()) == 2


def test_standardized_and_ipsatized(raw):
    exp = expected_octants(raw)
    z = octant_scores(raw, "IIP-SC", min_answered=3, norm="students")
    for code, (m, sd) in STUDENTS_SUM.items():  # norms are on the 4-item sum metric
        np.testing.assert_allclose(z.scores[code], (exp[code] - m / 4) / (sd / 4), rtol=1e-12)
    assert z.details["standardized"]["id"] == "students"
    assert (z.details["norm"], z.details["ipsatize"]) == ("students", False)
    assert "standardized against norm 'students'" in z.details["scoring"]
    assert z.scores.attrs["octant_scoring"] == z.details["scoring"]
    both = octant_scores(raw, "IIP-SC", min_answered=3, norm="students", ipsatize=True)
    assert (both.details["norm"], both.details["ipsatize"]) == ("students", True)
    assert "ipsatized" in both.details["scoring"] and "students" in both.details["scoring"]
    plain = octant_scores(raw, "IIP-SC", min_answered=3)
    assert (plain.details["norm"], plain.details["ipsatize"]) == (None, False)
    assert "raw (not standardized)" in plain.details["scoring"]
    ips = octant_scores(raw, "IIP-SC", min_answered=3, ipsatize=True).scores
    np.testing.assert_allclose(ips.to_numpy(), (exp.sub(exp.mean(axis=1), axis=0)).to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ips.mean(axis=1), 0, atol=1e-12)


def test_ipsatizing_removes_elevation_only(raw):
    oc = octant_scores(raw, "IIP-SC", min_answered=3)
    ip = octant_scores(raw, "IIP-SC", min_answered=3, ipsatize=True)
    a = sciplab.ssm(oc.scores, oc.scales, angles_deg=oc.angles_deg, bootstrap=0).table.iloc[0]
    b = sciplab.ssm(ip.scores, ip.scales, angles_deg=ip.angles_deg, bootstrap=0).table.iloc[0]
    assert b["e_est"] == pytest.approx(0, abs=1e-12)
    for col in ("x_est", "y_est", "a_est", "d_est", "fit_est"):
        assert b[col] == pytest.approx(a[col], abs=1e-10)


def test_cli_ssm_from_items(raw, tmp_path):
    src = tmp_path / "iip.csv"
    raw.to_csv(src, index=False)
    res = CliRunner().invoke(app, ["ssm", str(src), "-i", "IIP-SC", "--min-answered", "3", "-B", "0", "--json"])
    assert res.exit_code == 0, res.output
    assert '"e_est"' in res.stdout
    bad = CliRunner().invoke(app, ["ssm", str(src), "--ipsatize", "--scales", "IIP01"])
    assert bad.exit_code == 2 and "need --instrument" in bad.output
