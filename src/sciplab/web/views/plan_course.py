"""The planned course of therapeutic distance for a client's attachment pattern, against what happened.

SCIP's relationship plan (the formulation rules ``*-engage`` and ``*-correct``; Daly & Mallinckrodt
2009; Mallinckrodt 2010) has two phases: **engage** at the distance the client needs, then the
**corrective** move -- growing autonomy (gradually more distance) for hyperactivating, preoccupied
clients; growing engagement (gradually less distance) for deactivating, dismissing clients.

On the clinic's session rating of therapeutic distance (1 much too close, 4 about right, 7 much too
distant, relative to what the client needed; the rating the SCIP simulation produces) the plan is
drawn as: 4 during the engagement sessions (:data:`ENGAGE_SESSIONS`, the SCIP therapist policy's
default), then a drift of :data:`STEP` per session toward 5 (growing autonomy: a little more distant
than the client would choose) or toward 3 (growing engagement), never further than one point from
"about right". This translation of the plan into rating units is SCIP Lab's operationalisation
[inference], not a published protocol; for fearful clients no protocol is known and for secure
clients no corrective move is needed, so their plan stays at 4 and the page says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Sessions at the client's preferred distance before the corrective move (sim TherapyParams.engage_sessions).
ENGAGE_SESSIONS = 3
#: Rating points the plan moves per session in the corrective phase.
STEP = 0.25
#: Largest planned distance from "about right" (rating points).
MAX_SHIFT = 1.0
ABOUT_RIGHT = 4.0
#: A session's rating this far from the plan is marked "off plan".
OFF_PLAN = 1.5

COURSES = {
    "preoccupied": ("close, then growing autonomy", 1.0),
    "dismissing": ("distance, then growing engagement", -1.0),
    "secure": ("no corrective move needed: stay about right", 0.0),
    "fearful": ("no distance protocol known for fearful clients: stay about right and watch both misfits", 0.0),
}


def planned(pattern: str | None, sessions: Any) -> pd.Series:
    """The planned distance rating at each session number."""
    s = pd.Series(sessions, dtype=float)
    direction = COURSES.get(pattern or "", ("", 0.0))[1]
    shift = ((s - ENGAGE_SESSIONS).clip(lower=0) * STEP).clip(upper=MAX_SHIFT)
    return ABOUT_RIGHT + direction * shift


def track(pattern: str | None, frame: pd.DataFrame) -> dict[str, Any]:
    """Plan vs the therapist's distance ratings and the client's alliance, per session.

    numpy on the page's few rows (pandas' per-call overhead was most of the cost); the rows are those
    of ``frame`` after session 0, the last of any repeated session number, in ``frame``'s order.
    """
    course = COURSES.get(pattern or "")
    cols = ["session", "distance", "client_alliance", "therapist_alliance"]
    arrays = {c: frame[c].to_numpy(dtype=float) for c in cols}
    positions = np.flatnonzero(arrays["session"] > 0)
    last = {s: int(i) for i, s in zip(positions, arrays["session"][positions].tolist(), strict=True)}
    idx = np.asarray(sorted(last.values()), dtype=np.intp)
    data = {c: a[idx] for c, a in arrays.items()}
    direction = COURSES.get(pattern or "", ("", 0.0))[1]
    shift = np.minimum(np.maximum(data["session"] - ENGAGE_SESSIONS, 0) * STEP, MAX_SHIFT)
    data["planned"] = ABOUT_RIGHT + direction * shift
    data["deviation"] = data["distance"] - data["planned"]
    with np.errstate(invalid="ignore"):
        data["off_plan"] = np.abs(data["deviation"]) >= OFF_PLAN
    rated = ~np.isnan(data["distance"])
    return {
        "pattern": pattern,
        "course": course[0] if course else "no attachment pattern measured: no plan to track",
        "has_plan": course is not None,
        "rows": pd.DataFrame(data),
        "n_rated": int(rated.sum()),
        "mean_abs_deviation": float(np.abs(data["deviation"][rated]).mean()) if rated.any() else None,
        "n_off_plan": int(data["off_plan"][rated].sum()),
    }
