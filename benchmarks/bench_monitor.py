"""Monitoring-chart speed: ``write_monitor_figures`` for a caseload, PDF and PNG folder.

Simulates 100 clients x 12 sessions with numpy (CORE-10 total falling with noise, WAI-SR total
with occasional V-shaped dips), runs :func:`sciplab.scip.monitor.monitor` with the CORE-10
constants, an expected-response reference and rupture detection (so every artist is drawn: the
trajectory, traffic-light markers, expected curve and band, red bound, cut-off, alliance panel and
rupture markers), then times writing all charts as one multi-page PDF and as a folder of PNGs with
an index page (median wall and CPU time of this process, ``time.process_time``, over ``--repeats``
runs), and the whole command in a fresh process for both outputs (start-up, reading, analyses,
figures; CPU from ``RUSAGE_CHILDREN``)::

    sciplab monitor sessions.csv --measure CORE-10_total --alliance WAI-SR_total \\
        --instrument CORE-10 --scale total --figure trajectory.pdf   (or --figure charts)

Target (issue 10.15): the whole command, 100 clients, under 5 s on the project's 2-core machine.
With ``--old`` the same caseload is also drawn the former way, through matplotlib's figure layer
(:func:`sciplab.plot.monitor.plot_monitor` per client into ``PdfPages``), for the speed ratio.

Run: uv run python benchmarks/bench_monitor.py [--clients 100] [--sessions 12] [--repeats 3] [--old]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sciplab.plot.monitor import plot_monitor, write_monitor_figures
from sciplab.scip.monitor import monitor
from sciplab.stats.change import fit_reference


def simulate(n_clients: int, n_sessions: int, seed: int = 1) -> pd.DataFrame:
    """Long session data: client, session, CORE-10_total (0-40), WAI-SR_total (12-60)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_sessions, dtype=float)
    intake = rng.normal(22, 5, (n_clients, 1))
    slope = rng.normal(-4, 1.5, (n_clients, 1))
    core = np.clip(np.round(intake + slope * np.log1p(t) + rng.normal(0, 2, (n_clients, n_sessions))), 0, 40)
    wai = rng.normal(45, 4, (n_clients, 1)) + 0.4 * t + rng.normal(0, 1.5, (n_clients, n_sessions))
    dips = rng.random((n_clients, n_sessions)) < 0.08  # a rupture: a drop of about 8 points
    wai = np.clip(np.round(wai - 8 * dips), 12, 60)
    return pd.DataFrame({
        "client": np.repeat([f"C{i:03d}" for i in range(n_clients)], n_sessions),
        "session": np.tile(np.arange(1, n_sessions + 1), n_clients),
        "CORE-10_total": core.ravel(),
        "WAI-SR_total": wai.ravel(),
    })  # fmt: skip


def timed(fn: Callable[[int], object], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn(i)`` over ``repeats`` runs."""
    walls, cpus = [], []
    for i in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(i)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus)


def cli_run(folder: Path, repeats: int, suffix: str) -> tuple[float, float]:
    """Median wall and CPU seconds of the whole ``sciplab monitor ... --figure cli_<i><suffix>`` command."""
    # as installed: Python caches compiled modules (this sandbox sets PYTHONDONTWRITEBYTECODE, which
    # recompiles pandas, scipy and matplotlib from source in every process: several seconds of CPU)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, cpus = [], []
    for i in range(-1, repeats):  # run -1 warms the bytecode cache, untimed
        args = ["monitor", str(folder / "sessions.csv"), "--measure", "CORE-10_total", "--client-col", "client",
                "--alliance", "WAI-SR_total", "--instrument", "CORE-10", "--scale", "total",
                "--figure", str(folder / f"cli_{i + 1}{suffix}")]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "sciplab"), *args], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i >= 0:
            walls.append(time.perf_counter() - w0)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", action="store_true", help="also time the former matplotlib-figure PDF")
    args = ap.parse_args()
    data = simulate(args.clients, args.sessions)
    ref = fit_reference(simulate(60, args.sessions, seed=2), client="client", session="session",
                        measure="CORE-10_total")  # fmt: skip
    result = monitor(data, measure="CORE-10_total", instrument="CORE-10", scale="total", reference=ref,
                     alliance="WAI-SR_total")  # fmt: skip
    clients = list(dict.fromkeys(data["client"]))
    kw = {"client": "client", "session": "session", "measure": "CORE-10_total", "expected": result.expected,
          "ruptures": result.ruptures, "cutoff": result.details["cutoff"]}  # fmt: skip
    n_events = 0 if result.ruptures is None else len(result.ruptures.table)
    print(f"{len(clients)} clients x {args.sessions} sessions, {n_events} rupture episodes; "
          f"median of {args.repeats} (CPU = this process)")  # fmt: skip
    pdf_cpu = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_monitor_figures(folder / "warm.pdf", data, clients[:2], **kw)  # import and font caches, once
        for label, target in (("PDF, one page per client", lambda i: folder / f"all_{i}.pdf"),
                              ("PNG folder + index.html", lambda i: folder / f"charts_{i}")):  # fmt: skip
            wall, cpu = timed(lambda i, target=target: write_monitor_figures(target(i), data, clients, **kw),
                              args.repeats)  # fmt: skip
            size = sum(p.stat().st_size for p in folder.glob(f"{target(0).name}*") if p.is_file())
            size += sum(p.stat().st_size for p in target(0).glob("*")) if target(0).is_dir() else 0
            print(f"{label:26s} wall {wall:6.2f} s   CPU {cpu:6.2f} s   "
                  f"{cpu / len(clients) * 1000:6.1f} ms CPU per client   {size / 1e6:.2f} MB")  # fmt: skip
            pdf_cpu = cpu if target(0).suffix == ".pdf" else pdf_cpu
        if args.old:
            wall_old, cpu_old = timed(lambda i: old_pdf(folder / f"old_{i}.pdf", data, clients, kw), args.repeats)
            print(f"{'former matplotlib PDF':26s} wall {wall_old:6.2f} s   CPU {cpu_old:6.2f} s   "
                  f"(ratio to the page writer, CPU: {cpu_old / pdf_cpu:.1f}x)")  # fmt: skip
        data.to_csv(folder / "sessions.csv", index=False)
        for label, suffix in (("whole command, PDF", ".pdf"), ("whole command, PNG folder", "")):
            wall, cpu = cli_run(folder, args.repeats, suffix)
            verdict = "met" if wall < 5 else "NOT met"
            print(f"{label:26s} wall {wall:6.2f} s   CPU {cpu:6.2f} s   (target wall < 5 s: {verdict}; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")  # fmt: skip


def old_pdf(path: Path, data: pd.DataFrame, clients: list, kw: dict) -> None:
    """The caseload drawn through matplotlib's figure layer: one plot_monitor figure per page."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    groups = dict(tuple(data.groupby("client", sort=False)))
    with PdfPages(path) as pdf:
        for cid in clients:
            fig = plot_monitor(groups[cid], client_id=cid, **kw)
            pdf.savefig(fig)
            plt.close(fig)


if __name__ == "__main__":
    main()
