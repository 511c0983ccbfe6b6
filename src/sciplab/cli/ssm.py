"""``sciplab ssm``: Structural Summary Method on a data file (thin wrapper of ``stats.circumplex.ssm``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from sciplab._core.errors import InvalidParameterError
from sciplab._core.io import read_data
from sciplab.cli._common import console, emit_json, err_console, handle_errors, split_list


def _angles(value: str | None) -> tuple[float, ...] | None:
    items = split_list(value)
    if not items:
        return None
    try:
        return tuple(float(v) for v in items)
    except ValueError:
        raise InvalidParameterError(f"--angles must be comma-separated numbers in degrees, got {value!r}") from None


@handle_errors
def ssm_command(
    data: Annotated[Path, typer.Argument(help="Data file (CSV, TSV, Excel, SPSS .sav, Parquet).")],
    scales: Annotated[
        str, typer.Option("--scales", help="Scale columns, comma-separated, e.g. PA,BC,DE,FG,HI,JK,LM,NO.")
    ],
    angles: Annotated[
        str | None, typer.Option("--angles", help="Scale angles in degrees (default: octants 90,135,...,360,45).")
    ] = None,
    measures: Annotated[
        str | None, typer.Option("--measures", help="Measures for correlation-based profiles, comma-separated.")
    ] = None,
    group: Annotated[str | None, typer.Option("--group", help="Grouping column (one profile per level).")] = None,
    contrast: Annotated[
        bool, typer.Option("--contrast", help="Contrast two groups or two measures (second minus first).")
    ] = False,
    boots: Annotated[int, typer.Option("--boots", help="Bootstrap resamples (0: no CIs).")] = 2000,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in the output).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"results": [...], "details": {...}} as JSON.')
    ] = False,
    figure: Annotated[
        Path | None,
        typer.Option("--figure", help="Save a circle plot (contrast plot with --contrast): .png, .svg, .pdf."),
    ] = None,
) -> None:
    """Structural Summary Method: elevation, amplitude, displacement, fit with bootstrap CIs."""
    from sciplab.stats.circumplex import OCTANTS, ssm

    frame = read_data(data)
    kwargs = {
        "angles_deg": _angles(angles) or OCTANTS,
        "measures": split_list(measures) or None,
        "group": group,
        "contrast": contrast,
        "boots": boots,
        "seed": seed,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with err_console.status(f"Bootstrapping {boots:,} resamples ..."):
            result = ssm(frame, split_list(scales), **kwargs)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    if figure is not None:
        from sciplab.plot.circumplex import plot_circle, plot_contrast, save_figure

        fig = plot_contrast(result) if result.details["contrast_labels"] else plot_circle(result)
        save_figure(fig, figure)
        err_console.print(f"figure written to {figure}", highlight=False)
    if as_json:
        emit_json({"results": result.table, "details": result.details})
    else:
        console.print(result.summary(), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``ssm`` command to the ``sciplab`` app."""
    app.command("ssm")(ssm_command)
