"""``sciplab fit``: fit a path/mediation model (syntax, model file or SCIP template) to a data file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sciplab._core.errors import DataError
from sciplab._core.io import read_data
from sciplab.cli._common import console, emit_json, err_console, handle_errors
from sciplab.cli._inputs import read_mapping
from sciplab.scip.templates import TEMPLATES, fit_template
from sciplab.stats.paths import PathResult, paths


def _resolve_model(model: str) -> tuple[str, str]:
    """Return ``("template", name)`` or ``("syntax", text)`` for the --model argument."""
    key = model.strip().lower().replace("_", "-")
    if key in TEMPLATES:
        return "template", key
    p = Path(model)
    if "~" not in model and ":=" not in model and p.suffix.lower() in (".lav", ".txt", ".model", ".lavaan"):
        if not p.exists():
            raise FileNotFoundError(2, "No such file or directory", str(p))
        return "syntax", p.read_text(encoding="utf-8")
    if "~" not in model and p.exists() and p.is_file():
        return "syntax", p.read_text(encoding="utf-8")
    return "syntax", model


def print_path_result(result: PathResult) -> None:
    """Print parameters and indirect effects of a path model as rich tables."""
    d = result.details
    console.print(
        f"[bold]{result.title}[/]  N = {d['n']} (dropped {d['n_dropped']}), CI: {d['ci_method']}"
        + (f", B = {d['bootstrap']}, seed = {d['seed']}" if d.get("bootstrap") else "")
    )
    for note in d.get("binding", []):
        console.print(f"  {note}", highlight=False)
    params = Table(title="Parameters", show_edge=False)
    for col in ["lhs", "op", "rhs", "est", "se", "p", "ci", "std"]:
        params.add_column(col, justify="right" if col not in ("lhs", "op", "rhs") else "left")
    for r in result.table[result.table["op"] != ":="].itertuples(index=False):
        params.add_row(
            r.lhs, r.op, r.rhs, f"{r.est:.3f}", _f(r.se), _f(r.pvalue),
            f"[{_f(r.ci_lower)}, {_f(r.ci_upper)}]", _f(r.std_all),
        )  # fmt: skip
    console.print(params)
    if len(result.indirect):
        ind = Table(title="Indirect and total effects", show_edge=False)
        for col in ["effect", "path", "est", "ci", "std"]:
            ind.add_column(col)
        for r in result.indirect.itertuples(index=False):
            ind.add_row(r.effect, r.path, f"{r.est:.3f}", f"[{_f(r.ci_lower)}, {_f(r.ci_upper)}]", _f(r.std_all))
        console.print(ind)


def _f(v: float) -> str:
    return "" if v != v else f"{v:.3f}"  # NaN -> blank


def register(app: typer.Typer) -> None:
    """Add the ``fit`` command to ``app``."""

    @app.command("fit")
    @handle_errors
    def fit(
        data: Annotated[str, typer.Argument(help="Data file (.csv, .tsv, .xlsx, .sav, .parquet).")],
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
        bootstrap: Annotated[int, typer.Option("--bootstrap", "-B", help="Bootstrap replicates.")] = 5000,
        ci: Annotated[str, typer.Option("--ci", help="percentile, bc, bca, mc or none.")] = "percentile",
        level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
        seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing report/figure files.")] = False,
        report: Annotated[str | None, typer.Option("--report", help="Write a report (.html, .md, .csv).")] = None,
        figure: Annotated[
            str | None, typer.Option("--figure", help="Save the path diagram (.png, .svg, .pdf).")
        ] = None,
    ) -> None:
        """Fit a path/mediation model with bootstrap confidence intervals."""
        for target in (report, figure):
            if target and Path(target).exists() and not overwrite:
                raise DataError(f"{target}: already exists; choose another name or pass --overwrite")
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
                    console.print(f"{what} written to {where}")
