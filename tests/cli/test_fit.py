"""CLI tests for ``sciplab fit``."""

from __future__ import annotations

import json

import pytest
from tests.cli.conftest import path_scores
from typer.testing import CliRunner

from sciplab.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    df = path_scores()  # same builder and seed as before
    path = tmp_path_factory.mktemp("fit") / "scores.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_syntax_json(data_file):
    res = runner.invoke(
        app,
        ["fit", str(data_file), "--model", "PSSE_total ~ ECR_anxiety; PHQ-9_total ~ PSSE_total",
         "--bootstrap", "200", "--seed", "3", "--json"],
    )  # fmt: skip
    assert res.exit_code == 2  # '-' is not allowed in lavaan names: a syntax error, one line
    assert "line 1" in res.output
    res = runner.invoke(
        app,
        ["fit", str(data_file), "--model", "s ~ a; d ~ s", "--map", str(_map(data_file)),
         "--bootstrap", "200", "--seed", "3", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"parameters", "indirect", "details"}
    assert out["details"]["seed"] == 3 and out["details"]["bootstrap"] == 200
    assert out["indirect"][0]["path"] == "a → s → d"


def _map(data_file):
    p = data_file.parent / "map.json"
    p.write_text(json.dumps({"a": "ECR_anxiety", "s": "PSSE_total", "d": "PHQ-9_total"}))
    return p


def test_fit_template_with_report_and_figure(data_file, tmp_path):
    report, figure = tmp_path / "r.html", tmp_path / "f.png"
    res = runner.invoke(
        app,
        ["fit", str(data_file), "--model", "scip-core", "--bootstrap", "200", "--seed", "1",
         "--report", str(report), "--figure", str(figure)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "TAS-20_total reversed" in res.output
    assert report.read_text().count("<svg") == 1
    assert figure.stat().st_size > 1000


def test_fit_model_file_and_errors(data_file, tmp_path):
    model = tmp_path / "model.lav"
    model.write_text("# a model file\nPSSE_total ~ ECR_anxiety\nMSPSS_total ~ PSSE_total\n")
    res = runner.invoke(app, ["fit", str(data_file), "--model", str(model), "--ci", "none", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["details"]["ci_method"] == "wald"
    res = runner.invoke(app, ["fit", str(data_file), "--model", "scip-core", "--ci", "wrong"])
    assert res.exit_code == 2 and "ci must be one of" in res.output
    res = runner.invoke(app, ["fit", str(data_file), "--model", "scip-alliance"])
    assert res.exit_code == 2 and "alliance" in res.output
    res = runner.invoke(app, ["fit", str(tmp_path / "none.csv"), "--model", "scip-core"])
    assert res.exit_code == 2


@pytest.mark.filterwarnings("ignore:115 of 400 rows dropped")  # the example has incomplete rows
def test_fit_raw_items_with_score(tmp_path):
    # issue 10.17: raw questionnaire data to a fitted SCIP model in one command
    from sciplab.datasets import example_path

    res = runner.invoke(app, ["fit", example_path(), "--model", "scip-core", "--ci", "none"])
    assert res.exit_code == 2 and "--score" in res.output and "--map" in res.output
    assert "no a scored" not in res.output
    res = runner.invoke(app, ["fit", example_path(), "--model", "scip-core", "--score", "--ci", "none", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)["details"]
    assert d["scored_from_items"] == ["ECR-S", "MSPSS", "PHQ-9", "PSSE", "TAS-20"]
    assert "attachment_anxiety <- ECR-S_anxiety (scale score)" in d["binding"]


def test_fit_prints_the_library_summary_with_defined_parameters(data_file):
    model = "PSSE_total ~ a*ECR_anxiety; MSPSS_total ~ b*PSSE_total; ab := a*b"
    res = runner.invoke(app, ["fit", str(data_file), "--model", model, "-B", "0", "--ci", "none"])
    assert res.exit_code == 0, res.output
    assert "Defined parameters" in res.stdout and "ab" in res.stdout


def test_fit_report_never_replaces_its_input(data_file, tmp_path):
    before = data_file.read_bytes()
    res = runner.invoke(
        app, ["fit", str(data_file), "--model", "PSSE_total ~ ECR_anxiety", "-B", "0", "--ci", "none",
              "--report", str(data_file), "--overwrite"],
    )  # fmt: skip
    assert res.exit_code == 2 and "input" in res.output
    assert data_file.read_bytes() == before


@pytest.mark.parametrize(("content", "expected"), [(b"\x00\x01\x02 ~ x", "NUL"), (b"\xff\xfe y ~ x", "UTF-8")])
def test_model_file_is_read_as_a_side_file(data_file, tmp_path, content, expected):
    model = tmp_path / "model.lav"
    model.write_bytes(content)
    res = runner.invoke(app, ["fit", str(data_file), "--model", str(model), "-B", "0", "--ci", "none"])
    assert res.exit_code == 2 and expected in res.output and "model.lav" in res.output


@pytest.mark.parametrize("args", [["-B", "10000001"], ["-B", "-1"], ["--level", "nan"], ["--seed", "-3"]])
def test_option_ranges_are_checked_when_parsed(data_file, args):
    res = runner.invoke(app, ["fit", str(data_file), "--model", "PSSE_total ~ ECR_anxiety", *args])
    assert res.exit_code == 2 and "Traceback" not in res.output
