"""``sciplab formulate``: a SCIP case formulation from one client's scores.

Thin wrapper of :func:`sciplab.scip.formulate.formulate`; reports via
:func:`sciplab.reports.formulation.write_report` (``.html``, ``.md`` or ``.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sciplab._core.errors import InvalidParameterError
from sciplab._core.io import read_data
from sciplab.cli._common import INPUT, emit_json, say, split_list
from sciplab.cli._options import DirOpt, JsonOpt, OverwriteOpt, ReportOpt


def _pair_option(value: str | None, name: str) -> float | dict[str, float] | None:
    """``"0.9"`` -> 0.9; ``"anxiety=0.9,avoidance=0.88"`` -> mapping."""
    if value is None:
        return None
    try:
        if "=" not in value:
            return float(value)
        out: dict[str, float] = {}
        for part in split_list(value):
            key, _, num = part.partition("=")
            key = key.strip().lower()
            if key not in ("anxiety", "avoidance"):
                raise InvalidParameterError(f"{name}: keys must be anxiety and avoidance, got {key!r}")
            out[key] = float(num)
        return out
    except ValueError:
        raise InvalidParameterError(f"{name}: expected a number or 'anxiety=X,avoidance=Y', got {value!r}") from None


def formulate_command(
    scores: Annotated[
        str, typer.Argument(help="Client scores (CSV, TSV, Excel, SPSS .sav, Parquet).", metavar="DATA"), INPUT
    ],
    client: Annotated[str | None, typer.Option("--client", help="Client id (when the file has several rows).")] = None,
    id_col: Annotated[
        str | None, typer.Option("--id-col", help="Client id column (default: client, id or client_id).")
    ] = None,
    instruments: Annotated[
        str | None, typer.Option("--instruments", help="Instruments whose raw items are in the file (A,B).")
    ] = None,
    instruments_dir: DirOpt = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="Rule file (default: the shipped one).")] = None,
    reliability: Annotated[
        str | None, typer.Option("--reliability", help="Attachment reliability: 0.9 or anxiety=0.9,avoidance=0.88.")
    ] = None,
    sd: Annotated[str | None, typer.Option("--sd", help="Attachment SD: 1.1 or anxiety=1.1,avoidance=1.2.")] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="Quadrant split: anxiety=X,avoidance=Y (e.g. sample medians); default midpoint."),
    ] = None,
    as_json: JsonOpt = False,
    report: ReportOpt = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """SCIP case formulation: attachment pattern with uncertainty, profile, hypotheses, relationship plan."""
    from sciplab.reports.formulation import write_report
    from sciplab.scip.formulate import formulate

    frame = read_data(scores)
    split_value = _pair_option(split, "--split")
    if split_value is not None and not isinstance(split_value, dict):
        raise InvalidParameterError("--split: give both points, e.g. anxiety=3.6,avoidance=2.9")
    result = formulate(
        frame,
        client=client,
        id_col=id_col,
        instruments=split_list(instruments) or None,
        instruments_dir=instruments_dir,
        rules=rules,
        reliability=_pair_option(reliability, "--reliability"),
        sd=_pair_option(sd, "--sd"),
        split=split_value if split_value is not None else "midpoint",
    )
    if report is not None:
        path = write_report(result, report, overwrite=overwrite)
        if not as_json:
            say(f"report written to {path}")
    if as_json:
        emit_json(result.to_dict())
    else:
        say(result.summary())


def register(app: typer.Typer) -> None:
    """Add ``sciplab formulate`` to ``app``."""
    app.command("formulate")(formulate_command)
