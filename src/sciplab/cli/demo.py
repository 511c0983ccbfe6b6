"""``sciplab demo``: the main job on the bundled example data (no set-up, no server).

Scores the bundled synthetic SCIP sample (ECR-S, PSSE, TAS-20, MSPSS, PHQ-9) and prints the scale
table with reliabilities.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from sciplab._core.results import to_jsonable
from sciplab.cli._common import console, emit_json, handle_errors
from sciplab.cli.score import print_scale_table
from sciplab.datasets import example_path, load_example
from sciplab.scoring import reliability
from sciplab.scoring.engine import score_all

DEMO_INSTRUMENTS = ["ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9"]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    @handle_errors
    def demo_cmd(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """Score the bundled example questionnaire data and print scales with reliabilities."""
        data = load_example()
        scored = score_all(data, DEMO_INSTRUMENTS)
        rel = pd.concat([reliability(data, i).table for i in DEMO_INSTRUMENTS], ignore_index=True)
        if json:
            emit_json(
                {
                    "scales": to_jsonable(scored.table),
                    "reliability": to_jsonable(rel),
                    "details": to_jsonable(scored.details),
                }
            )
            return
        console.print(f"SCIP Lab demo: {len(data)} synthetic respondents from {example_path()}", highlight=False)
        print_scale_table(scored, rel)
        console.print(
            "Next: `sciplab score YOUR.csv --instrument ECR-S,PHQ-9 -o scored.csv`; `sciplab instruments list`."
        )
