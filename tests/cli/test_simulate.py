"""CLI tests for ``sciplab simulate``."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from sciplab.cli.main import app

runner = CliRunner()


def test_run_report_and_refusals(tmp_path):
    out = tmp_path / "run"
    args = ["simulate", "run", "--agents", "300", "--years", "0.5", "--seed", "4", "--out", str(out)]
    res = runner.invoke(app, [*args, "--instruments", "ECR-S,PHQ-9", "--policy", "complementary", "--csv"])
    assert res.exit_code == 0, res.output
    assert (out / "persons.parquet").exists() and (out / "items_ECR-S.csv").exists()
    persons = pd.read_parquet(out / "persons.parquet")
    assert len(persons) == 300 and "ECR-S_anxiety" in persons
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already exists" in again.output
    rep = runner.invoke(app, ["simulate", "report", str(out), "-o", str(tmp_path / "r.html")])
    assert rep.exit_code == 0, rep.output
    assert "Attachment plane" in (tmp_path / "r.html").read_text()


def test_bad_input_one_line_exit_2(tmp_path):
    for extra, fragment in [
        (["--agents", "-1"], "n_agents"),
        (["--instruments", "CATS"], "CATS"),
        (["--policy", "scipp"], "did you mean"),
    ]:
        res = runner.invoke(app, ["simulate", "run", "--out", str(tmp_path / "x"), *extra])
        assert res.exit_code == 2, res.output
        assert fragment in res.output
        assert "Traceback" not in res.output


def test_sweep_bad_grid_and_calibrate_exit_codes(tmp_path):
    g = tmp_path / "g.toml"
    g.write_text('[grid]\n"therapy.polcy" = ["scip"]\n')
    res = runner.invoke(app, ["simulate", "sweep", str(g), "--out", str(tmp_path / "sw")])
    assert res.exit_code == 2 and "therapy.policy" in res.output
    cal = runner.invoke(app, ["simulate", "calibrate", "--repetitions", "1", "--agents", "300", "--seed", "1"])
    assert cal.exit_code in (0, 1)
    assert "Calibration" in cal.output
    assert ("MISS" in cal.output) == (cal.exit_code == 1)


def test_calibrate_json_and_run_refuses_a_file_as_folder(tmp_path):
    import json

    cal = runner.invoke(
        app, ["simulate", "calibrate", "--repetitions", "1", "--agents", "300", "--seed", "2", "--json"]
    )
    assert cal.exit_code in (0, 1), cal.output
    payload = json.loads(cal.stdout)
    assert payload["details"]["repetitions"] == 1 and len(payload["table"]) > 10
    assert (cal.exit_code == 1) == bool(payload["misses"])
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    res = runner.invoke(app, ["simulate", "run", "--agents", "100", "--out", str(a_file)])
    assert res.exit_code == 2 and "not a folder" in res.output
    assert a_file.read_text() == "keep"


def test_sweep_help_shows_the_grid_format():
    res = runner.invoke(app, ["simulate", "sweep", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "[grid]" in res.output and "[fixed]" in res.output and "--repetitions" in res.output


def test_policies_command_writes_report_and_json(tmp_path):
    import json

    out = tmp_path / "policies.html"
    args = ["simulate", "policies", "-r", "2", "-n", "300", "--years", "0.5", "--seed", "2", "--policies", "fixed,scip"]
    res = runner.invoke(app, [*args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "Therapist policies by attachment pattern" in text and "<svg" in text and "Cohen" in text
    again = runner.invoke(app, [*args, "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
    js = runner.invoke(app, [*args, "--json"])
    assert js.exit_code == 0, js.output
    payload = json.loads(js.stdout)
    assert {"table", "effects", "details"} <= set(payload) and payload["details"]["reference"] == "fixed"
    bad = runner.invoke(app, [*args[:-1], "fixed,scipp"])
    assert bad.exit_code == 2 and "did you mean 'scip'" in bad.output and "Traceback" not in bad.output


def test_sweep_refuses_a_grid_beyond_memory_before_starting(tmp_path):
    g = tmp_path / "big.toml"
    g.write_text('[fixed]\nn_agents = 20000000\n"network.max_ties" = 1000\n[grid]\n"therapy.policy" = ["scip"]\n')
    res = runner.invoke(app, ["simulate", "sweep", str(g), "--out", str(tmp_path / "sw"), "--scheduler", "synchronous"])
    assert res.exit_code == 2, res.output
    assert "GiB per task" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "sw").exists()


def _one_line_exit_2(res, *fragments):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    for fragment in fragments:
        assert fragment in " ".join(res.output.split()), res.output


def test_sweep_bad_inputs_one_line_exit_2(tmp_path):
    g = tmp_path / "g.toml"
    out = str(tmp_path / "sw")
    g.write_text('[fixed]\nn_agents = 200\n[grid]\n"network.meet_rate" = [0.3, 99.0]\n')
    res = runner.invoke(app, ["simulate", "sweep", str(g), "--out", out])
    _one_line_exit_2(res, "network.meet_rate", "99", "0 <= meet_rate <= 50")
    g.write_text('[fixed]\nn_agent = 200\n[grid]\n"therapy.policy" = ["scip"]\n')
    _one_line_exit_2(runner.invoke(app, ["simulate", "sweep", str(g), "--out", out]), "did you mean 'n_agents'")
    g.write_text('[fixed]\nn_agents = 1000000\n[grid]\n"therapy.policy" = ["scip"]\n')
    res = runner.invoke(app, ["simulate", "sweep", str(g), "--out", out, "--max-memory", "0.5"])
    _one_line_exit_2(res, "needs about 2.11 GiB per task", "0.50 GiB memory budget")
    res = runner.invoke(app, ["simulate", "sweep", str(g), "--out", out, "--max-memory", "-1"])
    _one_line_exit_2(res, "max_memory_gib must be a positive number")
    assert not (tmp_path / "sw").exists()


def test_sweep_unreachable_scheduler_one_line_exit_2(tmp_path):
    g = tmp_path / "g.toml"
    g.write_text('[fixed]\nn_agents = 200\n[grid]\n"therapy.policy" = ["scip"]\n')
    args = ["simulate", "sweep", str(g), "--out", str(tmp_path / "sw"), "--scheduler", "tcp://127.0.0.1:9"]
    res = runner.invoke(app, [*args, "--timeout", "1"])
    _one_line_exit_2(res, "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 1 s")
    _one_line_exit_2(runner.invoke(app, [*args, "--timeout", "0"]), "timeout must be")


def test_run_out_of_range_names_parameter_value_and_range(tmp_path):
    res = runner.invoke(app, ["simulate", "run", "--out", str(tmp_path / "x"), "--years", "500"])
    _one_line_exit_2(res, "years = 500.0 is out of range", "allowed: 0.0 <= years <= 100.0")
