"""``sciplab simulate``: run, calibrate, sweep and report the agent-based SCIP simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sciplab.cli._common import OWN_CHECK, console, emit_json, err_console, handle_errors, split_list

HELP = "Agent-based SCIP simulation: caregiving -> attachment -> network -> therapy -> follow-up."


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _phase_callback(bar: Progress):
    tasks: dict[str, int] = {}

    def cb(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return cb


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command group to ``app``."""
    sim = typer.Typer(help=HELP, no_args_is_help=True)
    app.add_typer(sim, name="simulate")

    @sim.command("run")
    @handle_errors
    def run(
        out: Annotated[
            str, typer.Option("--out", "-o", help="Output folder (must not exist unless --overwrite)."), OWN_CHECK
        ],
        agents: Annotated[int, typer.Option("--agents", "-n", help="Number of agents.")] = 2000,
        years: Annotated[float, typer.Option("--years", help="Years of adult network dynamics.")] = 4.0,
        seed: Annotated[int | None, typer.Option("--seed", help="Random seed (recorded; drawn when omitted).")] = None,
        instruments: Annotated[
            str, typer.Option("--instruments", help="Comma-separated instrument ids (need a scoring key).")
        ] = "ECR-S,PBI,TAS-20,PSSE,MSPSS,IIP-32,PHQ-9,WAI-SR",
        session_instruments: Annotated[
            str,
            typer.Option(
                "--session-instruments",
                help="Comma-separated instruments every client fills in after each session (distress or "
                "alliance scales; empty for none).",
            ),
        ] = "CORE-10,WAI-SR",
        policy: Annotated[
            str, typer.Option("--policy", help="Therapist policy: fixed, complementary, scip, disconfirming.")
        ] = "scip",
        no_error: Annotated[bool, typer.Option("--no-error", help="Generate items without measurement error.")] = False,
        csv: Annotated[bool, typer.Option("--csv", help="Also write CSV copies of every table.")] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Write into an existing folder.")] = False,
    ) -> None:
        """Simulate a population and write persons, items, sessions and ties.

        persons.parquet holds the scored scales (ECR-S_anxiety, ...) and the latent truth (latent_*);
        sessions.parquet one row per client-session as a clinic records it (CORE-10 and WAI-SR items
        and scores, therapist_distance_rating): monitor it with --client-col person_id.
        """
        from sciplab.sim import simulate
        from sciplab.sim.io import check_output_folder

        check_output_folder(out, overwrite=overwrite)  # before the simulation runs
        with _progress() as bar:
            res = simulate(
                agents,
                years=years,
                seed=seed,
                policy=policy,
                instruments=split_list(instruments),
                session_instruments=split_list(session_instruments),
                measurement_error=not no_error,
                progress=_phase_callback(bar),
            )
        files = res.write(out, csv=csv, overwrite=overwrite)
        d = res.details
        console.print(
            f"SCIP simulation: {d['n_agents']} agents, {d['n_clients']} clients, policy {d['policy']}, "
            f"seed {d['seed']}, {d['runtime_s']:.1f} s",
            highlight=False,
        )
        console.print(f"wrote {len(files)} files to {out}", highlight=False)

    @sim.command("calibrate")
    @handle_errors
    def calibrate_cmd(
        repetitions: Annotated[
            int,
            typer.Option("--repetitions", "-r", help="Independent simulation runs (seeds spawned from --seed)."),
        ] = 4,
        agents: Annotated[int, typer.Option("--agents", "-n", help="Agents per run.")] = 5000,
        seed: Annotated[int | None, typer.Option("--seed", help="Master seed.")] = 1,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print both target sets, statistics per run and details as JSON.")
        ] = False,
    ) -> None:
        """Print every published target vs the simulated value, calibration and validation sets apart.

        Calibration targets may be used to tune free parameters; validation targets (pooled estimates
        never tuned to) are reported out of sample. Sign-only targets print as "sign: negative",
        recalled [M] values as such; rows the model cannot compute print as "not simulated".
        Exit code 1 when any scored target misses.
        """
        from sciplab.sim import calibrate

        with _progress() as bar:
            task = bar.add_task("repetitions", total=repetitions)
            res = calibrate(
                repetitions=repetitions, n_agents=agents, seed=seed,
                progress=lambda d, t: bar.update(task, completed=d),
            )  # fmt: skip
        if as_json:
            emit_json({**res.to_dict(), "repetitions": res.repetitions, "misses": res.misses})
            if res.misses:
                raise typer.Exit(1)
            return
        for which in ("calibration", "validation"):
            counts = ", ".join(f"{k} {v}" for k, v in res.counts(which).items())
            title = (
                f"{which.capitalize()} targets ({counts}; repetitions = {repetitions}, agents = {agents}, "
                f"seed = {res.details['seed']})"
            )
            table = Table(title=title)
            for col in ("id", "target", "published", "band", "simulated", "MC interval", "status"):
                table.add_column(col)
            for r in res.table[res.table["set"] == which].itertuples(index=False):
                band = f"[{r.lower:.2f}, {r.upper:.2f}]" if r.kind in ("value", "recalled") else ""
                sim_txt = f"{r.simulated:.3f}" if r.simulated == r.simulated else ""
                mc = f"[{r.mc_lower:.3f}, {r.mc_upper:.3f}]" if r.mc_lower == r.mc_lower else ""
                status = r.status if r.status != "not simulated" else f"not simulated: {r.note}"
                table.add_row(r.id, r.target, r.published_text, band, sim_txt, mc, status)
            console.print(table)
        if res.misses:
            console.print("MISSED: " + "; ".join(res.misses), highlight=False)
            raise typer.Exit(1)
        console.print("all scored targets met")

    @sim.command("sweep")
    @handle_errors
    def sweep_cmd(
        grid: Annotated[
            str,
            typer.Argument(
                help="Grid file (.toml): a [grid] table of parameter = list of values and an optional "
                "[fixed] table of parameter = value; names as in docs/simulation-model.md."
            ),
        ],
        out: Annotated[str, typer.Option("--out", "-o", help="Folder for shards and results (resumable)."), OWN_CHECK],
        repetitions: Annotated[
            int, typer.Option("--repetitions", "-r", help="Independent runs per grid point (spawned seeds).")
        ] = 1,
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler address; default a local cluster.")
        ] = None,
        workers: Annotated[int, typer.Option("--workers", help="Local cluster workers.")] = 2,
        seed: Annotated[int | None, typer.Option("--seed", help="Master seed.")] = None,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the scheduler.")] = 10.0,
        max_memory: Annotated[
            float | None,
            typer.Option(
                "--max-memory",
                help="GiB one task may use (refused before running when the estimate is larger); default the "
                "memory available now / workers, or a remote worker's memory limit.",
            ),
        ] = None,
    ) -> None:
        r"""Run a parameter grid x repetitions on Dask; writes shards and results.parquet.

        The grid file (TOML):

            [fixed]

            n_agents = 2000

            [grid]

            "therapy.policy" = ["scip", "fixed"]

            "network.meet_rate" = [0.3, 0.6]
        """
        from sciplab._core.io import write_data
        from sciplab.sim import read_grid, sweep

        read_grid(grid)  # validate names and values before starting a cluster
        with _progress() as bar:
            task = bar.add_task("tasks", total=None)
            res = sweep(
                grid, repetitions, scheduler=scheduler, seed=seed, out=out, n_workers=workers, timeout=timeout,
                max_memory_gib=max_memory, progress=lambda d, t: bar.update(task, completed=d, total=t),
            )  # fmt: skip
        write_data(res.table, Path(out) / "results.parquet", overwrite=True)
        console.print(f"{res.details['n_tasks']} tasks, seed {res.details['seed']}; wrote {out}/results.parquet")

    @sim.command("policies")
    @handle_errors
    def policies_cmd(
        output: Annotated[
            str | None, typer.Option("--output", "-o", help="HTML report to write (figures and tables)."), OWN_CHECK
        ] = None,
        policies: Annotated[
            str, typer.Option("--policies", help="Comma-separated policies: fixed, complementary, scip, disconfirming.")
        ] = "fixed,complementary,scip,disconfirming",
        reference: Annotated[str, typer.Option("--reference", help="Policy the effect sizes are computed against.")] = (
            "fixed"
        ),
        repetitions: Annotated[
            int, typer.Option("--repetitions", "-r", help="Independent populations (spawned seeds).")
        ] = 4,
        agents: Annotated[int, typer.Option("--agents", "-n", help="Agents per population.")] = 3000,
        years: Annotated[float, typer.Option("--years", help="Years of adult life before help-seeking.")] = 2.0,
        seed: Annotated[int | None, typer.Option("--seed", help="Master seed (recorded).")] = None,
        scheduler: Annotated[
            str, typer.Option("--scheduler", help="'synchronous' (this process), 'local' or a Dask address.")
        ] = "synchronous",
        workers: Annotated[int, typer.Option("--workers", help="Local cluster workers.")] = 2,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the scheduler.")] = 10.0,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report.")] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print tables, effect sizes and details as JSON.")
        ] = False,
    ) -> None:
        """What-if: therapist policies compared on the same simulated clients, by attachment pattern.

        Prints improvement, rupture and repair by pattern and policy, and Cohen's d of each policy against
        --reference with 95% Monte Carlo intervals; --output writes an HTML report with figures.
        """
        from sciplab.sim.experiments import compare_policies

        if output is not None:
            from sciplab._core.files import check_output

            check_output(output, overwrite=overwrite)  # before the simulations run
        sched = None if scheduler == "local" else scheduler
        with _progress() as bar:
            task = bar.add_task("runs", total=None)
            res = compare_policies(
                split_list(policies), reference=reference, repetitions=repetitions, n_agents=agents, years=years,
                seed=seed, scheduler=sched, n_workers=workers, timeout=timeout,
                progress=lambda d, t: bar.update(task, completed=d, total=t),
            )  # fmt: skip
        if output is not None:
            from sciplab.reports.sim import write_policy_report

            write_policy_report(res, output, overwrite=overwrite)
        if as_json:
            emit_json({**res.to_dict(), "effects": res.effects})
            return
        console.print(res.summary(), highlight=False)
        if output is not None:
            console.print(f"wrote {output}", highlight=False)

    @sim.command("report")
    @handle_errors
    def report_cmd(
        folder: Annotated[str, typer.Argument(help="Folder written by 'sciplab simulate run'.")],
        output: Annotated[str, typer.Option("--output", "-o", help="HTML file to write.")] = "report.html",
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing report.")] = False,
    ) -> None:
        """HTML report: attachment plane, degree and support, therapy trajectories and outcomes."""
        from sciplab.reports.sim import write_report

        with _progress() as bar:
            task = bar.add_task("figures", total=None)
            path = write_report(
                folder, output, overwrite=overwrite, progress=lambda d, t: bar.update(task, completed=d, total=t)
            )
        console.print(f"wrote {path}")
