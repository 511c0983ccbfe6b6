"""Every case of issue 11 and of issue 10 items 3, 4, 8, 10, 11, 12, as an explicit example of a property.

Each test names its issue item; the ``@example`` is the reported case, ``@given`` the class around it.
Marked ``xfail`` (not strict) while the room that owns the defect fixes it; the lead removes the marks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import sciplab
from sciplab._core.errors import SciplabError

from . import harness as h

PHQ = [f"PHQ9_{i:02d}" for i in range(1, 10)]


def xfail(reason: str):
    return pytest.mark.xfail(reason=reason, strict=False)


def phq_frame(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.integers(0, 4, size=(n, 9)), columns=PHQ)


# ---- issue 11 item 1 / issue 10 item 4: outputs --------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_reference_fit_output_is_its_input(overwrite):
    with h.workspace() as ws:
        args = ["reference", "fit", "sessions.csv", "--measure", "CORE-10_total", "-o", "sessions.csv"]
        run = h.run_cli([*args, *(["--overwrite"] if overwrite else [])], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert "sessions.csv" in run.output


def test_score_output_hard_link_of_input():
    with h.workspace() as ws:
        phq_frame().to_csv("in.csv", index=False)
        os.link("in.csv", "link.csv")
        run = h.run_cli(["score", "in.csv", "-i", "PHQ-9", "-o", "link.csv", "--overwrite"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output


def test_fit_report_is_its_input():
    with h.workspace() as ws:
        run = h.run_cli(["fit", "paths.csv", "--model", "y ~ x", "--ci", "none", "--report", "paths.csv",
                         "--overwrite"], ws)  # fmt: skip
        h.assert_clean(run)
        assert run.exit_code == 2, run.output


def _output_options():
    for cmd in h.commands():
        opts = [p for p in cmd.params if set(p.opts) & set(h.OUTPUT_OPTIONS) and cmd.path in h.BASELINES]
        for p in opts:
            yield pytest.param(cmd, p, id=f"{cmd.name} {p.opts[0]}")


OUTPUT_REASONS = {}


@pytest.mark.parametrize(("cmd", "param"), list(_output_options()))
def test_every_output_option_refuses_an_existing_file(cmd, param, request):
    """Issue 10 item 4: no command replaces an existing file without --overwrite, and says which option to use."""
    reason = OUTPUT_REASONS.get(cmd.path)
    if reason:
        request.applymarker(xfail(reason))
    args = list(h.BASELINES[cmd.path])
    if set(param.opts) & set(args):
        i = next(i for i, a in enumerate(args) if a in param.opts)
        name = args[i + 1]
    else:
        ext = {"--figure": ".png", "--report": ".html", "--validity": ".csv"}.get(param.opts[0], ".json")
        name = "precious" + ext
        args += [param.opts[0], name]
    with h.workspace() as ws:
        target = ws / name
        if "--out" in param.opts:
            target.mkdir()
            (target / "keep.txt").write_text("precious", encoding="utf-8")
        else:
            target.write_text("precious", encoding="utf-8")
        run = h.run_cli([*cmd.path, *args], ws, cmd=cmd)
        h.assert_clean(run)  # includes: no existing file replaced without --overwrite
        if run.exit_code == 2 and cmd.option("--overwrite") is not None:
            assert "--overwrite" in run.output, f"the error should name the CLI option:\n{run.output}"


# ---- issue 11 item 2: duplicated headers ----------------------------------------------------------


def _write_dup(frame_cols, rows, fmt, path):
    frame = pd.DataFrame(rows, columns=frame_cols)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    else:
        frame.to_excel(path, index=False)


@given(inst=st.sampled_from(["ECR-S", "PHQ-9"]), fmt=st.sampled_from(["csv", "tsv", "xlsx"]), which=st.integers(0, 8))
@example(inst="ECR-S", fmt="csv", which=0)
@example(inst="PHQ-9", fmt="csv", which=0)
@h.fuzz_settings(6)
def test_duplicated_headers_are_refused_by_name(inst, fmt, which):
    prefix, n = ("ECRS", 12) if inst == "ECR-S" else ("PHQ9", 9)
    cols = [f"{prefix}_{i:02d}" for i in range(1, n + 1)]
    dup = cols[which]
    cols = [*cols, dup]
    rows = np.random.default_rng(1).integers(1, 4, size=(5, len(cols)))
    with h.workspace() as ws:
        _write_dup(cols, rows, fmt, ws / f"dup.{fmt}")
        run = h.run_cli(["score", f"dup.{fmt}", "-i", inst], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert dup in run.output


# ---- issue 11 item 3: non-finite values and options -------------------------------------------------


@given(value=st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999"]))
@example(value="nan")
@h.fuzz_settings(3)
def test_change_non_finite_cutoff_is_refused(value):
    with h.workspace() as ws:
        run = h.run_cli(["change", "pre.csv", "post.csv", "-i", "CORE-10", "--scale",
                         "total", "--id", "client", "--cutoff", value], ws)  # fmt: skip
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert "--cutoff" in run.output


@given(value=st.sampled_from(["nan", "inf", "-inf"]))
@example(value="nan")
@h.fuzz_settings(3)
def test_monitor_non_finite_cutoff_is_refused(value):
    with h.workspace() as ws:
        run = h.run_cli(["monitor", "sessions.csv", "--measure", "CORE-10_total", "--rc-points", "5",
                         "--cutoff", value], ws)  # fmt: skip
        h.assert_clean(run)
        assert run.exit_code == 2, run.output


@given(value=st.sampled_from(["1e999", "-1e999", "1e400", "2e308"]))  # inf/nan would be labels
@example(value="1e999")
@h.fuzz_settings(3)
def test_non_finite_fixed_coefficient_is_a_syntax_error(value):
    from sciplab.stats.syntax import parse_model

    with pytest.raises(sciplab.ModelSyntaxError, match=re.escape(value)):
        parse_model(f"y ~ {value}*x")


def test_complex_values_are_refused():
    frame = phq_frame().astype(complex)
    frame.iloc[0, 0] = 1 + 2j
    with pytest.raises(sciplab.DataError):
        sciplab.score(frame, "PHQ-9")


# ---- issue 11 item 4 / issue 10 item 10: user text is never markup ---------------------------------

markup = st.sampled_from(["[/bad]", "[/x]", "[red]", "[bold]x[/bold]", "q[sq001]", "[link=x]y[/link]"]) | st.builds(
    lambda a, b: f"{a}[/{b}]", st.text("abc", max_size=3), st.text("xyz", min_size=1, max_size=3)
)


@given(name=markup)
@example(name="[/bad]")
@h.fuzz_settings(5)
def test_markup_in_file_name_is_printed_literally(name):
    with h.workspace() as ws:
        target = ws / f"{name}.csv"  # "[/bad].csv" is the file "bad].csv" in the folder "["
        target.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"a": [1]}).to_csv(target, index=False)
        run = h.run_cli(["score", f"{name}.csv", "-i", "PHQ-9"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2
        assert f"{name}.csv" in run.output.replace("\n", "")


@given(column=markup)
@example(column="score[/x]")
@example(column="q[sq001]")
@h.fuzz_settings(5)
def test_markup_in_column_name_is_printed_literally(column):
    with h.workspace() as ws:
        # a duplicated header is refused by name: the message must show the name as written
        (ws / "cols.csv").write_text(f'"{column}","{column}",PHQ9_01\n1,2,3\n', encoding="utf-8")
        run = h.run_cli(["score", "cols.csv", "-i", "PHQ-9"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2
        assert column in run.output.replace("\n", "")


@given(text=markup)
@example(text="[red]PHQ[/red]")
@h.fuzz_settings(5)
def test_markup_in_option_value_is_printed_literally(text):
    with h.workspace() as ws:
        run = h.run_cli(["score", "items.csv", "-i", text], ws)
        h.assert_clean(run)
        assert run.exit_code == 2
        assert text in run.output.replace("\n", "")


def test_ssm_footer_keeps_brackets():
    with h.workspace() as ws:
        args = ["ssm", "octants.csv", "--scales", ",".join(h.OCTANT_SCALES), "--bootstrap", "200", "--seed", "1"]
        run = h.run_cli(args, ws)
        h.assert_clean(run)
        assert run.exit_code == 0, run.output
        assert "[hi, lo]" in run.output


def test_help_keeps_bracketed_text():
    with h.workspace() as ws:
        run = h.run_cli(["simulate", "sweep", "--help"], ws)
        assert run.exit_code == 0
        assert "[grid]" in run.output and "[fixed]" in run.output


# ---- issue 11 item 5: side files ----------------------------------------------------------------


@given(content=st.sampled_from([b"\xff\xfe\x00bad", b"", b"[" * 3000 + b"]" * 3000]),
       ext=st.sampled_from([".json", ".toml", ".csv"]))  # fmt: skip
@example(content=b"\xff\xfe\x00bad", ext=".json")
@example(content=b"", ext=".csv")
@example(content=b"[" * 3000 + b"]" * 3000, ext=".json")
@example(content=b"a = " + b"[" * 3000 + b"]" * 3000, ext=".toml")
@h.fuzz_settings(6)
def test_broken_map_files(content, ext):
    with h.workspace() as ws:
        (ws / f"map{ext}").write_bytes(content)
        run = h.run_cli(["score", "items.csv", "-i", "PHQ-9", "--map", f"map{ext}"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert f"map{ext}" in run.output


@given(content=st.sampled_from([b"\x00\xff\xfe" * 50, b"y ~ " + b"(" * 3000 + b"x" + b")" * 3000]))
@example(content=b"\x00\xff\xfe" * 50)
@h.fuzz_settings(2)
def test_broken_model_files(content):
    with h.workspace() as ws:
        (ws / "bad.lav").write_bytes(content)
        run = h.run_cli(["fit", "paths.csv", "--model", "bad.lav", "--ci", "none"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output


def _mutations():
    """(path in the reference JSON, new value) pairs that a loader must refuse or survive."""
    return st.tuples(
        st.sampled_from(["sigma2", "cov_re", "fe_params", "columns", "method", "version", "quantiles", "n_clients"]),
        st.sampled_from([None, -1.0, "x", [], {}, [[1, 2], [3]], [[-1, 0], [0, -1]], 1e308, True]),
    )


def _mutate(obj, key, value):
    """Set ``key`` wherever it occurs in the nested reference JSON; True when something changed."""
    hit = False
    if isinstance(obj, dict):
        for k in list(obj):
            if k == key:
                obj[k] = value
                hit = True
            else:
                hit = _mutate(obj[k], key, value) or hit
    elif isinstance(obj, list):
        for item in obj:
            hit = _mutate(item, key, value) or hit
    return hit


@given(mutation=_mutations())
@example(mutation=("sigma2", -1.0))
@example(mutation=("cov_re", [[-1, 0], [0, -1]]))
@h.fuzz_settings(5)
def test_mutated_reference_file(mutation):
    key, value = mutation
    with h.workspace() as ws:
        ref = json.loads((ws / "ref.json").read_text(encoding="utf-8"))
        if not _mutate(ref, key, value):
            ref[key] = value
        (ws / "bad_ref.json").write_text(json.dumps(ref), encoding="utf-8")
        run = h.run_cli(["monitor", "sessions.csv", "--measure", "CORE-10_total", "--rc-points", "5",
                         "--reference", "bad_ref.json"], ws)  # fmt: skip
        h.assert_clean(run)


# ---- issue 11 item 6: a definition that validates must score ----------------------------------------


def test_duplicate_band_labels_are_refused_at_load():
    shipped = Path(sciplab.__file__).parent / "instruments" / "definitions" / "PHQ-9.toml"
    text = shipped.read_text(encoding="utf-8")
    text = text.replace('id = "PHQ-9"', 'id = "PHQX"').replace('aliases = ["PHQ9"]', "aliases = []")
    text = text.replace('column_prefixes = ["PHQ9", "PHQ"]', 'column_prefixes = ["PHQ9"]')
    text = text.replace('{ label = "mild", min = 5, max = 9 }', '{ label = "minimal", min = 5, max = 9 }')
    with h.workspace() as ws:
        (ws / "defs").mkdir()
        (ws / "defs" / "PHQX.toml").write_text(text, encoding="utf-8")
        run = h.run_cli(["score", "items.csv", "-i", "PHQX", "--instruments-dir", "defs"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert "minimal" in run.output


# ---- issue 11 item 7: figures --------------------------------------------------------------------


def _sessions_with_ids(ids):
    frame = h.sessions_frame(n_clients=len(ids))
    mapping = dict(zip(sorted(frame["client"].unique()), ids, strict=True))
    frame["client"] = frame["client"].map(mapping)
    return frame


@given(bad=st.sampled_from(["a/b", "$\\foo{$", "..", "$x^$", "a\\b", "[/x]", "<b>"]))
@example(bad="a/b")
@example(bad="$\\foo{$")
@h.fuzz_settings(4)
def test_monitor_figures_with_hostile_client_ids(bad):
    with h.workspace() as ws:
        _sessions_with_ids(["ok1", "ok2", bad]).to_csv("ids.csv", index=False)
        run = h.run_cli(["monitor", "ids.csv", "--measure", "CORE-10_total", "--rc-points", "5",
                         "--figure", "fig.png"], ws)  # fmt: skip
        h.assert_clean(run)
        if run.exit_code == 0:
            assert len(list(ws.glob("fig*.png"))) == 3


@given(label=st.sampled_from(["$\\foo{$", "$x^$", "a/b", "[/x]"]))
@example(label="$\\foo{$")
@h.fuzz_settings(3)
def test_ssm_figure_with_hostile_group_labels(label):
    with h.workspace() as ws:
        frame = pd.read_csv("octants.csv")
        frame["Gender"] = frame["Gender"].replace({"Male": label})
        frame.to_csv("groups.csv", index=False)
        run = h.run_cli(["ssm", "groups.csv", "--scales", ",".join(h.OCTANT_SCALES), "--group", "Gender",
                         "--bootstrap", "200", "--seed", "1", "--figure", "circle.png"], ws)  # fmt: skip
        h.assert_clean(run)
        assert run.exit_code == 0, run.output


# ---- issue 11 items 8 and 11: extreme values, deep input, bounded work --------------------------------


@given(depth=st.integers(1, 400))
@example(depth=198)
@h.fuzz_settings(5)
def test_deeply_nested_defined_parameter(depth):
    from sciplab.stats.syntax import parse_model

    model = "m ~ a*x\ny ~ b*m\nab := " + "(" * depth + "a*b" + ")" * depth
    h.call_api(parse_model, model)


@pytest.mark.parametrize("expr", ["+".join(["a"] * 1000), "-" * 990 + "a", "a*" * 600 + "b"])
def test_long_expressions(expr):
    from sciplab.stats.syntax import parse_model

    h.call_api(parse_model, f"m ~ a*x\ny ~ b*m\nd := {expr}")


@given(text=st.sampled_from(["", " ", "# c", ";", "\n", "\t;"]))
@example(text="")
@h.fuzz_settings(6)
def test_empty_expression(text):
    from sciplab.stats.syntax import parse_expression

    with pytest.raises(sciplab.ModelSyntaxError):
        parse_expression(text)


@given(scale=st.sampled_from([1e160, 1e-160, 1e200, 1e150]))
@example(scale=1e160)
@h.fuzz_settings(3)
def test_paths_on_extreme_scales(scale):
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    frame = pd.DataFrame({"x": x, "m": x + rng.normal(size=50), "y": x + rng.normal(size=50)}) * scale
    h.call_api(sciplab.paths, frame, "m ~ x\ny ~ m + x", bootstrap=0, ci="none")


@given(value=st.sampled_from(["nan", "inf", "-inf", "1e999", "-1"]))
@example(value="nan")
@h.fuzz_settings(4)
def test_min_answered_non_finite(value):
    with h.workspace() as ws:
        run = h.run_cli(["score", "items.csv", "-i", "PHQ-9", "--min-answered", value], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert "--min-answered" in run.output


def test_change_sd_not_a_number():
    with h.workspace() as ws:
        run = h.run_cli(["change", "pre.csv", "post.csv", "-i", "CORE-10", "--scale", "total", "--sd", "abc"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2


def _isolated(code: str, timeout: float, mem_gib: float = 2.0) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with a wall-clock and an address-space limit.

    A hang or a runaway allocation then fails this test instead of blocking or starving the suite.
    """
    prelude = textwrap.dedent(f"""
        import resource
        lim = int({mem_gib} * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    """)
    try:
        return subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"no answer after {timeout} s (unbounded work):\n{code}") from exc


CLI_IN_SUBPROCESS = """
    import sys
    from typer.testing import CliRunner
    from sciplab.cli.main import app
    res = CliRunner().invoke(app, {args!r})
    print(res.output)
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback; traceback.print_exception(res.exception)
    sys.exit(res.exit_code)
"""


@given(value=st.sampled_from(["99999999999999999999", "1000000000", "-1", "0"]))
@example(value="99999999999999999999")
@h.explicit_settings(1)
def test_repair_within_is_bounded(value):
    with h.workspace() as ws:
        h.sessions_frame().assign(wai=lambda f: f["WAI-SR_total"]).to_csv("s.csv", index=False)
        args = ["monitor", str(ws / "s.csv"), "--measure", "CORE-10_total", "--rc-points", "5", "--alliance",
                "WAI-SR_total", "--repair-within", value]  # fmt: skip
        proc = _isolated(CLI_IN_SUBPROCESS.format(args=args), timeout=60)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_huge_bootstrap_is_refused_or_bounded():
    with h.workspace() as ws:
        args = ["fit", str(ws / "paths.csv"), "--model", "m ~ a*x\ny ~ b*m + x\nab := a*b", "-B", "10000000",
                "--seed", "1"]  # fmt: skip
        proc = _isolated(CLI_IN_SUBPROCESS.format(args=args), timeout=60, mem_gib=3)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_fully_recursive_model_is_bounded():
    code = """
        import warnings
        import numpy as np, pandas as pd
        import sciplab
        warnings.simplefilter("ignore")
        k = 20
        names = [f"v{i}" for i in range(k)]
        rng = np.random.default_rng(0)
        data = pd.DataFrame(rng.normal(size=(200, k)), columns=names)
        model = "\\n".join(f"{names[j]} ~ " + " + ".join(names[:j]) for j in range(1, k))
        try:
            sciplab.paths(data, model, bootstrap=0, ci="none")
        except sciplab.SciplabError as exc:
            print("refused:", exc)
    """
    proc = _isolated(code, timeout=60, mem_gib=2)
    assert proc.returncode == 0, proc.stderr[-2000:]


# ---- issue 11 item 9: untyped API errors ------------------------------------------------------------


@pytest.mark.parametrize("fn", ["paths", "ssm", "ssm_scores"])
def test_duplicate_column_names_in_the_api(fn):
    rng = np.random.default_rng(0)
    if fn == "paths":
        frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["x", "y", "x"])
        call = (sciplab.paths, frame, "y ~ x")
    else:
        frame = pd.DataFrame(rng.normal(size=(30, 8)), columns=[*h.OCTANT_SCALES[:7], "PA"])
        call = (getattr(sciplab, fn), frame, h.OCTANT_SCALES)
    with pytest.raises(sciplab.DataError):
        call[0](*call[1:])


@pytest.mark.parametrize("case", ["chunk_size", "read_data"])
def test_untyped_argument_errors(case):
    with pytest.raises(SciplabError):
        if case == "read_data":
            sciplab.read_data(123)
        else:
            frame = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2)), columns=["x", "y"])
            sciplab.paths(frame, "y ~ x", bootstrap=100, chunk_size="a")


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_unusable_instruments_dir(kind):
    with h.workspace() as ws:
        if kind == "file":
            (ws / "defs").write_text("not a folder", encoding="utf-8")
        run = h.run_cli(["score", "items.csv", "-i", "PHQ-9", "--instruments-dir", "defs"], ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        assert "defs" in run.output


# ---- issue 11 item 12: escaping in every output format -------------------------------------------------


@given(cid=st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]))
@example(cid="<script>alert(1)</script>")
@h.fuzz_settings(2)
def test_markdown_report_escapes_user_text(cid):
    with h.workspace() as ws:
        pd.DataFrame({"client": [cid], "ECR-S_anxiety": [5.9], "ECR-S_avoidance": [2.3]}).to_csv("c.csv", index=False)
        run = h.run_cli(["formulate", "c.csv", "--client", cid, "--report", "r.md"], ws)
        h.assert_clean(run)
        assert run.exit_code == 0, run.output
        assert "<script" not in (ws / "r.md").read_text(encoding="utf-8").lower()
        assert "<img" not in (ws / "r.md").read_text(encoding="utf-8").lower()


# ---- issue 10 items 3, 8, 11, 12 ------------------------------------------------------------------------


def test_spss_output_with_hyphenated_names():
    rng = np.random.default_rng(0)
    with h.workspace() as ws:
        pd.DataFrame(rng.integers(0, 5, size=(10, 32)), columns=[f"IIP{i:02d}" for i in range(1, 33)]).to_csv(
            "raw_iipsc.csv", index=False
        )
        run = h.run_cli(["score", "raw_iipsc.csv", "-i", "IIP-SC", "-o", "iip.sav"], ws)
        h.assert_clean(run)
        assert run.exit_code == 0, run.output
        back = sciplab.read_data(ws / "iip.sav")
        assert len(back) == 10


def test_identifiers_are_never_truncated(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with h.workspace() as ws:
        run = h.run_cli(["fit", "scored.csv", "--model", "scip-core", "--map", "constructs.json", "-B", "1000",
                         "--seed", "1"], ws)  # fmt: skip
        h.assert_clean(run)
        assert run.exit_code == 0, run.output
        for name in ("social_self_efficacy", "attachment_anxiety", "attachment_avoidance"):
            assert name in run.output
        # "anxiety → … → support" elides a chain on purpose; an identifier is never cut before "…"
        assert not re.search(r"\w…", run.output), run.output


@pytest.mark.parametrize(
    "args",
    [
        ["score", "items.csv", "-i", "PHQ-9", "-o", "scored.csv"],
        ["ssm", "octants.csv", "--scales", "PA,BC,DE,FG,HI,JK,LM,NO", "--angles", "0,45,90", "--bootstrap", "0"],
        [
            "ssm",
            "octants.csv",
            "--scales",
            "PA,BC,DE,FG,HI,JK,LM,NO",
            "--group",
            "Gender",
            "--measures",
            "PARPD,NARPD",
            "--contrast",
            "--bootstrap",
            "0",
        ],
    ],
    ids=["overwrite", "angles", "contrast"],
)
def test_cli_errors_name_cli_options(args):
    with h.workspace() as ws:
        run = h.run_cli(args, ws)
        h.assert_clean(run)
        assert run.exit_code == 2, run.output
        for api_word in ("overwrite=True", "angles_deg", "contrast='pairwise'", "pass reliability="):
            assert api_word not in run.output


def test_warnings_are_one_clean_line():
    rng = np.random.default_rng(0)
    with h.workspace() as ws:
        pd.DataFrame(rng.normal(size=(20, 8)), columns=h.OCTANT_SCALES).to_csv("noise.csv", index=False)
        run = h.run_cli(["ssm", "noise.csv", "--scales", ",".join(h.OCTANT_SCALES), "--bootstrap", "20", "--seed", "1"],
                        ws)  # fmt: skip
        h.assert_clean(run)
        assert not re.search(r"\.py:\d+: \w*Warning", run.output), run.output
