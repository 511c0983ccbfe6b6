"""Shared machinery of the fuzz suite: the CLI enumerated from the app, a workspace of valid input files,
a checked in-process run (exit code, traceback, files changed) and hostile values.

Every CLI command is found by walking ``sciplab.cli.main.app``, so a new command is fuzzed without
editing this file: when it has no entry in :data:`BASELINES` it is fuzzed with generated values for
all of its parameters. A baseline is a known-good invocation inside the workspace; the fuzzers
replace one of its values (or one of its files) with hostile input.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import signal
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sciplab._core.errors import SciplabError
from sciplab.cli.main import app

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

#: Seconds one in-process CLI run may take before the run is stopped and reported as a hang.
#: A guard against blocking the suite, not a timing assertion: every baseline runs in about a second.
HANG_SECONDS = 60

SLOW_EXAMPLES = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def scaled(n: int) -> int:
    """Examples for one fuzz test: ``n`` under the default/ci profiles, proportionally more under ``fuzz``.

    The profiles are registered in ``tests/conftest.py``; their ``max_examples`` is 100 for the
    default and ci profiles, so a test asking for ``n`` runs ``n * max_examples / 100`` cases.
    """
    return max(1, n * settings.default.max_examples // 100)


#: True under a deeper profile than the default (``--hypothesis-profile=fuzz``).
DEEP = settings.default.max_examples > 100


def fuzz_settings(n: int) -> settings:
    """Settings of one fuzz test: ``scaled(n)`` examples, no deadline, the profile's derandomization."""
    return settings(max_examples=scaled(n), deadline=None, suppress_health_check=SLOW_EXAMPLES)


def explicit_settings(n: int) -> settings:
    """Only the explicit ``@example`` cases by default; ``scaled(n)`` generated ones under a deeper profile.

    For cases that need a subprocess (seconds each) to guard against hangs and runaway memory.
    """
    if DEEP:
        return fuzz_settings(n)
    return settings(fuzz_settings(n), phases=[Phase.explicit])


# --------------------------------------------------------------------------------------------------
# The CLI, enumerated from the app
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a command as the user types it."""

    name: str
    opts: tuple[str, ...]
    is_argument: bool
    is_flag: bool
    required: bool
    default: Any
    kind: str  # "int", "float", "path", "text", "bool"


@dataclass(frozen=True)
class Command:
    """One leaf command of the CLI (``("reference", "fit")``)."""

    path: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def option(self, flag: str) -> Param | None:
        return next((p for p in self.params if flag in p.opts), None)


def _kind(param: Any) -> str:
    if getattr(param, "is_flag", False):
        return "bool"
    text = f"{param.type_descriptor!r} {getattr(param, 'metavar', '')}".lower()
    for kind in ("int", "float", "path"):
        if kind in text:
            return kind
    return "text"


@lru_cache(maxsize=1)
def commands() -> tuple[Command, ...]:
    """Every leaf command of ``sciplab`` with its parameters (help and eager options left out)."""
    out: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, (*path, name))
            return
        params = tuple(
            Param(
                name=p.name,
                opts=tuple(p.opts),
                is_argument=p.param_type_name == "argument",
                is_flag=bool(getattr(p, "is_flag", False)),
                required=bool(p.required),
                default=p.default,
                kind=_kind(p),
            )
            for p in cmd.params
            if not getattr(p, "is_eager", False)
        )
        out.append(Command(path, params))

    walk(typer.main.get_command(app), ())
    return tuple(out)


def command(*path: str) -> Command:
    """The enumerated command at ``path`` (KeyError when the CLI no longer has it)."""
    for c in commands():
        if c.path == path:
            return c
    raise KeyError(" ".join(path))


#: Options whose value is a file or folder the command writes.
OUTPUT_OPTIONS = ("-o", "--output", "--out", "--report", "--figure", "--validity")

#: Known-good invocations inside the workspace (see :func:`workspace`), by command path. A command
#: missing here is still fuzzed (generated values for every parameter); add it to get deeper runs.
BASELINES: dict[tuple[str, ...], list[str]] = {
    ("demo",): ["--bootstrap", "1000", "--report", "demo.html"],
    ("instruments", "list"): [],
    ("instruments", "show"): ["PHQ-9"],
    ("score",): ["items.csv", "-i", "PHQ-9", "-o", "scored_out.csv"],
    ("reliability",): ["items.csv", "-i", "PHQ-9"],
    ("change",): ["pre.csv", "post.csv", "-i", "CORE-10", "--scale", "total", "--id", "client"],
    ("fit",): ["paths.csv", "--model", "m ~ a*x\ny ~ b*m + x\nab := a*b", "-B", "1000", "--seed", "1"],
    ("ssm",): ["octants.csv", "--scales", "PA,BC,DE,FG,HI,JK,LM,NO", "--bootstrap", "20", "--seed", "1"],
    ("monitor",): ["sessions.csv", "--measure", "CORE-10_total", "--instrument", "CORE-10", "--scale", "total"],
    ("formulate",): ["client.csv", "--client", "p1"],
    ("reference", "fit"): ["sessions.csv", "--measure", "CORE-10_total", "-o", "ref_out.json"],
    ("simulate", "run"): [
        "--out",
        "simout",
        "--agents",
        "30",
        "--years",
        "0.5",
        "--seed",
        "1",
        "--instruments",
        "PHQ-9",
    ],
    ("simulate", "calibrate"): ["--repetitions", "1", "--agents", "200", "--seed", "1"],
    ("simulate", "sweep"): ["grid.toml", "--out", "sweepout", "--scheduler", "synchronous", "--seed", "1"],
    ("simulate", "report"): ["sim", "-o", "simreport.html"],
    ("simulate", "policies"): ["-r", "2", "-n", "80", "--years", "0.2", "--seed", "1", "--policies", "fixed,scip"],
    ("power",): [
        "--model",
        "m ~ 0.3*a*x\ny ~ 0.3*b*m + 0.1*x\nind := a*b",
        "--n",
        "60,90",
        "--reps",
        "50",
        "--draws",
        "500",
        "--seed",
        "1",
    ],
}

#: Exit codes a command may return besides 0 and 2, with the documented reason.
EXTRA_EXIT_CODES: dict[tuple[str, ...], tuple[int, str]] = {
    # README: "exit 1 when a point estimate is outside its band"
    ("simulate", "calibrate"): (1, "MISS"),
}

#: Commands that render figures or reports on every run: fewer examples in the default profile.
HEAVY_COMMANDS = {("simulate", "report"), ("monitor",)}

#: Commands too slow to run many examples of in the default profile (simulation-sized work).
SLOW_COMMANDS = {("demo",), ("simulate", "calibrate"), ("simulate", "sweep"), ("simulate", "policies")}


# --------------------------------------------------------------------------------------------------
# The workspace: small valid input files under the names the baselines and the docs use
# --------------------------------------------------------------------------------------------------

OCTANT_SCALES = ["PA", "BC", "DE", "FG", "HI", "JK", "LM", "NO"]


def sessions_frame(n_clients: int = 25, n_sessions: int = 6, seed: int = 1) -> pd.DataFrame:
    """Long session data: client, session, CORE-10_total (0-40) and WAI-SR_total (1-5)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clients):
        start = rng.uniform(12, 30)
        slope = rng.normal(-1.2, 0.8)
        for t in range(n_sessions):
            core = float(np.clip(np.round(start + slope * t + rng.normal(0, 2)), 0, 40))
            wai = float(np.clip(np.round(rng.normal(3.8, 0.5), 2), 1, 5))
            rows.append((f"c{c:02d}", t + 1, core, wai))
    return pd.DataFrame(rows, columns=["client", "session", "CORE-10_total", "WAI-SR_total"])


def _core10_items(n: int, rng: np.random.Generator, shift: int) -> pd.DataFrame:
    items = np.clip(rng.integers(0, 5, size=(n, 10)) - shift, 0, 4)
    return pd.DataFrame(items, columns=[f"CORE10_{i:02d}" for i in range(1, 11)])


def _build_workspace(folder: Path) -> None:
    import sciplab
    from sciplab.datasets import load_example

    rng = np.random.default_rng(7)
    example = load_example().iloc[:60].reset_index(drop=True)
    example.to_csv(folder / "items.csv", index=False)
    example.to_csv(folder / "data.csv", index=False)
    scored = sciplab.score_all(example, ["ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9"]).scores
    scored.insert(0, "id", example["id"])
    scored.to_csv(folder / "scored.csv", index=False)
    for name, shift in (("pre", 0), ("post", 1)):
        frame = _core10_items(30, rng, shift)
        frame.insert(0, "client", [f"c{i:02d}" for i in range(30)])
        frame.to_csv(folder / f"{name}.csv", index=False)
    x = rng.normal(size=80)
    m = 0.5 * x + rng.normal(size=80)
    pd.DataFrame({"x": x, "m": m, "y": 0.4 * m + 0.2 * x + rng.normal(size=80)}).to_csv(
        folder / "paths.csv", index=False
    )
    (folder / "model.lav").write_text("m ~ a*x\ny ~ b*m + x\nab := a*b\n", encoding="utf-8")
    angles = np.deg2rad([90, 135, 180, 225, 270, 315, 360, 45])
    amp = rng.uniform(0.2, 1.0, size=(60, 1))
    disp = rng.uniform(0, 2 * np.pi, size=(60, 1))
    oct_ = 1.5 + amp * np.cos(angles - disp) + rng.normal(0, 0.2, size=(60, 8))
    octants = pd.DataFrame(oct_, columns=OCTANT_SCALES)
    octants.insert(0, "Gender", np.where(np.arange(60) % 2 == 0, "Female", "Male"))
    octants["PARPD"] = rng.normal(size=60)
    octants["NARPD"] = rng.normal(size=60)
    octants.to_csv(folder / "octants.csv", index=False)
    sessions_frame().to_csv(folder / "sessions.csv", index=False)
    pd.DataFrame({
        "client": ["p1", "d1"],
        "ECR-S_anxiety": [5.9, 2.2],
        "ECR-S_avoidance": [2.3, 6.0],
        "MSPSS_total": [2.2, 5.5],
    }).to_csv(folder / "client.csv", index=False)  # fmt: skip
    (folder / "constructs.json").write_text(
        '{"attachment_anxiety": "ECR-S_anxiety", "attachment_avoidance": "ECR-S_avoidance",'
        ' "social_self_efficacy": "PSSE_total", "emotional_awareness": "TAS-20_total",'
        ' "social_support": "MSPSS_total", "distress": "PHQ-9_total"}',
        encoding="utf-8",
    )
    (folder / "grid.toml").write_text(
        '[fixed]\nn_agents = 30\nyears = 0.5\n[grid]\n"therapy.policy" = ["scip"]\n', encoding="utf-8"
    )
    with quiet_cli():
        res = CliRunner().invoke(
            app, ["reference", "fit", str(folder / "sessions.csv"), "--measure", "CORE-10_total",
                  "-o", str(folder / "ref.json"), "--min-clients", "5"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        res = CliRunner().invoke(
            app, ["simulate", "run", "--out", str(folder / "sim"), "--agents", "40", "--years", "0.5",
                  "--seed", "3", "--instruments", "PHQ-9,CORE-10"],
        )  # fmt: skip
        assert res.exit_code == 0, res.output


@lru_cache(maxsize=1)
def template_workspace() -> Path:
    """Build the valid input files once per process (a folder removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="sciplab-fuzz-template-"))
    import atexit

    atexit.register(shutil.rmtree, folder, True)
    _build_workspace(folder)
    return folder


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A fresh copy of the template workspace as the current folder (restored afterwards)."""
    with tempfile.TemporaryDirectory(prefix="sciplab-fuzz-") as tmp:
        folder = Path(tmp) / "ws"
        shutil.copytree(template_workspace(), folder)
        with contextlib.chdir(folder):
            yield folder


# --------------------------------------------------------------------------------------------------
# Running a command and checking what it did
# --------------------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (hard links count once per name)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class Hang(Exception):  # noqa: N818 - reported as the reason a run failed
    """Raised inside a CLI run that exceeded :data:`HANG_SECONDS`."""


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Interrupt Python code that runs longer than ``seconds`` (SIGALRM; main thread on POSIX only)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s: probably an unbounded loop")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def quiet_cli() -> Iterator[None]:
    """Warnings as a user's terminal shows them (printed, not raised as pytest's ``error`` filter would)."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        yield


@dataclass
class Run:
    """The outcome of one checked CLI run."""

    args: list[str]
    exit_code: int
    output: str
    exception: BaseException | None
    changed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def reproducer(self) -> str:
        import shlex

        return "sciplab " + " ".join(shlex.quote(a) for a in self.args)

    def last_line(self) -> str:
        if self.exception is not None and not isinstance(self.exception, SystemExit):
            return "".join(traceback.format_exception_only(self.exception)).strip().splitlines()[-1]
        lines = [ln for ln in self.output.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else ""


def declared_outputs(cmd: Command | None, args: Sequence[str]) -> list[str]:
    """Output paths the invocation names (or the command's default output when it has one)."""
    outputs: list[str] = []
    given = set()
    for i, a in enumerate(args[:-1]):
        if a in OUTPUT_OPTIONS:
            outputs.append(args[i + 1])
            given.add(a)
    if cmd is not None:
        for p in cmd.params:
            if not p.is_argument and set(p.opts) & set(OUTPUT_OPTIONS) and not (set(p.opts) & given):
                if isinstance(p.default, str) and p.default:
                    outputs.append(p.default)
    return outputs


def _is_declared(rel: str, outputs: Sequence[str], folder: Path) -> bool:
    path = (folder / rel).resolve()
    for out in outputs:
        try:
            target = (folder / out).resolve()
        except (OSError, ValueError):
            continue
        if path == target or target in path.parents:
            return True
        # one figure per client (<stem>_<client>.png), a report's figures (<stem>_<name>.svg) beside the output
        if path.parent == target.parent and path.name.startswith(target.stem + "_"):
            return True
    return False


def run_cli(args: Sequence[str], folder: Path, *, cmd: Command | None = None) -> Run:
    """Run ``sciplab args`` in-process in ``folder`` and check the promises of issue 11.

    Problems recorded (the caller asserts there are none): an exit code other than 0 or 2 (or the
    command's documented extra code), a traceback in the output, an exception other than the CLI's
    own exit, a changed or new file that is not a declared output, any file changed by a failing
    run, and an existing output replaced without ``--overwrite``.
    """
    args = [str(a) for a in args]
    if cmd is None:
        cmd = next((c for c in commands() if tuple(args[: len(c.path)]) == c.path), None)
    before = snapshot(folder)
    with quiet_cli(), hang_guard():
        try:
            res = CliRunner().invoke(app, args, catch_exceptions=True)
            exit_code, output, exc = res.exit_code, res.output, res.exception
        except Hang as hang:  # raised outside the runner's own exception handling
            exit_code, output, exc = 1, "", hang
    after = snapshot(folder)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    run = Run(list(args), exit_code, output, exc, changed)
    allowed = {0, 2}
    extra = EXTRA_EXIT_CODES.get(cmd.path) if cmd is not None else None
    if extra is not None and extra[1] in output:
        allowed.add(extra[0])
    if exit_code not in allowed:
        run.problems.append(f"exit code {exit_code}")
    if "Traceback" in output:
        run.problems.append("traceback in the output")
    if exc is not None and not isinstance(exc, SystemExit):
        run.problems.append(f"uncaught {type(exc).__name__}")
    outputs = declared_outputs(cmd, args)
    if exit_code != 0 and changed:
        run.problems.append(f"a failing run changed files: {changed}")
    undeclared = [c for c in changed if not _is_declared(c, outputs, folder)]
    if undeclared:
        run.problems.append(f"files changed that are not declared outputs: {undeclared}")
    if "--overwrite" not in args:
        replaced = [c for c in changed if c in before]
        if replaced:
            run.problems.append(f"existing files replaced without --overwrite: {replaced}")
    return run


def assert_clean(run: Run) -> None:
    """Fail with the reproducer, the problems and the last line of the traceback or output."""
    if run.problems:
        detail = run.output[-2000:]
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            detail = "".join(traceback.format_exception(run.exception))[-3000:]
        raise AssertionError(
            f"{run.reproducer()}\n  problems: {'; '.join(run.problems)}\n  last line: {run.last_line()}\n{detail}"
        )


def call_api(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a public function; anything it raises must be a SciplabError (warnings are allowed)."""
    with warnings.catch_warnings(), hang_guard():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except SciplabError:
            return None
        except Exception as exc:
            raise AssertionError(
                f"{getattr(fn, '__name__', fn)} raised {type(exc).__name__} (not a SciplabError): {exc}"
            ) from exc


# --------------------------------------------------------------------------------------------------
# Hostile values
# --------------------------------------------------------------------------------------------------

#: Text a user may type or a file may hold that breaks naive code: Rich markup, mathtext, paths,
#: HTML, format strings, unicode, whitespace, nothing.
NASTY_TEXT = [
    "",
    " ",
    "[/x]",
    "[/bad]",
    "[red]PHQ[/red]",
    "score[/x]",
    "q[sq001]",
    "[bold]",
    "$\\foo{$",
    "$x^$",
    "a/b",
    "../escape",
    "/",
    ".",
    "<script>alert(1)</script>",
    "{0}",
    "%s%n",
    "é\u200bß",
    "名前",
    "\t",
    "a,b",
    "\\",
    "-",
    "--json",
    "nan",
]

NASTY_NUMBERS = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1e999",
    "1e308",
    "99999999999999999999",
    "-99999999999999999999",
    "10000000",
    "0",
    "-0",
    "-1",
    "0.5",
    "1",
    "2",
    "1e-320",
    "abc",
    "",
    "1,5",
    "0x10",
]

user_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
nasty_text = st.sampled_from(NASTY_TEXT) | user_text
nasty_number = (
    st.sampled_from(NASTY_NUMBERS)
    | st.integers(min_value=-(10**25), max_value=10**25).map(str)
    | st.floats(allow_nan=True, allow_infinity=True).map(repr)
)
nasty_value = nasty_number | nasty_text


def value_for(param: Param) -> st.SearchStrategy[str]:
    """Hostile values for one parameter: numbers first for numeric options, anything for the rest."""
    if param.kind in ("int", "float"):
        return nasty_number | nasty_text
    return nasty_value
