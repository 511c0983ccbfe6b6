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
    """Plan vs the therapist's distance ratings and the client's alliance, per session."""
    course = COURSES.get(pattern or "")
    rows = frame[frame["session"] > 0][["session", "distance", "client_alliance", "therapist_alliance"]].copy()
    rows = rows.drop_duplicates("session", keep="last")
    rows["planned"] = planned(pattern, rows["session"]).to_numpy()
    rows["deviation"] = rows["distance"] - rows["planned"]
    rows["off_plan"] = rows["deviation"].abs() >= OFF_PLAN
    rated = rows.dropna(subset=["distance"])
    return {
        "pattern": pattern,
        "course": course[0] if course else "no attachment pattern measured: no plan to track",
        "has_plan": course is not None,
        "rows": rows.reset_index(drop=True),
        "n_rated": int(len(rated)),
        "mean_abs_deviation": float(rated["deviation"].abs().mean()) if len(rated) else None,
        "n_off_plan": int(rated["off_plan"].sum()),
    }
