"""Start-up of the ``sciplab`` command and package (issue 19), whole processes, interleaved.

    uv run python benchmarks/bench_startup.py [--rounds 15] [--before ../main/src]

Times, warm (after one untimed run of each, so the OS file cache holds the files):

* ``python -c pass`` (the interpreter's own floor) and ``python -c "import pandas"`` (reference);
* ``python -c "import sciplab"``                      target < 0.5 s;
* ``sciplab --help``                                  target < 0.4 s;
* ``sciplab instruments list``                        target < 0.4 s;
* ``sciplab score <200-row ECR-S file> -i ECR-S``     target < 1.0 s.

Wall and CPU (user + system of the child) medians with min - max; the targets are judged on the
wall medians. On a loaded machine wall times stretch; CPU times much less.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _harness import interleave_processes, machine

TARGETS = {
    "import sciplab": 0.5,
    "sciplab --help": 0.4,
    "sciplab instruments list": 0.4,
    "sciplab score (200 rows)": 1.0,
}


def _env_of(before: str | None):
    """Environment per contender: ``PYTHONPATH`` set to the other checkout for the ``before:`` ones."""
    import os

    def env(name: str) -> dict[str, str] | None:
        if before and name.startswith("before:"):
            return dict(os.environ, PYTHONPATH=str(Path(before).resolve()))
        return None

    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="the src/ folder of another checkout (e.g. main before issue 19): its import and CLI are "
        "timed in the same rounds, with this interpreter (PYTHONPATH=SRC)",
    )
    args = ap.parse_args()
    exe = shutil.which("sciplab", path=str(Path(sys.executable).parent)) or shutil.which("sciplab")
    if exe is None:
        sys.exit("the sciplab console script is not installed in this environment (uv sync first)")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(1)
        frame = pd.DataFrame(rng.integers(1, 8, size=(200, 12)), columns=[f"ECRS_{i:02d}" for i in range(1, 13)])
        data = Path(tmp) / "ecrs.csv"
        frame.to_csv(data, index=False)
        py = sys.executable
        contenders = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import pandas'": [py, "-c", "import pandas"],
            "import sciplab": [py, "-c", "import sciplab"],
            "sciplab --help": [exe, "--help"],
            "sciplab instruments list": [exe, "instruments", "list"],
            "sciplab score (200 rows)": [exe, "score", str(data), "-i", "ECR-S"],
        }
        if args.before:
            cli = "import sys; from sciplab.cli.main import main; sys.argv[0] = 'sciplab'; main()"
            contenders.update(
                {
                    "before: import sciplab": [py, "-c", "import sciplab"],
                    "before: sciplab --help": [py, "-c", cli, "--help"],
                    "before: sciplab instruments list": [py, "-c", cli, "instruments", "list"],
                    "before: sciplab score (200 rows)": [py, "-c", cli, "score", str(data), "-i", "ECR-S"],
                }
            )
        print(f"machine: {machine()}")
        res = interleave_processes(contenders, args.rounds, env_of=_env_of(args.before))
        print(f"machine after: {machine()}")
    print(f"\nwhole processes, warm, {args.rounds} interleaved rounds (ms):")
    pandas_cpu = res["python -c 'import pandas'"].cpu_median
    for name, series in res.items():
        target = TARGETS.get(name)
        verdict = f"  CPU {series.cpu_median / pandas_cpu:.2f}x 'import pandas'"
        if target is not None:
            verdict += f"; target < {target:g} s: {'met' if series.wall_median < target else 'NOT met'}"
        print(f"  {series.line()}{verdict}")
    if args.before:
        for name in TARGETS:
            old, new = res[f"before: {name}"], res[name]
            print(
                f"  {name}: before / now = {old.wall_median / new.wall_median:.1f}x wall, "
                f"{old.cpu_median / new.cpu_median:.1f}x CPU"
            )


if __name__ == "__main__":
    main()
