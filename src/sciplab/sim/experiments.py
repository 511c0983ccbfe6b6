"""What-if experiment: therapist policies compared by client attachment pattern (SCIP's clinical question).

Does managing therapeutic distance the SCIP way (engage at the client's preferred distance, then
move toward a secure distance while the alliance holds; Daly & Mallinckrodt 2009; Mallinckrodt 2010)
help more than a fixed distance, matching the client (complementary) or disconfirming the client's
expectation (Thomas et al. 2014), and for whom?

Design
------
* Every policy meets the **same simulated population** in a repetition (common random numbers:
  repetition ``r`` has one seed for all policies, and nothing before therapy depends on the policy),
  so policy differences within a repetition are paired; repetitions are independent populations.
  Runs go through :func:`sciplab.sim.sweep` (local, or a Dask cluster).
* Clients are grouped by their **pre-therapy** attachment pattern: quadrants of latent anxiety and
  avoidance at z = 0 (secure, preoccupied = anxious, dismissing = avoidant, fearful = both; cut
  points are a project choice, [inference]).
* Outcomes per policy and pattern: improvement (intake minus follow-up symptom intensity, higher =
  better), reliable improvement is not used (latent scale); share of clients with a rupture, share of
  ruptured clients whose ruptures were all repaired by the end, dropout, alliance at the end,
  security gain.
* Effect size of policy ``P`` against the ``reference`` policy, per pattern and repetition: Cohen's
  ``d`` = mean improvement difference / SD of improvement (pooled over the two policies); reported
  as the mean over repetitions with the Monte Carlo interval ``mean +/- t(.975, R-1) SD / sqrt(R)``.

All of this is a statement about the model, not about patients: the therapy rules are
[inference] (see ``docs/simulation-model.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError, suggest
from sciplab._core.random import SeedLike
from sciplab._core.results import Result, package_version
from sciplab.sim.measurement import latent
from sciplab.sim.params import POLICIES

__all__ = ["METRICS", "PATTERNS", "PolicyExperiment", "compare_policies", "pattern_summary"]

PATTERNS = ("secure", "preoccupied", "dismissing", "fearful")
#: metric -> description (the order of the tables)
METRICS = {
    "improvement": "intake minus follow-up symptom intensity (higher = better)",
    "rupture": "share of clients with at least one rupture",
    "repaired": "share of ruptured clients with no rupture left unrepaired at the end",
    "dropout": "share of clients who dropped out",
    "alliance_end": "alliance at the last attended session (0-1)",
    "security_gain": "reduction of attachment insecurity during therapy (z)",
}


def _patterns(anx: np.ndarray, avo: np.ndarray) -> np.ndarray:
    return np.select([(anx <= 0) & (avo <= 0), (anx > 0) & (avo <= 0), (anx <= 0) & (avo > 0)], list(PATTERNS[:3]),
                     PATTERNS[3])  # fmt: skip


def pattern_summary(res: Any) -> list[dict[str, Any]]:
    """Per attachment pattern of one run: client count, mean and SD of improvement, the other metrics.

    The ``summarize`` function of the sweep behind :func:`compare_policies` (module level, so Dask
    can send it to workers).
    """
    p = res.persons
    c = p[p["in_therapy"]]
    g = lambda col: c[latent(col)].to_numpy(float)  # noqa: E731
    pattern = _patterns(g("attachment_anxiety"), g("attachment_avoidance"))
    improvement = g("improvement")
    ruptured = g("n_ruptures") > 0
    unrepaired = c[latent("unrepaired_end")].to_numpy(bool)
    dropped = c["dropped_out"].to_numpy(bool)
    rows = []
    for name in PATTERNS:
        m = pattern == name
        k = int(m.sum())
        rup = m & ruptured
        rows.append({
            "pattern": name,
            "n_clients": k,
            "improvement": float(improvement[m].mean()) if k else np.nan,
            "improvement_sd": float(improvement[m].std(ddof=1)) if k > 1 else np.nan,
            "rupture": float(ruptured[m].mean()) if k else np.nan,
            "repaired": float((~unrepaired[rup]).mean()) if rup.any() else np.nan,
            "dropout": float(dropped[m].mean()) if k else np.nan,
            "alliance_end": float(g("alliance_end")[m].mean()) if k else np.nan,
            "security_gain": float(g("security_gain")[m].mean()) if k else np.nan,
        })  # fmt: skip
    return rows


def _interval(values: np.ndarray) -> tuple[float, float, float, int]:
    from scipy import stats as st

    v = values[np.isfinite(values)]
    if not v.size:
        return np.nan, np.nan, np.nan, 0
    mean = float(v.mean())
    half = float(st.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else np.nan
    return mean, mean - half, mean + half, int(v.size)


@dataclasses.dataclass(frozen=True)
class PolicyExperiment(Result):
    """Therapist policies by client attachment pattern.

    ``table``: one row per policy, pattern and metric: ``policy``, ``pattern``, ``metric``,
    ``mean`` (over repetitions), ``mc_lower``, ``mc_upper``, ``repetitions``, ``clients`` (mean per
    repetition). ``effects``: one row per policy (not the reference) and pattern: ``policy``,
    ``reference``, ``pattern``, ``difference`` (improvement), ``d``, ``mc_lower``, ``mc_upper``
    (interval of ``d``), ``repetitions``. ``runs``: the per-run rows of the sweep.
    """

    effects: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    runs: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Therapist policies by attachment pattern (SCIP simulation)"

    def summary(self) -> str:
        """Improvement and rupture tables, then the effect sizes (rounded for display only)."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"{d['repetitions']} repetitions x {d['n_agents']} agents (same population for every policy within a "
            f"repetition), {d['years']:g} years before help-seeking, seed {d['seed']}"
        )
        for metric in ("improvement", "rupture", "repaired"):
            t = self.table[self.table["metric"] == metric]
            wide = t.pivot(index="pattern", columns="policy", values="mean").reindex(list(PATTERNS))
            lines += ["", f"{metric}: {METRICS[metric]} (mean over repetitions)"]
            lines.append(wide.to_string(float_format=lambda v: f"{v:.3f}"))
        e = self.effects
        lines += ["", f"effect on improvement vs {d['reference']}: Cohen's d [95% Monte Carlo interval]"]
        for r in e.itertuples(index=False):
            lines.append(f"  {r.policy:<14} {r.pattern:<12} d = {r.d:6.3f} [{r.mc_lower:6.3f}, {r.mc_upper:6.3f}]")
        return "\n".join(lines)


def _check_policies(policies: Sequence[str], reference: str) -> list[str]:
    out = []
    for p in policies:
        key = str(p).strip().lower()
        if key not in POLICIES:
            raise InvalidParameterError(f"policies: unknown policy {p!r}{suggest(str(p), POLICIES)}; one of "
                                        f"{', '.join(POLICIES)}")  # fmt: skip
        if key not in out:
            out.append(key)
    if len(out) < 2:
        raise InvalidParameterError(f"policies: compare at least two policies, got {', '.join(out) or 'none'}")
    if reference not in out:
        raise InvalidParameterError(f"reference {reference!r} must be one of the compared policies: {', '.join(out)}")
    return out


def compare_policies(
    policies: Sequence[str] = POLICIES,
    *,
    reference: str = "fixed",
    repetitions: int = 4,
    n_agents: int = 3000,
    years: float = 2.0,
    seed: SeedLike = None,
    scheduler: str | None = "synchronous",
    n_workers: int = 2,
    timeout: float = 10.0,
    progress: Callable[[int, int], None] | None = None,
) -> PolicyExperiment:
    """Compare therapist policies on the same simulated populations, by client attachment pattern.

    Parameters
    ----------
    policies
        Policies to compare (:data:`sciplab.sim.params.POLICIES`).
    reference
        Policy the effect sizes are computed against.
    repetitions
        Independent populations (the Monte Carlo intervals need at least 2).
    n_agents, years
        Population size and years of adult life before help-seeking.
    seed
        Master seed (recorded); repetition seeds are spawned from it.
    scheduler, n_workers, timeout
        As in :func:`sciplab.sim.sweep` (default: in this process).
    progress
        Optional ``progress(done, total)`` callback.

    Examples
    --------
    >>> res = compare_policies(["fixed", "scip"], repetitions=2, n_agents=300, years=0.5, seed=1)
    >>> sorted(res.effects["pattern"].unique()) == sorted(PATTERNS)
    True
    """
    from sciplab.sim.sweep import sweep

    chosen = _check_policies(list(policies), str(reference).strip().lower())
    reference = str(reference).strip().lower()
    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or not 1 <= repetitions <= 10_000:
        raise InvalidParameterError(f"repetitions must be a whole number from 1 to 10000, got {repetitions!r}")
    sw = sweep(
        {"therapy.policy": chosen}, repetitions, fixed={"n_agents": n_agents, "years": years}, seed=seed,
        scheduler=scheduler, n_workers=n_workers, timeout=timeout, progress=progress, summarize=pattern_summary,
        common_seeds=True,
    )  # fmt: skip
    runs = sw.table.rename(columns={"therapy.policy": "policy"})
    rows = []
    for (pol, pat), grp in runs.groupby(["policy", "pattern"], sort=False):
        for metric in METRICS:
            mean, lo, hi, k = _interval(grp[metric].to_numpy(float))
            rows.append((pol, pat, metric, mean, lo, hi, k, float(grp["n_clients"].mean())))
    table = pd.DataFrame(rows, columns=["policy", "pattern", "metric", "mean", "mc_lower", "mc_upper", "repetitions",
                                        "clients"])  # fmt: skip
    ref = runs[runs["policy"] == reference].set_index(["repetition", "pattern"])
    effects = []
    for pol in chosen:
        if pol == reference:
            continue
        other = runs[runs["policy"] == pol].set_index(["repetition", "pattern"])
        joined = other.join(ref, suffixes=("", "_ref"), how="inner")
        for pat in PATTERNS:
            j = joined.xs(pat, level="pattern")
            diff = (j["improvement"] - j["improvement_ref"]).to_numpy(float)
            n1, n0 = j["n_clients"].to_numpy(float), j["n_clients_ref"].to_numpy(float)
            pooled = np.sqrt(((n1 - 1) * j["improvement_sd"] ** 2 + (n0 - 1) * j["improvement_sd_ref"] ** 2)
                             / np.maximum(n1 + n0 - 2, 1)).to_numpy(float)  # fmt: skip
            d = np.where(pooled > 0, diff / np.where(pooled > 0, pooled, 1.0), np.nan)
            mean_d, lo, hi, k = _interval(d)
            effects.append((pol, reference, pat, float(np.nanmean(diff)) if diff.size else np.nan, mean_d, lo, hi, k))
    eff = pd.DataFrame(effects, columns=["policy", "reference", "pattern", "difference", "d", "mc_lower", "mc_upper",
                                         "repetitions"])  # fmt: skip
    details = {
        "policies": chosen, "reference": reference, "repetitions": repetitions, "n_agents": n_agents,
        "years": years, "seed": sw.details["seed"], "scheduler": sw.details["scheduler"],
        "patterns": "quadrants of pre-therapy latent anxiety and avoidance at z = 0",
        "version": package_version(),
    }  # fmt: skip
    return PolicyExperiment(table=table, details=details, effects=eff, runs=runs)
