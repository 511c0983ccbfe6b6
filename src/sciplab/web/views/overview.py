"""The therapist's view of one client before a session: the SCIP chain, outcome, alliance and relationship plan.

Every number comes from the library:

* **SCIP chain** -- first and latest score of each measured scale, grouped as the SCIP chain runs
  (attachment -> social competencies -> perceived support -> interpersonal profile -> distress),
  with reliable-change status from :func:`sciplab.scoring.change.change_constants` (the
  instrument's SD, reliability or published points and cut-off, each with its source) and the
  Jacobson & Truax classification kernel :func:`sciplab.stats.change.classify_change`; where the
  definition holds no constants the page says so (with the library's reason) instead of guessing;
* **attachment plane and interpersonal circle** -- :func:`sciplab.scip.formulate.formulate`
  (anxiety and avoidance with SEM and 95 % band; octant profile and SSM vector), and
  :func:`sciplab.scip.attachment.describe_attachment` for the intake point;
* **outcome** -- :func:`sciplab.stats.change.expected_response` against the reference
  :mod:`~sciplab.web.views.reference` chooses, with the reliable-change and cut-off lines of the
  outcome scale;
* **alliance** -- client (WAI-SR total) and therapist (the clinic's 0-10 item) ratings, both as POMP
  (0-100) so they share one axis; :func:`sciplab.scip.relationship.detect_ruptures_by_attachment`
  on the client's ratings (threshold from the clinic-wide SD of session-to-session changes, the
  "inter-individual" SD of the detector) and :func:`sciplab.stats.change.alliance_gap`;
* **relationship plan** -- the planned course of therapeutic distance for the client's attachment
  pattern (:mod:`~sciplab.web.views.plan_course`) against the therapist's distance ratings.

The formulation is cached in the process, keyed by the scores it is made from (in order), so a page
opened twice before the next questionnaire, or another client with the same scores, does not run it again.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from sciplab._core.errors import SciplabError
from sciplab.web.views import plan_course
from sciplab.web.views.data import CLIENT_ALLIANCE, THERAPIST_ALLIANCE_RANGE, EpisodeData, first_latest, pomp, series
from sciplab.web.views.reference import ChosenReference

#: The SCIP chain: section key, title, constructs (as the instrument definitions name them).
CHAIN: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("attachment", "Attachment", frozenset({"attachment_anxiety", "attachment_avoidance"})),
    ("competencies", "Social competencies", frozenset({"social_self_efficacy", "emotional_awareness"})),
    ("support", "Perceived support", frozenset({"social_support"})),
    ("interpersonal", "Interpersonal problems", frozenset({"interpersonal_problems"})),
    ("distress", "Distress", frozenset({"distress"})),
)
#: Outcome measures for the trajectory, in order of preference (the first the client has is used).
OUTCOME_MEASURES = ("CORE-10_total", "PHQ-9_total", "GAD-7_total", "K10_total", "K10-US_total", "CORE-OM_clinical")
#: Client-therapist alliance gap flagged at this many POMP points (a clinic design choice: one fifth of the scale).
GAP_THRESHOLD_POMP = 20.0
#: Sessions a rupture may take to repair (``J`` of the detector).
REPAIR_WITHIN = 3
#: The rupture rule the caseload flags and headlines use (the page lists both rules).
HEADLINE_RULE = "lenient (1 SD)"


@functools.lru_cache(maxsize=512)
def instrument_scale(column: str) -> tuple[Any, Any] | None:
    """``(instrument, scale)`` of a score column such as ``ECR-S_anxiety`` (None when unknown)."""
    from sciplab.instruments import get_instrument

    inst_id, _, scale = column.rpartition("_")
    try:
        inst = get_instrument(inst_id)
        return inst, inst.scale(scale)
    except (SciplabError, KeyError):
        return None


@functools.lru_cache(maxsize=512)
def constants(column: str) -> Any:
    """The reliable-change constants of a score column, or the library's reason why there are none (a str)."""
    from sciplab.scoring.change import change_constants

    found = instrument_scale(column)
    if found is None:
        return f"{column}: not a scale of the instrument library"
    inst, scale = found
    try:
        return change_constants(inst, scale.name)
    except SciplabError as exc:
        return str(exc)


def classify(column: str, pre: float, post: float) -> dict[str, Any]:
    """Reliable change of one pre/post pair with the scale's constants (classification, or why none)."""
    from sciplab.stats.change import classify_change

    const = constants(column)
    if isinstance(const, str):
        return {"classification": None, "reliable": None, "note": const, "min_reliable_change": None, "cutoff": None}
    k = classify_change(
        np.array([pre]),
        np.array([post]),
        criterion=const.criterion,
        cutoff=const.cutoff,
        higher_is_worse=const.higher_is_worse,
    )
    return {
        "classification": str(k["cls"][0]),
        "reliable": bool(k["reliable"][0]),
        "note": f"reliable change: at least {const.criterion.min_reliable_change:.3g} points "
        f"({const.criterion.method})",
        "source": const.sources["rc_source"],
        "min_reliable_change": float(const.criterion.min_reliable_change),
        "cutoff": const.cutoff,
        "higher_is_worse": const.higher_is_worse,
    }


@dataclasses.dataclass(frozen=True)
class ChainRow:
    """One scale of the SCIP chain: first and latest score and the reliable-change status."""

    section: str
    column: str
    label: str
    first: float
    first_at: Any
    latest: float
    latest_at: Any
    change: float
    classification: str | None
    note: str


def chain_rows(ep: EpisodeData) -> list[ChainRow]:
    """The measured scales of the chain in chain order (first vs latest score)."""
    fl = first_latest(ep)
    rows = []
    for key, _title, constructs in CHAIN:
        for column, (first, last) in fl.items():
            found = instrument_scale(column)
            if found is None or found[1].construct not in constructs:
                continue
            inst, scale = found
            c = classify(column, float(first["value"]), float(last["value"]))
            same = int(first["response"]) == int(last["response"])
            rows.append(
                ChainRow(
                    key,
                    column,
                    f"{inst.id} {scale.name.replace('_', ' ')}",
                    float(first["value"]),
                    first["at"],
                    float(last["value"]),
                    last["at"],
                    float(last["value"]) - float(first["value"]),
                    None if same else c["classification"],
                    "one measurement so far" if same else c["note"],
                )
            )
    return rows


# -- formulation (cached) ---------------------------------------------------------------------------------

_formulations: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_flock = threading.Lock()


@functools.lru_cache(maxsize=1)
def shipped_rules() -> Any:
    """The shipped formulation rules, parsed once per process (``formulate`` parses the file on every call)."""
    from sciplab.scip.rules import load_rules

    return load_rules()


def formulation(ep: EpisodeData) -> tuple[Any, dict[str, float]]:
    """``(Formulation or the library's message, values)`` from the latest score of every scale."""
    from sciplab.scip.formulate import formulate

    fl = first_latest(ep)
    values = {c: float(last["value"]) for c, (_, last) in fl.items() if c != CLIENT_ALLIANCE}
    # keyed by formulate's whole input, the scores in their order (hex: -0.0 and 0.0 apart): a pure function
    # of them and the shipped rules, so equal scores (any client's) give the same formulation
    key = tuple((c, v.hex()) for c, v in values.items())
    with _flock:
        if key in _formulations:
            _formulations.move_to_end(key)
            return _formulations[key], values
    if not values:
        result: Any = "no questionnaire scores yet"
    else:
        try:
            result = formulate(values, rules=shipped_rules())
        except SciplabError as exc:
            result = str(exc)
    with _flock:
        _formulations[key] = result
        while len(_formulations) > 256:
            _formulations.popitem(last=False)
    return result, values


def intake_attachment(ep: EpisodeData) -> dict[str, Any] | None:
    """The attachment block at intake (first scores) by :func:`sciplab.scip.attachment.describe_attachment`."""
    from sciplab.scip.attachment import describe_attachment

    measures = []
    for column, (first, _) in first_latest(ep).items():
        found = instrument_scale(column)
        if found and found[1].construct in ("attachment_anxiety", "attachment_avoidance"):
            measures.append(
                {"column": column, "instrument": found[0], "scale": found[1], "value": float(first["value"])}
            )
    if len(measures) < 2:
        return None
    out = describe_attachment(measures, None, None, "midpoint")
    return out if out.get("available") else None


def pattern_of(form: Any) -> str | None:
    """Most probable attachment pattern of a formulation (None without one)."""
    if isinstance(form, str) or not form.attachment.get("available"):
        return None
    return str(form.attachment["most_probable"]["pattern"])


# -- outcome -------------------------------------------------------------------------------------------------


def outcome_measure(ep: EpisodeData) -> str | None:
    """The outcome measure of the trajectory: the first of :data:`OUTCOME_MEASURES` with a session score."""
    scores = ep.scores
    scored = ~np.isnan(scores["value"].to_numpy(dtype=float)) & (scores["timing"].to_numpy() != "end")
    have = set(scores["column"].to_numpy()[scored].tolist())
    return next((m for m in OUTCOME_MEASURES if m in have), None)


def traffic_lights(long: pd.DataFrame, measure: str, chosen: ChosenReference | None) -> Any:
    """:func:`sciplab.stats.change.expected_response` of the clients in ``long`` (or the reason it cannot run)."""
    from sciplab.stats.change import expected_response

    if chosen is None:
        return f"no expected-response reference for {measure}: no traffic light"
    const = constants(measure)
    cutoff = None if isinstance(const, str) else const.cutoff
    worse = True if isinstance(const, str) else const.higher_is_worse
    try:
        return expected_response(chosen.reference, long, cutoff=cutoff, higher_is_worse=worse)
    except SciplabError as exc:
        return str(exc)


def outcome(ep: EpisodeData, measure: str | None, chosen: ChosenReference | None) -> dict[str, Any] | None:
    """Trajectory, expected band, traffic light and change lines of the outcome measure."""
    if measure is None:
        return None
    long = series(ep.scores, measure)
    etr = traffic_lights(long, measure, chosen)
    const = constants(measure)
    first, last = float(long[measure].iloc[0]), float(long[measure].iloc[-1])
    change = classify(measure, first, last) if len(long) > 1 else None
    out: dict[str, Any] = {
        "measure": measure,
        "series": long,
        "reference": chosen,
        "etr": None if isinstance(etr, str) else etr,
        "etr_note": etr if isinstance(etr, str) else "",
        "status": None,
        "status_session": None,
        "change": change,
        "intake": first,
        "rc_points": None if isinstance(const, str) else float(const.criterion.min_reliable_change),
        "cutoff": None if isinstance(const, str) else const.cutoff,
        "higher_is_worse": True if isinstance(const, str) else const.higher_is_worse,
        "constants_note": const if isinstance(const, str) else "",
    }
    if out["etr"] is not None:
        table = out["etr"].table
        out["status"] = str(table["status"].iloc[-1])
        out["status_session"] = float(table["session"].iloc[-1])
    return out


# -- alliance ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _alliance_range() -> tuple[float, float]:
    found = instrument_scale(CLIENT_ALLIANCE)
    assert found is not None  # noqa: S101 - WAI-SR ships with SCIP Lab
    inst, scale = found
    return scale.score_range(inst.response)


def alliance_frame(ep: EpisodeData) -> pd.DataFrame:
    """Per client and session: client and therapist alliance as POMP (0-100) and the distance rating.

    The outer join of the sessions (therapist's ratings) and the client's WAI-SR scores after session 0
    on ``(client, session)``, sorted by client and session; built with a dict on the page's few rows
    (pandas' merge was most of the cost). A caseload where one client has two sessions with the
    same number (two episodes) goes through pandas' merge, which pairs every duplicate.
    """
    lo, hi = _alliance_range()
    client = series(ep.scores, CLIENT_ALLIANCE)
    client = client[client["session"] > 0]
    sess = ep.sessions
    s_client = sess["client"].to_numpy(dtype=np.int64)
    s_session = sess["session"].to_numpy(dtype=float)
    s_keys = list(zip(s_client.tolist(), s_session.tolist(), strict=True))
    if len(set(s_keys)) < len(s_keys):
        return _alliance_frame_merge(sess, client, lo, hi)
    ther = pomp(sess["therapist_alliance"].to_numpy(dtype=float), *THERAPIST_ALLIANCE_RANGE)
    dist = sess["distance"].to_numpy(dtype=float)
    rated = dict(
        zip(
            zip(client["client"].tolist(), client["session"].tolist(), strict=True),
            pomp(client[CLIENT_ALLIANCE].to_numpy(dtype=float), lo, hi).tolist(),
            strict=True,
        )
    )
    rows = {k: (float(ther[i]), float(dist[i]), rated.get(k, math.nan)) for i, k in enumerate(s_keys)}
    for k, v in rated.items():
        if k not in rows:
            rows[k] = (math.nan, math.nan, v)
    keys = sorted(rows)
    values = np.asarray([rows[k] for k in keys], dtype=float).reshape(len(keys), 3)
    return pd.DataFrame(
        {
            "client": np.asarray([k[0] for k in keys], dtype=np.int64),
            "session": np.asarray([k[1] for k in keys], dtype=float),
            "therapist_alliance": values[:, 0],
            "distance": values[:, 1],
            "client_alliance": values[:, 2],
        }
    )


def _alliance_frame_merge(sess: pd.DataFrame, client: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    client = client.copy()
    client["client_alliance"] = pomp(client.pop(CLIENT_ALLIANCE).astype(float), lo, hi)
    sess = sess[["client", "session", "therapist_alliance", "distance"]].copy()
    sess["session"] = sess["session"].astype(float)
    sess["therapist_alliance"] = pomp(sess["therapist_alliance"].astype(float), *THERAPIST_ALLIANCE_RANGE)
    sess["distance"] = sess["distance"].astype(float)
    frame = sess.merge(client, on=["client", "session"], how="outer")
    return frame.sort_values(["client", "session"], kind="mergesort").reset_index(drop=True)


def ruptures(frame: pd.DataFrame, patterns: dict[Any, str], sd_ref: float | None) -> Any:
    """Rupture-repair episodes of the client-rated alliance (or the reason there are none)."""
    from sciplab.scip.relationship import detect_ruptures_by_attachment

    if np.count_nonzero(~np.isnan(frame["client_alliance"].to_numpy(dtype=float))) < 2:
        return "fewer than two client alliance ratings: no rupture can be detected yet"  # as below, without pandas
    rated = frame.dropna(subset=["client_alliance"])
    if len(rated) < 2 or (rated.groupby("client").size() < 2).all():
        return "fewer than two client alliance ratings: no rupture can be detected yet"
    if sd_ref is None:
        return "the clinic has too few alliance ratings to set the rupture threshold yet"
    try:
        return detect_ruptures_by_attachment(
            rated, client="client", session="session", alliance="client_alliance", attachment=patterns,
            sd_ref=sd_ref, J=REPAIR_WITHIN,
        )  # fmt: skip
    except SciplabError as exc:
        return str(exc)


def gaps(frame: pd.DataFrame) -> Any:
    """Client-therapist perspective gaps (or the reason there are none)."""
    from sciplab.stats.change import alliance_gap

    rated = ~np.isnan(frame["client_alliance"].to_numpy(dtype=float))
    if not (rated & ~np.isnan(frame["therapist_alliance"].to_numpy(dtype=float))).any():
        return "no session has both a client and a therapist alliance rating"  # as below, without pandas
    both = frame.dropna(subset=["client_alliance", "therapist_alliance"])
    if both.empty:
        return "no session has both a client and a therapist alliance rating"
    try:
        return alliance_gap(
            both, client="client", session="session", client_alliance="client_alliance",
            therapist_alliance="therapist_alliance", threshold=GAP_THRESHOLD_POMP,
        )  # fmt: skip
    except SciplabError as exc:
        return str(exc)


def clinic_sd_ref(frame: pd.DataFrame) -> float | None:
    """Pooled SD of session-to-session changes of client alliance (POMP) over ``frame`` (None: < 3 changes).

    The rupture detector's inter-individual reference SD (Gumz et al. 2012: the stricter of intra-
    and inter-individual variability); computed on the clinic's whole caseload by the caller.
    """
    rated = frame.dropna(subset=["client_alliance"])
    diffs = rated.groupby("client", sort=False)["client_alliance"].diff().dropna()
    if len(diffs) < 3:
        return None
    sd = float(diffs.std(ddof=1))
    return sd if sd > 0 and math.isfinite(sd) else None


@dataclasses.dataclass(frozen=True)
class ClientOverview:
    """Everything the client page shows above the record."""

    chain: list[ChainRow]
    formulation: Any
    attachment_intake: dict[str, Any] | None
    pattern: str | None
    watch: dict[str, Any] | None
    outcome: dict[str, Any] | None
    alliance: pd.DataFrame
    ruptures: Any
    gaps: Any
    plan: dict[str, Any]
    sd_ref: float | None

    def rupture_rows(self) -> list[dict[str, Any]]:
        """Rupture episodes as dicts (both rules), or an empty list."""
        if isinstance(self.ruptures, str):
            return []
        return [dict(r) for _, r in self.ruptures.table.iterrows()]

    def unrepaired(self) -> list[dict[str, Any]]:
        """Unresolved ruptures of the headline rule."""
        return [r for r in self.rupture_rows() if r["rule"] == HEADLINE_RULE and r["status"] == "unresolved"]


def client_overview(ep: EpisodeData, chosen: ChosenReference | None, sd_ref: float | None) -> ClientOverview:
    """The client page's analyses for one episode (``chosen``: the reference of its outcome measure)."""
    from sciplab.scip.relationship import expected_rupture_type

    form, _ = formulation(ep)
    pattern = pattern_of(form)
    frame = alliance_frame(ep)
    client_ids = list(pd.unique(ep.sessions["client"])) or list(pd.unique(ep.scores["client"]))
    patterns = {c: pattern for c in client_ids} if pattern else {}
    return ClientOverview(
        chain=chain_rows(ep),
        formulation=form,
        attachment_intake=intake_attachment(ep),
        pattern=pattern,
        watch=expected_rupture_type(pattern) if pattern else None,
        outcome=outcome(ep, outcome_measure(ep), chosen),
        alliance=frame,
        ruptures=ruptures(frame, patterns, sd_ref),
        gaps=gaps(frame),
        plan=plan_course.track(pattern, frame),
        sd_ref=sd_ref,
    )
