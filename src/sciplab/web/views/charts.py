"""The charts of the clinician views, built from the analyses' results (drawing only; the numbers are theirs)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup

from sciplab.web.views import svg

STATUS_WORDS = {
    "green": "on track",
    "yellow": "not on track (yellow)",
    "red": "not on track (red)",
    "white": "in the functional range",
    "grey": "too early to tell",
}


def outcome_chart(o: dict[str, Any]) -> Markup:
    """Observed scores (coloured by traffic light), expected curve, yellow/red band, RC and cut-off lines."""
    m = o["measure"]
    s = o["series"]
    etr = o["etr"]
    lines, bands = [], []
    if etr is not None:
        t = etr.table
        lines.append(svg.Line(f"{m} observed", zip(t["session"], t["observed"], strict=True), "observed",
                              [str(x) for x in t["status"]]))  # fmt: skip
        c = etr.curve
        lines.append(svg.Line("expected", zip(c["session"], c["expected"], strict=True), "expected", markers=False))
        bands.append(("red", list(c["session"]), list(c["lower_red"]), list(c["upper_red"])))
        bands.append(("yellow", list(c["session"]), list(c["lower_yellow"]), list(c["upper_yellow"])))
    else:
        lines.append(svg.Line(f"{m} observed", zip(s["session"], s[m], strict=True), "observed"))
    hl = []
    if o["rc_points"] is not None:
        sign = -1 if o["higher_is_worse"] else 1
        hl.append(("reliable improvement", o["intake"] + sign * o["rc_points"], "rc"))
        hl.append(("reliable deterioration", o["intake"] - sign * o["rc_points"], "rc"))
    if o["cutoff"] is not None:
        hl.append((f"clinical cut-off {o['cutoff']:g}", float(o["cutoff"]), "cutoff"))
    status = STATUS_WORDS.get(o["status"] or "", "no traffic light")
    desc = (
        f"{m} from session {s['session'].iloc[0]:g} to {s['session'].iloc[-1]:g}: intake {o['intake']:g}, "
        f"latest {s[m].iloc[-1]:g}; latest status {status}. The table below lists every value."
    )
    return svg.line_chart(f"{m} over the episode", desc, lines, bands=bands, hlines=hl, y_label=m)


def alliance_chart(frame: pd.DataFrame, ruptures: list[dict[str, Any]]) -> Markup:
    """Client and therapist alliance (POMP 0-100) per session with rupture troughs marked."""
    f = frame[frame["session"] > 0]
    troughs = {float(r["trough_session"]): r["status"] for r in ruptures}
    pcs = [f"rupture-{troughs[s]}" if s in troughs else "" for s in f["session"]]
    lines = [
        svg.Line("client (WAI-SR)", zip(f["session"], f["client_alliance"], strict=True), "client", pcs),
        svg.Line("therapist (0-10 item)", zip(f["session"], f["therapist_alliance"], strict=True), "therapist"),
    ]
    n_r = len({r["trough_session"] for r in ruptures})
    desc = (
        f"Alliance per session as percent of the maximum possible score: client-rated and therapist-rated; "
        f"{n_r} rupture trough(s) marked. The table below lists every session."
    )
    return svg.line_chart("Alliance from both perspectives", desc, lines, y_label="alliance (POMP)", y_range=(0, 100))


def plan_chart(plan: dict[str, Any]) -> Markup:
    """Planned distance vs the therapist's ratings (1-7) per session."""
    r = plan["rows"]
    lines = [
        svg.Line("planned", zip(r["session"], r["planned"], strict=True), "planned", markers=False),
        svg.Line("therapist's rating", zip(r["session"], r["distance"], strict=True), "rated",
                 ["off-plan" if x else "" for x in r["off_plan"]]),
    ]  # fmt: skip
    desc = (
        f"Therapeutic distance per session (1 much too close, 4 about right, 7 much too distant): the plan "
        f"({plan['course']}) and the therapist's ratings; {plan['n_off_plan']} session(s) off plan."
    )
    return svg.line_chart("Relationship plan: therapeutic distance", desc, lines, y_label="distance", y_range=(1, 7),
                          hlines=[("about right", 4.0, "cutoff")])  # fmt: skip


def attachment_chart(form: Any, intake: dict[str, Any] | None) -> Markup | None:
    """Intake and latest attachment on the anxiety x avoidance plane with 95 % bands."""
    if isinstance(form, str) or not form.attachment.get("available"):
        return None
    att = form.attachment
    pts = []
    if intake is not None:
        pts.append(_point("intake", intake, "intake"))
    pts.append(_point("latest", att, "latest"))
    a = att["anxiety"]
    desc = (
        f"Attachment anxiety {a['score']:.2f} (95 % band {a['ci95'][0]:.2f}-{a['ci95'][1]:.2f}) and avoidance "
        f"{att['avoidance']['score']:.2f}; most probable pattern {att['most_probable']['pattern']} "
        f"(p = {att['most_probable']['p']:.2f})."
    )
    return svg.attachment_plane(
        "Attachment plane", desc, pts, low=float(a["min"]), high=float(a["max"]),
        split=(float(a["split"]), float(att["avoidance"]["split"])),
    )  # fmt: skip


def _point(label: str, att: dict[str, Any], cls: str) -> dict[str, Any]:
    return {
        "label": label,
        "cls": cls,
        "anxiety": float(att["anxiety"]["score"]),
        "avoidance": float(att["avoidance"]["score"]),
        "anxiety_ci": tuple(att["anxiety"]["ci95"]),
        "avoidance_ci": tuple(att["avoidance"]["ci95"]),
    }


def circle_chart(form: Any) -> Markup | None:
    """Octant profile and SSM vector of the latest interpersonal scores."""
    if isinstance(form, str) or not form.interpersonal or not form.interpersonal.get("profile"):
        return None
    ip = form.interpersonal
    from sciplab.instruments import get_instrument

    inst = get_instrument(ip["instrument"])
    octs = [(code, float(inst.scale(code).angle_deg), float(v)) for code, v in ip["profile"].items()]
    disp = ip.get("displacement")
    desc = (
        f"{ip['instrument']} octant profile ({'z-scores' if ip.get('standardized') else 'raw'}): elevation "
        f"{ip['elevation']:.2f}, amplitude {ip['amplitude']:.2f}, displacement "
        f"{'-' if disp is None else f'{disp:.0f} degrees'}, fit {ip['fit']:.2f}."
    )
    return svg.circle("Interpersonal circle", desc, octs, ip)


def rate_bars(title: str, rows: list[dict[str, Any]], key: str) -> Markup:
    """Bars of a rate per row (percent), suppressed rows named."""
    items = [(str(r["period"]), None if not r[key]["shown"] else 100 * r[key]["estimate"], "rate") for r in rows]
    desc = f"{title} per period in percent; suppressed periods have fewer cases than the threshold."
    return svg.bars(title, desc, items, max_value=100)
