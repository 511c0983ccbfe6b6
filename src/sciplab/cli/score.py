"""``sciplab score``, ``sciplab reliability`` and ``sciplab change``: the scoring layer's CLI."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.io import read_data, write_all
from sciplab.cli._common import OUTPUT, console, emit_json, split_list
from sciplab.cli._inputs import read_mapping
from sciplab.cli._options import (
    DataArg,
    DirOpt,
    InstrumentOpt,
    JsonOpt,
    KeyOpt,
    LevelOpt,
    MapOpt,
    MinAnsweredOpt,
    OnInvalidOpt,
    OverwriteOpt,
)
from sciplab.cli._render import print_reliability, print_scale_table
from sciplab.instruments.registry import get_instrument
from sciplab.scoring import reliability, score
from sciplab.scoring.engine import ScoreResult, score_all

InvalidOpt = OnInvalidOpt  # former name, used by commands registered here


def _mapping_for(mapping: dict[str, str] | None, inst_id: str, n_instruments: int) -> dict[str, str] | None:
    if not mapping:
        return None
    own: dict[str, str] = {}
    for key, col in mapping.items():
        if ":" in key:
            prefix, item = key.rsplit(":", 1)
            if get_instrument(prefix).id == inst_id:
                own[item] = col
        elif n_instruments == 1:
            own[key] = col
        else:
            raise DataError(f"--map key {key!r}: with several instruments write keys as 'ID:item', e.g. '{inst_id}:1'")
    return own or None


def score_frame(
    data: pd.DataFrame,
    instruments: list[str],
    *,
    mapping: dict[str, str] | None = None,
    on_invalid: str = "error",
    min_answered: float | int | None = None,
    norm: str | None = None,
    rule: str | None = None,
    instruments_dir: str | None = None,
    key_file: str | None = None,
) -> ScoreResult:
    """Score one or several instruments (used by other commands too)."""
    if not instruments:
        raise InvalidParameterError("give at least one instrument with --instrument")
    if key_file and len(instruments) > 1:
        raise InvalidParameterError("--key applies to one instrument: score it on its own")
    kwargs = dict(
        on_invalid=on_invalid, min_answered=min_answered, norm=norm, rule=rule, instruments_dir=instruments_dir
    )
    if mapping or key_file:
        parts = [
            score(
                data,
                ins,
                columns=_mapping_for(
                    mapping, get_instrument(ins, instruments_dir=instruments_dir).id, len(instruments)
                ),
                key_file=key_file,
                **kwargs,
            )  # type: ignore[arg-type]
            for ins in instruments
        ]
        if len(parts) == 1:
            return parts[0]
        frames = [p.scores for p in parts]
        details = dict(parts[0].details)
        details["instruments"] = [d for p in parts for d in p.details["instruments"]]
        return ScoreResult(
            table=pd.concat([p.table for p in parts], ignore_index=True),
            details=details,
            scores=pd.concat(frames, axis=1),
            validity=pd.concat([p.validity for p in parts], axis=1),
            flags=pd.concat([p.flags for p in parts], axis=1),
            bands=pd.concat([p.bands for p in parts], axis=1),
        )
    return score_all(data, instruments, **kwargs)  # type: ignore[arg-type]


def score_cmd(
    data: DataArg,
    instrument: InstrumentOpt,
    map_file: MapOpt = None,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="Write the data with score columns added (.csv/.xlsx/.sav/.parquet)."),
        OUTPUT,
    ] = None,
    validity_out: Annotated[
        str | None, typer.Option("--validity", help="Write the per-row validity report to this file."), OUTPUT
    ] = None,
    on_invalid: OnInvalidOpt = "error",
    min_answered: MinAnsweredOpt = None,
    norm: Annotated[
        str | None, typer.Option("--norm", help="Norm sample id: adds z, T and percentile columns.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Override the scoring rule: sum or mean.")] = None,
    key_file: KeyOpt = None,
    instruments_dir: DirOpt = None,
    overwrite: OverwriteOpt = False,
    json: JsonOpt = False,
) -> None:
    """Score item responses: one column per scale, named <ID>_<scale>."""
    frame = read_data(data)
    result = score_frame(
        frame,
        split_list(instrument),
        mapping=read_mapping(map_file) if map_file else None,
        on_invalid=on_invalid,
        min_answered=min_answered,  # type: ignore[arg-type]  # converted by the option's callback
        norm=norm,
        rule=rule,
        instruments_dir=instruments_dir,
        key_file=key_file,
    )
    writes: list[tuple[pd.DataFrame, str]] = []
    if output:
        clash = [c for c in result.scores.columns if c in frame.columns]
        if clash:
            raise DataError(f"{data}: already has column(s) {', '.join(clash)}; rename them so nothing is overwritten")
        out = pd.concat([frame, result.scores, result.flags, result.bands], axis=1)
        out.attrs = dict(frame.attrs)
        writes.append((out, output))
    if validity_out:
        writes.append((result.validity, validity_out))
    write_all(writes, overwrite=overwrite)  # every file or none
    if json:
        emit_json(result.to_dict())
        return
    print_scale_table(result)
    if output:
        console.print(f"wrote {output}")


def reliability_cmd(
    data: DataArg,
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="Instrument id.")],
    map_file: MapOpt = None,
    scales: Annotated[str | None, typer.Option("--scales", help="Comma-separated scales (default: all).")] = None,
    level: LevelOpt = 0.95,
    items: Annotated[
        bool, typer.Option("--items", help="Also show item statistics (item-rest r, alpha if deleted).")
    ] = False,
    on_invalid: OnInvalidOpt = "error",
    key_file: KeyOpt = None,
    instruments_dir: DirOpt = None,
    json: JsonOpt = False,
) -> None:
    """Cronbach's alpha (Feldt CI), standardized alpha, omega total (Heywood cases marked), item statistics."""
    frame = read_data(data)
    res = reliability(
        frame,
        instrument,
        columns=read_mapping(map_file) if map_file else None,
        scales=split_list(scales) or None,
        level=level,
        on_invalid=on_invalid,  # type: ignore[arg-type]
        instruments_dir=instruments_dir,
        key_file=key_file,
    )
    if json:
        emit_json(res.to_dict())
        return
    print_reliability(res, items=items)


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``reliability`` (``change`` lives in :mod:`sciplab.cli.change`)."""
    app.command("score")(score_cmd)
    app.command("reliability")(reliability_cmd)
