"""``sciplab score`` and ``sciplab reliability``: the scoring layer's CLI (``change``: :mod:`sciplab.cli.change`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.io import read_data, write_data
from sciplab.cli._common import console, emit_json, handle_errors, split_list
from sciplab.cli._inputs import read_mapping
from sciplab.instruments.registry import get_instrument
from sciplab.scoring import reliability, score
from sciplab.scoring.engine import ScoreResult, score_all

InstrumentOpt = Annotated[
    str, typer.Option("--instrument", "-i", help="Instrument id(s), comma-separated, e.g. ECR-S,PHQ-9.")
]
MapOpt = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Item-to-column mapping (.json/.toml/.csv): {item: column}; with several instruments {'ID:item': column}.",
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
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
InvalidOpt = Annotated[
    str,
    typer.Option(
        "--on-invalid", help="'error' (default) or 'missing': treat out-of-range/non-numeric responses as missing."
    ),
]


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


def _min_answered(value: str | None) -> float | int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameterError(
            f"--min-answered must be a number of items or a proportion, got {value!r}"
        ) from None
    return int(number) if number.is_integer() and number >= 1 else number


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


def print_scale_table(result: ScoreResult, reliabilities: pd.DataFrame | None = None) -> None:
    """Compact rich table of scale descriptives (and alpha with Feldt CI and omega when given)."""
    from rich import box

    title = "Scale scores" + (" and reliability" if reliabilities is not None else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("scale", no_wrap=True)
    for c in ("n", "M", "SD"):
        table.add_column(c, justify="right", no_wrap=True)
    if reliabilities is not None:
        for c in ("alpha", "95% CI", "omega"):
            table.add_column(c, justify="right", no_wrap=True)
    rel = reliabilities.set_index("column") if reliabilities is not None else None
    for _, r in result.table.iterrows():
        row = [r["column"], str(r["n_valid"]), f"{r['mean']:.2f}", f"{r['sd']:.2f}"]
        if rel is not None:
            if r["column"] in rel.index:
                x = rel.loc[r["column"]]
                row += [f"{x['alpha']:.2f}", f"[{x['alpha_lci']:.2f}, {x['alpha_uci']:.2f}]", f"{x['omega_total']:.2f}"]
            else:
                row += ["-", "-", "-"]
        table.add_row(*row)
    console.print(table)
    for inst in result.details["instruments"]:
        for note in inst.get("notes", []):
            console.print(f"[yellow]{inst['id']}: {note}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``reliability``."""

    @app.command("score")
    @handle_errors
    def score_cmd(
        data: Annotated[str, typer.Argument(help="Data file: .csv, .tsv, .xlsx, .sav or .parquet.")],
        instrument: InstrumentOpt,
        map_file: MapOpt = None,
        output: Annotated[
            str | None,
            typer.Option("-o", "--output", help="Write the data with score columns added (.csv/.xlsx/.sav/.parquet)."),
        ] = None,
        validity_out: Annotated[
            str | None, typer.Option("--validity", help="Write the per-row validity report to this file.")
        ] = None,
        on_invalid: InvalidOpt = "error",
        min_answered: Annotated[
            str | None,
            typer.Option(
                "--min-answered", help="Override the missing-data rule: items (e.g. 10) or a proportion (e.g. 0.8)."
            ),
        ] = None,
        norm: Annotated[
            str | None, typer.Option("--norm", help="Norm sample id: adds z, T and percentile columns.")
        ] = None,
        rule: Annotated[str | None, typer.Option("--rule", help="Override the scoring rule: sum or mean.")] = None,
        key_file: KeyOpt = None,
        instruments_dir: DirOpt = None,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")] = False,
        json: JsonOpt = False,
    ) -> None:
        """Score item responses: one column per scale, named <ID>_<scale>."""
        frame = read_data(data)
        for target in (output, validity_out):
            if target and Path(target).resolve() == Path(data).resolve():
                raise DataError(f"{target}: refusing to write over the input file")
        result = score_frame(
            frame,
            split_list(instrument),
            mapping=read_mapping(map_file) if map_file else None,
            on_invalid=on_invalid,
            min_answered=_min_answered(min_answered),
            norm=norm,
            rule=rule,
            instruments_dir=instruments_dir,
            key_file=key_file,
        )
        if output:
            clash = [c for c in result.scores.columns if c in frame.columns]
            if clash:
                raise DataError(
                    f"{data}: already has column(s) {', '.join(clash)}; rename them so nothing is overwritten"
                )
            out = pd.concat([frame, result.scores, result.flags, result.bands], axis=1)
            out.attrs = dict(frame.attrs)
            write_data(out, output, overwrite=overwrite)
        if validity_out:
            write_data(result.validity, validity_out, overwrite=overwrite)
        if json:
            emit_json(result.to_dict())
            return
        print_scale_table(result)
        if output:
            console.print(f"wrote {output}")

    @app.command("reliability")
    @handle_errors
    def reliability_cmd(
        data: Annotated[str, typer.Argument(help="Data file with item responses.")],
        instrument: Annotated[str, typer.Option("--instrument", "-i", help="Instrument id.")],
        map_file: MapOpt = None,
        scales: Annotated[str | None, typer.Option("--scales", help="Comma-separated scales (default: all).")] = None,
        level: Annotated[float, typer.Option("--level", help="Confidence level of the Feldt interval.")] = 0.95,
        on_invalid: InvalidOpt = "error",
        key_file: KeyOpt = None,
        instruments_dir: DirOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Cronbach's alpha (Feldt CI), standardized alpha, omega total and item statistics."""
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
        console.print(res.summary(), highlight=False)
