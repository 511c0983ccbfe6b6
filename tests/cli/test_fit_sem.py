"""CLI tests for ``sciplab fit`` with latent variables (the SEM engine)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tests.cli.conftest import DATA, invoke

from sciplab.datasets import example_path
from sciplab.stats.sem import sem

HS = DATA / "HolzingerSwineford1939.csv"
MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"

needs_hs = pytest.mark.skipif(not HS.exists(), reason="../shared/data/HolzingerSwineford1939.csv is not available")


@needs_hs
def test_latent_syntax_goes_to_sem_and_prints_the_library_summary():
    res = invoke("fit", HS, "--model", MODEL)
    assert res.exit_code == 0, res.output
    lib = sem(pd.read_csv(HS), MODEL)
    assert lib.summary() in res.output
    assert "Latent Variables:" in res.output and "85.306" in res.output  # lavaan: chisq 85.306, df 24


@needs_hs
def test_json_has_parameters_fit_details():
    res = invoke("fit", HS, "--model", MODEL, "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert {"parameters", "fit", "details"} <= set(out) and "std" not in out
    assert out["fit"]["df"] == 24 and out["fit"]["chisq"] == pytest.approx(85.306, abs=1e-3)
    first = out["parameters"][0]
    assert [first[k] for k in ("lhs", "op", "rhs")] == ["visual", "=~", "x1"]
    assert out["details"]["estimator"] == "ml" and out["details"]["n"] == 301


@needs_hs
def test_groups_equalities_report_and_figure(tmp_path):
    report, figure = tmp_path / "sem.html", tmp_path / "sem.svg"
    res = invoke("fit", HS, "--model", MODEL, "--group", "school", "--group-equal", "loadings",
                 "--report", report, "--figure", figure, "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["details"]["groups"] == ["Pasteur", "Grant-White"]
    assert out["details"]["group_equal"] == ["loadings"]
    loads = [p for p in out["parameters"] if p["op"] == "=~" and p["rhs"] == "x2"]
    assert len(loads) == 2 and loads[0]["est"] == pytest.approx(loads[1]["est"])
    assert report.read_text(encoding="utf-8").count("<svg") == 1
    assert "ellipse:visual" in figure.read_text(encoding="utf-8")


@needs_hs
def test_engine_and_option_errors_are_one_line():
    res = invoke("fit", HS, "--model", MODEL, "--engine", "paths")
    assert res.exit_code == 2 and "--engine paths cannot fit latent variables" in res.output
    res = invoke("fit", HS, "--model", "x1 ~ x2 + x3", "--estimator", "mlr")
    assert res.exit_code == 2 and "--estimator needs the SEM engine" in res.output
    res = invoke("fit", HS, "--model", MODEL, "--group-equal", "loadings")
    assert res.exit_code == 2 and "--group-equal needs --group" in res.output
    res = invoke("fit", HS, "--model", MODEL, "--invariance")
    assert res.exit_code == 2 and "--group COL" in res.output
    res = invoke("fit", HS, "--model", MODEL, "--estimator", "wls")
    assert res.exit_code == 2 and "estimator must be one of" in res.output
    res = invoke("fit", HS, "--model", MODEL, "--engine", "lavaan")
    assert res.exit_code == 2 and "--engine must be one of" in res.output
    res = invoke("fit", HS, "--model", "visual =~ x1 + x2 + xx3")
    assert res.exit_code == 2 and "xx3" in res.output and "Traceback" not in res.output
    res = invoke("fit", HS, "--model", "scip-core", "--engine", "sem")
    assert res.exit_code == 2 and "scip-core-latent" in res.output


@needs_hs
def test_engine_sem_fits_a_path_model_by_ml():
    res = invoke("fit", HS, "--model", "x1 ~ x2 + x3", "--engine", "sem", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["fit"]["df"] == 0 and out["details"]["estimator"] == "ml"


@pytest.mark.filterwarnings("ignore::sciplab._core.errors.DataWarning")
def test_scip_core_latent_from_raw_items(tmp_path):
    report = tmp_path / "latent.html"
    res = invoke("fit", example_path(), "--model", "scip-core-latent", "--score", "--report", report)
    assert res.exit_code == 0, res.output
    assert "Latent Variables:" in res.output and "attachment_anxiety =~" in res.output
    assert "note: emotional_awareness: TAS-20 total reflected" in res.output
    assert "report written to" in res.output
    page = report.read_text(encoding="utf-8")
    assert "Item-to-parcel allocation" in page and page.count("<svg") == 1
    res = invoke("fit", example_path(), "--model", "scip-core-latent")
    assert res.exit_code == 2 and "add --score" in res.output
    res = invoke("fit", example_path(), "--model", "scip-core-latent", "--score", "--invariance")
    assert res.exit_code == 2 and "--group COL" in res.output


@needs_hs
def test_a_bad_report_format_is_refused_before_any_file_is_written(tmp_path):
    figure = tmp_path / "f.svg"
    res = invoke("fit", HS, "--model", MODEL, "--report", tmp_path / "r.docx", "--figure", figure)
    assert res.exit_code == 2 and "report format" in res.output
    assert not figure.exists()  # found by tests/fuzz/test_sem_cli.py
    res = invoke("fit", HS, "--model", "x1 ~ x2", "--figure", tmp_path / "f.gif", "--ci", "none")
    assert res.exit_code == 2 and "figure format" in res.output


@needs_hs
def test_invariance_ladder_json_report_and_text(tmp_path):
    report = tmp_path / "inv.html"
    res = invoke("fit", HS, "--model", MODEL, "--group", "school", "--invariance", "--json", "--report", report)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {"comparison", "fits", "details"}
    rows = {r["level"]: r for r in out["comparison"]}
    # lavaan: cfa(HS.model, HolzingerSwineford1939, group = "school", group.equal = ...)
    for level, chisq, df in (("configural", 115.851, 48), ("metric", 124.044, 54), ("scalar", 164.103, 60),
                             ("strict", 181.511, 69)):  # fmt: skip
        assert rows[level]["chisq"] == pytest.approx(chisq, abs=2e-3) and rows[level]["df"] == df
    assert rows["metric"]["delta_chisq"] == pytest.approx(124.044 - 115.851, abs=3e-3)
    assert set(out["fits"]["metric"]) == {"parameters", "fit", "details"}
    page = report.read_text(encoding="utf-8")
    assert "Measurement invariance: model comparisons" in page and "ΔCFI" in page and page.count("<svg") == 1
    text = invoke("fit", HS, "--model", MODEL, "--group", "school", "--invariance")
    assert text.exit_code == 0 and "Measurement invariance" in text.output and "strict" in text.output
    res = invoke("fit", HS, "--model", MODEL, "--group", "school", "--invariance", "--group-equal", "loadings")
    assert res.exit_code == 2 and "leave out --group-equal" in res.output


@needs_hs
def test_mlr_and_bootstrap_pass_through():
    res = invoke("fit", HS, "--model", MODEL, "--estimator", "mlr", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["details"]["estimator"] == "mlr" and "chisq.scaled" in out["fit"]
    res = invoke("fit", HS, "--model", MODEL, "-B", "100", "--seed", "3", "--ci", "percentile", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["details"]["bootstrap"] == 100 and out["details"]["seed"] == 3
    assert out["details"]["se"] == "bootstrap"


@needs_hs
def test_sem_bootstrap_draws_a_progress_bar_on_a_terminal(monkeypatch):
    import io

    from rich.console import Console

    from sciplab.cli import fit as fit_cli

    sink = io.StringIO()
    term = Console(file=sink, force_terminal=True, width=120)
    monkeypatch.setattr(fit_cli, "err_console", term)
    seen = []
    with fit_cli._sem_progress(True) as progress:
        assert progress is not None
        lib = sem(pd.read_csv(HS), MODEL, se="bootstrap", bootstrap=60, seed=1, bollen_stine=True,
                  progress=lambda d, t: (seen.append((d, t)), progress(d, t)))  # fmt: skip
    assert seen[-1] == (120, 120)  # the Bollen-Stine replicates count too
    assert "SEM bootstrap" in sink.getvalue() and lib.details["bootstrap"] == 60
    with fit_cli._sem_progress(False) as none:
        assert none is None
    # off a terminal (CliRunner) the command runs without a bar
    res = invoke("fit", HS, "--model", MODEL, "-B", "30", "--seed", "3", "--missing", "fiml", "--estimator", "ml",
                 "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["details"]["missing"] == "fiml" and out["details"]["se"] == "bootstrap"


@needs_hs
def test_mlr_with_fiml_from_the_command_line():
    res = invoke("fit", HS, "--model", MODEL, "--estimator", "mlr", "--missing", "fiml", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    lib = sem(pd.read_csv(HS), MODEL, estimator="mlr", missing="fiml")
    assert out["details"]["se"] == "robust"
    assert out["fit"]["chisq.scaled"] == pytest.approx(float(lib.fit["chisq.scaled"].iloc[0]), rel=1e-9)
