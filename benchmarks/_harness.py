"""Shared timing rules of the benchmarks (issue 19: "benchmarks a skeptic would accept").

* Runs of the contenders are **interleaved** (A B A B ...) so both see the same machine load.
* Each run records **wall** time (``perf_counter``) and **CPU** time of the process
  (``process_time``: all threads) or, for whole-process runs, of the child (``RUSAGE_CHILDREN``).
* Reports give the **median** and the spread (min - max) of every series, the number of threads
  each side may use, the machine and its load (``os.getloadavg``) at the start and end.
* Whole-process runs (``python script.py`` / a console command) are measured beside the
  in-process figures, so start-up costs (imports, compilation) are not hidden; they run as a
  user's would, with byte-code caching on (:func:`process_env`).
"""

from __future__ import annotations

import atexit
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SHARED_DATA_ENV = "SCIPLAB_SHARED_DATA"
DEFAULT_SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def shared_data(name: str, explicit: str | None = None) -> Path:
    """Path of a reference data file: ``explicit`` (a CLI argument), else ``$SCIPLAB_SHARED_DATA/name``,
    else ``../shared/data/name`` beside the repository; exits with a clear message when absent."""
    if explicit:
        path = Path(explicit)
    else:
        folder = Path(os.environ.get(SHARED_DATA_ENV, DEFAULT_SHARED_DATA))
        path = folder / name
    if not path.is_file():
        sys.exit(
            f"reference data {name!r} not found at {path}: pass its path (--data) or set "
            f"{SHARED_DATA_ENV} to the folder holding it"
        )
    return path


@dataclass
class Series:
    """Wall and CPU seconds of repeated runs of one contender."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def line(self, unit: str = "ms") -> str:
        k = 1e3 if unit == "ms" else 1.0
        w, c = sorted(self.wall), sorted(self.cpu)
        return (
            f"{self.name:<34} wall median {self.wall_median * k:9.1f} {unit} "
            f"[{w[0] * k:.1f} - {w[-1] * k:.1f}]   cpu median {self.cpu_median * k:9.1f} {unit} "
            f"[{c[0] * k:.1f} - {c[-1] * k:.1f}]   runs {len(self.wall)}"
        )


def interleave(contenders: dict[str, Callable[[], object]], rounds: int, *, warmup: bool = True) -> dict[str, Series]:
    """Run every contender once per round, in turn, ``rounds`` times (after one warm-up run each)."""
    if warmup:
        for fn in contenders.values():
            fn()
    out = {name: Series(name) for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            out[name].wall.append(time.perf_counter() - t0)
            out[name].cpu.append(time.process_time() - c0)
    return out


_PYCACHE = tempfile.mkdtemp(prefix="sciplab-bench-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)


def process_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a timed process: as a user's, with byte-code caching on.

    ``PYTHONDONTWRITEBYTECODE`` (set on some CI machines and here) would make every run compile
    every imported module from source; the byte code goes to a private folder of this benchmark
    run (``PYTHONPYCACHEPREFIX``), written by the warm-up run, so no checkout is touched.
    """
    out = dict(os.environ if env is None else env)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out.setdefault("PYTHONPYCACHEPREFIX", _PYCACHE)
    return out


def run_process(
    argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None
) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one whole process; fails loudly on error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=process_env(env), cwd=cwd, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"benchmark process failed ({' '.join(argv)}):\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def interleave_processes(
    contenders: dict[str, Sequence[str]],
    rounds: int,
    *,
    env: dict[str, str] | None = None,
    env_of: Callable[[str], dict[str, str] | None] | None = None,
    warmup: bool = True,
) -> dict[str, Series]:
    """:func:`interleave` for whole processes (``python script.py``, console commands).

    ``env_of(name)`` may give a contender its own environment (``None``: ``env``).
    """

    def env_for(name: str) -> dict[str, str] | None:
        own = env_of(name) if env_of is not None else None
        return own if own is not None else env

    if warmup:
        for name, argv in contenders.items():
            run_process(argv, env=env_for(name))
    out = {name: Series(name) for name in contenders}
    for _ in range(rounds):
        for name, argv in contenders.items():
            wall, cpu = run_process(argv, env=env_for(name))
            out[name].wall.append(wall)
            out[name].cpu.append(cpu)
    return out


def ratio_line(
    label: str, peer: Series, ours: Series, target: float | None = None, *, cpu_target: float | None = None
) -> str:
    """``peer / ours`` on wall and CPU medians, with the targets when given."""
    rw, rc = peer.wall_median / ours.wall_median, peer.cpu_median / ours.cpu_median
    text = f"{label}: {rw:.1f}x wall, {rc:.1f}x CPU"
    if target is not None:
        text += f"  (target >= {target:g}x wall: {'met' if rw >= target else 'NOT met'}"
        if cpu_target is not None:
            text += f"; >= {cpu_target:g}x CPU: {'met' if rc >= cpu_target else 'NOT met'}"
        text += ")"
    return text


def machine() -> str:
    """One line describing the machine, the Python and the load."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.machine()} {model} | {cpus} CPUs available | Python {platform.python_version()} | load {load}"


def threads_note() -> str:
    """Threads the numeric libraries may use in this process (BLAS / numba / sciplab resampling)."""
    parts = []
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        if var in os.environ:
            parts.append(f"{var}={os.environ[var]}")
    return ", ".join(parts) or "library defaults"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20
