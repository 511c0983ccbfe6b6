"""Tests of the ``sciplab ssm`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sciplab.cli.main import app
from sciplab.stats.circumplex import ssm

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SCALES = "PA,BC,DE,FG,HI,JK,LM,NO"
runner = CliRunner()


@pytest.fixture(scope="module")
def jz_path() -> Path:
    path = DATA / "jz2017.csv"
    if not path.exists():
        pytest.skip(f"shared test data {path} not available (expected at <repo>/../shared/data)")
    return path


def test_json_output_matches_library(jz_path):
    out = runner.invoke(
        app,
        [
            "ssm",
            str(jz_path),
            "--scales",
            SCALES,
            "--group",
            "Gender",
            "--contrast",
            "--bootstrap",
            "100",
            "--seed",
            "3",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert set(payload) == {"results", "details"}
    assert [r["label"] for r in payload["results"]] == ["Female", "Male", "Male - Female"]
    lib = ssm(pd.read_csv(jz_path), SCALES.split(","), group="Gender", contrast=True, bootstrap=100, seed=3)
    np.testing.assert_allclose([r["d_lci"] for r in payload["results"]], lib.table["d_lci"])
    assert payload["details"]["seed"] == 3 and payload["details"]["bootstrap"] == 100


def test_text_summary_measures_and_angles(jz_path, tmp_path):
    fig = tmp_path / "circle.png"
    out = runner.invoke(
        app,
        [
            "ssm",
            str(jz_path),
            "--scales",
            SCALES,
            "--measures",
            "PARPD,NARPD",
            "--angles",
            "90,135,180,225,270,315,0,45",
            "--bootstrap",
            "50",
            "--seed",
            "1",
            "--figure",
            str(fig),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "correlation-based profiles" in out.stdout and "NARPD" in out.stdout
    assert fig.stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scales", "PA,BC,DE,FG,HI,JK,LMX,NO"], "did you mean 'LM'"),
        (["--scales", SCALES, "--angles", "1,2,3"], "3 angle"),
        (["--scales", SCALES, "--angles", "a,b"], "--angles"),
        (["--scales", SCALES, "--measures", "PARPD,NARPD,ASPD", "--contrast"], "pairwise"),
    ],
)
def test_errors_are_one_line_exit_2(jz_path, args, message):
    out = runner.invoke(app, ["ssm", str(jz_path), *args, "--bootstrap", "0"])
    assert out.exit_code == 2
    assert message in out.output
    assert "Traceback" not in out.output


def test_missing_file_exit_2(tmp_path):
    out = runner.invoke(app, ["ssm", str(tmp_path / "nope.csv"), "--scales", SCALES])
    assert out.exit_code == 2 and "not found" in out.output


def test_warnings_printed_not_raised(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(20, 8)), columns=SCALES.split(","))
    df.iloc[0, 0] = np.nan
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    out = runner.invoke(app, ["ssm", str(path), "--scales", SCALES, "--bootstrap", "20", "--seed", "1"])
    assert out.exit_code == 0, out.output
    assert "warning:" in out.output and "listwise deletion" in out.output


def test_ssm_level_pairwise_and_octant_scoring_are_reachable_and_recorded(tmp_path, jz_path):
    res = runner.invoke(app, ["ssm", str(jz_path), "--scales", SCALES, "--level", "0.9", "--bootstrap", "50",
                              "--seed", "1", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["details"]["level"] == 0.9
    res = runner.invoke(app, ["ssm", str(jz_path), "--scales", SCALES, "--group", "Gender", "--pairwise",
                              "--bootstrap", "20", "--seed", "1", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    raw = DATA / "raw_iipsc.csv"
    if not raw.exists():
        pytest.skip("raw IIP-SC data not available")
    args = ["ssm", str(raw), "-i", "IIP-SC", "--norm", "students", "--ipsatize", "--bootstrap", "0"]
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "norm students" in text.stdout and "ipsatized" in text.stdout
    details = json.loads(runner.invoke(app, [*args, "--json"]).stdout)["details"]
    assert details["octant_scoring"] == {"instrument": "IIP-SC", "norm": "students", "ipsatized": True,
                                         "min_answered": None}  # fmt: skip


def test_ssm_angle_count_error_names_cli_options(jz_path):
    res = runner.invoke(app, ["ssm", str(jz_path), "--scales", SCALES, "--angles", "0,90,180", "--bootstrap", "0"])
    assert res.exit_code == 2 and "--angles" in res.output and "angles_deg" not in res.output
