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
    fig = tmp_path / "chart.pdf"
    args = ["--reference", str(ref_path), "--alliance", "wai", "--therapist-alliance", "wai_t", "--sd-ref", "0.3"]
    out = runner.invoke(app, ["monitor", str(sessions), *BASE, *args, "--figure", str(fig), "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert set(payload) == {"table", "details", "expected", "ruptures", "alliance_gap"}
    status = {(r["client"], r["session"]): r["status"] for r in payload["expected"]["table"]}
    assert status[("a", 0)] == "grey" and status[("b", 5)] == "red"
    events = payload["ruptures"]["table"]
    # b's drop at session 3 has only 2 later sessions: pending, not yet unresolved (J = 3)
    assert {(e["client"], e["status"]) for e in events} == {("a", "repaired"), ("b", "pending")}
    assert any(r["flag"] for r in payload["alliance_gap"]["table"])
    # one multi-page PDF, a page per client (was: one loose PNG per client; changed on purpose, issue 10.15)
    assert _pdf_pages(fig) == 3 and not list(tmp_path.glob("chart_*"))
    again = runner.invoke(app, ["monitor", str(sessions), *BASE, *args, "--figure", str(fig)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert (
        runner.invoke(app, ["monitor", str(sessions), *BASE, *args, "--figure", str(fig), "--overwrite"]).exit_code == 0
    )


def _pdf_pages(path) -> int:
    import re

    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


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


@pytest.fixture
def odd_ids(tmp_path):
    df = pd.DataFrame({"client": ["a/b"] * 3 + ["$\\foo{$"] * 3 + ["a_b"] * 3, "session": [1, 2, 3] * 3,
                       "y": [20, 15, 9, 20, 22, 25, 18, 18, 17]})  # fmt: skip
    path = tmp_path / "odd.csv"
    df.to_csv(path, index=False)
    return path


def test_figure_folder_with_index_and_safe_names(odd_ids, tmp_path) -> None:
    folder = tmp_path / "charts"
    out = runner.invoke(app, ["monitor", str(odd_ids), "--measure", "y", "--rc-points", "5", "--figure", str(folder)])
    assert out.exit_code == 0, out.output
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == ["a_b.png", "a_b_2.png", "foo.png"]
    index = (folder / "index.html").read_text()
    assert "Client a/b" in index and "Client $\\foo{$" in index and index.count("<li>") == 3
    again = runner.invoke(app, ["monitor", str(odd_ids), "--measure", "y", "--rc-points", "5", "--figure", str(folder)])
    assert again.exit_code == 2 and "never replaced" in again.output


def test_figure_writes_nothing_unless_everything_can_be(odd_ids, tmp_path, monkeypatch) -> None:
    import sciplab.plot.monitor as pm

    real = pm._client_data  # the per-client step of every writer
    calls = []

    def flaky(*args, **kwargs):
        calls.append(kwargs["client_id"])
        if len(calls) == 2:
            raise pm.DataError("drawing failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(pm, "_client_data", flaky)
    for target in (tmp_path / "all.pdf", tmp_path / "folder"):
        calls.clear()
        out = runner.invoke(app, ["monitor", str(odd_ids), "--measure", "y", "--rc-points", "5", "--figure",
                                  str(target)])  # fmt: skip
        assert out.exit_code == 2 and "drawing failed" in out.output
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.csv"]  # no temporary file left either
    png = runner.invoke(app, ["monitor", str(odd_ids), "--measure", "y", "--rc-points", "5", "--figure",
                              str(tmp_path / "one.png")])  # fmt: skip
    assert png.exit_code == 2 and "3 clients need one multi-page .pdf" in png.output


def test_one_client_png(odd_ids, tmp_path) -> None:
    out = runner.invoke(app, ["monitor", str(odd_ids), "--measure", "y", "--rc-points", "5", "--client", "$\\foo{$",
                              "--figure", str(tmp_path / "one.png")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (tmp_path / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_clients_table_and_non_finite_cutoff(sessions) -> None:
    out = runner.invoke(app, ["monitor", str(sessions), *BASE, "--rc-points", "6", "--cutoff", "10", "--clients"])
    assert out.exit_code == 0, out.output
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line.split()}
    assert rows["a"][-1] == "recovered" and rows["b"][-1] == "deteriorated" and rows["solo"][-1] == "-"
    for value in ("nan", "inf", "-inf"):
        bad = runner.invoke(app, ["monitor", str(sessions), *BASE, "--rc-points", "6", "--cutoff", value])
        assert bad.exit_code == 2 and "cutoff must be a finite number" in bad.output, bad.output
    bad = runner.invoke(app, ["monitor", str(sessions), *BASE, "--instrument", "CORE-10", "--scale", "total",
                              "--cutoff", "nan"])  # fmt: skip
    assert bad.exit_code == 2 and "cutoff must be a finite number" in bad.output


def test_huge_repair_window_returns_at_once(sessions) -> None:
    out = runner.invoke(app, ["monitor", str(sessions), *BASE, "--alliance", "wai", "--sd-ref", "0.3",
                              "--repair-within", "99999999999999999999"])  # fmt: skip
    assert out.exit_code == 2 and "J must be an integer from 1 to 1000" in out.output


def test_reference_fit_never_replaces_its_input_or_an_existing_file(tmp_path) -> None:
    data = _reference_csv(tmp_path / "s.csv")
    before = data.read_bytes()
    out = runner.invoke(app, ["reference", "fit", str(data), *BASE, "-o", str(data)])
    assert out.exit_code == 2 and "is an input file" in out.output and data.read_bytes() == before
    out = runner.invoke(app, ["reference", "fit", str(data), *BASE, "-o", str(data), "--overwrite"])
    assert out.exit_code == 2 and "is an input file" in out.output and data.read_bytes() == before
    precious = tmp_path / "precious.json"
    precious.write_text("{}")
    out = runner.invoke(app, ["reference", "fit", str(data), *BASE, "-o", str(precious)])
    assert out.exit_code == 2 and "already exists" in out.output and precious.read_text() == "{}"
    out = runner.invoke(app, ["reference", "fit", str(data), *BASE, "-o", str(precious), "--overwrite"])
    assert out.exit_code == 0, out.output
    assert Reference.load(precious).fit["n_clients"] == 40
