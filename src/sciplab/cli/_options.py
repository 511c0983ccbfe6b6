"""Options shared by the CLI commands: one definition, one name, one range check each.

Ranges are checked when the command line is parsed, in CLI words (``--level must be in (0, 1)``),
so no value reaches a Python conversion or an allocation unchecked. File options carry the
:data:`~sciplab.cli._common.OUTPUT` / :data:`~sciplab.cli._common.INPUT` markers the runner uses to
refuse an existing output (without ``--overwrite``) or an output that is an input before any work.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer

from sciplab._core.validation import MAX_BOOTSTRAP
from sciplab.cli._common import INPUT, OUTPUT

DATA_HELP = "Data file: .csv, .tsv, .xlsx, .sav or .parquet."


def _level(value: float | None) -> float | None:
    if value is not None and not (0.0 < value < 1.0):
        raise typer.BadParameter(f"must be a number between 0 and 1 (exclusive), e.g. 0.95; got {value!r}")
    return value


def parse_min_answered(value: str | None) -> float | int | None:
    """``"10"`` -> 10 items, ``"0.8"`` -> a proportion; nan, inf and values <= 0 are refused."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a number of items (e.g. 10) or a proportion (e.g. 0.8), got {value!r}"
        ) from None
    if not math.isfinite(number) or number <= 0:
        raise typer.BadParameter(f"expected a positive finite number of items or a proportion in (0, 1], got {value!r}")
    if number > 1 and not number.is_integer():
        raise typer.BadParameter(f"a number of items must be whole, got {value!r}")
    return int(number) if number >= 1 and number.is_integer() else number


DataArg = Annotated[str, typer.Argument(help=DATA_HELP, metavar="DATA", show_default=False), INPUT]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
OutputOpt = Annotated[
    str | None,
    typer.Option("-o", "--output", help="Write the result to this file (.csv/.tsv/.xlsx/.sav/.parquet)."),
    OUTPUT,
]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files (never an input).")]
ReportOpt = Annotated[
    str | None, typer.Option("--report", help="Write a report (.html, .md, .csv or .json by command)."), OUTPUT
]
FigureOpt = Annotated[str | None, typer.Option("--figure", help="Save a figure (.png, .svg, .pdf)."), OUTPUT]
InstrumentOpt = Annotated[
    str, typer.Option("--instrument", "-i", help="Instrument id(s), comma-separated, e.g. ECR-S,PHQ-9.")
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Mapping file (.json/.toml/.csv): {item: column}; with several instruments {'ID:item': column}.",
    ),
]
DirOpt = Annotated[
    str | None,
    typer.Option("--instruments-dir", help="Folder of your own definition files (also SCIPLAB_INSTRUMENTS)."),
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", help="Key file for an instrument shipped without a verified key (CATS, TDS, SEQ)."),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, help="Random seed (recorded in the output).")]
BootstrapOpt = Annotated[
    int,
    typer.Option("--bootstrap", "-B", min=0, max=MAX_BOOTSTRAP, help="Bootstrap resamples (0: no resampling)."),
]
LevelOpt = Annotated[float, typer.Option("--level", callback=_level, help="Confidence level, e.g. 0.95.")]
MinAnsweredOpt = Annotated[
    str | None,
    typer.Option(
        "--min-answered",
        callback=parse_min_answered,
        help="Override the missing-data rule: items (e.g. 10) or a proportion (e.g. 0.8).",
    ),
]
OnInvalidOpt = Annotated[
    str,
    typer.Option(
        "--on-invalid", help="'error' (default) or 'missing': treat out-of-range/non-numeric responses as missing."
    ),
]
