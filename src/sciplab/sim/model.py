"""The life course: childhood -> adult network -> help-seeking -> therapy -> follow-up -> measurement.

:func:`simulate` runs one population from one seed and returns a :class:`SimResult` (persons,
item responses per instrument, sessions, ties, plus a summary table). Timeline:

1. childhood, monthly (:mod:`sciplab.sim.childhood`);
2. adulthood, weekly for ``years`` (:mod:`sciplab.sim.network`, :mod:`sciplab.sim.distress`);
3. baseline measurement of everyone; help-seeking (:func:`sciplab.sim.therapy.help_seeking`);
4. therapy, one session a week while the network keeps running for everyone;
5. follow-up (:mod:`sciplab.sim.followup`): changed competencies feed back into ties, support and
   distress (the SCIP change loop); follow-up measurement of everyone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from sciplab._core.errors import InvalidParameterError
from sciplab._core.random import SeedLike, generator_and_seed
from sciplab._core.results import Result, package_version
from sciplab.instruments import Instrument
from sciplab.sim.childhood import run_childhood
from sciplab.sim.followup import refresh_after_therapy
from sciplab.sim.measurement import DEFAULT_INSTRUMENTS, latent, measure, resolve_instruments, symptom_columns
from sciplab.sim.network import init_adulthood, run_weeks
from sciplab.sim.params import SimParams
from sciplab.sim.policies import Policy, get_policy
from sciplab.sim.sessions import SESSION_INSTRUMENTS, resolve_session_instruments, session_records
from sciplab.sim.state import COMPETENCIES, Population
from sciplab.sim.therapy import help_seeking, run_session, start_therapy

__all__ = ["SimResult", "simulate"]

Progress = Callable[[str, int, int], None]
PHASES = ("childhood", "adulthood", "therapy", "followup", "measurement")
#: latent states also output at follow-up (``latent_<name>_followup``)
FOLLOWUP_LATENTS = ("attachment_anxiety", "attachment_avoidance", "social_self_efficacy", "emotional_awareness",
                    "perceived_support", "loneliness", "lonely", "distress", "degree")  # fmt: skip
#: therapy-summary columns a clinic knows without a questionnaire (the others are latent truth)
OBSERVED_THERAPY = ("sessions_attended", "dropped_out")


@dataclasses.dataclass(frozen=True)
class SimResult(Result):
    """Output of :func:`simulate`.

    Attributes
    ----------
    persons
        One row per agent: ``person_id``, ``in_therapy``, ``policy``; the latent truth at baseline
        (``latent_<name>``, e.g. ``latent_attachment_anxiety``) and follow-up
        (``latent_<name>_followup``); for clients ``sessions_attended``, ``dropped_out`` and the
        latent therapy summary (``latent_alliance_end``, ``latent_cats_secure``, ...); scored scales
        at baseline (``<ID>_<scale>``) and follow-up (``..._followup``).
    items
        ``{instrument id: item responses}``, one row per person and wave (``person_id``, ``wave``).
    sessions
        One row per client-session as a clinic records it (:mod:`sciplab.sim.sessions`):
        ``person_id``, ``session``, ``policy``, ``dropped_out``, the session instruments' items and
        scores (``CORE-10_total``, ``WAI-SR_total``), ``therapist_distance_rating`` and the latent
        truths (``latent_alliance``, ``latent_distress``, ``latent_rupture``, ...).
    ties
        Directed ties at the end: ``source``, ``target``, ``strength``.
    table
        Summary: variable, mean, sd, n.
    details
        seed, parameters, policy, instruments, counts, runtime, version.
    """

    persons: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    items: Mapping[str, pd.DataFrame] = dataclasses.field(default_factory=dict)
    sessions: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    ties: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    title: ClassVar[str] = "SCIP simulation"

    def summary(self) -> str:
        """Counts and the summary table (rounded for display only)."""
        d = self.details
        lines = [self.title, "=" * len(self.title)]
        lines.append(
            f"agents: {d['n_agents']}, clients: {d['n_clients']}, policy: {d['policy']}, seed: {d['seed']}, "
            f"years: {d['years']}, instruments: {', '.join(d['instruments']) or 'none'}"
        )
        lines.append(self.table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        return "\n".join(lines)

    def write(self, out: str, *, csv: bool = False, overwrite: bool = False) -> list[str]:
        """Write persons, items, sessions and ties (Parquet; CSV too with ``csv=True``)."""
        from sciplab.sim.io import write_outputs

        return write_outputs(self, out, csv=csv, overwrite=overwrite)


def _latents(pop: Population, params: SimParams) -> dict[str, np.ndarray]:
    anx, avo = pop.anxiety, pop.avoidance
    m = params.measurement
    care = np.clip(pop.sensitivity * (1 - pop.rejection), 1e-3, 1 - 1e-3)
    out: dict[str, np.ndarray] = {
        "attachment_anxiety": anx.copy(),
        "attachment_avoidance": avo.copy(),
        **{name: pop.competencies[:, k].copy() for k, name in enumerate(COMPETENCIES)},
        "dominance": pop.dominance.copy(),
        "warmth": pop.warmth.copy(),
        "interpersonal_elevation": m.elevation_insecurity * (anx + avo)
        - m.elevation_assertion * pop.competencies[:, 3],
        "degree": pop.ties.degree().astype(float),
        "received_support": pop.received_support.copy(),
        "perceived_support": pop.perceived_support.copy(),
        "lonely": pop.lonely.astype(float),
        "loneliness": pop.loneliness.copy(),
        "distress": pop.symptom_intensity.sum(axis=1).astype(float),
        "stress": pop.stress.copy(),
        **symptom_columns(pop.symptom_intensity),
    }
    out["recalled_care"] = (np.log(care / (1 - care)) - m.care_center) / m.care_scale - m.recall_bias * anx
    over = np.log(pop.overprotection / (1 - pop.overprotection))
    out["overprotection_z"] = (over - m.overprotection_center) / m.overprotection_scale
    return out


def _check_size(params: SimParams) -> None:
    est = params.n_agents * (params.network.max_ties * 12 + 600)
    if est > 200 * 2**30:
        raise InvalidParameterError(
            f"n_agents = {params.n_agents} with network.max_ties = {params.network.max_ties} needs about "
            f"{est / 2**30:.0f} GiB; reduce n_agents or max_ties"
        )


def simulate(
    n_agents: int | None = None,
    *,
    years: float | None = None,
    seed: SeedLike = None,
    params: SimParams | None = None,
    policy: str | Policy | None = None,
    instruments: Sequence[str | Instrument] | None = DEFAULT_INSTRUMENTS,
    session_instruments: Sequence[str | Instrument] | None = SESSION_INSTRUMENTS,
    measurement_error: bool | None = None,
    progress: Progress | None = None,
) -> SimResult:
    """Simulate a population through the SCIP life course and measure it with questionnaires.

    Parameters
    ----------
    n_agents, years
        Shortcuts for ``params.n_agents`` and ``params.years``.
    seed
        Integer, Generator or None (a fresh seed is drawn and recorded in ``details["seed"]``).
        One seed gives identical output.
    params
        :class:`~sciplab.sim.params.SimParams` (defaults reproduce the calibration targets).
    policy
        Therapist policy: ``"fixed"``, ``"complementary"``, ``"scip"``, ``"disconfirming"`` or a
        function ``policy(session, observation) -> distances`` (see :mod:`sciplab.sim.policies`).
        Default: ``params.therapy.policy``.
    instruments
        Instrument ids to generate item responses for (must have a scoring key); ``None`` or ``()``
        skips measurement (latent truth only).
    session_instruments
        Instruments every client fills in after each session (default CORE-10 and the WAI-SR client
        form; their scales must measure distress or the alliance); ``None`` or ``()`` records the
        sessions without questionnaires.
    measurement_error
        Override ``params.measurement.error``.
    progress
        Optional ``progress(phase, done, total)`` callback.

    Returns
    -------
    SimResult

    Examples
    --------
    >>> res = simulate(300, years=1, seed=3, instruments=["ECR-S", "PHQ-9"])
    >>> res.details["seed"], len(res.persons)
    (3, 300)
    >>> "ECR-S_anxiety" in res.persons and "latent_attachment_anxiety" in res.persons
    True
    >>> {"person_id", "session", "CORE-10_total", "WAI-SR_total"} <= set(res.sessions.columns)
    True
    """
    started = time.perf_counter()
    params = params if params is not None else SimParams()
    if not isinstance(params, SimParams):
        raise InvalidParameterError(f"params must be a SimParams, got {type(params).__name__}")
    changes: dict[str, Any] = {}
    if n_agents is not None:
        changes["n_agents"] = n_agents
    if years is not None:
        changes["years"] = years
    if measurement_error is not None:
        changes["measurement.error"] = measurement_error
    if isinstance(policy, str):
        changes["therapy.policy"] = get_policy(policy, params.therapy)[0]
    params = params.updated(changes) if changes else params
    _check_size(params)
    insts = resolve_instruments(list(instruments or ()))
    session_insts = resolve_session_instruments(session_instruments)
    policy_name, policy_fn = get_policy(policy if callable(policy) else params.therapy.policy, params.therapy)
    rng, recorded = generator_and_seed(seed)

    def report(phase: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(phase, done, total)

    pop = run_childhood(params, rng, report("childhood"))
    init_adulthood(pop, params, rng)
    weeks = round(params.years * 52)
    run_weeks(pop, params, rng, weeks, progress=report("adulthood"))
    if weeks == 0 and progress is not None:
        progress("adulthood", 1, 1)
    base = _latents(pop, params)
    clients = help_seeking(pop, params, rng)
    ts = start_therapy(pop, clients, params, rng, policy_name)
    therapy_progress = report("therapy")

    def session(k: int) -> None:
        run_session(ts, pop, k, policy_fn, params, rng)

    run_weeks(pop, params, rng, params.therapy.sessions, start=weeks, on_week=session, progress=therapy_progress)
    pop.therapy_support[:] = 0.0
    post_distress = pop.symptom_intensity[clients].sum(axis=1).astype(float)
    refresh_after_therapy(pop, clients, params)
    run_weeks(
        pop, params, rng, params.followup_weeks, start=weeks + params.therapy.sessions, progress=report("followup")
    )
    if params.followup_weeks == 0 and progress is not None:
        progress("followup", 1, 1)
    follow = _latents(pop, params)

    latent_base = pd.DataFrame({"person_id": np.arange(pop.n), **base})
    latent_follow = pd.DataFrame(follow)
    caregiving = {
        "caregiver_sensitivity": pop.sensitivity,
        "caregiver_consistency": pop.consistency,
        "caregiver_rejection": pop.rejection,
        "caregiver_overprotection": pop.overprotection,
        "caregiver_anxiety": pop.caregiver_anxiety,
        "caregiver_avoidance": pop.caregiver_avoidance,
        "infant_security": pop.infant_security,
        "infant_class": pop.infant_class,
    }
    in_therapy = np.zeros(pop.n, dtype=bool)
    in_therapy[clients] = True
    therapy_cols = _therapy_columns(ts, pop.n, post_distress, follow["distress"], rng, params)
    persons = pd.DataFrame(
        {
            "person_id": np.arange(pop.n),
            "in_therapy": in_therapy,
            "policy": np.where(in_therapy, policy_name, ""),
            **{latent(k): v for k, v in caregiving.items()},
            **{latent(k): v for k, v in base.items()},
            **{latent(f"{k}_followup"): follow[k] for k in FOLLOWUP_LATENTS},
            **{(k if k in OBSERVED_THERAPY else latent(k)): v for k, v in therapy_cols.items()},
        }
    )

    items: dict[str, pd.DataFrame] = {}
    mp = params.measurement
    if insts:
        mprog = report("measurement")
        latent_base["alliance"] = therapy_cols["alliance_end"]
        latent_follow["alliance"] = np.nan
        for k, (wave, frame) in enumerate((("baseline", latent_base), ("followup", latent_follow))):
            wave_items, scores = measure(frame, insts, rng, error=mp.error, default_alpha=mp.default_alpha)
            suffix = "" if wave == "baseline" else "_followup"
            for col in scores.columns:
                persons[f"{col}{suffix}"] = scores[col].to_numpy()
            for inst_id, frame_items in wave_items.items():
                block = frame_items.copy()
                block.insert(0, "wave", wave if not (inst_id == "WAI-SR") else "therapy_end")
                block.insert(0, "person_id", frame.loc[block.index, "person_id"].to_numpy()
                             if "person_id" in frame else block.index.to_numpy())  # fmt: skip
                items[inst_id] = pd.concat([items[inst_id], block], ignore_index=True) if inst_id in items else block
            if mprog is not None:
                mprog(k + 1, 2)
    elif progress is not None:
        progress("measurement", 1, 1)

    sessions = session_records(ts.sessions_frame(), policy_name, session_insts, rng, mp)
    src, dst, w = pop.ties.edges()
    ties = pd.DataFrame({"source": src, "target": dst, "strength": w})
    table = _summary_table(persons)
    details = {
        "seed": recorded,
        "n_agents": params.n_agents,
        "years": params.years,
        "policy": policy_name,
        "n_clients": int(clients.size),
        "instruments": [i.id for i in insts],
        "session_instruments": [i.id for i in session_insts],
        "measurement_error": params.measurement.error,
        "parameters": params.flat(),
        "runtime_s": time.perf_counter() - started,
        "version": package_version(),
    }
    return SimResult(table=table, details=details, persons=persons, items=items, sessions=sessions, ties=ties)


def _therapy_columns(
    ts, n: int, post: np.ndarray, follow_distress: np.ndarray, rng, params: SimParams
) -> dict[str, np.ndarray]:
    """Per-client therapy summary and the CATS read-out (coefficients: ``measurement.cats_*``)."""

    def full(values: np.ndarray, fill: float | bool = np.nan) -> np.ndarray:
        out = np.full(n, fill, dtype=float if not isinstance(fill, bool) else bool)
        out[ts.clients] = values
        return out

    rel = ts.relation_yes / (ts.relation_yes + ts.relation_no)
    m = ts.clients.size
    mp = params.measurement
    z_b = (ts.alliance - mp.cats_alliance_center) / mp.cats_alliance_scale
    z_rel = (rel - mp.cats_relation_center) / mp.cats_relation_scale
    secure = (
        mp.cats_secure_alliance * z_b
        + mp.cats_secure_relation * z_rel
        - mp.cats_secure_insecurity * (ts.anxiety_pre + ts.avoidance_pre)
        + mp.cats_secure_noise * rng.standard_normal(m)
    )
    avoidant = (
        mp.cats_avoidant_avoidance * ts.avoidance_pre
        + mp.cats_avoidant_tension * ts.tension
        - mp.cats_avoidant_alliance * z_b
        + mp.cats_avoidant_noise * rng.standard_normal(m)
    )
    too_distant = np.maximum(ts.therapist_distance - ts.preferred, 0)
    preocc = (
        mp.cats_preoccupied_anxiety * ts.anxiety_pre
        + mp.cats_preoccupied_distance * too_distant
        + mp.cats_preoccupied_noise * rng.standard_normal(m)
    )
    return {
        "sessions_attended": full(ts.n_sessions.astype(float)),
        "dropped_out": full(ts.dropped, False),
        "n_ruptures": full(ts.n_ruptures.astype(float)),
        "n_repaired": full(ts.n_repaired.astype(float)),
        "n_withdrawal": full(ts.n_withdrawal.astype(float)),
        "n_confrontation": full(ts.n_confrontation.astype(float)),
        "unrepaired_end": full(ts.rupture_open, False),
        "alliance_end": full(ts.alliance),
        "cats_secure": full(secure),
        "cats_avoidant_fearful": full(avoidant),
        "cats_preoccupied_merger": full(preocc),
        "security_gain": full(ts.security_gain),
        "distress_pre": full(ts.distress_pre),
        "distress_post": full(post),
        "distress_followup_client": full(follow_distress[ts.clients]),
        "improvement": full(ts.distress_pre - follow_distress[ts.clients]),
    }


def _summary_table(persons: pd.DataFrame) -> pd.DataFrame:
    cols = [latent(c) for c in ("attachment_anxiety", "attachment_avoidance", "social_self_efficacy",
            "emotional_awareness", "degree", "perceived_support", "loneliness", "distress", "alliance_end",
            "improvement")]  # fmt: skip
    rows = []
    for c in cols:
        v = persons[c].dropna()
        rows.append((c, float(v.mean()) if len(v) else np.nan, float(v.std()) if len(v) > 1 else np.nan, len(v)))
    return pd.DataFrame(rows, columns=["variable", "mean", "sd", "n"])
