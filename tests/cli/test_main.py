"""The CLI as a whole: the runner every command goes through, help, --version, printing, outputs."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.cli.conftest import invoke, path_scores, phq_frame

from sciplab._core.errors import DataError, DataWarning
from sciplab._core.results import package_version
from sciplab.cli import _common
from sciplab.cli.main import app


def test_version() -> None:
    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"sciplab {package_version()}"


def test_help_shows_no_type_after_flags_and_keeps_brackets() -> None:
    res = invoke("ssm", "--help")
    assert res.exit_code == 0
    lines = [ln for ln in res.stdout.splitlines() if "--json" in ln or "--overwrite" in ln]
    assert lines and not any("<bool>" in ln for ln in lines)
    sweep = invoke("simulate", "sweep", "--help")
    assert "[grid]" in sweep.stdout and "[fixed]" in sweep.stdout


def _commands() -> dict[str, typer.core.TyperCommand]:
    out: dict[str, typer.core.TyperCommand] = {}

    def walk(cmd: object, path: list[str]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():  # type: ignore[attr-defined]
                walk(sub, [*path, name])
        else:
            out[" ".join(path)] = cmd  # type: ignore[assignment]

    walk(typer.main.get_command(app), [])
    return out


def test_every_command_is_behind_the_runner() -> None:
    for name, cmd in _commands().items():
        assert getattr(cmd.callback, "__sciplab_runner__", False), name


def test_sciplab_error_is_one_line_with_exit_2(tmp_path: Path) -> None:
    res = invoke("score", tmp_path / "missing.csv", "-i", "PHQ-9")
    assert res.exit_code == 2
    assert res.output.strip().startswith("error: ") and len(res.output.strip().splitlines()) == 1


def test_unexpected_error_is_one_line_with_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sciplab.cli.score as score_cli

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(score_cli, "read_data", broken)
    res = invoke("score", tmp_path / "x.csv", "-i", "PHQ-9")
    assert res.exit_code == 1
    assert "Traceback" not in res.output
    line = res.output.strip()
    assert len(line.splitlines()) == 1 and "internal error" in line and "ZeroDivisionError: boom" in line


def test_warnings_are_one_clean_line_and_never_an_error(write_csv) -> None:
    frame = phq_frame([[1, 2, 0, 1, 2, 3, 1, 0, 2], [2, 1, 0, 3, 1, 2, 0, 1, 3], [0, 3, 0, 2, 1, 1, 2, 0, 1]])
    src = write_csv(frame)  # item 3 has no variance: reliability warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under pytest's filterwarnings = error
        res = invoke("reliability", src, "-i", "PHQ-9", "--json")
    assert res.exit_code == 0, res.output
    warn_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert warn_lines and all(ln.startswith("warning: ") for ln in warn_lines)
    assert "no variance" in res.stderr and ".py:" not in res.stderr and "DataWarning" not in res.stderr


def test_warning_printer_deduplicates(capsys: pytest.CaptureFixture[str]) -> None:
    with _common._warnings_as_lines():
        for _ in range(3):
            warnings.warn("same\nthing", DataWarning, stacklevel=1)
    assert capsys.readouterr().err.count("warning: same thing") == 1


@pytest.mark.parametrize(
    ("message", "options", "expected"),
    [
        ("x.png: already exists; pass overwrite=True (--overwrite)", {"overwrite": "--overwrite"},
         "x.png: already exists; pass --overwrite"),
        ("angles_deg has 8 angle(s) but there are 7 scales", {"angles": "--angles"}, "--angles has 8 angle(s)"),
        ("use contrast='pairwise' for all pairs", {"pairwise": "--pairwise", "contrast": "--contrast"},
         "use --pairwise for all pairs"),
        ("pass reliability= with your value", {"reliability": "--reliability"}, "pass --reliability with your value"),
        ("pass sd=NUMBER or sd='pre'", {"sd": "--sd"}, "pass --sd NUMBER or --sd pre"),
        ("pass on_invalid='missing' (--on-invalid missing)", {"on_invalid": "--on-invalid"},
         "pass --on-invalid missing"),
        ("pass threshold= please", {}, "pass threshold= please"),
    ],
)  # fmt: skip
def test_cli_wording(message: str, options: dict[str, str], expected: str) -> None:
    assert expected in _common.cli_wording(message, options)


def test_output_exists_names_the_option_only_where_it_exists(tmp_path: Path) -> None:
    from sciplab._core.files import OutputExistsError

    err = OutputExistsError(tmp_path / "a.csv")
    assert _common._error_message(err, {"overwrite": "--overwrite"}).endswith("choose another name or add --overwrite")
    assert _common._error_message(err, {}).endswith("already exists; choose another name")
    library = DataError("x.html: already exists; choose another name or pass overwrite=True (--overwrite)")
    assert _common._error_message(library, {}) == "x.html: already exists; choose another name"


# --- user text is never markup -------------------------------------------------------------------


def test_bracketed_file_and_column_names_print_as_written(tmp_path: Path) -> None:
    (tmp_path / "[").mkdir()
    src = tmp_path / "[/bad].csv"  # a folder "[" holding "bad].csv", as the shell reads it
    frame = phq_frame([[1] * 9, [2] * 9])
    frame.insert(0, "q[bold]", [1, 2])
    frame.insert(0, "score[/x]", [1, 2])
    frame.to_csv(src, index=False)
    res = invoke("score", src, "-i", "[red]PHQ[/red]")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "[red]PHQ[/red]" in res.output
    res = invoke("ssm", src, "--scales", "q[bold],score[/x],nope")
    assert res.exit_code == 2
    assert "MarkupError" not in res.output


def test_ssm_footer_keeps_brackets(shared_data: Path) -> None:
    res = invoke("ssm", shared_data / "jz2017.csv", "--scales", "PA,BC,DE,FG,HI,JK,LM,NO", "--bootstrap", "0")
    assert res.exit_code == 0, res.output
    assert "[hi, lo]" in res.stdout


# --- tables are never cut ------------------------------------------------------------------------


LONG = "social_self_efficacy_with_a_really_long_identifier"


def test_tables_keep_identifiers_when_piped_and_at_80_columns(write_csv) -> None:
    frame = path_scores()
    frame[LONG] = frame["PSSE_total"]
    src = write_csv(frame)
    for env in ({}, {"COLUMNS": "80"}):
        res = invoke("fit", src, "--model", f"{LONG} ~ ECR_anxiety", "-B", "0", "--ci", "none", env=env)
        assert res.exit_code == 0, res.output
        assert LONG in res.stdout and "…" not in res.stdout


def test_table_on_an_80_column_terminal_wraps_instead_of_cutting() -> None:
    from rich.console import Console

    term = Console(width=80, force_terminal=True, markup=False, record=True)
    table = _common.new_table("scale", "a", "b", "c")
    table.add_row(LONG + "_and_more_text_to_overflow", "x" * 30, "y" * 30, "z")
    term.print(table)
    text = term.export_text()
    assert "…" not in text
    assert "".join(text.split()).count("social_self_efficacy") == 1


def test_console_is_unbounded_off_a_terminal() -> None:
    assert not _common.console.is_terminal  # pytest captures stdout
    assert _common.console.width == _common.OFF_TERMINAL_WIDTH
    _common.console.size = (100, 10)  # the setter is kept working
    _common.console._width = None


# --- every command that writes honours the same rule ---------------------------------------------


def _recipes(tmp: Path) -> dict[tuple[str, str], tuple[list[str], Path]]:
    """(command, output option) -> (arguments before the output option, the input file)."""
    scores = tmp / "scores.csv"
    path_scores().to_csv(scores, index=False)
    items = tmp / "items.csv"
    phq_frame([[1] * 9, [2] * 9, [3] * 9]).to_csv(items, index=False)
    client = tmp / "client.csv"
    pd.DataFrame({"ECR-S_anxiety": [5.5], "ECR-S_avoidance": [2.0]}).to_csv(client, index=False)
    sessions = tmp / "sessions.csv"
    pd.DataFrame({"client": [1, 1, 2, 2], "session": [1, 2, 1, 2], "y": [20, 15, 22, 18]}).to_csv(
        sessions, index=False
    )
    fit = ["fit", str(scores), "--model", "PSSE_total ~ ECR_anxiety", "-B", "0", "--ci", "none"]
    model = tmp / "population.lav"
    model.write_text("m ~ 0.3*x\ny ~ 0.3*m\n", encoding="utf-8")
    power = ["power", "--model", str(model), "--n", "40", "--reps", "20", "--seed", "1"]
    return {
        ("power", "--report"): (power, model),
        # the figure check refuses a .lav target by its format first; the model file is protected when read
        ("power", "--figure"): (["power", "--model", "scip-core", "--n", "40", "--reps", "20"], tmp / "no-input"),
        ("score", "--output"): (["score", str(items), "-i", "PHQ-9"], items),
        ("score", "--validity"): (["score", str(items), "-i", "PHQ-9"], items),
        ("fit", "--report"): (fit, scores),
        ("fit", "--figure"): (fit, scores),
        ("ssm", "--figure"): (["ssm", str(scores), "--scales", "ECR_anxiety,ECR_avoidance,PSSE_total",
                               "--angles", "0,120,240", "--bootstrap", "0"], scores),
        ("formulate", "--report"): (["formulate", str(client)], client),
        ("monitor", "--figure"): (["monitor", str(sessions), "--measure", "y"], sessions),
        ("reference fit", "--output"): (["reference", "fit", str(sessions), "--measure", "y"], sessions),
        ("simulate report", "--output"): (["simulate", "report", str(tmp)], tmp / "persons.parquet"),
        ("simulate policies", "--output"): (["simulate", "policies", "-r", "2", "-n", "50", "--years", "0.1"],
                                            tmp / "no-input"),
    }  # fmt: skip


def _output_options() -> list[tuple[str, str]]:
    found = []
    for name, cmd in _commands().items():
        for param in cmd.params:
            opts = set(param.opts)
            # demo: its own rule, tested in test_demo; --out names a folder, checked by its command
            if opts & _common.OUTPUT_OPTIONS and name != "demo" and "--out" not in opts:
                found.append((name, max(param.opts, key=len)))
    return found


def test_every_output_option_has_a_recipe(tmp_path: Path) -> None:
    missing = set(_output_options()) - set(_recipes(tmp_path))
    assert not missing, f"add a recipe for {sorted(missing)}"


@pytest.mark.parametrize("case", _output_options(), ids=lambda c: f"{c[0]} {c[1]}")
def test_existing_output_is_refused_and_an_input_never_replaced(tmp_path: Path, case: tuple[str, str]) -> None:
    args, source = _recipes(tmp_path)[case]
    suffix = {"--figure": ".png", "--report": ".html", "--validity": ".csv", "--output": ".csv"}[case[1]]
    if case == ("reference fit", "--output"):
        suffix = ".json"
    existing = tmp_path / f"existing{suffix}"
    existing.write_text("keep me")
    res = invoke(*args, case[1], existing)
    assert res.exit_code == 2, res.output
    assert "already exists" in res.output and "overwrite=True" not in res.output
    assert existing.read_text() == "keep me"
    if not source.is_file():
        return
    before = source.read_bytes()
    link = tmp_path / f"link{source.suffix}"
    os.link(source, link)
    flags = ["--overwrite"] if "--overwrite" in {o for p in _commands()[case[0]].params for o in p.opts} else []
    for target in (source, link):
        res = invoke(*args, case[1], target, *flags)
        assert res.exit_code == 2, res.output
        assert "input" in res.output
        assert source.read_bytes() == before


@settings(max_examples=25, deadline=None)
@given(name=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12))
def test_any_column_name_is_printed_verbatim(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    """Property: whatever a column is called, an error naming it prints it as written, one line."""
    folder = tmp_path_factory.mktemp("names")
    src = folder / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0]}).to_csv(src, index=False)
    res = invoke("ssm", src, "--scales", f"a,{name.replace(',', '_')},b", "--bootstrap", "0")
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert json.dumps(res.output)  # printable
