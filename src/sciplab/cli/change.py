"""``sciplab change``: reliable and clinically significant change between two files (Jacobson & Truax 1991).

Thin: reads PRE and POST, aligns them by ``--id`` (or row order), and calls
:func:`sciplab.scoring.change.reliable_change`, which scores item columns itself when the score
column is absent.
"""

from __future__ import annotations

import math
from typing import Annotated

import pandas as pd
import typer

from sciplab._core.errors import DataError, InvalidParameterError
from sciplab._core.io import read_data
from sciplab.cli._common import console, emit_json, handle_errors

CUTOFF_KINDS = ("auto", "a", "b", "c", "published")


def _number(option: str, value: str, *, also: str = "") -> float:
    """A finite number from an option's text (``also`` lists the words the option accepts too)."""
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameterError(f"{option} must be {also}a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InvalidParameterError(f"{option} must be a finite number, got {value!r}")
    return number


def _read(path: str, id_col: str | None) -> pd.DataFrame:
    frame = read_data(path)
    if id_col is not None:
        if id_col not in frame.columns:
            raise DataError(f"{path}: no id column {id_col!r}")
        if frame[id_col].duplicated().any():
            raise DataError(f"{path}: id column {id_col!r} has duplicated ids")
        frame = frame.set_index(id_col)
        frame.attrs["source"] = path
    return frame


@handle_errors
def change_command(
    pre: Annotated[str, typer.Argument(help="Pre-treatment data (item columns or the <ID>_<scale> score column).")],
    post: Annotated[str, typer.Argument(help="Post-treatment data, same clients.")],
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="Instrument id.")],
    scale: Annotated[str, typer.Option("--scale", help="Scale name, e.g. total.")],
    id_col: Annotated[
        str | None, typer.Option("--id", help="Client id column to align PRE and POST (default: row order).")
    ] = None,
    sd: Annotated[
        str | None, typer.Option("--sd", help="SD for the RCI: a number or 'pre' (default: the definition's norm).")
    ] = None,
    rxx: Annotated[
        str | None, typer.Option("--rxx", help="Reliability (default: the definition's internal consistency).")
    ] = None,
    cutoff: Annotated[str, typer.Option("--cutoff", help="auto, a, b, c, published, none or a number.")] = "auto",
    clients: Annotated[bool, typer.Option("--clients", help="Print the per-client table too.")] = False,
    instruments_dir: Annotated[
        str | None,
        typer.Option("--instruments-dir", help="Folder of your own definition files (also SCIPLAB_INSTRUMENTS)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reliable and clinically significant change (Jacobson & Truax 1991) per client."""
    from sciplab.scoring.change import reliable_change

    sd_value: float | str | None = None
    if sd is not None:
        sd_value = "pre" if sd.strip().lower() == "pre" else _number("--sd", sd, also="'pre' or ")
    rxx_value = None if rxx is None else _number("--rxx", rxx)
    cut: float | str | None
    if cutoff.strip().lower() == "none":
        cut = None
    elif cutoff.strip().lower() in CUTOFF_KINDS:
        cut = cutoff.strip().lower()
    else:
        cut = _number("--cutoff", cutoff, also=f"{', '.join(CUTOFF_KINDS)}, none or ")
    a, b = _read(pre, id_col), _read(post, id_col)
    if id_col is None and len(a) != len(b):
        raise DataError(f"{pre} has {len(a)} rows but {post} has {len(b)}; align them or pass --id")
    res = reliable_change(
        a, b, instrument=instrument, scale=scale, sd=sd_value, rxx=rxx_value, cutoff=cut,  # type: ignore[arg-type]
        instruments_dir=instruments_dir,
    )  # fmt: skip
    if json:
        emit_json(res.to_dict())
        return
    console.print(res.summary(clients=clients), highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``change``."""
    app.command("change")(change_command)
