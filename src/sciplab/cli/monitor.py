"""``sciplab monitor`` and ``sciplab reference fit``: session-by-session outcome monitoring.

Thin: options are parsed here; the work is :func:`sciplab.scip.monitor.monitor` (reliable change
with an instrument's or plain constants, expected-response traffic lights, alliance ruptures),
:func:`sciplab.stats.change.fit_reference` and :func:`sciplab.plot.monitor.write_monitor_figures`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sciplab._core.errors import InvalidParameterError
from sciplab._core.io import read_data
from sciplab.cli._common import console, emit_json, err_console, handle_errors

if TYPE_CHECKING:
    import pandas as pd

    from sciplab.scip.monitor import MonitorResult

reference_app = typer.Typer(help="Build expected-treatment-response references.", no_args_is_help=True)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        err_console.print(f"warning: {w.message}", highlight=False, soft_wrap=True)


@handle_errors
def monitor_command(
    sessions: Annotated[Path, typer.Argument(help="Long session data (CSV, TSV, Excel, SPSS .sav, Parquet).")],
    measure: Annotated[str, typer.Option("--measure", help="Outcome column (e.g. CORE-10_total).")],
    client_col: Annotated[str, typer.Option("--client-col", help="Client id column.")] = "client",
    session_col: Annotated[str, typer.Option("--session-col", help="Session number column.")] = "session",
    date_col: Annotated[str | None, typer.Option("--date-col", help="Date column (checked for order).")] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only this client.")] = None,
    alliance: Annotated[
        str | None, typer.Option("--alliance", help="Client-rated alliance column: rupture detection.")
    ] = None,
    therapist_alliance: Annotated[
        str | None, typer.Option("--therapist-alliance", help="Therapist-rated alliance: gaps.")
    ] = None,
    sd_ref: Annotated[
        float | None, typer.Option("--sd-ref", help="Reference SD of alliance session-to-session changes.")
    ] = None,
    repair_within: Annotated[
        int, typer.Option("--repair-within", help="J: sessions allowed for a repair (1 to 1000).")
    ] = 3,
    reference: Annotated[
        Path | None, typer.Option("--reference", help="Expected-response reference (sciplab reference fit).")
    ] = None,
    q_yellow: Annotated[float, typer.Option("--q-yellow", help="One-sided quantile of the yellow bound.")] = 0.80,
    q_red: Annotated[float, typer.Option("--q-red", help="One-sided quantile of the red bound.")] = 0.90,
    instrument: Annotated[
        str | None, typer.Option("--instrument", help="Instrument id for reliable-change constants.")
    ] = None,
    scale: Annotated[str | None, typer.Option("--scale", help="Scale of --instrument (e.g. total).")] = None,
    sd: Annotated[float | None, typer.Option("--sd", help="SD for the Jacobson-Truax index (with --rxx).")] = None,
    rxx: Annotated[
        float | None, typer.Option("--rxx", help="Reliability for the Jacobson-Truax index (with --sd).")
    ] = None,
    rc_points: Annotated[
        float | None, typer.Option("--rc-points", help="Published reliable change in raw points.")
    ] = None,
    cutoff: Annotated[float | None, typer.Option("--cutoff", help="Clinical cut-off on the score metric.")] = None,
    higher_is_better: Annotated[
        bool, typer.Option("--higher-is-better", help="Higher scores are better (ORS, alliance).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print all results as JSON.")] = False,
    figure: Annotated[
        Path | None,
        typer.Option(
            "--figure",
            help="Trajectory charts: one multi-page .pdf, or a new folder (name without extension) of PNGs with an "
            "index page; .png/.svg for one client (--client).",
        ),
    ] = None,
    show_clients: Annotated[
        bool, typer.Option("--clients", help="Print the per-client reliable-change table too.")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing figure file.")] = False,
) -> None:
    """Per-client reliable change, expected-response traffic lights and alliance ruptures."""
    from sciplab.scip.monitor import monitor

    frame = read_data(sessions)
    if client is not None:
        if client_col not in frame.columns:
            raise InvalidParameterError(f"--client-col {client_col!r} is not a column of {sessions}")
        frame = frame[frame[client_col].astype(str) == client]
        if frame.empty:
            raise InvalidParameterError(f"--client {client!r} not found in column {client_col!r} of {sessions}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = monitor(
            frame, measure=measure, client=client_col, session=session_col, date=date_col, instrument=instrument,
            scale=scale, sd=sd, rxx=rxx, rc_points=rc_points, cutoff=cutoff,
            higher_is_worse=False if higher_is_better else None, reference=reference, q_yellow=q_yellow,
            q_red=q_red, alliance=alliance, therapist_alliance=therapist_alliance, sd_ref=sd_ref,
            repair_within=repair_within,
        )  # fmt: skip
        if figure is not None:
            written = _write_figures(figure, frame, result, sessions=sessions, overwrite=overwrite,
                                     client_col=client_col, session_col=session_col, measure=measure,
                                     alliance=alliance)  # fmt: skip
            err_console.print(f"figures written to {written}", highlight=False, markup=False)
    _print_warnings(caught)
    if as_json:
        emit_json(result.to_dict())
    else:
        console.print(result.summary(clients=show_clients), highlight=False, soft_wrap=True, markup=False)


def _write_figures(
    figure: Path,
    frame: pd.DataFrame,
    result: MonitorResult,
    *,
    sessions: Path,
    overwrite: bool,
    client_col: str,
    session_col: str,
    measure: str,
    alliance: str | None,
) -> Path:
    """One chart per client with a progress bar (on stderr, shown only on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sciplab.plot.monitor import write_monitor_figures

    clients = list(dict.fromkeys(frame[client_col].tolist()))
    columns = (TextColumn("charts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("charts", total=len(clients))
        return write_monitor_figures(
            figure, frame, clients, client=client_col, session=session_col, measure=measure,
            expected=result.expected, ruptures=result.ruptures, alliance=alliance, cutoff=result.details["cutoff"],
            overwrite=overwrite, inputs=[sessions], progress=lambda done, _total: bar.update(task, completed=done),
        )  # fmt: skip


@handle_errors
def reference_fit_command(
    sessions: Annotated[Path, typer.Argument(help="Reference session data (long: client, session, measure).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Reference file to write (JSON).")],
    measure: Annotated[str, typer.Option("--measure", help="Outcome column.")],
    client_col: Annotated[str, typer.Option("--client-col", help="Client id column.")] = "client",
    session_col: Annotated[str, typer.Option("--session-col", help="Session number column.")] = "session",
    intake: Annotated[
        str | None, typer.Option("--intake", help="Intake severity column (default: first score).")
    ] = None,
    method: Annotated[str, typer.Option("--method", help="hlm (Finch et al. 2001) or nn (Lutz et al. 2006).")] = "hlm",
    k: Annotated[int, typer.Option("--k", help="Nearest neighbours (nn).")] = 50,
    features: Annotated[
        str, typer.Option("--features", help="Client-level features for nn, comma-separated.")
    ] = "intake",
    min_clients: Annotated[int, typer.Option("--min-clients", help="Refuse references with fewer clients.")] = 20,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing reference file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reference as JSON.")] = False,
) -> None:
    """Fit an expected-treatment-response reference and save it as JSON."""
    from sciplab._core.files import check_output
    from sciplab.cli._common import split_list
    from sciplab.stats.change import fit_reference

    check_output(output, overwrite=overwrite, inputs=[sessions])  # before the fit: fail fast
    frame = read_data(sessions)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = fit_reference(frame, client=client_col, session=session_col, measure=measure, intake=intake,
                            method=method, k=k, features=split_list(features), min_clients=min_clients)  # type: ignore[arg-type]  # fmt: skip
    _print_warnings(caught)
    ref.save(output, overwrite=overwrite, inputs=[sessions])
    err_console.print(f"reference written to {output}", highlight=False, markup=False)
    if as_json:
        emit_json({k_: v for k_, v in ref.to_dict().items() if k_ != "data"})
    else:
        console.print(ref.summary(), highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``monitor`` and the ``reference`` group to the ``sciplab`` app."""
    app.command("monitor")(monitor_command)
    reference_app.command("fit")(reference_fit_command)
    app.add_typer(reference_app, name="reference")
