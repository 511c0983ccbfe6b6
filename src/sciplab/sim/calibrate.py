"""Calibration and validation: every published target vs the simulated statistic, with Monte Carlo intervals.

The targets, their calibration/validation split and the rule behind it are in
:mod:`sciplab.sim.targets`. :func:`statistics` computes every simulable statistic of one
:class:`~sciplab.sim.model.SimResult` on the latent truth; :func:`calibrate` runs ``repetitions``
independent runs (seeds from ``SeedSequence(seed).spawn(repetitions)``) and reports, per target,
the mean over runs, the Monte Carlo interval ``mean +/- t(.975, R-1) * SD / sqrt(R)`` and a status:

* ``met`` / ``MISS`` for scored targets: a ``value`` or ``recalled`` target is met when the **point
  estimate** lies in its band; a ``sign`` target when the point estimate and the whole interval lie
  on the published side of zero;
* ``not scored`` for ``report`` rows (sources disagree, or nothing is published);
* ``not simulated`` for rows the model has no state for (the note says why).

No row is ever dropped: a miss is printed as a miss.

Conventions: standardised regressions by least squares on z scores; ``d = 2 r / sqrt(1 - r^2)``
(Rosenthal 1994) for the outcome effects, as in Levy et al. (2011); outcome = follow-up symptom
intensity residualised on intake symptom intensity, sign flipped (higher = better), so regression
to the mean does not masquerade as an effect; group contrasts as Cohen's d with the pooled SD.
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
from sciplab.sim.distress import hysteresis
from sciplab.sim.measurement import latent
from sciplab.sim.params import SimParams
from sciplab.sim.targets import CALIBRATION, TARGETS, VALIDATION, Target

__all__ = ["TARGETS", "CalibrationResult", "Target", "calibrate", "statistics"]


def _r(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 4 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _z(v: np.ndarray) -> np.ndarray:
    sd = v.std()
    return (v - v.mean()) / (sd if sd > 0 else 1.0)


def _beta(y: np.ndarray, xs: list[np.ndarray]) -> np.ndarray:
    """Standardised regression weights of ``y`` on ``xs``."""
    X = np.column_stack([_z(x) for x in xs])
    return np.linalg.lstsq(X, _z(y), rcond=None)[0]


def _r2(y: np.ndarray, xs: list[np.ndarray]) -> float:
    b = _beta(y, xs)
    fit = np.column_stack([_z(x) for x in xs]) @ b
    return float(1 - np.mean((_z(y) - fit) ** 2))


def _d_from_r(r: float) -> float:
    return 2 * r / np.sqrt(1 - r * r) if np.isfinite(r) and abs(r) < 1 else float("nan")


def _cohen_d(g1: np.ndarray, g0: np.ndarray) -> float:
    if g1.size < 3 or g0.size < 3:
        return float("nan")
    pooled = np.sqrt(((g1.size - 1) * g1.var(ddof=1) + (g0.size - 1) * g0.var(ddof=1)) / (g1.size + g0.size - 2))
    return float((g1.mean() - g0.mean()) / pooled) if pooled > 0 else float("nan")


def _share_via(sup: np.ndarray, anx: np.ndarray, avo: np.ndarray, mediators: list[np.ndarray]) -> float:
    """Indirect / total effect of anxiety + avoidance on ``sup`` through parallel ``mediators``."""
    total = _beta(sup, [anx, avo]).sum()
    a = np.array([_beta(m, [anx, avo]) for m in mediators])  # (k, 2)
    b = _beta(sup, [*mediators, anx, avo])[: len(mediators)]
    indirect = float((a * b[:, None]).sum())
    return indirect / total if total != 0 else float("nan")


def _kappa(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cohen's kappa and raw agreement of two boolean classifications."""
    agree = float(np.mean(x == y))
    pe = x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean())
    return (agree - pe) / (1 - pe) if pe < 1 else float("nan"), agree


def _adult(p: pd.DataFrame, ties: pd.DataFrame, out: dict[str, float]) -> None:
    f = lambda c: p[latent(c)].to_numpy(float)  # noqa: E731
    anx, avo = f("attachment_anxiety"), f("attachment_avoidance")
    sse, ea, dis = f("social_self_efficacy"), f("emotional_awareness"), f("self_disclosure")
    sup, dis_tress, lon = f("perceived_support"), f("distress"), f("loneliness")
    comps = [f(c) for c in ("social_self_efficacy", "emotional_awareness", "self_disclosure", "assertion",
                            "initiation", "conflict_management")]  # fmt: skip
    # childhood
    infant_b = (p[latent("infant_class")] == "B").to_numpy()
    out["C1"] = _r(f("caregiver_sensitivity"), infant_b)
    for key, cls in (("C2", "B"), ("C3", "A"), ("C4", "C")):
        out[key] = float((p[latent("infant_class")] == cls).mean())
    cg = (f("caregiver_anxiety") + f("caregiver_avoidance")) / 2
    cg_secure = cg < np.quantile(cg, infant_b.mean()) if 0 < infant_b.mean() < 1 else np.zeros(cg.size, bool)
    out["C5"], out["C6"] = _kappa(cg_secure, infant_b)
    security = -(anx + avo) / 2
    out["C8"] = _r(infant_b, security)
    out["C10"] = _r(infant_b, np.mean(comps, axis=0))
    # single-sample anchors
    out["A1"] = _r(anx, avo)
    out["A2"], out["A3"] = _r(anx, sup), _r(avo, sup)
    out["A4"], out["A5"], out["A6"] = _r(anx, lon), _r(avo, lon), _r(sse, lon)
    out["A7"], out["A8"] = _r(sse, anx), _r(sse, avo)
    out["A9"] = _r2(lon, [anx, sse, dis])
    later = f("distress_followup")
    out["A10"] = _r2(later, [lon, dis_tress])
    # SCIP paths
    a_sse, v_sse = _beta(sse, [anx, avo])
    a_ea, v_ea = _beta(ea, [anx, avo])
    b_sup = _beta(sup, [sse, ea, anx, avo])
    b_dis = _beta(dis_tress, [sse, ea, anx, avo])
    out.update({"P1": a_sse, "P2": v_sse, "P3": a_ea, "P4": v_ea, "P5": b_sup[0], "P6": b_sup[1],
                "P7": b_dis[0], "P8": b_dis[1], "P11": b_dis[2], "P12": b_dis[3]})  # fmt: skip
    out["P9"] = _share_via(sup, anx, avo, [sse, ea])
    out["P10"] = _share_via(sup, anx, avo, comps)
    # pooled estimates
    out["V1"], out["V2"], out["V3"] = _r(anx, dis_tress), _r(avo, dis_tress), _r(security, dis_tress)
    out["V4"] = _r((anx + avo) / 2, lon)
    neg = (_z(dis_tress) + _z(lon)) / 2
    out["V5"], out["V6"] = _r(avo, neg), _r(anx, neg)
    hi_anx, hi_avo = anx > 0, avo > 0
    secure = ~hi_anx & ~hi_avo
    out["V8"] = _cohen_d(dis_tress[hi_anx & ~hi_avo], dis_tress[secure])
    out["V9"] = _cohen_d(dis_tress[~hi_anx & hi_avo], dis_tress[secure])
    out["V10"] = _cohen_d(dis_tress[~secure], dis_tress[secure])
    lonely = p[latent("lonely_followup")].to_numpy(float) > 0.5 if latent("lonely_followup") in p else None
    if lonely is not None and len(ties):
        out["V11"] = _lonely_friend_rr(lonely, ties["source"].to_numpy(), ties["target"].to_numpy()) - 1


def _lonely_friend_rr(lonely: np.ndarray, src: np.ndarray, dst: np.ndarray) -> float:
    """Mantel-Haenszel relative risk of loneliness with >= 1 lonely tie, stratified by degree decile.

    Lonely people lose ties, so a crude comparison mostly contrasts degrees; within a degree stratum
    it contrasts exposure (Cacioppo et al. 2009 adjusted for the number of ties in the same spirit).
    """
    n = lonely.size
    degree = np.bincount(src, minlength=n)
    exposed = np.bincount(src, weights=lonely[dst].astype(float), minlength=n) > 0
    has = degree > 0
    edges = np.unique(np.quantile(degree[has], np.linspace(0, 1, 11))) if has.any() else np.array([])
    strata = np.searchsorted(edges, degree, side="right")
    num = den = 0.0
    for k in np.unique(strata[has]):
        m = has & (strata == k)
        e, u = m & exposed, m & ~exposed
        total = m.sum()
        num += lonely[e].sum() * u.sum() / total
        den += lonely[u].sum() * e.sum() / total
    return float(num / den) if den > 0 else float("nan")


def _therapy(p: pd.DataFrame, sessions: pd.DataFrame, out: dict[str, float]) -> None:
    c = p[p["in_therapy"]]
    if len(c) <= 10:
        return
    g = lambda col: c[latent(col)].to_numpy(float)  # noqa: E731
    pre, post = g("distress_pre"), g("distress_followup_client")
    X = np.column_stack([np.ones(len(c)), pre])
    outcome = -(post - X @ np.linalg.lstsq(X, post, rcond=None)[0])
    cx = lambda v: v - X @ np.linalg.lstsq(X, v, rcond=None)[0]  # noqa: E731
    anx, avo = g("attachment_anxiety"), g("attachment_avoidance")
    security = -(anx + avo) / 2
    alliance = g("alliance_end")
    out["T1"] = _r(security, alliance)
    out["T2a"], out["T2b"] = _r(anx, alliance), _r(avo, alliance)
    sec, af, pm = g("cats_secure"), g("cats_avoidant_fearful"), g("cats_preoccupied_merger")
    out["T3"], out["T4"], out["T7c"] = _r(sec, alliance), _r(af, alliance), _r(pm, alliance)
    out["T5a"], out["T5b"] = _r(sec, avo), _r(sec, anx)
    out["T6a"], out["T6b"] = _r(af, avo), _r(pm, avo)
    out["T7a"], out["T7b"] = _r(af, anx), _r(pm, anx)
    out["T8a"] = _d_from_r(_r(cx(anx), outcome))
    out["T8b"] = _d_from_r(_r(cx(security), outcome))
    out["T8c"] = _d_from_r(_r(cx(avo), outcome))
    out["T9"] = _r(g("security_gain"), outcome)
    rup = g("n_ruptures") > 0
    repaired_any = g("n_repaired") > 0
    unrep = c[latent("unrepaired_end")].to_numpy(bool)
    out["T16"] = _cohen_d(outcome[rup & ~unrep], outcome[rup & unrep])
    out["T17"] = _r(repaired_any, outcome)
    out["T18"] = float(rup.mean())
    out["T18b"] = _r(unrep, outcome)
    out["T19"] = float(repaired_any.mean())
    out["R1"] = _r(alliance, outcome)
    ther, pref = latent("therapist_distance"), latent("preferred_distance")
    if len(sessions) and ther in sessions and pref in sessions:
        gap = sessions[ther].to_numpy(float) - sessions[pref].to_numpy(float)
        per = pd.DataFrame({"id": sessions["person_id"].to_numpy(), "close": np.maximum(-gap, 0),
                            "distant": np.maximum(gap, 0)}).groupby("id").mean()  # fmt: skip
        per = per.reindex(c["person_id"].to_numpy())
        out["T15a"] = _r(avo, per["close"].to_numpy())
        out["T15b"] = _r(anx, per["distant"].to_numpy())


def statistics(result: Any, *, hysteresis_value: float | None = None) -> dict[str, float]:
    """Every simulable target statistic of one :class:`SimResult` (latent truth), keyed by target id.

    Examples
    --------
    >>> from sciplab.sim import simulate
    >>> s = statistics(simulate(400, years=1, seed=1, instruments=None, session_instruments=None))
    >>> -1 < s["A2"] < 0 and 0 <= s["T18"] <= 1
    True
    """
    out: dict[str, float] = {}
    _adult(result.persons, result.ties, out)
    _therapy(result.persons, result.sessions, out)
    if hysteresis_value is not None:
        out["V14"] = hysteresis_value
    return {k: float(v) for k, v in out.items()}


def hysteresis_area(connectivity: float = 2.0, seed: SeedLike = 0) -> float:
    """Mean (falling - rising) symptom activity over stress bins seen on both branches."""
    h = hysteresis(connectivity, n_steps=10_000, networks=8, seed=seed)
    wide = h.pivot_table(index="stress", columns="direction", values="activity").dropna()
    return float((wide["falling"] - wide["rising"]).mean())


def _status(t: Target, mean: float, lo: float, hi: float, n: int) -> str:
    if t.kind == "not simulated":
        return "not simulated"
    if not n:
        return "MISS" if t.scored else "not scored"
    if t.kind == "report":
        return "not scored"
    if t.kind == "sign":
        ok = (mean < 0 and hi < 0) if t.upper <= 0 else (mean > 0 and lo > 0)
    else:
        ok = t.lower <= mean <= t.upper
    return "met" if ok else "MISS"


@dataclasses.dataclass(frozen=True)
class CalibrationResult(Result):
    """Published targets vs simulated statistics, calibration and validation sets.

    ``table`` columns: id, target, set (calibration / validation), kind, published (NaN when not a
    number), published_text (what is printed), lower, upper (band), simulated (mean over
    repetitions), mc_lower, mc_upper (Monte Carlo interval), repetitions, status (met, MISS, not
    scored, not simulated), source, note. ``repetitions`` holds one row per run (its statistics).
    """

    repetitions: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "SCIP simulation calibration and validation"

    @property
    def misses(self) -> list[str]:
        """Scored targets whose point estimate misses (``"<id> <target>"``)."""
        t = self.table[self.table["status"] == "MISS"]
        return [f"{i} {n}" for i, n in zip(t["id"], t["target"], strict=True)]

    def counts(self, which: str) -> dict[str, int]:
        """Status counts of one set (``"calibration"`` or ``"validation"``)."""
        t = self.table[self.table["set"] == which]
        return {k: int(v) for k, v in t["status"].value_counts().items()}

    def summary(self) -> str:
        """Both target tables (rounded for display only) and the list of misses."""
        lines = [self.title, "=" * len(self.title)]
        d = self.details
        for which in (CALIBRATION, VALIDATION):
            t = self.table[self.table["set"] == which]
            head = f"{which} set ({len(t)} targets; " + ", ".join(f"{k} {v}" for k, v in self.counts(which).items())
            lines += ["", head + ")"]
            show = t[["id", "target", "published_text", "lower", "upper", "simulated", "mc_lower", "mc_upper",
                      "status"]]  # fmt: skip
            lines.append(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        lines.append("")
        lines.append(f"repetitions: {d['repetitions']}, agents: {d['n_agents']}, seed: {d['seed']}")
        lines.append("all scored targets met" if not self.misses else "MISSED: " + "; ".join(self.misses))
        return "\n".join(lines)


def target_table(reps: pd.DataFrame) -> pd.DataFrame:
    """The target table from per-run statistics (one column per target id)."""
    from scipy import stats as st

    out = []
    for t in TARGETS:
        vals = reps[t.id].to_numpy(float) if t.id in reps else np.array([])
        vals = vals[np.isfinite(vals)]
        mean = float(vals.mean()) if vals.size else float("nan")
        half = float(st.t.ppf(0.975, vals.size - 1) * vals.std(ddof=1) / np.sqrt(vals.size)) if vals.size > 1 else 0.0
        lo, hi = (mean - half, mean + half) if vals.size else (float("nan"), float("nan"))
        status = _status(t, mean, lo, hi, int(vals.size))
        out.append((t.id, t.name, t.set, t.kind, t.published, t.published_text, t.lower, t.upper, mean, lo, hi,
                    int(vals.size), status, t.source, t.note))  # fmt: skip
    cols = ["id", "target", "set", "kind", "published", "published_text", "lower", "upper", "simulated", "mc_lower",
            "mc_upper", "repetitions", "status", "source", "note"]  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def calibrate(
    *,
    repetitions: int = 4,
    n_agents: int = 5000,
    seed: SeedLike = None,
    params: SimParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CalibrationResult:
    """Run ``repetitions`` independent simulations; compare with every calibration and validation target.

    Parameters
    ----------
    repetitions
        Independent runs (seeds spawned from ``seed``); the Monte Carlo interval needs at least 2.
    n_agents
        Agents per run.
    seed
        Master seed (recorded in ``details``).
    params
        :class:`~sciplab.sim.params.SimParams` to check (default: the defaults).
    progress
        Optional ``progress(done, total)`` callback.

    Examples
    --------
    >>> res = calibrate(repetitions=1, n_agents=400, seed=2)
    >>> sorted(res.table["set"].unique())
    ['calibration', 'validation']
    >>> res.table.set_index("id").loc["P1", "published_text"]
    'sign: negative'
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
        hyst = hysteresis_area(2.0, seed=np.random.SeedSequence(child.entropy, spawn_key=(k, 1)))
        rows.append({"repetition": k, **statistics(res, hysteresis_value=hyst)})
        if progress is not None:
            progress(k + 1, repetitions)
    reps_df = pd.DataFrame(rows)
    table = target_table(reps_df)
    details = {"repetitions": repetitions, "n_agents": n_agents, "seed": recorded, "version": package_version(),
               "split_rule": "validation = pooled over >= 3 samples and never tuned to; calibration = the rest "
               "(sciplab.sim.targets)"}  # fmt: skip
    return CalibrationResult(table=table, details=details, repetitions=reps_df)
