"""``sciplab fit``: fit a path/mediation model (syntax, model file or SCIP template) to a data file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sciplab._core.errors import DataError
from sciplab._core.io import read_data
from sciplab.cli._common import emit_json, err_console, say
from sciplab.cli._inputs import read_mapping, read_model
from sciplab.cli._options import (
    BootstrapOpt,
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


def _resolve_model(model: str) -> tuple[str, str]:
    """Return ``("template", name)`` or ``("syntax", text)`` for the --model argument."""
    key = model.strip().lower().replace("_", "-")
    if key in TEMPLATES:
        return "template", key
    return "syntax", read_model(model)


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
            help=f"Template ({', '.join(TEMPLATES)}), a model file, or lavaan syntax in quotes.",
        ),
    ],  # fmt: skip
    map_file: Annotated[
        str | None, typer.Option("--map", help="Template mapping {construct: column} (.json/.toml/.csv).")
    ] = None,
    score: Annotated[
        bool, typer.Option("--score", help="Score the raw items of every recognised instrument first (templates).")
    ] = False,
    bootstrap: BootstrapOpt = 5000,
    ci: Annotated[str, typer.Option("--ci", help="percentile, bc, bca, mc or none.")] = "percentile",
    level: LevelOpt = 0.95,
    seed: SeedOpt = None,
    as_json: JsonOpt = False,
    overwrite: OverwriteOpt = False,
    report: ReportOpt = None,
    figure: FigureOpt = None,
) -> None:
    """Fit a path/mediation model with bootstrap confidence intervals."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sciplab.stats.paths import paths

    frame = read_data(data)
    kind, value = _resolve_model(model)
    mapping = read_mapping(map_file) if map_file else None
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
            raise DataError("--score works with a SCIP template (--model scip-core, scip-alliance, scip-serial)")
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
        for what, where in (("figure", figure), ("report", report)):
            if where:
                say(f"{what} written to {where}")


def register(app: typer.Typer) -> None:
    """Add the ``fit`` command to ``app``."""
    app.command("fit")(fit_cmd)
