"""Recovery study: whether ``scip-core`` fitted to questionnaire scores recovers the simulated SCIP paths.

Each replication simulates a population (:func:`sciplab.sim.simulate`), generates item responses of
ECR-S, PSSE, TAS-20, MSPSS and PHQ-9 from the latent states (:mod:`sciplab.sim.measurement`), scores
them with the instrument library (:func:`sciplab.score`) and fits the ``scip-core`` path template
(:func:`sciplab.scip.templates.fit_template`, i.e. :func:`sciplab.paths`) twice and the latent
template once:

* **latent**: ``scip-core`` on the simulated true states (no measurement error): correctly
  specified for the estimand, so its percentile-bootstrap intervals should cover the truth about
  95 % of the time;
* **observed**: ``scip-core`` on the scored scales, as a study would: measurement error
  attenuates the paths;
* **sem**: ``scip-core-latent`` (:func:`sciplab.scip.latent.fit_latent_template` with
  ``score=True``): each construct a factor measured by three item parcels built from the same
  questionnaire items, ML estimation; its standardised structural paths (``std_all``) with 95 %
  Wald intervals from their delta-method standard errors. Modelling the items removes the
  attenuation the observed scores suffer.

The estimand is the standardised ``scip-core`` regression weight in the model's population: the
same template fitted to the latent states of one large reference population (``reference_agents``
agents, its own seed). Every variable is z-scored before fitting, so both estimators are in SD
units. Per path and estimator: bias, RMSE, 95 % CI coverage (with its binomial Monte Carlo SE) and
the ratio of the mean estimate to the truth (attenuation). Replications run through
:func:`sciplab.sim.sweep` (locally or on Dask).

A replication whose SEM fit does not converge keeps its rows with missing estimates (counted in
``details["sem_failures"]``; bias, RMSE and coverage use the converged fits).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.results import Result, package_version

__all__ = ["INSTRUMENTS", "RecoveryResult", "baseline_items", "population_paths", "recovery", "recovery_summary"]

INSTRUMENTS = ("ECR-S", "PSSE", "TAS-20", "MSPSS", "PHQ-9")
_OBSERVED = ["ECR-S_anxiety", "ECR-S_avoidance", "PSSE_total", "TAS-20_total", "MSPSS_total", "PHQ-9_total"]
_LATENT = {"attachment_anxiety": "attachment_anxiety", "attachment_avoidance": "attachment_avoidance",
           "social_self_efficacy": "social_self_efficacy", "emotional_awareness": "emotional_awareness",
           "perceived_support": "social_support", "distress": "distress"}  # fmt: skip
BOOTSTRAP = 1000


def _z(frame: pd.DataFrame) -> pd.DataFrame:
    return (frame - frame.mean()) / frame.std(ddof=1)


def _paths(frame: pd.DataFrame, *, latent: bool, bootstrap: int, seed: int) -> pd.DataFrame:
    from sciplab.scip.templates import fit_template

    kwargs: dict[str, Any] = {"instruments": []} if latent else {}
    if bootstrap:
        res = fit_template(_z(frame), "scip-core", bootstrap=bootstrap, seed=seed, **kwargs)
    else:
        res = fit_template(_z(frame), "scip-core", ci="none", **kwargs)
    t = res.table[res.table["op"] == "~"]
    return t[["lhs", "rhs", "est", "ci_lower", "ci_upper"]].reset_index(drop=True)


def _latent_frame(persons: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({new: persons[f"latent_{old}"].to_numpy(float) for old, new in _LATENT.items()})


def baseline_items(res: Any) -> pd.DataFrame:
    """The baseline item responses of every instrument side by side, one row per person."""
    blocks = []
    for frame in res.items.values():
        base = frame[frame["wave"] == "baseline"].drop(columns=["wave"]).set_index("person_id")
        blocks.append(base)
    return pd.concat(blocks, axis=1).sort_index().reset_index(drop=True)


def _sem_paths(items: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Standardised structural paths of ``scip-core-latent`` on item parcels with Wald intervals.

    Empty estimates (NaN) when the ML estimator does not converge.
    """
    import warnings

    from scipy.stats import norm

    from sciplab.scip.latent import fit_latent_template

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is recorded, not printed once per replication
        res = fit_latent_template(items, "scip-core-latent", score=True)
    std = res.std[res.std["op"] == "~"].reset_index(drop=True)
    z = norm.ppf(0.5 + level / 2)
    out = pd.DataFrame({"lhs": std["lhs"], "rhs": std["rhs"], "est": std["std_all"],
                        "ci_lower": std["std_all"] - z * std["se_std_all"],
                        "ci_upper": std["std_all"] + z * std["se_std_all"]})  # fmt: skip
    if not res.details.get("converged", True):
        out[["est", "ci_lower", "ci_upper"]] = np.nan
    return out


def recovery_summary(res: Any) -> list[dict[str, Any]]:
    """Per path and estimator (latent, observed, sem): estimate and 95 % interval (the sweep summary)."""
    p = res.persons
    fits = {
        "latent": _paths(_latent_frame(p), latent=True, bootstrap=BOOTSTRAP, seed=0),
        "observed": _paths(p[_OBSERVED].astype(float), latent=False, bootstrap=BOOTSTRAP, seed=0),
        "sem": _sem_paths(baseline_items(res)),
    }
    rows = []
    for estimator, fit in fits.items():
        for r in fit.itertuples(index=False):
            rows.append({"estimator": estimator, "lhs": r.lhs, "rhs": r.rhs, "est": r.est, "ci_lower": r.ci_lower,
                         "ci_upper": r.ci_upper})  # fmt: skip
    return rows


def population_paths(n_agents: int = 40_000, *, seed: SeedLike = None, years: float = 2.0) -> pd.DataFrame:
    """Standardised ``scip-core`` weights on the latent states of one large population (the estimand)."""
    from sciplab.sim.model import simulate

    res = simulate(n_agents, years=years, seed=seed, instruments=None, session_instruments=None)
    fit = _paths(_latent_frame(res.persons), latent=True, bootstrap=0, seed=0)
    return fit[["lhs", "rhs", "est"]].rename(columns={"est": "truth"})


@dataclasses.dataclass(frozen=True)
class RecoveryResult(Result):
    """Bias, RMSE and coverage per path and estimator.

    ``table`` columns: estimator (latent / observed), lhs, rhs, truth, mean_estimate, bias, rmse,
    coverage, coverage_mc_se, ratio (mean estimate / truth), replications. ``runs``: every
    replication's estimates and intervals.
    """

    runs: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Recovery of scip-core paths from simulated questionnaire data"

    def summary(self) -> str:
        """The table (rounded for display only) with what it means."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['replications']} replications x {d['n_agents']} agents; truth from {d['reference_agents']} agents; "
            f"{d['bootstrap']} bootstrap draws per fit; seed {d['seed']}"
        )
        t = self.table.copy()
        t["path"] = t["lhs"] + " ~ " + t["rhs"]
        show = t[["estimator", "path", "truth", "mean_estimate", "bias", "rmse", "coverage", "ratio"]]
        lines.append(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append("latent: scip-core on the true states (no measurement error); observed: scip-core on scored "
                     "questionnaires (with error); sem: scip-core-latent on item parcels (standardised paths, Wald "
                     "intervals). Coverage should be .93-.97 where the estimator is correctly specified.")  # fmt: skip
        if d.get("sem_failures"):
            lines.append(f"sem fits that did not converge (left out): {d['sem_failures']}")
        return "\n".join(lines)


def recovery(
    *,
    replications: int = 100,
    n_agents: int = 2000,
    reference_agents: int = 40_000,
    years: float = 2.0,
    seed: SeedLike = None,
    scheduler: str | None = "synchronous",
    n_workers: int = 2,
    timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> RecoveryResult:
    """Run the recovery study (see the module docstring).

    Examples
    --------
    >>> res = recovery(replications=2, n_agents=300, reference_agents=600, years=0.5, seed=1)
    >>> sorted(res.table["estimator"].unique())
    ['latent', 'observed', 'sem']
    """
    from sciplab.sim.sweep import sweep

    if isinstance(replications, bool) or not isinstance(replications, int) or not 2 <= replications <= 100_000:
        raise InvalidParameterError(f"replications must be a whole number from 2 to 100000, got {replications!r}")
    recorded = resolve_seed(seed)
    ref_seed, sweep_seed = np.random.SeedSequence(recorded).spawn(2)
    truth = population_paths(reference_agents, seed=np.random.default_rng(ref_seed), years=years)
    sw = sweep(
        {"therapy.policy": ["scip"]}, replications, fixed={"n_agents": n_agents, "years": years},
        seed=int(sweep_seed.generate_state(1)[0]), scheduler=scheduler, n_workers=n_workers, timeout=timeout,
        progress=progress, summarize=recovery_summary,
        simulate_options={"instruments": list(INSTRUMENTS), "session_instruments": None},
    )  # fmt: skip
    runs = sw.table.merge(truth, on=["lhs", "rhs"], how="left")
    runs["covered"] = (runs["ci_lower"] <= runs["truth"]) & (runs["truth"] <= runs["ci_upper"])
    rows = []
    failed = runs[runs["est"].isna()]
    sem_failures = int(failed.loc[failed["estimator"] == "sem", "task"].nunique())
    for (est, lhs, rhs), g in runs.groupby(["estimator", "lhs", "rhs"], sort=False):
        g = g[g["est"].notna()]
        if g.empty:
            continue
        err = g["est"] - g["truth"]
        cov = float(g["covered"].mean())
        truth_v = float(g["truth"].iloc[0])
        rows.append((est, lhs, rhs, truth_v, float(g["est"].mean()), float(err.mean()),
                     float(np.sqrt((err**2).mean())), cov, float(np.sqrt(cov * (1 - cov) / len(g))),
                     float(g["est"].mean() / truth_v) if truth_v else np.nan, len(g)))  # fmt: skip
    table = pd.DataFrame(rows, columns=["estimator", "lhs", "rhs", "truth", "mean_estimate", "bias", "rmse",
                                        "coverage", "coverage_mc_se", "ratio", "replications"])  # fmt: skip
    details = {"replications": replications, "n_agents": n_agents, "reference_agents": reference_agents,
               "years": years, "bootstrap": BOOTSTRAP, "ci": "percentile", "seed": recorded,
               "instruments": list(INSTRUMENTS), "scheduler": sw.details["scheduler"], "sem_failures": sem_failures,
               "sem_ci": "Wald, delta-method SE of std_all",
               "version": package_version()}  # fmt: skip
    return RecoveryResult(table=table, details=details, runs=runs)
