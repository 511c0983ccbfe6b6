"""Tests of ``sciplab monitor`` and ``sciplab reference fit``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sciplab.cli.main import app
from sciplab.instruments import get_instrument
from sciplab.stats.change import Reference, client_change

runner = CliRunner()


def _reference_csv(path, n=40):
    rng = np.random.default_rng(1)
    u = rng.normal(0, [3, 1], (n, 2))
    rows = [(c, t, 25 + u[c, 0] + (u[c, 1] - 4) * np.log(t + 1) + rng.normal(0, 2)) for c in range(n) for t in range(8)]
    pd.DataFrame(rows, columns=["id", "visit", "CORE-10_total"]).to_csv(path, index=False)
    return path


@pytest.fixture
def sessions(tmp_path):
    df = pd.DataFrame({
        "id": ["a"] * 6 + ["b"] * 6 + ["solo"],
        "visit": list(range(6)) * 2 + [0],
        "CORE-10_total": [22, 20, 17, 14, 11, 9, 22, 21, 23, 24, 26, 28, 15],
        "wai": [5.0, 5.1, 5.0, 3.6, 5.0, 5.1, 5.2, 5.3, 5.2, 3.5, 3.6, 3.4, 4.0],
        "wai_t": [4.9, 5.0, 5.0, 4.9, 5.0, 5.0, 5.0, 5.1, 5.0, 5.0, 5.1, 5.0, 4.0],
    })  # fmt: skip
    path = tmp_path / "sessions.csv"
    df.to_csv(path, index=False)
    return path


BASE = ["--measure", "CORE-10_total", "--client-col", "id", "--session-col", "visit"]


def test_core10_constants_from_instrument_library(sessions) -> None:
    inst = get_instrument("CORE-10")
    assert [r.points for r in inst.reliable_change if r.scale == "total"] == [6]
    assert [c.value for c in inst.cutoffs if c.scale == "total"] == [10]
    out = runner.invoke(app, ["monitor", str(sessions), *BASE, "--instrument", "CORE-10", "--scale", "total", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    change = {r["client"]: r for r in payload["change"]["table"]}
    assert change["a"]["classification"] == "recovered"  # 22 -> 9: change 13 >= 6, below cut-off 10
    assert change["b"]["classification"] == "deteriorated"
    assert change["solo"]["classification"] is None and "only one scored session" in change["solo"]["note"]
    d = payload["change"]["details"]
    assert d["method"] == "published-points" and d["min_reliable_change"] == 6 and d["cutoff"] == 10
    # same classification as the stats layer with the constants as plain arguments
    lib = client_change(pd.read_csv(sessions)[lambda x: x["id"] != "solo"], client="id", session="visit",
                        measure="CORE-10_total", rc_points=6, cutoff=10)  # fmt: skip
    assert lib.table["classification"].tolist() == [change["a"]["classification"], change["b"]["classification"]]


def test_ors_plain_constants_and_text(tmp_path) -> None:
    path = tmp_path / "ors.csv"
    pd.DataFrame({"client": [1, 1, 2, 2], "session": [1, 5, 1, 5], "ORS": [18, 31, 30, 24]}).to_csv(path, index=False)
    out = runner.invoke(app, ["monitor", str(path), "--measure", "ORS", "--rc-points", "5", "--cutoff", "25",
                              "--higher-is-better"])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "recovered" in out.stdout and "lower scores are worse" in out.stdout


def test_reference_fit_then_monitor_with_ruptures_and_figures(sessions, tmp_path) -> None:
    ref_path = tmp_path / "ref.json"
    out = runner.invoke(app, ["reference", "fit", str(_reference_csv(tmp_path / "ref.csv")), "-o", str(ref_path),
                              *BASE])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "Expected-response reference (hlm)" in out.stdout and Reference.load(ref_path).fit["n_clients"] == 40
    fig = tmp_path / "chart.png"
    args = ["--reference", str(ref_path), "--alliance", "wai", "--therapist-alliance", "wai_t", "--sd-ref", "0.3"]
    out = runner.invoke(app, ["monitor", str(sessions), *BASE, *args, "--figure", str(fig), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert set(payload) == {"expected", "ruptures", "alliance_gap"}
    status = {(r["client"], r["session"]): r["status"] for r in payload["expected"]["table"]}
    assert status[("a", 0)] == "grey" and status[("b", 5)] == "red"
    events = payload["ruptures"]["table"]
    # b's drop at session 3 has only 2 later sessions: pending, not yet unresolved (J = 3)
    assert {(e["client"], e["status"]) for e in events} == {("a", "repaired"), ("b", "pending")}
    assert any(r["flag"] for r in payload["alliance_gap"]["table"])
    for cid in ("a", "b", "solo"):
        assert (tmp_path / f"chart_{cid}.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--measure", "CORE10_total", "--client-col", "id", "--session-col", "visit", "--rc-points", "6"],
         "did you mean 'CORE-10_total'"),
        ([*BASE, "--instrument", "CORE-10"], "--instrument and --scale go together"),
        ([*BASE], "nothing to do"),
        ([*BASE, "--client", "zz", "--rc-points", "6"], "--client 'zz' not found"),
        ([*BASE, "--reference", "missing.json"], "reference file not found"),
    ],
)  # fmt: skip
def test_errors_are_one_line_exit_2(sessions, args, message) -> None:
    out = runner.invoke(app, ["monitor", str(sessions), *args])
    assert out.exit_code == 2, out.output
    assert message in out.output and "Traceback" not in out.output


def test_reference_too_few_clients(tmp_path) -> None:
    out = runner.invoke(app, ["reference", "fit", str(_reference_csv(tmp_path / "small.csv", n=8)), "-o",
                              str(tmp_path / "r.json"), *BASE])  # fmt: skip
    assert out.exit_code == 2
    assert "needs at least 20 clients" in out.output and not (tmp_path / "r.json").exists()


def test_duplicate_sessions_error(tmp_path) -> None:
    path = tmp_path / "dup.csv"
    pd.DataFrame({"client": [1, 1], "session": [1, 1], "y": [3, 4]}).to_csv(path, index=False)
    out = runner.invoke(app, ["monitor", str(path), "--measure", "y", "--rc-points", "5"])
    assert out.exit_code == 2 and "client 1 has session 1 more than once" in out.output
