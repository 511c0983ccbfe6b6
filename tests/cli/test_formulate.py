"""Tests of ``sciplab formulate``."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sciplab.cli.main import app

runner = CliRunner()


@pytest.fixture
def scores(tmp_path):
    df = pd.DataFrame({
        "client": ["p1", "d1"],
        "ECR-S_anxiety": [5.9, 2.2],
        "ECR-S_avoidance": [2.3, 6.0],
        "MSPSS_total": [2.2, 5.5],
    })  # fmt: skip
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    return path


def test_summary_for_one_client(scores):
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1"])
    assert res.exit_code == 0, res.output
    assert "SCIP case formulation: client p1" in res.output
    assert "Engage at close therapeutic distance" in res.output


def test_json(scores):
    res = runner.invoke(
        app, ["formulate", str(scores), "--client", "d1", "--json", "--reliability", "0.9", "--sd", "1"]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert {"attachment", "profile", "hypotheses", "plan", "missing", "sources"} <= set(d)
    assert d["attachment"]["most_probable"]["pattern"] == "dismissing"
    assert d["attachment"]["anxiety"]["reliability"] == 0.9
    assert [s["id"] for s in d["hypotheses"]][:2] == ["deactivating-pattern", "deactivating-ruptures"]


def test_id_col_and_split(tmp_path, scores):
    df = pd.read_csv(scores).rename(columns={"client": "pid"})
    p = tmp_path / "s2.csv"
    df.to_csv(p, index=False)
    res = runner.invoke(app, ["formulate", str(p), "--id-col", "pid", "--client", "p1", "--json",
                              "--split", "anxiety=3.5,avoidance=2.8"])  # fmt: skip
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["attachment"]["anxiety"]["split"] == 3.5 and d["attachment"]["split"]["method"] == "user"


def test_several_rows_without_client_is_one_line_error(scores):
    res = runner.invoke(app, ["formulate", str(scores)])
    assert res.exit_code == 2
    assert "choose one client" in res.output and "Traceback" not in res.output


def test_out_of_range_is_one_line_error(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"ECR-S_anxiety": [9.0], "ECR-S_avoidance": [3.0]}).to_csv(p, index=False)
    res = runner.invoke(app, ["formulate", str(p)])
    assert res.exit_code == 2
    assert "ECR-S_anxiety" in res.output and "9" in res.output and "outside the range" in res.output


def test_report_and_overwrite(scores, tmp_path):
    out = tmp_path / "f.html"
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--report", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8").count("<svg") == 1
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--report", str(out)])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--report", str(out), "--overwrite"])
    assert res.exit_code == 0, res.output


def test_bad_rules_file(scores, tmp_path):
    rules = tmp_path / "r.toml"
    rules.write_text('[sources]\na = "x"\n[[rule]]\nid = "r"\nsection = "hypothesis"\nwhen = "suport.deficit"\n'
                     'text = "t"\nevidence = "theory"\nsources = ["a"]\n', encoding="utf-8")  # fmt: skip
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--rules", str(rules)])
    assert res.exit_code == 2
    assert "r.toml, line 6" in res.output and "unknown construct 'suport'" in res.output


def test_raw_items(tmp_path):
    p = tmp_path / "items.csv"
    pd.DataFrame([[6, 2, 6, 2, 6, 2, 6, 6, 6, 2, 6, 2]], columns=[f"ECRS_{i}" for i in range(1, 13)]).to_csv(
        p, index=False
    )
    res = runner.invoke(app, ["formulate", str(p), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["details"]["scored_from_items"] == ["ECR-S"]


def test_bad_option_values(scores):
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--reliability", "anxiety=high"])
    assert res.exit_code == 2 and "--reliability" in res.output
    res = runner.invoke(app, ["formulate", str(scores), "--client", "p1", "--split", "3.5"])
    assert res.exit_code == 2 and "--split" in res.output
