"""``sciplab ssm``: Structural Summary Method on a data file (thin wrapper of ``stats.circumplex.ssm``)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import pandas as pd
import typer

from sciplab._core.errors import InvalidParameterError
from sciplab._core.io import read_data
from sciplab._core.validation import MAX_BOOTSTRAP
from sciplab.cli._common import OUTPUT, emit_json, err_console, say, split_list
from sciplab.cli._options import DataArg, LevelOpt, OverwriteOpt, SeedOpt


def _angles(value: str | None) -> tuple[float, ...] | None:
    items = split_list(value)
    if not items:
        return None
    try:
        return tuple(float(v) for v in items)
    except ValueError:
        raise InvalidParameterError(f"--angles must be comma-separated numbers in degrees, got {value!r}") from None


def ssm_command(
    data: DataArg,
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
    pairwise: Annotated[
        bool, typer.Option("--pairwise", help="All pairwise contrasts among the groups (or measures).")
    ] = False,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            "-B",
            min=0,
            max=MAX_BOOTSTRAP,
            help="Bootstrap resamples (0: no CIs).",
        ),
    ] = 2000,  # fmt: skip
    level: LevelOpt = 0.95,
    seed: SeedOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"results": [...], "details": {...}} as JSON.')
    ] = False,
    figure: Annotated[
        str | None,
        typer.Option("--figure", help="Save a circle plot (contrast plot with --contrast): .png, .svg, .pdf."),
        OUTPUT,
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
        int | None, typer.Option("--min-answered", min=1, help="With --instrument: items needed per octant.")
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Structural Summary Method: elevation, amplitude, displacement, fit with bootstrap CIs."""
    from sciplab.stats.circumplex import OCTANTS, ssm

    if contrast and pairwise:
        raise InvalidParameterError("give --contrast (two groups or measures) or --pairwise (all pairs), not both")
    frame = read_data(data)
    scale_names = split_list(scales)
    angle_values = _angles(angles)
    scoring: dict[str, Any] | None = None
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
        scoring = {"instrument": instrument, "norm": norm, "ipsatized": ipsatize, "min_answered": min_answered}
    elif ipsatize or norm or min_answered is not None:
        raise InvalidParameterError("--ipsatize, --norm and --min-answered need --instrument (item responses)")
    if not scale_names:
        raise InvalidParameterError("give --scales (score columns) or --instrument (item responses)")
    angle_values = angle_values or OCTANTS
    if len(angle_values) != len(scale_names):
        raise InvalidParameterError(
            f"--angles has {len(angle_values)} angle(s) but --scales has {len(scale_names)} scale(s); "
            "give one angle per scale"
        )
    kwargs = {
        "angles_deg": angle_values,
        "measures": split_list(measures) or None,
        "group": group,
        "contrast": "pairwise" if pairwise else contrast,
        "bootstrap": bootstrap,
        "level": level,
        "seed": seed,
    }
    with err_console.status(f"Bootstrapping {bootstrap:,} resamples ..."):
        result = ssm(frame, scale_names, **kwargs)
    if scoring is not None:
        result = dataclasses.replace(result, details={**result.details, "octant_scoring": scoring})
    if figure is not None:
        from sciplab.plot.circumplex import plot_circle, plot_contrast, save_figure

        fig = plot_contrast(result) if result.details["contrast_labels"] else plot_circle(result)
        save_figure(fig, figure, overwrite=overwrite)
        err_console.print(f"figure written to {figure}")
    if as_json:
        emit_json({"results": result.table, "details": result.details})
        return
    say(result.summary())
    if scoring is not None:
        how = [f"norm {norm}" if norm else "raw scores (no norm)", "ipsatized" if ipsatize else "not ipsatized"]
        say(f"Octants scored from {instrument} items: {', '.join(how)}.")


def register(app: typer.Typer) -> None:
    """Add the ``ssm`` command to the ``sciplab`` app."""
    app.command("ssm")(ssm_command)
