"""``sciplab demo``: the main job on the bundled example data (no set-up, no server).

Scores the bundled synthetic SCIP sample (ECR-S, PSSE, TAS-20, MSPSS, PHQ-9), prints the scale
table with reliabilities, fits the ``scip-core`` template (attachment -> social competencies ->
support and distress; Mallinckrodt & Wei 2005) with 5,000 bootstrap resamples and writes the
HTML report (tables and path diagram).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from sciplab._core.errors import DataError
from sciplab._core.files import write_text_atomic
from sciplab._core.results import to_jsonable
from sciplab.cli._common import OWN_CHECK, emit_json, say
from sciplab.cli._options import BootstrapOpt, JsonOpt, OverwriteOpt
from sciplab.cli._render import print_scale_table
from sciplab.datasets import example_path, load_example

DEMO_INSTRUMENTS = ["ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9"]
DEMO_MIN_ANSWERED = 0.8  # explicit demo choice: score a scale when >= 80 % of its items are answered
DEMO_SEED = 2005
MARKER = "<!-- written by sciplab demo -->"


def next_steps(data: str = "YOUR.csv") -> list[str]:
    """The commands the demo suggests, in order (a test runs them on the bundled data)."""
    return [
        f"sciplab score {data} -i {','.join(DEMO_INSTRUMENTS)} --min-answered {DEMO_MIN_ANSWERED} -o scored.csv",
        "sciplab fit scored.csv --model scip-core --report report.html",
    ]


def _writable_report(path: Path, overwrite: bool) -> None:
    """Never replace a file the user made: only our own earlier demo report, or with --overwrite."""
    if path.exists() and not overwrite:
        head = path.read_text(encoding="utf-8", errors="ignore")[:200] if path.is_file() else ""
        if MARKER not in head:
            raise DataError(
                f"{path}: exists and was not written by `sciplab demo`; use --report OTHER.html or --overwrite"
            )
    if not path.parent.exists():
        raise DataError(f"{path}: folder {path.parent} does not exist")


def demo_cmd(
    report: Annotated[
        str,
        typer.Option("--report", help="Where to write the HTML report ('' to skip; replaces only its own)."),
        OWN_CHECK,
    ] = "sciplab-demo-report.html",
    bootstrap: BootstrapOpt = 5000,
    overwrite: OverwriteOpt = False,
    json: JsonOpt = False,
) -> None:
    """Score the bundled example data, show reliabilities, fit scip-core and write the report."""
    from sciplab.reports.paths import html_report
    from sciplab.scip.templates import fit_template
    from sciplab.scoring import reliability, score_all

    target = Path(report) if report else None
    if target is not None:
        _writable_report(target, overwrite)
    data = load_example()
    scored = score_all(data, DEMO_INSTRUMENTS, min_answered=DEMO_MIN_ANSWERED)
    rel = pd.concat([reliability(data, i).table for i in DEMO_INSTRUMENTS], ignore_index=True)
    fit = fit_template(scored.scores, "scip-core", bootstrap=bootstrap, seed=DEMO_SEED)
    if target is not None:
        # our own earlier report (checked above) or --overwrite: replacing is allowed, inputs never
        write_text_atomic(target, MARKER + "\n" + html_report(fit, title="SCIP Lab demo: scip-core"), overwrite=True)
    if json:
        emit_json(
            {
                "scales": to_jsonable(scored.table),
                "reliability": to_jsonable(rel),
                "fit": fit.to_dict(),
                "report": str(target) if target else None,
            }
        )
        return
    say(f"SCIP Lab demo: {len(data)} synthetic respondents from {example_path()}")
    say(f"Scales scored when at least {DEMO_MIN_ANSWERED:.0%} of their items are answered (incomplete sums prorated).")
    print_scale_table(scored, rel)
    say(fit.summary())
    if target is not None:
        say(f"report: {target}")
    first, then = next_steps()
    say(f"Next: `{first}`, then `{then}`.")
    say(f"(Try it on the example data: replace YOUR.csv with {example_path()}.)")


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo_cmd)
