"""``sciplab power``: power and sample size for SCIP path/mediation models (Monte Carlo or analytic Sobel).

Heavy modules (the power engine, scipy, Dask, matplotlib) are imported inside the command, so
building the CLI stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sciplab._core.errors import InvalidParameterError
from sciplab.cli._common import emit_json, err_console, say, split_list
from sciplab.cli._options import FigureOpt, JsonOpt, LevelOpt, OverwriteOpt, ReportOpt, SeedOpt

MAX_NS = 200


def parse_ns(value: str | None) -> list[int] | None:
    """``"100,200,300"`` or ``"50:500:50"`` (start:stop:step, stop included) -> sample sizes."""
    if value is None:
        return None
    text = value.strip()
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            if (parts[1] - parts[0]) // parts[2] + 1 > MAX_NS:
                raise InvalidParameterError(f"--n {value!r} gives more than {MAX_NS} sample sizes; use a larger step")
            return list(range(parts[0], parts[1] + 1, parts[2]))
        out = [int(v) for v in split_list(text)]
    except ValueError:
        raise InvalidParameterError(
            f"--n must be sample sizes such as 100,200,300 or start:stop:step such as 50:500:50, got {value!r}"
        ) from None
    if not out:
        raise InvalidParameterError("--n needs at least one sample size")
    if len(out) > MAX_NS:
        raise InvalidParameterError(f"--n has more than {MAX_NS} sample sizes")
    return out


def parse_effects(value: str | None) -> dict[str, float] | None:
    """``"social_self_efficacy~attachment_anxiety=-0.3, a~~b=0.5"`` -> mapping."""
    if value is None:
        return None
    out: dict[str, float] = {}
    for item in split_list(value):
        key, sep, number = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(f"--effects items look like 'outcome~predictor=0.3', got {item!r}")
        try:
            out[key.strip()] = float(number)
        except ValueError:
            raise InvalidParameterError(f"--effects: {number!r} in {item!r} is not a number") from None
    return out


def _sobel(
    a: float | None, b: float | None, cp: float, n: list[int] | None, target: float | None, level: float,
    sd: tuple[float, float, float], r2_y: float | None, as_json: bool,
) -> None:  # fmt: skip
    from sciplab.stats.power import sobel_power, sobel_sample_size

    if a is None or b is None:
        raise InvalidParameterError("--sobel needs --a and --b (and optionally --cp, --sd-x, --sd-m, --sd-y, --r2-y)")
    kw: dict[str, Any] = {"sd_x": sd[0], "sd_m": sd[1], "sd_y": sd[2], "r2_y": r2_y, "level": level}
    out: dict[str, Any] = {"test": "sobel (analytic, pwrss conventions)", "a": a, "b": b, "cp": cp, **kw}
    if n:
        out["power"] = [{"n": v, "power": sobel_power(a, b, cp, v, **kw)} for v in n]
    else:
        goal = 0.80 if target is None else target
        out["target"] = goal
        out["n"] = sobel_sample_size(a, b, cp, power=goal, **kw)
    if as_json:
        emit_json(out)
        return
    say(f"Analytic Sobel test (pwrss conventions): a = {a:g}, b = {b:g}, c' = {cp:g}, alpha = {1 - level:.3g}")
    if n:
        for row in out["power"]:
            say(f"N = {row['n']}: power = {row['power']:.3f}")
    else:
        say(f"Required N for power {out['target']:g}: {out['n']}")


def power_command(
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="SCIP template (scip-core, ...), a model file, or lavaan syntax with values."
        ),
    ] = None,
    n: Annotated[
        str | None, typer.Option("--n", help="Sample sizes: 100,200,300 or start:stop:step (50:500:50).")
    ] = None,
    reps: Annotated[int, typer.Option("--reps", min=1, max=1_000_000, help="Replicates per sample size.")] = 1000,
    test: Annotated[str, typer.Option("--test", help="mc (default), percentile, joint or sobel.")] = "mc",
    level: LevelOpt = 0.95,
    seed: SeedOpt = None,
    draws: Annotated[int, typer.Option("--draws", min=1, max=1_000_000, help="Monte Carlo draws (--test mc).")] = 5000,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", "-B", min=1, max=100_000, help="Resamples per replicate (--test percentile).")
    ] = 1000,
    target: Annotated[
        float | None, typer.Option("--target", help="Find the N reaching this power (e.g. 0.8) instead of a curve.")
    ] = None,
    effect: Annotated[str, typer.Option("--effect", help="Effect for --target (e.g. ind1 or a := name).")] = "ind1",
    effects: Annotated[
        str | None, typer.Option("--effects", help="Template values: 'outcome~predictor=0.3,a~~b=0.4'.")
    ] = None,
    analysis_model: Annotated[
        str | None, typer.Option("--analysis-model", help="Model fitted per replicate (default: the population's).")
    ] = None,
    missing: Annotated[
        str | None, typer.Option("--missing", help="mcar:0.2 or mar:0.2:cause_variable (listwise).")
    ] = None,
    skew: Annotated[float | None, typer.Option("--skew", help="Skewness of every variable (Vale-Maurelli).")] = None,
    kurtosis: Annotated[float | None, typer.Option("--kurtosis", help="Excess kurtosis of every variable.")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=1024, help="Run on a local Dask cluster of this many workers.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=3600, help="Seconds to wait for a Dask scheduler.")
    ] = 10.0,
    sobel: Annotated[
        bool, typer.Option("--sobel", help="Analytic Sobel power/sample size (pwrss conventions).")
    ] = False,
    a: Annotated[float | None, typer.Option("--a", help="--sobel: path X -> M.")] = None,
    b: Annotated[float | None, typer.Option("--b", help="--sobel: path M -> Y.")] = None,
    cp: Annotated[float, typer.Option("--cp", help="--sobel: direct path c'.")] = 0.0,
    sd_x: Annotated[float, typer.Option("--sd-x", help="--sobel: SD of X.")] = 1.0,
    sd_m: Annotated[float, typer.Option("--sd-m", help="--sobel: SD of M.")] = 1.0,
    sd_y: Annotated[float, typer.Option("--sd-y", help="--sobel: SD of Y.")] = 1.0,
    r2_y: Annotated[float | None, typer.Option("--r2-y", help="--sobel: R^2 of Y ~ M + X (default pwrss's).")] = None,
    as_json: JsonOpt = False,
    overwrite: OverwriteOpt = False,
    report: ReportOpt = None,
    figure: FigureOpt = None,
) -> None:
    """Power curve or required sample size for a path/mediation model (Monte Carlo), or analytic Sobel power."""
    ns = parse_ns(n)
    if target is not None and not 0 < target < 1:
        raise InvalidParameterError(f"--target must be a power between 0 and 1 (exclusive), e.g. 0.8; got {target!r}")
    if sobel:
        if report or figure:
            raise InvalidParameterError("--report and --figure go with Monte Carlo runs, not --sobel")
        _sobel(a, b, cp, ns, target, level, (sd_x, sd_m, sd_y), r2_y, as_json)
        return
    if model is None:
        raise InvalidParameterError("--model is required (a SCIP template, a model file or syntax), or use --sobel")
    if ns is None and target is None:
        raise InvalidParameterError("give --n (a power curve) or --target (the N reaching a power)")
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sciplab.cli._inputs import read_model
    from sciplab.scip.population import power, resolve_model, sample_size

    key = model.strip().lower().replace("_", "-")
    from sciplab.scip.templates import TEMPLATES

    population = resolve_model(key, parse_effects(effects)) if key in TEMPLATES else read_model(model)
    if key not in TEMPLATES and effects:
        raise InvalidParameterError("--effects sets the values of a SCIP template (--model scip-core, ...)")
    analysis = read_model(analysis_model) if analysis_model else None
    kwargs: dict[str, Any] = {
        "reps": reps, "test": test, "level": level, "seed": seed, "draws": draws, "bootstrap": bootstrap,
        "missing": missing, "skew": skew, "kurtosis": kurtosis, "analysis_model": analysis,
        "workers": workers, "scheduler": scheduler, "timeout": timeout,
    }  # fmt: skip
    with Progress(
        TextColumn("replicates"), BarColumn(), TextColumn("{task.completed}/{task.total} chunks"),
        TimeRemainingColumn(), console=err_console, transient=True, disable=not err_console.is_terminal,
    ) as bar:  # fmt: skip
        task = bar.add_task("power", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if target is not None:
            result = sample_size(population, target=target, effect=effect, progress=progress, **kwargs)
        else:
            result = power(population, n=ns, progress=progress, **kwargs)
    if figure:
        from sciplab.plot.power import save_power_curve

        save_power_curve(result, figure, overwrite=overwrite, target=target if target is not None else 0.80)
    if report:
        from sciplab.reports.power import write_report

        write_report(result, report, overwrite=overwrite)
    if as_json:
        emit_json(result.to_dict())
    else:
        say(result.summary())
        for what, where in (("figure", figure), ("report", report)):
            if where:
                say(f"{what} written to {where}")


def register(app: typer.Typer) -> None:
    """Add the ``power`` command to ``app``."""
    app.command("power")(power_command)
