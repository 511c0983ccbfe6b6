"""CLI tests for instruments, score, reliability and demo (change: tests/cli/test_change.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tests.cli.conftest import phq_frame, phq_items
from typer.testing import CliRunner

from sciplab.cli.main import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_instruments_list_json_has_every_required_instrument():
    res = run("instruments", "list", "--json")
    assert res.exit_code == 0, res.output
    ids = {row["id"] for row in json.loads(res.stdout)}
    assert {"ECR", "PHQ-9", "IIP-SC", "CATS"} <= ids


def test_instruments_show_ecr_lists_reverse_items():
    res = run("instruments", "show", "ECR", "--json")
    assert res.exit_code == 0
    info = json.loads(res.stdout)
    assert info["key"]["reverse"] == [3, 15, 19, 22, 25, 27, 29, 31, 33, 35]
    assert info["item_text"] == {}


def test_unknown_instrument_is_one_line_exit_2():
    res = run("instruments", "show", "ECRR-X")
    assert res.exit_code == 2
    assert "unknown instrument" in res.output
    assert "Traceback" not in res.output


def test_score_writes_output_and_keeps_input(tmp_path):
    src = tmp_path / "in.csv"
    df = phq_frame([[1] * 9, [3] * 9])
    df.insert(0, "client", ["a", "b"])
    df.to_csv(src, index=False)
    before = src.read_bytes()
    out = tmp_path / "out.csv"
    res = run("score", str(src), "--instrument", "PHQ-9", "-o", str(out))
    assert res.exit_code == 0, res.output
    scored = pd.read_csv(out)
    assert scored["PHQ-9_total"].tolist() == [9, 27]
    assert scored["client"].tolist() == ["a", "b"]
    assert src.read_bytes() == before
    again = run("score", str(src), "--instrument", "PHQ-9", "-o", str(out))
    assert again.exit_code == 2 and "already exists" in again.output
    assert run("score", str(src), "-i", "PHQ-9", "-o", str(src)).exit_code == 2


def test_score_json_and_invalid_values(tmp_path):
    src = tmp_path / "in.csv"
    phq_frame([[1] * 9, [1, 1, 1, 1, 9, 1, 1, 1, 1]]).to_csv(src, index=False)
    res = run("score", str(src), "-i", "PHQ-9")
    assert res.exit_code == 2
    assert "row 2" in res.output and "PHQ9_5" in res.output and "item 5" in res.output
    assert "expected an integer from 0 to 3" in res.output
    res = run("score", str(src), "-i", "PHQ-9", "--on-invalid", "missing", "--min-answered", "8", "--json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["scores"][1]["PHQ-9_total"] == pytest.approx(9.0)
    assert payload["validity"][1]["PHQ-9_total_status"] == "prorated"


def test_score_with_mapping_file(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({f"q{i}": [2] for i in range(1, 10)}).to_csv(src, index=False)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({str(i): f"q{i}" for i in range(1, 10)}))
    res = run("score", str(src), "-i", "PHQ-9", "--map", str(mapping), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["scores"][0]["PHQ-9_total"] == 18


def test_score_cats_without_key_explains(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({f"CATS_{i:02d}": [3] for i in range(1, 37)}).to_csv(src, index=False)
    res = run("score", str(src), "-i", "CATS")
    assert res.exit_code == 2
    assert "--key FILE" in res.output and "never guesses" in res.output


def test_score_bad_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in run("score", str(empty), "-i", "PHQ-9").output
    odd = tmp_path / "data.foo"
    odd.write_text("x")
    res = run("score", str(odd), "-i", "PHQ-9")
    assert res.exit_code == 2 and "supported" in res.output


def test_reliability_cli(tmp_path):
    src = tmp_path / "in.csv"
    phq_items().to_csv(src, index=False)
    res = run("reliability", str(src), "-i", "PHQ-9", "--json")
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["table"][0]
    assert row["alpha_lci"] < row["alpha"] < row["alpha_uci"]


def test_demo_scores_fits_and_writes_report(tmp_path):
    report = tmp_path / "demo.html"
    res = run("demo", "--json", "--report", str(report), "--bootstrap", "300")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    cols = {r["column"] for r in payload["reliability"]}
    assert {"ECR-S_anxiety", "PHQ-9_total", "MSPSS_total"} <= cols
    assert all(0.5 < r["alpha"] < 1 for r in payload["reliability"])
    table = payload["fit"]["parameters"] if "parameters" in payload["fit"] else payload["fit"]["table"]
    paths = {(r["lhs"], r["rhs"]): r for r in table if r["op"] == "~"}
    # the bundled data were generated with these signs (scripts/make_example_data.py)
    assert paths[("social_self_efficacy", "attachment_avoidance")]["est"] < 0
    assert paths[("social_support", "social_self_efficacy")]["est"] > 0
    assert "<svg" in report.read_text()
    # a second run may replace its own report, but never a file the user made
    assert run("demo", "--report", str(report), "--bootstrap", "100").exit_code == 0
    mine = tmp_path / "mine.html"
    mine.write_text("<p>my notes</p>")
    res = run("demo", "--report", str(mine), "--bootstrap", "100")
    assert res.exit_code == 2 and "was not written by" in res.output
    assert mine.read_text() == "<p>my notes</p>"


# --- option ranges, side files, inputs, reliability text -------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "abc", "2.5"])
def test_min_answered_is_checked_when_parsed(tmp_path, value):
    src = tmp_path / "in.csv"
    phq_frame([[1] * 9]).to_csv(src, index=False)
    res = run("score", str(src), "-i", "PHQ-9", "--min-answered", value)
    assert res.exit_code == 2 and "--min-answered" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("map.json", b"\xff\xfe{", "not UTF-8"),
        ("map.csv", b"", "empty"),
        ("map.json", b"[" * 3000 + b"]" * 3000, "nested too deeply"),
        ("map.toml", b"a = " + b"[" * 3000 + b"]" * 3000, "nested too deeply"),
        ("map.json", b'{"1": 5}', "field '1'"),
        ("map.json", b"[1, 2]", "must be a table"),
        ("map.yaml", b"a: b", "must be .json, .toml or .csv"),
    ],
)
def test_mapping_side_file_errors_name_the_file(tmp_path, name, content, expected):
    src = tmp_path / "in.csv"
    phq_frame([[1] * 9]).to_csv(src, index=False)
    mapping = tmp_path / name
    mapping.write_bytes(content)
    res = run("score", str(src), "-i", "PHQ-9", "--map", str(mapping))
    assert res.exit_code == 2, res.output
    assert expected in res.output and name in res.output and "Traceback" not in res.output


def test_score_never_replaces_a_hard_link_of_its_input(tmp_path):
    import os

    src = tmp_path / "in.csv"
    phq_frame([[1] * 9]).to_csv(src, index=False)
    before = src.read_bytes()
    link = tmp_path / "link.csv"
    os.link(src, link)
    res = run("score", str(src), "-i", "PHQ-9", "-o", str(link), "--overwrite")
    assert res.exit_code == 2 and "input" in res.output
    assert src.read_bytes() == before


def test_reliability_text_marks_heywood_cases_and_shows_items_on_request(tmp_path):
    from tests.cli.conftest import phq_items

    src = tmp_path / "in.csv"
    phq_items().to_csv(src, index=False)
    res = run("reliability", str(src), "-i", "PHQ-9")
    assert res.exit_code == 0, res.output
    assert "Heywood" in res.stdout and "alpha if deleted" not in res.stdout
    res = run("reliability", str(src), "-i", "PHQ-9", "--items")
    assert "alpha if deleted" in res.stdout and "item-rest r" in res.stdout and "PHQ9_9" in res.stdout
    bad = run("reliability", str(src), "-i", "PHQ-9", "--level", "1.5")
    assert bad.exit_code == 2 and "--level" in bad.output


def test_heywood_cases_are_flagged_in_the_table(shared_data):
    res = run("reliability", str(shared_data / "raw_iipsc.csv"), "-i", "IIP-SC", "--on-invalid", "missing")
    assert res.exit_code == 0, res.output
    flagged = [ln for ln in res.stdout.splitlines() if ln.strip().startswith("IIP-SC_") and ln.rstrip().endswith("yes")]
    assert flagged, res.stdout
    assert "Heywood case (" in res.stdout
