"""``sciplab monitor`` and ``sciplab reference fit``: session-by-session outcome monitoring.

Thin wrappers of :mod:`sciplab.stats.change`. Reliable-change constants come from an instrument
definition (``--instrument ID --scale NAME``, via :func:`sciplab.scoring.change.reliable_change`,
which picks norms, reliability, published points and cut-offs with their sources) or from plain
options (``--sd``/``--rxx`` or ``--rc-points``, ``--cutoff``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from sciplab._core.errors import InvalidParameterError
from sciplab._core.io import read_data
from sciplab.cli._common import console, emit_json, err_console, handle_errors

reference_app = typer.Typer(help="Build expected-treatment-response references.", no_args_is_help=True)


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        err_console.print(f"[yellow]warning:[/] {w.message}", highlight=False, soft_wrap=True)


def _instrument_change(
    frame: pd.DataFrame, *, client_col: str, session_col: str, measure: str, instrument: str, scale: str,
    cutoff: float | None, higher_is_better: bool | None, date_col: str | None,
) -> dict[str, Any]:  # fmt: skip
    """Per-client change with constants from the instrument library (scoring layer)."""
    from sciplab.scoring.change import reliable_change
    from sciplab.stats.change import first_last

    fl = first_last(frame, client=client_col, session=session_col, measure=measure, date=date_col)
    two = fl[fl["n_sessions"] >= 2]
    if two.empty:
        raise InvalidParameterError(f"no client has two scored sessions of {measure!r}: change needs two")
    pre = pd.Series(two["pre"].to_numpy(), index=two["client"].to_numpy())
    post = pd.Series(two["post"].to_numpy(), index=pre.index)
    res = reliable_change(
        pre, post, instrument=instrument, scale=scale, cutoff="auto" if cutoff is None else cutoff,
        higher_is_worse=None if higher_is_better is None else not higher_is_better,
    )  # fmt: skip
    table = fl.merge(res.table.rename(columns={"id": "client"}).drop(columns=["pre", "post"]), on="client", how="left")
    table["note"] = table["n_sessions"].map(lambda n: None if n >= 2 else "only one scored session: change needs two")
    return {"table": table, "details": dict(res.details), "summary": res.summary()}


def _write_figures(
    figure: Path, frame: pd.DataFrame, clients: list[Any], kw: dict[str, Any], expected: Any, ruptures: Any,
    alliance: str | None, cutoff: float | None,
) -> list[Path]:  # fmt: skip
    from sciplab.plot.monitor import plot_monitor, save_figure

    paths = []
    for cid in clients:
        path = figure if len(clients) == 1 else figure.with_name(f"{figure.stem}_{cid}{figure.suffix}")
        fig = plot_monitor(frame, **kw, client_id=cid, expected=expected, ruptures=ruptures, alliance=alliance,
                           cutoff=cutoff)  # fmt: skip
        paths.append(save_figure(fig, path))
    return paths


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
    repair_within: Annotated[int, typer.Option("--repair-within", help="J: sessions allowed for a repair.")] = 3,
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
        Path | None, typer.Option("--figure", help="Trajectory chart (.png/.svg/.pdf; one per client).")
    ] = None,
) -> None:
    """Per-client reliable change, expected-response traffic lights and alliance ruptures."""
    from sciplab.stats.change import (
        Reference,
        alliance_gap,
        client_change,
        detect_ruptures,
        expected_response,
    )

    frame = read_data(sessions)
    if client is not None:
        if client_col not in frame.columns:
            raise InvalidParameterError(f"--client-col {client_col!r} is not a column of {sessions}")
        frame = frame[frame[client_col].astype(str) == client]
        if frame.empty:
            raise InvalidParameterError(f"--client {client!r} not found in column {client_col!r} of {sessions}")
    if (instrument is None) != (scale is None):
        raise InvalidParameterError("--instrument and --scale go together")
    kw = {"client": client_col, "session": session_col}
    worse = not higher_is_better
    out: dict[str, Any] = {}
    texts: list[str] = []
    expected = ruptures = None
    used_cutoff = cutoff
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if instrument is not None and scale is not None:
            change = _instrument_change(
                frame, client_col=client_col, session_col=session_col, measure=measure, instrument=instrument,
                scale=scale, cutoff=cutoff, higher_is_better=True if higher_is_better else None, date_col=date_col,
            )  # fmt: skip
            out["change"] = {"table": change["table"], "details": change["details"]}
            texts.append(change["summary"])
            used_cutoff = change["details"]["cutoff"]
            worse = change["details"]["higher_is_worse"]
        elif sd is not None or rxx is not None or rc_points is not None:
            res = client_change(frame, **kw, measure=measure, sd=sd, rxx=rxx, rc_points=rc_points, cutoff=cutoff,
                                higher_is_worse=worse, date=date_col)  # fmt: skip
            out["change"] = res.to_dict()
            texts.append(res.summary())
        if reference is not None:
            ref = Reference.load(reference)
            if ref.columns["measure"] != measure:
                raise InvalidParameterError(
                    f"--reference {reference} was fitted on {ref.columns['measure']!r}, not --measure {measure!r}"
                )
            data = frame.rename(columns={client_col: ref.columns["client"], session_col: ref.columns["session"]})
            expected = expected_response(ref, data, q_yellow=q_yellow, q_red=q_red, cutoff=used_cutoff,
                                         higher_is_worse=worse)  # fmt: skip
            out["expected"] = expected.to_dict()
            texts.append(expected.summary())
        if alliance is not None:
            ruptures = detect_ruptures(frame, **kw, alliance=alliance, J=repair_within, sd_ref=sd_ref, date=date_col)
            out["ruptures"] = ruptures.to_dict()
            texts.append(ruptures.summary())
            if therapist_alliance is not None:
                gap = alliance_gap(frame, **kw, client_alliance=alliance, therapist_alliance=therapist_alliance)
                out["alliance_gap"] = gap.to_dict()
                texts.append(gap.summary())
        if not out:
            raise InvalidParameterError(
                "nothing to do: give reliable-change constants (--instrument/--scale, --sd/--rxx or --rc-points), "
                "--reference and/or --alliance"
            )
        if figure is not None:
            clients = list(dict.fromkeys(frame[client_col].tolist()))
            paths = _write_figures(figure, frame, clients, {**kw, "measure": measure}, expected, ruptures, alliance,
                                   used_cutoff)  # fmt: skip
            for p in paths:
                err_console.print(f"figure written to {p}", highlight=False)
    _print_warnings(caught)
    if as_json:
        emit_json(out)
    else:
        console.print("\n\n".join(texts), highlight=False, soft_wrap=True, markup=False)


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the reference as JSON.")] = False,
) -> None:
    """Fit an expected-treatment-response reference and save it as JSON."""
    from sciplab.cli._common import split_list
    from sciplab.stats.change import fit_reference

    frame = read_data(sessions)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ref = fit_reference(frame, client=client_col, session=session_col, measure=measure, intake=intake,
                            method=method, k=k, features=split_list(features), min_clients=min_clients)  # type: ignore[arg-type]  # fmt: skip
    _print_warnings(caught)
    ref.save(output)
    err_console.print(f"reference written to {output}", highlight=False)
    if as_json:
        emit_json({k_: v for k_, v in ref.to_dict().items() if k_ != "data"})
    else:
        console.print(ref.summary(), highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``monitor`` and the ``reference`` group to the ``sciplab`` app."""
    app.command("monitor")(monitor_command)
    reference_app.command("fit")(reference_fit_command)
    app.add_typer(reference_app, name="reference")
