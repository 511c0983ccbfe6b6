"""Calibration: published targets vs simulated statistics, with Monte Carlo intervals.

Each target has a published value, a band (what counts as reproduced) and a statistic computed
from a :class:`~sciplab.sim.model.SimResult` on the latent truth. :func:`calibrate` runs
``repetitions`` independent runs (seeds from ``SeedSequence(seed).spawn(repetitions)``), reports the mean, the Monte
Carlo interval ``mean +/- t(.975, R-1) * SD / sqrt(R)`` and whether the **point estimate** (the mean)
lies in the band (``ok``; ``interval_overlaps`` records the more lenient interval-overlap check).

Targets and sources: scip-model.md section 4 and simulation.md sections 3.6 and 6.8. Effect sizes
``d`` are converted from correlations with ``d = 2 r / sqrt(1 - r^2)`` (Rosenthal 1994), as in
Levy et al. (2011). Outcome = follow-up symptom intensity residualised on intake symptom intensity
(higher = better outcome), so regression to the mean does not masquerade as an effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats as st

from sciplab._core.errors import InvalidParameterError
from sciplab._core.random import SeedLike, resolve_seed
from sciplab._core.results import Result, package_version
from sciplab.sim.distress import hysteresis
from sciplab.sim.measurement import latent
from sciplab.sim.params import SimParams

__all__ = ["TARGETS", "CalibrationResult", "Target", "calibrate", "statistics"]


@dataclasses.dataclass(frozen=True)
class Target:
    """A published calibration target."""

    name: str
    published: float
    lower: float
    upper: float
    source: str


_SIGN = "Mallinckrodt & Wei (2005); scip-model.md section 3"
TARGETS: tuple[Target, ...] = (
    Target("r(sensitivity, infant security B)", 0.24, 0.17, 0.31, "De Wolff & van IJzendoorn (1997)"),
    Target("r(anxiety, avoidance)", 0.30, 0.20, 0.40, "brief band .2-.4; Li, Sun & Li (2022) .39"),
    Target("r(anxiety, loneliness)", 0.58, 0.40, 0.60, "Professional Counselor (2023) .58; meta .38"),
    Target("r(avoidance, loneliness)", 0.47, 0.40, 0.60, "Professional Counselor (2023) .47; meta .38"),
    Target("path anxiety -> social self-efficacy", -1, -1.0, -0.01, _SIGN),
    Target("path avoidance -> social self-efficacy", -1, -1.0, -0.01, _SIGN),
    Target("path anxiety -> emotional awareness", -1, -1.0, -0.01, _SIGN),
    Target("path avoidance -> emotional awareness", -1, -1.0, -0.01, _SIGN),
    Target("path social self-efficacy -> support", 1, 0.01, 1.0, _SIGN),
    Target("path emotional awareness -> support", 1, 0.01, 1.0, _SIGN),
    Target("path social self-efficacy -> distress", -1, -1.0, -0.01, _SIGN),
    Target("path emotional awareness -> distress", -1, -1.0, -0.01, _SIGN),
    Target("path anxiety -> distress (direct)", 1, 0.01, 1.0, "Wei, Heppner & Mallinckrodt (2003)"),
    Target(
        "path avoidance -> distress (direct)",
        0.1,
        0.0,
        1.0,
        "not negative: avoidance-depression r = .27 (scip-model.md 4); Wei et al. (2005)",
    ),
    Target("d(pre-therapy anxiety -> outcome)", -0.46, -0.70, -0.25, "Levy et al. (2011)"),
    Target("d(pre-therapy avoidance -> outcome)", 0.0, -0.20, 0.20, "Levy et al. (2011)"),
    Target("r(CATS secure, alliance)", 0.71, 0.62, 0.79, "CATS review 1995-2019 (T3)"),
    Target("d(repaired vs unrepaired rupture -> outcome)", 0.62, 0.20, 1.06, "Eubanks, Muran & Safran (2018)"),
    Target("symptom-network hysteresis (c = 2)", 1.0, 0.3, 9.0, "Cramer et al. (2016)"),
)


def _r(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _beta(y: np.ndarray, xs: list[np.ndarray]) -> np.ndarray:
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    X = np.column_stack([z(x) for x in xs])
    return np.linalg.lstsq(X, z(y), rcond=None)[0]


def _d(r: float) -> float:
    return 2 * r / np.sqrt(1 - r * r) if np.isfinite(r) and abs(r) < 1 else float("nan")


def statistics(result, *, hysteresis_value: float | None = None) -> dict[str, float]:
    """Compute every target statistic of one :class:`SimResult` (latent truth)."""
    p = result.persons
    f = lambda c: p[latent(c)].to_numpy(float)  # noqa: E731
    anx, avo = f("attachment_anxiety"), f("attachment_avoidance")
    sse, ea = f("social_self_efficacy"), f("emotional_awareness")
    sup, dis = f("perceived_support"), f("distress")
    out: dict[str, float] = {}
    out["r(sensitivity, infant security B)"] = _r(
        f("caregiver_sensitivity"), (p[latent("infant_class")] == "B").to_numpy(float)
    )
    out["r(anxiety, avoidance)"] = _r(anx, avo)
    out["r(anxiety, loneliness)"] = _r(anx, f("loneliness"))
    out["r(avoidance, loneliness)"] = _r(avo, f("loneliness"))
    a_sse, v_sse = _beta(sse, [anx, avo])
    a_ea, v_ea = _beta(ea, [anx, avo])
    b_sup = _beta(sup, [sse, ea, anx, avo])
    b_dis = _beta(dis, [sse, ea, anx, avo])
    out["path anxiety -> social self-efficacy"] = a_sse
    out["path avoidance -> social self-efficacy"] = v_sse
    out["path anxiety -> emotional awareness"] = a_ea
    out["path avoidance -> emotional awareness"] = v_ea
    out["path social self-efficacy -> support"] = b_sup[0]
    out["path emotional awareness -> support"] = b_sup[1]
    out["path social self-efficacy -> distress"] = b_dis[0]
    out["path emotional awareness -> distress"] = b_dis[1]
    out["path anxiety -> distress (direct)"] = b_dis[2]
    out["path avoidance -> distress (direct)"] = b_dis[3]
    c = p[p["in_therapy"]]
    g = lambda col: c[latent(col)].to_numpy(float)  # noqa: E731
    pre, post = g("distress_pre"), g("distress_followup_client")
    if len(c) > 10:
        X = np.column_stack([np.ones(len(c)), pre])
        outcome = -(post - X @ np.linalg.lstsq(X, post, rcond=None)[0])
        cx = lambda v: v - X @ np.linalg.lstsq(X, v, rcond=None)[0]  # noqa: E731
        out["d(pre-therapy anxiety -> outcome)"] = _d(_r(cx(g("attachment_anxiety")), outcome))
        out["d(pre-therapy avoidance -> outcome)"] = _d(_r(cx(g("attachment_avoidance")), outcome))
        out["r(CATS secure, alliance)"] = _r(g("cats_secure"), g("alliance_end"))
        rup = g("n_ruptures") > 0
        unrep = c[latent("unrepaired_end")].to_numpy(bool)
        g1, g0 = outcome[rup & ~unrep], outcome[rup & unrep]
        if g1.size > 2 and g0.size > 2:
            pooled = np.sqrt(
                ((g1.size - 1) * g1.var(ddof=1) + (g0.size - 1) * g0.var(ddof=1)) / (g1.size + g0.size - 2)
            )
            out["d(repaired vs unrepaired rupture -> outcome)"] = float((g1.mean() - g0.mean()) / pooled)
    if hysteresis_value is not None:
        out["symptom-network hysteresis (c = 2)"] = hysteresis_value
    return {k: float(v) for k, v in out.items()}


def hysteresis_area(connectivity: float = 2.0, seed: SeedLike = 0) -> float:
    """Mean (falling - rising) symptom activity over stress bins seen on both branches."""
    h = hysteresis(connectivity, n_steps=10_000, networks=8, seed=seed)
    wide = h.pivot_table(index="stress", columns="direction", values="activity").dropna()
    return float((wide["falling"] - wide["rising"]).mean())


@dataclasses.dataclass(frozen=True)
class CalibrationResult(Result):
    """Targets vs simulated statistics.

    ``table`` columns: target, published, lower, upper, simulated (point estimate: mean over
    repetitions), mc_lower, mc_upper, repetitions, ok (point estimate in the band), interval_overlaps,
    source; ``repetitions`` holds one row per repetition (its statistics).
    """

    repetitions: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "SCIP simulation calibration"

    @property
    def misses(self) -> list[str]:
        """Targets whose point estimate lies outside the band."""
        return self.table.loc[~self.table["ok"], "target"].tolist()

    def summary(self) -> str:
        """Target table (rounded for display only) and the list of misses."""
        lines = [self.title, "=" * len(self.title)]
        t = self.table[["target", "published", "lower", "upper", "simulated", "mc_lower", "mc_upper", "ok"]]
        lines.append(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        d = self.details
        lines.append(f"repetitions: {d['repetitions']}, agents: {d['n_agents']}, seed: {d['seed']}")
        lines.append("all targets met" if not self.misses else "MISSED: " + "; ".join(self.misses))
        return "\n".join(lines)


def calibrate(
    *,
    repetitions: int = 4,
    n_agents: int = 5000,
    seed: SeedLike = None,
    params: SimParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """Run ``repetitions`` independent simulations with the default (or given) parameters; compare with the targets.

    Parameters
    ----------
    repetitions
        Independent runs (seeds spawned from ``seed``); the Monte Carlo interval needs at least 2.
    n_agents
        Agents per run.
    seed
        Master seed (recorded in ``details``).
    params
        :class:`~sciplab.sim.params.SimParams` to calibrate (default: the defaults).
    progress
        Optional ``progress(done, total)`` callback.

    Examples
    --------
    >>> res = calibrate(repetitions=1, n_agents=400, seed=2)
    >>> list(res.table.columns)[:4]
    ['target', 'published', 'lower', 'upper']
    """
    from sciplab.sim.model import simulate

    if isinstance(repetitions, bool) or not isinstance(repetitions, int) or not 1 <= repetitions <= 10_000:
        raise InvalidParameterError(f"repetitions must be a whole number from 1 to 10000, got {repetitions!r}")
    recorded = resolve_seed(seed)
    children = np.random.SeedSequence(recorded).spawn(repetitions)
    base = params if params is not None else SimParams()
    rows = []
    for k, child in enumerate(children):
        res = simulate(n_agents, params=base, seed=child, instruments=None, session_instruments=None)
        stats = statistics(
            res, hysteresis_value=hysteresis_area(2.0, seed=np.random.SeedSequence(child.entropy, spawn_key=(k, 1)))
        )
        rows.append({"repetition": k, **stats})
        if progress is not None:
            progress(k + 1, repetitions)
    reps_df = pd.DataFrame(rows)
    out = []
    for t in TARGETS:
        vals = reps_df[t.name].to_numpy(float) if t.name in reps_df else np.array([np.nan])
        vals = vals[np.isfinite(vals)]
        mean = float(vals.mean()) if vals.size else float("nan")
        if vals.size > 1:
            half = float(st.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / np.sqrt(vals.size))
        else:
            half = 0.0
        lo, hi = mean - half, mean + half
        # honest check: the point estimate (mean over repetitions) must lie in the band; the Monte
        # Carlo interval is reported alongside (overlap with the band alone is too lenient)
        ok = bool(vals.size and t.lower <= mean <= t.upper)
        overlap = bool(vals.size and hi >= t.lower and lo <= t.upper)
        out.append((t.name, t.published, t.lower, t.upper, mean, lo, hi, int(vals.size), ok, overlap, t.source))
    table = pd.DataFrame(
        out,
        columns=["target", "published", "lower", "upper", "simulated", "mc_lower", "mc_upper", "repetitions", "ok",
                 "interval_overlaps", "source"],
    )  # fmt: skip
    details = {"repetitions": repetitions, "n_agents": n_agents, "seed": recorded, "version": package_version()}
    return CalibrationResult(table=table, details=details, repetitions=reps_df)
