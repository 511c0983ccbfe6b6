"""Speed of sciplab.stats.power (issue 16 targets), measured in one run.

1. scip-core population, 10 values of N (50..500) x 1,000 replicates, Monte Carlo CI test
   (5,000 draws): target < 30 s wall on the 2-core machine.
2. The same job written the usual way: per replicate, statsmodels OLS fits of the four equations
   and a Monte Carlo CI per indirect effect (numpy multivariate_normal draws). First checked to give
   the same numbers (estimates on one data set; power on a common subset within Monte Carlo error),
   then timed on a subset of replicates and scaled linearly to the full job (stated in the output).
   Target: >= 50x.
3. Latent model (HS-sized CFA, 3 factors x 3 items, plus two structural paths), N = 301, 500
   replicates, every replicate refitted by the SEM engine in batches, vs semopy fitting the same
   replicate data sets one by one. Same numbers first: on the timed subset, semopy's estimate of
   every path equals sciplab's sem() on the same data (and the test suite checks power()'s batched
   refits against a per-replicate sem() loop). semopy is timed on a subset of replicates
   (--semopy-reps, default 30) and scaled linearly to 500 (stated in the output).
4. Dask: a 2-worker LocalCluster vs 1 worker on the same job, for the path model and the latent
   model: wall (with and without the cluster's start-up, measured separately) and CPU of this
   process plus its reaped worker processes; results identical to each other and to a local
   single-thread run. The load average before and after is printed (the machine is shared).
5. FIML power (missing data analysed by full-information ML): power() with its batched FIML refits
   (``sem._fiml_batch.refit_own_patterns``, one solve per chunk of replicates) vs what the FIML path
   did before, one ``sem(..., missing="fiml")`` per replicate, on the same replicate data sets
   (chunk 0's draws): a small CFA (2 factors x 3 items, N = 150, 20% MCAR, 100 replicates; the loop
   runs on every replicate, 30 with --quick) and scip-core-latent (18 parcels, ind1, N = 300, 20%
   MAR on attachment_anxiety_p1, 100 replicates; the loop on --fiml-loop-reps=K replicates,
   default 10, scaled linearly). Same numbers first: the loop's estimates of every tested path
   equal the batched ones (largest difference printed; the test suite checks estimates, SEs and
   rejections replicate by replicate).

Run: uv run --group dev python benchmarks/bench_power.py [--quick] [--latent-only | --dask-only | --fiml-only]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

from sciplab.scip.population import template_population
from sciplab.stats.power import population, power
from sciplab.stats.power.model import analysis_model

NS = list(range(50, 550, 50))
REPS = 1000
DRAWS = 5000


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def baseline_power(model_text: str, ns: list[int], reps: int, seed: int) -> pd.DataFrame:
    """The usual way: a Python loop over replicates, statsmodels OLS per equation, MC CI per effect."""
    import statsmodels.api as sm

    pop = population(model_text)
    am = analysis_model(pop)
    rng = np.random.default_rng(seed)
    names = list(pop.variables)
    effects = []  # (name, [(equation y, predictor), ...]) for the products a*b
    coef_of = {name: (lhs, rhs) for name, lhs, rhs, _ in am.coef_rows}
    for name, expr in am.effects.items():
        effects.append((name, [coef_of[c] for c in expr.names]))
    rows = []
    for n in ns:
        hits = dict.fromkeys([e[0] for e in effects], 0)
        for _ in range(reps):
            data = pd.DataFrame(rng.multivariate_normal(np.zeros(len(names)), pop.cov, size=n), columns=names)
            fits = {}
            for eq in am.equations:
                X = sm.add_constant(data[list(eq.predictors)])
                fits[eq.y] = sm.OLS(data[eq.y], X).fit()
            for name, coefs in effects:
                est = [fits[y].params[x] for y, x in coefs]
                var = [fits[y].cov_params().loc[x, x] for y, x in coefs]
                draws = rng.multivariate_normal(est, np.diag(var), size=DRAWS)
                prod = draws.prod(axis=1)
                lo, hi = np.quantile(prod, [0.025, 0.975])
                hits[name] += int(lo > 0 or hi < 0)
        rows += [{"n": n, "name": k, "power": v / reps} for k, v in hits.items()]
    return pd.DataFrame(rows)


def same_numbers(model_text: str) -> None:
    """Our batched OLS equals statsmodels on one data set; power agrees within MC error."""
    import statsmodels.api as sm

    from sciplab.stats.power.api import build_spec
    from sciplab.stats.power.engine import _moments, fit

    pop = population(model_text)
    am = analysis_model(pop)
    spec = build_spec(pop, am, test="mc", level=0.95, draws=DRAWS, bootstrap=1000, seed=1, missing=None,
                      skew=None, kurtosis=None)  # fmt: skip
    data = np.random.default_rng(3).multivariate_normal(np.zeros(len(pop.variables)), pop.cov, size=300)
    frame = pd.DataFrame(data, columns=pop.variables)
    cov, n = _moments(data[None, :, list(spec.used)], None)
    ours = fit(spec, cov, n)
    k = 0
    worst_est = worst_se = 0.0
    for eq in am.equations:
        res = sm.OLS(frame[eq.y], sm.add_constant(frame[list(eq.predictors)])).fit()
        for x in eq.predictors:
            worst_est = max(worst_est, abs(ours["est"][0, k] - res.params[x]))
            worst_se = max(worst_se, abs(np.sqrt(ours["acov"][0, k, k]) - res.bse[x]))
            k += 1
    print(f"check: estimates vs statsmodels max |diff| {worst_est:.2e}, SEs {worst_se:.2e}")
    assert worst_est < 1e-10 and worst_se < 1e-10
    n_check, reps_check = 200, 300
    base = baseline_power(model_text, [n_check], reps_check, seed=5)
    mine = power(model_text, n=n_check, reps=2000, seed=5, draws=DRAWS).table
    worst = 0.0
    for r in base.itertuples():
        p = float(mine[mine["name"] == r.name]["power"].iloc[0])
        se = np.hypot(np.sqrt(p * (1 - p) / 2000), np.sqrt(max(r.power * (1 - r.power), 0.01) / reps_check))
        worst = max(worst, abs(p - r.power) / se)
    print(f"check: power at N={n_check} vs the statsmodels loop ({reps_check} reps): max |diff| = {worst:.2f} SE")
    assert worst < 4


LATENT = """visual =~ 0.7*x1 + 0.6*x2 + 0.7*x3
textual =~ 0.8*x4 + 0.8*x5 + 0.8*x6
speed =~ 0.6*x7 + 0.7*x8 + 0.6*x9
textual ~ 0.4*visual
speed ~ 0.2*textual + 0.2*visual"""
LATENT_FIT = """visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
textual ~ visual
speed ~ textual + visual"""


def latent_vs_semopy(quick: bool) -> None:
    """Section 3: batched latent power vs semopy refits of the same replicate data sets."""
    import warnings

    from sciplab.stats.power.generate import draw
    from sciplab.stats.power.latent import CHUNK, latent_population
    from sciplab.stats.sem import sem

    n, reps = 301, 500
    sub = 10 if quick else int(next((a.split("=")[1] for a in sys.argv if a.startswith("--semopy-reps=")), 30))
    repeats = 1 if quick else 3
    runs = [timed(lambda: power(LATENT, n=n, reps=reps, seed=8, test="sobel")) for _ in range(repeats)]
    res = runs[0][0]
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    pop = latent_population(LATENT)
    data_ss, _, _ = np.random.SeedSequence([res.details["seed"], n, 0]).spawn(3)
    data = draw(np.random.default_rng(data_ss), min(CHUNK, reps), n, pop.cov, np.linalg.cholesky(pop.cov), None)
    try:
        import semopy
    except ImportError:
        print(
            "3. latent model vs semopy: semopy is not installed (uv sync --group dev); sciplab alone: "
            f"{reps} replicates in {wall:.2f} s wall, {cpu:.2f} s CPU"
        )
        return

    def semopy_loop() -> list[float]:
        out = []
        for r in range(sub):
            m = semopy.Model(LATENT_FIT)
            m.fit(pd.DataFrame(data[r], columns=pop.observed))
            est = m.inspect()
            row = est[(est["lval"] == "textual") & (est["op"] == "~") & (est["rval"] == "visual")]
            out.append(float(row["Estimate"].iloc[0]))
        return out

    theirs, s_wall, s_cpu = timed(semopy_loop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = [
            float(sem(pd.DataFrame(data[r], columns=pop.observed), LATENT_FIT, std=False)
                  .table.query("lhs == 'textual' and op == '~' and rhs == 'visual'")["est"].iloc[0])
            for r in range(sub)
        ]  # fmt: skip
    worst = max(abs(a - b) for a, b in zip(ours, theirs, strict=True))
    scale = reps / sub
    row = res.table[res.table["name"] == "textual~visual"].iloc[0]
    print(
        f"3. latent CFA + paths, N = {n}, {reps} reps (batched SEM refits, Wald/delta tests): "
        f"median wall {wall:.2f} s, CPU {cpu:.2f} s over {repeats} run(s); "
        f"power(textual ~ visual) = {row['power']:.3f}; failed {res.details['failed_total']}"
    )
    print(
        f"   semopy, one fit per replicate: {sub} reps took {s_wall:.1f} s wall ({s_cpu:.1f} s CPU); scaled x{scale:g} "
        f"to {reps}: {s_wall * scale:.0f} s wall, {s_cpu * scale:.0f} s CPU; same path estimates as sciplab sem() "
        f"(largest difference {worst:.1e})"
    )
    print(f"   ratio: {s_wall * scale / wall:.0f}x wall, {s_cpu * scale / cpu:.0f}x CPU")
    assert worst < 1e-3


FIML_CFA = "f1 =~ 0.7*x1 + 0.7*x2 + 0.7*x3\nf2 =~ 0.6*y1 + 0.6*y2 + 0.6*y3\nf2 ~ 0.3*f1"


def fiml_vs_loop(quick: bool) -> None:
    """Section 5: batched FIML power vs one sem(missing="fiml") per replicate on the same data sets."""
    import warnings

    from sciplab.scip.population import latent_template_population
    from sciplab.stats.power.generate import draw
    from sciplab.stats.power.latent import _apply_missing, prepare_sem
    from sciplab.stats.sem import sem

    loop_k = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--fiml-loop-reps=")), 3 if quick else 10))
    jobs = [
        ("small CFA (6 items)", FIML_CFA, 150, "mcar:0.2:fiml", "f2~f1", 30 if quick else 100),
        ("scip-core-latent (18 parcels)", latent_template_population("scip-core-latent"), 300,
         "mar:0.2:attachment_anxiety_p1:fiml", "ind1", loop_k),
    ]  # fmt: skip
    reps, seed = 100, 3
    print(f"5. FIML power, {reps} replicates at one N, test = delta method; load average {os.getloadavg()[0]:.1f}")
    for label, text, n, missing, effect, sub in jobs:
        res, wall, cpu = timed(lambda text=text, n=n, missing=missing: power(
            text, n=n, reps=reps, seed=seed, test="sobel", missing=missing, threads=1))  # fmt: skip
        study, _ = prepare_sem(text, test="sobel", level=0.95, seed=seed, missing=missing, analysis_model=None,
                               draws=1000)  # fmt: skip
        f = study.fitter
        data_ss, miss_ss, _ = np.random.SeedSequence([seed, n, 0]).spawn(3)
        data = draw(np.random.default_rng(data_ss), reps, n, study.cov, study.chol, study.nonnormal)
        data = _apply_missing(np.random.default_rng(miss_ss), data, study.missing_columns, study.missing,
                              study.cause, study.cause_sd, study.g0)  # fmt: skip
        from sciplab.stats.power.latent import _fiml_batch_fit

        phi, _, ok = _fiml_batch_fit(f, data[:sub])
        kk = [k for *_, k in f.rows]
        ours = f.spec.theta(phi)[:, kk]
        keys = [(lhs, op, rhs) for _, lhs, op, rhs, _ in f.rows]

        def loop(f=f, data=data, sub=sub, keys=keys) -> np.ndarray:
            out = np.full((sub, len(keys)), np.nan)
            for r in range(sub):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = sem(pd.DataFrame(data[r][:, f.columns], columns=f.observed), f.parsed, missing="fiml",
                            std=False).table  # fmt: skip
                at = {(a, o, b): i for i, (a, o, b) in enumerate(zip(t["lhs"], t["op"], t["rhs"], strict=True))}
                out[r] = t["est"].to_numpy()[[at[k] for k in keys]]
            return out

        theirs, l_wall, l_cpu = timed(loop)
        worst = float(np.nanmax(np.abs(theirs[ok] - ours[ok])))
        scale = reps / sub
        row = res.table[res.table["name"] == effect].iloc[0]
        print(
            f"   {label}, N = {n}, {missing}: batched power() wall {wall:.2f} s, CPU {cpu:.2f} s; "
            f"power({effect}) = {row['power']:.3f}, failed {res.details['failed_total']}"
        )
        print(
            f"   per-replicate sem(missing='fiml') loop (the old FIML path): {sub} reps took {l_wall:.1f} s wall "
            f"({l_cpu:.1f} s CPU)"
            + (
                f"; scaled x{scale:g} to {reps}: {l_wall * scale:.0f} s wall, {l_cpu * scale:.0f} s CPU"
                if sub != reps
                else ""
            )
            + f"; largest path difference {worst:.1e}"
        )
        print(f"   ratio: {l_wall * scale / wall:.0f}x wall, {l_cpu * scale / cpu:.0f}x CPU")
        assert worst < 1e-5


def main() -> None:
    quick = "--quick" in sys.argv
    model = template_population("scip-core")
    if "--fiml-only" in sys.argv:
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        fiml_vs_loop(quick)
        return
    if "--latent-only" in sys.argv:
        latent_vs_semopy(quick)
        return
    if "--dask-only" in sys.argv:
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        dask_scaling(model, quick)
        return
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    same_numbers(model)

    repeats = 1 if quick else 3
    runs = [timed(lambda: power(model, n=NS, reps=REPS, seed=1, draws=DRAWS)) for _ in range(repeats)]
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
    print(
        f"1. scip-core, {len(NS)} N x {REPS} reps, MC CI ({DRAWS} draws): median wall {wall:.1f} s, CPU {cpu:.1f} s "
        f"over {repeats} run(s) (target < 30 s)"
    )

    sub = 20 if quick else 50  # replicates per N timed in the baseline, scaled to REPS
    _, b_wall, b_cpu = timed(lambda: baseline_power(model, NS, sub, seed=2))
    scale = REPS / sub
    print(
        f"2. statsmodels OLS loop + MC CIs: {sub} reps per N took {b_wall:.1f} s wall ({b_cpu:.1f} s CPU); "
        f"scaled x{scale:g} to {REPS} reps: {b_wall * scale:.0f} s wall, {b_cpu * scale:.0f} s CPU"
    )
    print(f"   ratio: {b_wall * scale / wall:.0f}x wall, {b_cpu * scale / cpu:.0f}x CPU (target >= 50x)")

    latent_vs_semopy(quick)

    fiml_vs_loop(quick)

    dask_scaling(model, quick)


def _cpu_tree() -> float:
    """CPU seconds of this process plus its finished children (Dask worker processes once reaped)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def _cluster_startup(workers: int) -> float:
    """Wall seconds to start and stop a LocalCluster of ``workers`` processes (no job)."""
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=50)  # fmt: skip
    Client(cluster).close()
    cluster.close()
    return time.perf_counter() - start


def dask_scaling(model: str, quick: bool) -> None:
    """Section 4: the same job on a 1-worker and a 2-worker LocalCluster, path and latent models."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("4. Dask: dask.distributed is not installed (sciplab[dist]); skipped")
        return
    jobs = {
        "scip-core path model": (model, {"n": [100, 200, 300, 400], "reps": 400 if quick else 1000, "seed": 4,
                                         "draws": DRAWS}),
        "latent CFA + paths": (LATENT, {"n": [150, 301], "reps": 500 if quick else 1500, "seed": 4, "test": "mc",
                                        "draws": 2000}),
    }  # fmt: skip
    for label, (text, kw) in jobs.items():
        load_before = os.getloadavg()[0]
        start_1, start_2 = _cluster_startup(1), _cluster_startup(2)
        out = {}
        for k in (1, 2):
            cpu0 = _cpu_tree()
            res, wall, _ = timed(lambda k=k, text=text, kw=kw: power(text, workers=k, **kw))
            out[k] = (res, wall, _cpu_tree() - cpu0)
        local, l_wall, l_cpu = timed(lambda text=text, kw=kw: power(text, threads=1, **kw))
        same = out[1][0].table.equals(out[2][0].table) and out[1][0].table.equals(local.table)
        w1, w2 = out[1][1], out[2][1]
        c1, c2 = out[1][2], out[2][2]
        j1, j2 = max(w1 - start_1, 1e-9), max(w2 - start_2, 1e-9)
        print(
            f"4. Dask, {label} ({len(kw['n'])} N x {kw['reps']} reps), load average {load_before:.1f} -> "
            f"{os.getloadavg()[0]:.1f}:"
        )
        print(
            f"   1 worker: wall {w1:.1f} s (cluster start/stop {start_1:.1f} s), CPU {c1:.1f} s (this process + "
            f"workers); 2 workers: wall {w2:.1f} s (start/stop {start_2:.1f} s), CPU {c2:.1f} s"
        )
        print(
            f"   speed-up 1 -> 2 workers: wall {w1 / w2:.2f}x, wall without cluster start-up {j1 / j2:.2f}x, "
            f"CPU ratio (2 / 1 workers) {c2 / c1:.2f}; in-process single thread: wall {l_wall:.1f} s, CPU {l_cpu:.1f} s"
        )
        print(f"   identical results (1 worker, 2 workers, local single thread): {same}")
        assert same


if __name__ == "__main__":
    main()
