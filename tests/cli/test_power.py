"""Tests of the ``sciplab power`` command."""

from __future__ import annotations

import json

import pytest

from sciplab.stats.power import power, sample_size, sobel_power, sobel_sample_size

from .conftest import invoke

SIMPLE = "m ~ 0.39*a*x; y ~ 0.39*b*m + 0*x; ind := a*b"


def test_json_matches_the_library(tmp_path):
    out = invoke("power", "--model", SIMPLE, "--n", "60,120", "--reps", "200", "--seed", "4", "--json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    lib = power(SIMPLE, n=[60, 120], reps=200, seed=4)
    assert [r["power"] for r in got["table"]] == pytest.approx(lib.table["power"].tolist())
    assert got["details"]["seed"] == 4


def test_template_with_effects_figure_and_report(tmp_path):
    fig, rep = tmp_path / "curve.png", tmp_path / "power.html"
    out = invoke(
        "power", "-m", "scip-core", "--n", "80:120:40", "--reps", "100", "--seed", "1",
        "--effects", "social_self_efficacy~attachment_anxiety=-0.3", "--figure", fig, "--report", rep,
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "ind1" in out.stdout and "N=120" in out.stdout
    assert fig.stat().st_size > 1000
    text = rep.read_text(encoding="utf-8")
    assert "Power was estimated by Monte Carlo simulation" in text and "<svg" in text
    assert "-0.3*attachment_anxiety" in text


def test_model_file_and_analysis_model(tmp_path):
    model = tmp_path / "pop.lav"
    model.write_text("m ~ 0.5*x\ny ~ 0.3*m + 0.2*x\n", encoding="utf-8")
    out = invoke("power", "-m", model, "--n", "100", "--reps", "100", "--seed", "2", "--analysis-model", "y ~ b*m",
                 "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["table"]
    assert [r["name"] for r in rows] == ["b"]
    assert rows[0]["population"] == pytest.approx(0.3 + 0.5 * 0.2)


def test_target_finds_a_sample_size():
    out = invoke("power", "-m", SIMPLE, "--target", "0.8", "--effect", "ind", "--reps", "200", "--seed", "3", "--json")
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)["details"]
    assert 50 <= d["n"] <= 140 and d["target"] == 0.8


def test_sobel_analytic():
    out = invoke("power", "--sobel", "--a", "0.39", "--b", "0.39", "--n", "100", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["power"][0]["power"] == pytest.approx(sobel_power(0.39, 0.39, 0.0, 100))
    out = invoke("power", "--sobel", "--a", "0.39", "--b", "0.39", "--cp", "0.1", "--target", "0.9")
    assert out.exit_code == 0
    assert f"Required N for power 0.9: {sobel_sample_size(0.39, 0.39, 0.1, power=0.9)}" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", SIMPLE, "--n", "100", "--test", "bca"], "unknown test"),
        (["--model", SIMPLE, "--n", "a,b"], "--n must be sample sizes"),
        (["--model", SIMPLE, "--n", "100:50:10"], "--n must be sample sizes"),
        (["--model", SIMPLE], "give --n"),
        (["--n", "100"], "--model is required"),
        (["--model", SIMPLE, "--target", "1.5"], "--target must be"),
        (["--model", SIMPLE, "--target", "0.8", "--effect", "nope"], "no effect or parameter named 'nope'"),
        (["--model", "y ~ 0.8*x1 + 0.7*x2", "--n", "100"], "R^2"),
        (["--model", SIMPLE, "--n", "100", "--missing", "often"], "missing must look like"),
        (["--model", "f =~ 1*a + 1*b; y ~ 0.3*f", "--n", "100"], "R^2"),
        (["--model", SIMPLE, "--n", "100", "--scheduler", "tcp://127.0.0.1:9", "--timeout", "1"], "cannot reach"),
        (["--sobel", "--a", "0.3"], "--sobel needs --a and --b"),
        (["--model", SIMPLE, "--n", "100", "--effects", "a=1"], "--effects sets the values of a SCIP template"),
        (["--model", "scip-core", "--n", "100", "--effects", "foo~bar=1"], "has no path or correlation"),
    ],
)
def test_errors_exit_2_with_one_line(args, message):
    out = invoke("power", *args, "--reps", "20")
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert "Traceback" not in out.output


def test_existing_report_is_not_overwritten(tmp_path):
    rep = tmp_path / "r.html"
    rep.write_text("keep", encoding="utf-8")
    out = invoke("power", "-m", SIMPLE, "--n", "60", "--reps", "20", "--report", rep)
    assert out.exit_code == 2
    assert rep.read_text(encoding="utf-8") == "keep"


LATENT = "f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3; f2 =~ 0.6*y1 + 0.6*y2 + 0.6*y3; f2 ~ 0.4*b*f1"


def test_latent_model_matches_the_library():
    out = invoke("power", "-m", LATENT, "--n", "150", "--reps", "60", "--seed", "5", "--test", "sobel", "--json")
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    lib = power(LATENT, n=150, reps=60, seed=5, test="sobel")
    assert [r["power"] for r in got["table"]] == pytest.approx(lib.table["power"].tolist())
    assert got["details"]["latent"] == ["f1", "f2"]


def test_scip_core_latent_template_runs():
    out = invoke(
        "power", "-m", "scip-core-latent", "--effects", "loading=0.8", "--n", "250", "--reps", "20", "--seed", "1",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "social_support ~ attachment_avoidance" in out.stdout
    assert "batched SEM refits" in out.stdout
    bad = invoke(
        "power", "-m", LATENT, "--n", "100", "--reps", "5", "--test", "percentile", "--missing", "mcar:0.1:fiml"
    )
    assert bad.exit_code == 2
    assert "not available with FIML" in bad.output


def test_latent_target_finds_a_sample_size():
    out = invoke("power", "-m", LATENT, "--target", "0.8", "--effect", "b", "--reps", "200", "--seed", "3", "--test",
                 "sobel", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    got = json.loads(out.stdout)
    lib = sample_size(LATENT, target=0.8, effect="b", reps=200, seed=3, test="sobel")
    assert got["details"]["n"] == lib.n
    assert got["details"]["power"] == pytest.approx(lib.details["power"])
    assert got["details"]["path"] == "f2 ~ f1"
