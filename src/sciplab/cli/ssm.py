"""``sciplab ssm``: Structural Summary Method on a data file (thin wrapper of ``stats.circumplex.ssm``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from sciplab._core.errors import DataError, InvalidParameterError
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
        str | None,
        typer.Option("--scales", help="Scale columns, comma-separated, e.g. PA,BC,DE,FG,HI,JK,LM,NO."),
    ] = None,
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
    bootstrap: Annotated[int, typer.Option("--bootstrap", "-B", help="Bootstrap resamples (0: no CIs).")] = 2000,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded in the output).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"results": [...], "details": {...}} as JSON.')
    ] = False,
    figure: Annotated[
        Path | None,
        typer.Option("--figure", help="Save a circle plot (contrast plot with --contrast): .png, .svg, .pdf."),
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option("--instrument", "-i", help="Score octants from item responses first (IIP-SC, IIP-32)."),
    ] = None,
    ipsatize: Annotated[
        bool, typer.Option("--ipsatize", help="With --instrument: deviation-score the octants.")
    ] = False,
    norm: Annotated[
        str | None, typer.Option("--norm", help="With --instrument: standardize octants against this norm sample.")
    ] = None,
    min_answered: Annotated[
        int | None, typer.Option("--min-answered", help="With --instrument: items needed per octant.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing figure file.")] = False,
) -> None:
    """Structural Summary Method: elevation, amplitude, displacement, fit with bootstrap CIs."""
    from sciplab.stats.circumplex import OCTANTS, ssm

    if figure is not None and figure.exists() and not overwrite:
        raise DataError(f"{figure}: already exists; choose another name or pass --overwrite")
    frame = read_data(data)
    scale_names = split_list(scales)
    angle_values = _angles(angles)
    if instrument is not None:
        from sciplab.scoring.octants import octant_scores

        if scale_names or angle_values:
            raise InvalidParameterError(
                "--instrument takes scales and angles from the definition: drop --scales/--angles"
            )
        octs = octant_scores(frame, instrument, ipsatize=ipsatize, norm=norm, min_answered=min_answered)
        clash = [c for c in octs.scales if c in frame.columns]
        frame = pd.concat([frame.drop(columns=clash), octs.scores], axis=1)
        scale_names, angle_values = octs.scales, octs.angles_deg
    elif ipsatize or norm or min_answered is not None:
        raise InvalidParameterError("--ipsatize, --norm and --min-answered need --instrument (item responses)")
    if not scale_names:
        raise InvalidParameterError("give --scales (score columns) or --instrument (item responses)")
    kwargs = {
        "angles_deg": angle_values or OCTANTS,
        "measures": split_list(measures) or None,
        "group": group,
        "contrast": contrast,
        "bootstrap": bootstrap,
        "seed": seed,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with err_console.status(f"Bootstrapping {bootstrap:,} resamples ..."):
            result = ssm(frame, scale_names, **kwargs)
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)
    if figure is not None:
        from sciplab.plot.circumplex import plot_circle, plot_contrast, save_figure

        fig = plot_contrast(result) if result.details["contrast_labels"] else plot_circle(result)
        save_figure(fig, figure, overwrite=overwrite)
        err_console.print(f"figure written to {figure}", highlight=False)
    if as_json:
        emit_json({"results": result.table, "details": result.details})
    else:
        console.print(result.summary(), highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the ``ssm`` command to the ``sciplab`` app."""
    app.command("ssm")(ssm_command)
