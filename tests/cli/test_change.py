"""Tests of ``sciplab change`` (sciplab.cli.change)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tests.cli.conftest import phq_frame
from typer.testing import CliRunner

from sciplab.cli.main import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def pre_post(tmp_path):
    pre, post = tmp_path / "pre.csv", tmp_path / "post.csv"
    a = phq_frame([[2] * 9, [2] * 9, [1] * 9])
    a.insert(0, "client", ["x", "y", "$\\foo{$"])
    b = phq_frame([[2] * 9, [0] * 9, [0] * 9])
    b.insert(0, "client", ["y", "x", "$\\foo{$"])
    a.to_csv(pre, index=False)
    b.to_csv(post, index=False)
    return pre, post


def test_change_cli_scores_items_and_aligns_ids(tmp_path):
    pre, post = tmp_path / "pre.csv", tmp_path / "post.csv"
    a = phq_frame([[2] * 9, [2] * 9])
    a.insert(0, "client", ["x", "y"])
    b = phq_frame([[2] * 9, [0] * 9])
    b.insert(0, "client", ["y", "x"])
    a.to_csv(pre, index=False)
    b.to_csv(post, index=False)
    res = run(
        "change",
        str(pre),
        str(post),
        "-i",
        "PHQ-9",
        "--scale",
        "total",
        "--id",
        "client",
        "--sd",
        "5",
        "--rxx",
        "0.85",
        "--json",
    )
    assert res.exit_code == 0, res.output
    rows = {r["id"]: r for r in json.loads(res.stdout)["table"]}
    assert rows["x"]["classification"] == "recovered"
    assert rows["y"]["classification"] == "unchanged"
    missing = run("change", str(pre), str(post), "-i", "PHQ-9", "--scale", "total")
    assert missing.exit_code == 2 and "reliable change needs" in missing.output


def test_clients_table_in_text(pre_post):
    pre, post = pre_post
    base = ["change", str(pre), str(post), "-i", "PHQ-9", "--scale", "total", "--id", "client", "--sd", "5",
            "--rxx", "0.85"]  # fmt: skip
    counts = run(*base)
    assert counts.exit_code == 0, counts.output and "client  " not in counts.stdout
    res = run(*base, "--clients")
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line.split() for line in res.stdout.splitlines() if line.split()}
    assert rows["x"][-1] == "recovered" and rows["y"][-1] == "unchanged"
    # 9 -> 0 starts below the cut-off 10: a reliable improvement, not a recovery (issue 10.1)
    assert rows["$\\foo{$"][-1] == "improved"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--sd", "abc", "--sd must be 'pre' or a number, got 'abc'"),
        ("--sd", "nan", "--sd must be a finite number"),
        ("--rxx", "x", "--rxx must be a number"),
        ("--cutoff", "nan", "--cutoff must be a finite number, got 'nan'"),
        ("--cutoff", "inf", "--cutoff must be a finite number, got 'inf'"),
        ("--cutoff", "d", "--cutoff must be auto, a, b, c, published, none or a number"),
    ],
)
def test_bad_option_values_are_one_line_errors(pre_post, option, value, message):
    pre, post = pre_post
    res = run("change", str(pre), str(post), "-i", "PHQ-9", "--scale", "total", "--id", "client", "--sd", "5",
              "--rxx", "0.85", option, value)  # fmt: skip
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_retest_only_reliability_names_the_cli_option(tmp_path):
    pre, post = tmp_path / "pre.csv", tmp_path / "post.csv"
    pd.DataFrame({"ECR_anxiety": [5.0, 4.0]}).to_csv(pre, index=False)
    pd.DataFrame({"ECR_anxiety": [3.0, 4.0]}).to_csv(post, index=False)
    res = run("change", str(pre), str(post), "-i", "ECR", "--scale", "anxiety", "--sd", "1")
    assert res.exit_code == 2 and "trait stability" in res.output and "--rxx" in res.output
    ok = run("change", str(pre), str(post), "-i", "ECR", "--scale", "anxiety", "--sd", "1", "--rxx", "0.9", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["details"]["rxx_source"] == "user-supplied"
