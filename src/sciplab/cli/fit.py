"""``sciplab fit``: fit a path model or a latent-variable SEM (syntax, model file or SCIP template).

A model with latent variables (``=~``), a latent SCIP template (``scip-core-latent``,
``scip-core-invariance``) or ``--engine sem`` goes to :func:`sciplab.stats.sem.sem` (lavaan-style
ML/MLR, FIML, groups, invariance ladder); any other model to the path engine
:func:`sciplab.stats.paths.paths` (OLS with bootstrap intervals). The SEM modules are imported only
when used (start-up time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sciplab._core.errors import DataError
from sciplab._core.io import read_data
from sciplab._core.results import to_jsonable
from sciplab._core.validation import MAX_BOOTSTRAP
from sciplab.cli._common import emit_json, err_console, say, split_list
from sciplab.cli._inputs import read_mapping, read_model
from sciplab.cli._options import (
    DataArg,
    FigureOpt,
    JsonOpt,
    LevelOpt,
    OverwriteOpt,
    ReportOpt,
    SeedOpt,
)
from sciplab.scip.templates import TEMPLATES, fit_template

if TYPE_CHECKING:
    from sciplab.stats.paths import PathResult

LATENT_NAMES = ("scip-core-latent", "scip-core-invariance")  # sciplab.scip.latent.LATENT_TEMPLATES (lazy)
ENGINES = ("auto", "paths", "sem")
SEM_DEFAULTS: dict[str, Any] = {
    "estimator": None, "missing": None, "group": None, "group_equal": None, "invariance": False,
}  # fmt: skip


def _resolve_model(model: str) -> tuple[str, str]:
    """``("template", name)``, ``("latent", name)`` or ``("syntax", text)`` for the --model argument."""
    key = model.strip().lower().replace("_", "-")
    if key in TEMPLATES:
        return "template", key
    if key in LATENT_NAMES:
        return "latent", key
    return "syntax", read_model(model)


def _has_latent(syntax: str) -> bool:
    """True when the model defines a latent variable (``=~``), read by the one parser."""
    from sciplab.stats.syntax import parse_model

    return bool((parse_model(syntax).table["op"] == "=~").any())


def print_path_result(result: PathResult) -> None:
    """Print what the library renders (``result.summary()``), then the template's binding notes."""
    say(result.summary())
    for note in result.details.get("binding", []):
        say(f"note: {note}")


def fit_cmd(
    data: DataArg,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help=f"Template ({', '.join([*TEMPLATES, *LATENT_NAMES])}), a model file, or lavaan syntax in quotes.",
        ),
    ],  # fmt: skip
    map_file: Annotated[
        str | None,
        typer.Option("--map", help="Template mapping {construct: column} (.json/.toml/.csv)."),
    ] = None,
    score: Annotated[
        bool,
        typer.Option(
            "--score", help="Score (or, for latent templates, parcel) the raw items of recognised instruments."
        ),
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help="auto (SEM when the model has =~), paths or sem.")] = "auto",
    estimator: Annotated[
        str | None, typer.Option("--estimator", help="SEM: ml (default) or mlr (robust SEs, scaled test).")
    ] = None,
    missing: Annotated[
        str | None, typer.Option("--missing", help="SEM: listwise (default) or fiml (all available data).")
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="SEM: column defining groups (multigroup model).")
    ] = None,
    group_equal: Annotated[
        str | None,
        typer.Option("--group-equal", help="SEM: parameters equal across groups, e.g. loadings,intercepts."),
    ] = None,
    invariance: Annotated[
        bool,
        typer.Option("--invariance", help="SEM: fit configural, metric, scalar, strict (needs --group)."),
    ] = False,
    bootstrap: Annotated[
        int | None,
        typer.Option(
            "--bootstrap",
            "-B",
            min=0,
            max=MAX_BOOTSTRAP,
            help="Bootstrap resamples (0: none). Paths: default 5000; SEM: default none (Wald SEs).",
        ),
    ] = None,  # fmt: skip
    ci: Annotated[
        str | None,
        typer.Option("--ci", help="Paths: percentile (default), bc, bca, mc, none. SEM: normal, percentile, bc, bca."),
    ] = None,
    level: LevelOpt = 0.95,
    seed: SeedOpt = None,
    as_json: JsonOpt = False,
    overwrite: OverwriteOpt = False,
    report: ReportOpt = None,
    figure: FigureOpt = None,
) -> None:
    """Fit a path/mediation model (bootstrap intervals) or a latent-variable SEM (lavaan-style)."""
    eng = engine.strip().lower()
    if eng not in ENGINES:
        raise DataError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    _check_formats(report, figure)
    frame = read_data(data)
    kind, value = _resolve_model(model)
    mapping = read_mapping(map_file) if map_file else None
    latent = kind == "latent" or (kind == "syntax" and _has_latent(value))
    if eng == "paths" and latent:
        raise DataError("--engine paths cannot fit latent variables (=~ or a latent template); use --engine sem")
    if latent or eng == "sem":
        _fit_sem(frame, kind, value, mapping, score=score, estimator=estimator, missing=missing, group=group,
                 group_equal=group_equal, invariance=invariance, bootstrap=bootstrap, ci=ci, level=level,
                 seed=seed, as_json=as_json, overwrite=overwrite, report=report, figure=figure)  # fmt: skip
        return
    given = {"estimator": estimator, "missing": missing, "group": group, "group_equal": group_equal,
             "invariance": invariance}  # fmt: skip
    used = [f"--{k.replace('_', '-')}" for k, v in given.items() if v != SEM_DEFAULTS[k]]
    if used:
        raise DataError(
            f"{', '.join(used)} need{'s' if len(used) == 1 else ''} the SEM engine: add --engine sem "
            "(or a model with latent variables, =~)"
        )
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sciplab.stats.paths import paths

    bootstrap = 5000 if bootstrap is None else bootstrap
    ci = "percentile" if ci is None else ci
    resampling = ci.lower() in ("percentile", "bc", "bca") and bootstrap > 0
    with Progress(
        TextColumn("bootstrap"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=err_console, transient=True,
        disable=not resampling or not err_console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("bootstrap", total=bootstrap)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        kwargs = {"bootstrap": bootstrap, "ci": ci, "level": level, "seed": seed, "progress": progress}
        if kind == "template":
            result = fit_template(frame, value, mapping, score=score, **kwargs)  # type: ignore[arg-type]
        elif score:
            raise DataError(
                "--score works with a SCIP template (--model scip-core, scip-alliance, scip-serial, "
                + ", ".join(LATENT_NAMES)
                + ")"
            )
        else:
            if mapping:
                frame = frame.rename(columns={col: name for name, col in mapping.items()})
            result = paths(frame, value, **kwargs)  # type: ignore[arg-type]
    if figure:
        from sciplab.plot.paths import save_path_diagram

        save_path_diagram(result, figure, overwrite=overwrite)
    if report:
        from sciplab.reports.paths import write_report

        write_report(result, report, overwrite=overwrite)
    if as_json:
        emit_json(result.to_dict())
    else:
        print_path_result(result)
        _written(figure, report)


REPORT_FORMATS = (".html", ".htm", ".md", ".csv")
FIGURE_FORMATS = (".png", ".svg", ".pdf")  # sciplab.plot.style.FORMATS (matplotlib is imported lazily)


def _check_formats(report: str | None, figure: str | None) -> None:
    """Refuse an unknown report or figure format before any work (so no output is half written)."""
    from pathlib import Path

    if report and Path(report).suffix.lower() not in REPORT_FORMATS:
        raise DataError(f"{report}: report format must be .html, .md or .csv")
    if figure and Path(figure).suffix.lower() not in FIGURE_FORMATS:
        raise DataError(f"{figure}: figure format must be one of .pdf, .png, .svg")


def _written(figure: str | None, report: str | None) -> None:
    for what, where in (("figure", figure), ("report", report)):
        if where:
            say(f"{what} written to {where}")


def _fit_sem(
    frame: Any,
    kind: str,
    value: str,
    mapping: dict[str, str] | None,
    *,
    score: bool,
    estimator: str | None,
    missing: str | None,
    group: str | None,
    group_equal: str | None,
    invariance: bool,
    bootstrap: int | None,
    ci: str | None,
    level: float,
    seed: int | None,
    as_json: bool,
    overwrite: bool,
    report: str | None,
    figure: str | None,
) -> None:
    """The SEM branch of ``fit``: the library fits and renders, the CLI prints and writes."""
    from sciplab.stats import sem as semlib

    if kind == "template":
        raise DataError(
            f"template {value!r} is a path model; its latent version is scip-core-latent (or use --engine paths)"
        )
    if score and kind != "latent":
        raise DataError(f"--score works with a SCIP template ({', '.join(LATENT_NAMES)} for latent models)")
    kwargs: dict[str, Any] = {"estimator": estimator or "ml", "missing": missing or "listwise", "level": level,
                              "seed": seed}  # fmt: skip
    if bootstrap:
        kwargs.update(se="bootstrap", bootstrap=bootstrap)
    if ci is not None and ci.lower() != "none":
        kwargs["ci"] = ci
    equal = tuple(split_list(group_equal)) if group_equal else ()
    ladder = invariance or (kind == "latent" and value == "scip-core-invariance")
    if ladder and equal:
        raise DataError("--invariance fits its own equality constraints; leave out --group-equal")
    if ladder and not group:
        raise DataError(
            "--invariance (and scip-core-invariance) compare groups: name the group column with --group COL"
        )
    if equal and not group:
        raise DataError("--group-equal needs --group COL")
    with _sem_progress(bool(bootstrap) and not ladder) as progress:
        if progress is not None:
            kwargs["progress"] = progress
        if kind == "latent":
            from sciplab.scip.latent import fit_latent_template

            if equal:
                kwargs["group_equal"] = equal
            if invariance and value != "scip-core-invariance":
                raise DataError("--invariance compares measurement models: use --model scip-core-invariance")
            result = fit_latent_template(frame, value, mapping, score=score, group=group, **kwargs)
        else:
            if mapping:
                frame = frame.rename(columns={col: name for name, col in mapping.items()})
            if ladder and group:  # group is required for the ladder (checked above)
                result = semlib.invariance(frame, value, group=group, **kwargs)
            else:
                result = semlib.sem(frame, value, group=group, group_equal=equal, **kwargs)
    if figure:
        from sciplab.plot.sem import save_sem_diagram

        save_sem_diagram(result, figure, overwrite=overwrite)
    if report:
        from sciplab.reports.sem import write_report

        write_report(result, report, overwrite=overwrite)
    if as_json:
        emit_json(_json(result))
    else:
        say(result.summary())
        for note in result.details.get("binding", []):
            say(f"note: {note}")
        _written(figure, report)


@contextlib.contextmanager
def _sem_progress(active: bool) -> Iterator[Any]:
    """A progress bar on stderr for SEM bootstrap refits, updated after each batch of replicates.

    Model-based Bollen-Stine replicates count too. Spinner, bar, percentage, replicates done,
    elapsed and remaining time. Yields the ``progress(done, total)`` callback, or None when
    inactive or not on a terminal.
    """
    if not active or not err_console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        SpinnerColumn(), TextColumn("[bold]SEM bootstrap[/] refits"), BarColumn(), TaskProgressColumn(),
        MofNCompleteColumn(), TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("bootstrap", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _json(result: Any) -> dict[str, Any]:
    """``{"parameters", "fit", "details"}`` of a fit; a ladder: ``{"comparison", "fits": {level: ...}, "details"}``.

    The standardized solution is in the parameter table already (``std_lv``, ``std_all``) and the
    modification indices are a library call away (``result.modindices()``).
    """
    fits = getattr(result, "fits", None)
    if isinstance(fits, dict):
        return {
            "comparison": result.to_dict()["table"],
            "fits": {level: _json(fit) for level, fit in fits.items()},
            "details": to_jsonable(result.details),
        }
    full = result.to_dict()
    return {"parameters": full["table"], "fit": full["fit"], "details": full["details"]}


def register(app: typer.Typer) -> None:
    """Add the ``fit`` command to ``app``."""
    app.command("fit")(fit_cmd)
