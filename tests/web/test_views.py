"""The clinician views through the API and the pages, on hand-made clients whose flags are computed here.

Independent expectations: the not-on-track client's red bound is recomputed from the default
reference's fitted parameters with the Finch, Lambert & Schaalje (2001) prediction variance; the
rupture clients' expected rupture and repair follow from the pooled SD of their own POMP changes;
totals of CORE-10 and WAI-SR answers are summed here (items 2 and 3 of CORE-10 reversed); the
clinic report's rates and intervals come from statsmodels' Wilson interval.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import numpy as np
import pytest
from sqlalchemy import select

from sciplab.web.models import AttentionAck, AuditEntry, Episode, FormulationReview
from sciplab.web.views import plan_course
from sciplab.web.views.reference import DEFAULT_FILES

from .conftest import add_user, new_client, sign_in

H = "X-CSRF-Token"


# -- building hand-made clients --------------------------------------------------------------------------------


def core10(total: int) -> dict[str, int]:
    """CORE-10 answers with this total and item 6 (risk) at 0; items 2 and 3 are reverse-scored (4 - answer)."""
    assert 0 <= total <= 36
    contrib = {i: 0 for i in (1, 2, 3, 4, 5, 7, 8, 9, 10)}
    left = total
    for i in contrib:
        contrib[i] = min(4, left)
        left -= contrib[i]
    answers = {str(i): (4 - c if i in (2, 3) else c) for i, c in contrib.items()}
    answers["6"] = 0
    return answers


def wai(total: int) -> dict[str, int]:
    """WAI-SR answers (1-5, 12 items, no reverse items) summing to ``total``."""
    assert 12 <= total <= 60
    base, extra = divmod(total - 12, 12)
    return {str(i): 1 + base + (1 if i <= extra else 0) for i in range(1, 13)}


def answer(http, csrf, cid, instrument, answers, session_id=None):
    r = http.post(
        f"/api/v1/clients/{cid}/responses",
        json={"instrument": instrument, "answers": answers, "session_id": session_id},
        headers={H: csrf},
    )
    assert r.status_code == 201, r.text
    return r.json()


def session(http, csrf, cid, **kw):
    r = http.post(f"/api/v1/clients/{cid}/sessions", json=kw, headers={H: csrf})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def build(http, csrf, name, *, core=(), alliance=(), therapist=(), distance=()):
    """A client with intake CORE-10 ``core[0]`` then one session per later value (WAI-SR totals in ``alliance``)."""
    cid = new_client(http, csrf, name)
    if core:
        answer(http, csrf, cid, "CORE-10", core10(core[0]))
    n = max(len(core) - 1, len(alliance))
    for k in range(n):
        sid = session(
            http, csrf, cid,
            therapist_alliance=therapist[k] if k < len(therapist) else None,
            distance_rating=distance[k] if k < len(distance) else None,
        )  # fmt: skip
        if k + 1 < len(core):
            answer(http, csrf, cid, "CORE-10", core10(core[k + 1]), sid)
        if k < len(alliance):
            answer(http, csrf, cid, "WAI-SR", wai(alliance[k]), sid)
    return cid


def red_bound(intake: float, session_number: float, q: float = 0.90) -> float:
    """Finch et al. (2001) bound from the shipped default reference, computed here with numpy."""
    from scipy.stats import norm

    fit = json.loads(DEFAULT_FILES["CORE-10_total"].read_text())["fit"]
    ic = intake - fit["intake_mean"]
    L = math.log(session_number + 1)
    x = np.array([1, ic, L, ic * L])
    z = np.array([1, L])
    yhat = x @ np.array(fit["fe"])
    var = x @ np.array(fit["cov_fe"]) @ x + z @ np.array(fit["cov_re"]) @ z + fit["sigma2"]
    return float(yhat + norm.ppf(q) * math.sqrt(var))


# -- the not-on-track client --------------------------------------------------------------------------------


def test_not_on_track_client_is_red_and_first_on_the_caseload(app, therapist):
    http, csrf = therapist
    worse = [20, 22, 25, 28, 31, 34]  # intake then five sessions, getting worse
    better = [20, 16, 13, 11, 9, 8]
    bad = build(http, csrf, "Worse Client", core=worse)
    good = build(http, csrf, "Better Client", core=better)
    # independent expectation: the last score is beyond the red (.90) bound of the default reference
    assert worse[-1] > red_bound(worse[0], len(worse) - 1)
    assert better[-1] < red_bound(better[0], len(better) - 1)
    o = http.get(f"/api/v1/clients/{bad}/overview").json()["outcome"]
    assert o["status"] == "red" and o["status_session"] == len(worse) - 1
    assert o["reference"]["source"] == "default" and "simulated" in o["reference"]["description"].lower()
    assert o["change"]["classification"] == "deteriorated"  # 20 -> 34: +14 >= 6 published points
    assert [r["observed"] for r in o["table"]] == [float(v) for v in worse]
    og = http.get(f"/api/v1/clients/{good}/overview").json()["outcome"]
    assert og["status"] == "white"  # 8 is on the functional side of the cut-off 10
    assert og["change"]["classification"] == "recovered"
    rows = http.get("/api/v1/caseload/attention").json()
    assert [r["id"] for r in rows][:2] == [bad, good]
    assert rows[0]["needs_attention"] and not rows[1]["needs_attention"]
    page = http.get(f"/clients/{bad}").text
    assert "not on track: red" in page and "SCIP Lab&#39;s default reference" in page
    dash = http.get("/dashboard").text
    assert dash.index("Worse Client") < dash.index("Better Client")


# -- ruptures -------------------------------------------------------------------------------------------------


REPAIRED = [48, 49, 48, 49, 30, 48, 49, 48]
UNREPAIRED = [48, 49, 48, 49, 30, 30, 31, 30, 31]


def expected_rupture(series: list[int], others: list[list[int]], J: int = 3) -> tuple[float, str]:
    """(trough session, repaired/unresolved) of the one big drop, with the lenient rule's threshold."""
    pomp = [np.array(s, float) / 48 * 100 - 25 for s in [series, *others]]  # (x - 12) / 48 * 100
    sd = np.concatenate([np.diff(p) for p in pomp]).std(ddof=1)
    p = pomp[0]
    trough = int(np.argmin(p))
    baseline = p[trough - 3 : trough].mean()
    assert baseline - p[trough] >= sd  # a rupture by the lenient (1 SD) rule
    after = p[trough + 1 : trough + 1 + J]
    return float(trough + 1), "repaired" if (after >= baseline - sd / 2).any() else "unresolved"


def test_repaired_and_unrepaired_ruptures(app, therapist):
    http, csrf = therapist
    rep = build(http, csrf, "Repaired Client", alliance=REPAIRED, therapist=[8] * 8)
    unrep = build(http, csrf, "Unrepaired Client", alliance=UNREPAIRED, therapist=[8, 8, 8, 8, 8, 8, 8, 8, 8])
    exp_rep = expected_rupture(REPAIRED, [UNREPAIRED])
    exp_unrep = expected_rupture(UNREPAIRED, [REPAIRED])
    assert exp_rep == (5.0, "repaired") and exp_unrep == (5.0, "unresolved")
    o = http.get(f"/api/v1/clients/{rep}/overview").json()
    lenient = [r for r in o["ruptures"] if r["rule"] == "lenient (1 SD)"]
    assert [(r["trough_session"], r["status"]) for r in lenient] == [exp_rep]
    assert lenient[0]["repair_session"] == 6.0 and o["unrepaired"] == []
    # the perspective gap: client 30 -> POMP 37.5 vs therapist 8 -> 80 at the trough
    gaps = {g["session"]: g for g in o["gaps"]}
    assert gaps[5.0]["flag"] and gaps[5.0]["direction"] == "therapist higher" and not gaps[4.0]["flag"]
    u = http.get(f"/api/v1/clients/{unrep}/overview").json()
    assert [(r["trough_session"], r["status"]) for r in u["unrepaired"]] == [exp_unrep]
    rows = {r["id"]: r for r in http.get("/api/v1/caseload/attention").json()}
    assert rows[unrep]["unrepaired"] == ["rupture at session 5"] and rows[rep]["unrepaired"] == []
    assert rows[rep]["repaired"] == 1
    order = [r["id"] for r in http.get("/api/v1/caseload/attention").json()]
    assert order.index(unrep) < order.index(rep)
    page = http.get(f"/clients/{unrep}").text
    assert "1 unrepaired" in page and "unresolved" in page


def test_acknowledging_a_rupture_and_a_risk_alert_is_audited(app, therapist):
    http, csrf = therapist
    unrep = build(http, csrf, "Unrepaired Client", alliance=UNREPAIRED)
    build(http, csrf, "Other Client", alliance=REPAIRED)
    r = http.post(
        f"/api/v1/clients/{unrep}/attention/acknowledge",
        json={
            "kind": "rupture",
            "ref": "rupture at session 5",
            "action": "Talked about the rupture (metacommunication)",
        },
        headers={H: csrf},
    )
    assert r.status_code == 201, r.text
    row = next(x for x in http.get("/api/v1/caseload/attention").json() if x["id"] == unrep)
    assert row["unrepaired"] == [] and row["unrepaired_acknowledged"] == ["rupture at session 5"]
    bad = http.post(
        f"/api/v1/clients/{unrep}/attention/acknowledge", json={"kind": "rupture", "ref": "x", "action": " "},
        headers={H: csrf},
    )  # fmt: skip
    assert bad.status_code == 400 and "action" in bad.json()["error"]
    assert http.post(
        f"/api/v1/clients/{unrep}/attention/acknowledge", json={"kind": "mood", "ref": "x", "action": "y"},
        headers={H: csrf},
    ).status_code == 400  # fmt: skip
    # a risk alert acknowledged on the page with what was done
    phq = {str(i): 1 for i in range(1, 10)} | {"9": 2}
    answer(http, csrf, unrep, "PHQ-9", phq)
    alert_id = http.get("/api/v1/alerts").json()[0]["id"]
    page = http.post(
        f"/alerts/{alert_id}/acknowledge", data={"csrf_token": csrf, "action": "Safety plan made", "next": "/dashboard"}
    )
    assert page.status_code == 303 and page.headers["location"] == "/dashboard"
    text = http.get(f"/clients/{unrep}").text
    assert "Safety plan made" in text and "Talked about the rupture" in text
    with app.state.clinic.tx() as db:
        actions = [e.action for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        ack = db.scalar(select(AttentionAck))
        assert ack.acknowledged_by is not None and ack.acknowledged_at is not None
    assert "attention.acknowledge" in actions and "alert.acknowledge" in actions
    # another therapist may not acknowledge this client's flags (403, audited)
    add_user(app, "t2")
    h2, c2 = sign_in(app, "t2")
    assert h2.post(
        f"/api/v1/clients/{unrep}/attention/acknowledge", json={"kind": "rupture", "ref": "r", "action": "a"},
        headers={H: c2},
    ).status_code == 403  # fmt: skip


def test_overdue_questionnaire_is_flagged(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Busy Client", core=[20, 19])
    r = http.post(
        f"/api/v1/clients/{cid}/assignments", json={"instrument": "WAI-SR", "schedule": "every_session"},
        headers={H: csrf},
    )  # fmt: skip
    assert r.status_code == 201
    http.post(
        f"/api/v1/clients/{cid}/assignments", json={"instrument": "PHQ-9", "schedule": "intake"}, headers={H: csrf}
    )
    row = http.get("/api/v1/caseload/attention").json()[0]
    assert row["overdue"] == ["WAI-SR at session 1", "PHQ-9 at intake"] and row["needs_attention"]


# -- the SCIP chain, formulation and plan ---------------------------------------------------------------------

ECRS_PREOCCUPIED = {"2": 6, "4": 6, "6": 6, "8": 2, "10": 6, "12": 6, "1": 6, "3": 2, "5": 6, "7": 2, "9": 6, "11": 2}


def test_chain_formulation_review_and_plan(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Chain Client", core=[24, 22, 20, 18, 17, 15], distance=[4, 4, 4, 6, 5], therapist=[7] * 5)
    answer(http, csrf, cid, "ECR-S", ECRS_PREOCCUPIED)
    o = http.get(f"/api/v1/clients/{cid}/overview").json()
    # anxiety mean 6 (item 8 reversed: 8 - 2), avoidance mean 2 (items 1, 5, 9 reversed)
    assert o["attachment"]["anxiety"]["score"] == pytest.approx(6.0)
    assert o["attachment"]["avoidance"]["score"] == pytest.approx(2.0)
    assert o["attachment_pattern"] == "preoccupied"
    assert o["watch_for"]["expected_rupture"] == "confrontation"
    chain = {c["column"]: c for c in o["chain"]}
    assert chain["CORE-10_total"]["classification"] == "improved"  # 24 -> 15: 9 >= 6, but not below 10
    assert chain["ECR-S_anxiety"]["note"] == "one measurement so far"
    plan = o["plan"]
    assert plan["course"] == "close, then growing autonomy"
    assert [s["planned"] for s in plan["sessions"]] == [4.0, 4.0, 4.0, 4.25, 4.5]
    assert plan["n_off_plan"] == 1  # session 4: rated 6, planned 4.25
    f = http.get(f"/api/v1/clients/{cid}/formulation").json()
    ids = [s["id"] for s in f["formulation"]["plan"]]
    assert "hyperactivating-engage" in ids and "hyperactivating-correct" in ids
    for stmt, decision, text in (
        ("hyperactivating-engage", "accepted", ""),
        ("hyperactivating-correct", "edited", "Increase distance slowly, checking the alliance each session."),
        ("hyperactivating-pattern", "rejected", ""),
    ):
        r = http.post(
            f"/api/v1/clients/{cid}/formulation/review",
            json={"statement": stmt, "decision": decision, "text": text}, headers={H: csrf},
        )  # fmt: skip
        assert r.status_code == 201, r.text
    # edit without wording, unknown statement, unknown decision: refused naming the field
    for body, word in (
        ({"statement": "hyperactivating-engage", "decision": "edited", "text": ""}, "text"),
        ({"statement": "nope", "decision": "accepted"}, "nope"),
        ({"statement": "hyperactivating-engage", "decision": "maybe"}, "decision"),
    ):
        r = http.post(f"/api/v1/clients/{cid}/formulation/review", json=body, headers={H: csrf})
        assert r.status_code == 400 and word in r.json()["error"]
    reviews = http.get(f"/api/v1/clients/{cid}/formulation").json()["reviews"]
    assert reviews["hyperactivating-correct"][0]["decision"] == "edited"
    assert reviews["hyperactivating-correct"][0]["text"].startswith("Increase distance slowly")
    # the page form (no script): accept then change the decision; the history keeps both
    page = http.post(
        f"/clients/{cid}/formulation/review",
        data={"csrf_token": csrf, "statement": "hyperactivating-engage", "decision": "rejected"},
    )
    assert page.status_code == 303
    text = http.get(f"/clients/{cid}/formulation").text
    assert "Increase distance slowly" in text and "History (2)" in text and "rejected by t1" in text
    with app.state.clinic.tx() as db:
        assert len(db.scalars(select(FormulationReview)).all()) == 4
        actions = [e.action for e in db.scalars(select(AuditEntry))]
    assert actions.count("formulation.review") == 4 and "formulation.view" in actions
    add_user(app, "t2")
    h2, c2 = sign_in(app, "t2")
    assert h2.get(f"/api/v1/clients/{cid}/formulation").status_code == 403
    assert h2.post(
        f"/api/v1/clients/{cid}/formulation/review", json={"statement": "x", "decision": "accepted"}, headers={H: c2}
    ).status_code == 403  # fmt: skip


def test_client_page_charts_are_accessible_and_script_free(app, therapist):
    http, csrf = therapist
    cid = build(http, csrf, "Chart <Client>", core=[20, 22, 25], alliance=[40, 42], therapist=[6, 7], distance=[4, 5])
    answer(http, csrf, cid, "ECR-S", ECRS_PREOCCUPIED)
    page = http.get(f"/clients/{cid}")
    assert page.status_code == 200
    html = page.text
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) >= 4  # outcome, alliance, plan, attachment plane
    for tag in svgs:
        assert 'role="img"' in tag and "aria-labelledby" in tag
    assert html.count("<title id=") == len(svgs) and html.count("<desc id=") == len(svgs)
    assert html.count("Data behind the chart") >= 3
    assert "style=" not in html and "<script>" not in html and not re.search(r"\son[a-z]+=", html)
    assert "Chart &lt;Client&gt;" in html and "Chart <Client>" not in html
    with app.state.clinic.tx() as db:
        views = [e.action for e in db.scalars(select(AuditEntry)) if e.record_id == str(cid)]
    assert "client.view" in views


def test_plan_course_units():
    s = np.arange(1, 10)
    assert plan_course.planned("preoccupied", s).tolist() == [4, 4, 4, 4.25, 4.5, 4.75, 5, 5, 5]
    assert plan_course.planned("dismissing", s).tolist() == [4, 4, 4, 3.75, 3.5, 3.25, 3, 3, 3]
    assert plan_course.planned("fearful", s).tolist() == [4.0] * 9
    assert plan_course.planned(None, s).tolist() == [4.0] * 9


# -- supervision and the clinic report ------------------------------------------------------------------------


def test_supervision_counts_with_small_number_suppression(app):
    add_user(app, "sup", role="supervisor")
    add_user(app, "t1", supervisor="sup")
    http, csrf = sign_in(app, "t1")
    for k in range(6):
        build(http, csrf, f"Client {k}", core=[20, 21, 22, 23, 26, 30] if k == 0 else [20, 17, 15, 13, 11, 10])
    s, _ = sign_in(app, "sup")
    data = s.get("/api/v1/supervision").json()
    t1 = next(r for r in data["rows"] if r["therapist"] == "t1")
    assert t1["clients"] == 6 and t1["open"] == 6
    assert t1["lights"]["red"] == "<5"  # one red client: suppressed
    # the five improving clients end at 10: not below the cut-off (white) and inside the yellow (.80) bound
    assert 10 < red_bound(20, 5, q=0.80)
    assert t1["lights"]["green"] == 5 and t1["lights"]["white"] == 0
    assert t1["outcomes"]["deteriorated"] == "<5" and t1["outcomes"]["improved"] == 5
    assert data["suppress_below"] == 5 and not t1["repair_rate"]["shown"]  # no ruptures: rate suppressed
    page = s.get("/supervision").text
    assert "&lt;5" in page and "small-number suppression" in page
    assert http.get("/api/v1/supervision").status_code == 403
    with app.state.clinic.tx() as db:
        assert "supervision.view" in [e.action for e in db.scalars(select(AuditEntry))]


def test_clinic_report_rates_and_wilson_intervals(app):
    from statsmodels.stats.proportion import proportion_confint

    add_user(app, "t1")
    add_user(app, "res", role="researcher")
    add_user(app, "adm", role="admin")
    add_user(app, "adm2", role="admin", clinical_access=True)
    http, csrf = sign_in(app, "t1")
    pairs = [(25, 8), (22, 9), (20, 12), (18, 17), (24, 15), (12, 20), (30, 5)]  # intake, last
    for k, (pre, post) in enumerate(pairs):
        cid = build(http, csrf, f"Closed {k}", core=[pre, post])
        assert http.post(f"/api/v1/clients/{cid}/episode/end", headers={H: csrf}).status_code == 200
    with app.state.clinic.tx() as db:  # two of them ended in an earlier quarter
        for e in db.scalars(select(Episode).order_by(Episode.id).limit(2)):
            e.ended_on = dt.date(2025, 2, 1)
    # independent classification: reliable = |change| >= 6 (published points), cut-off 10, higher is worse
    improved = [pre - post >= 6 for pre, post in pairs]
    recovered = [pre - post >= 6 and pre >= 10 and post < 10 for pre, post in pairs]
    deteriorated = [post - pre >= 6 for pre, post in pairs]
    eligible = [pre >= 10 for pre, _ in pairs]
    res, _ = sign_in(app, "res")
    rep = res.get("/api/v1/reports/clinic").json()
    table = rep["tables"][0]
    assert table["measure"] == "CORE-10_total" and rep["episodes"] == 7
    rows = {r["period"]: r for r in table["rows"]}
    assert rows["2025-Q1"]["n"] == "<5" and not rows["2025-Q1"]["reliable_improvement"]["shown"]
    total = rows["all periods"]
    assert total["n"] == 7
    for key, flags, den in (
        ("reliable_improvement", improved, 7),
        ("recovery", recovered, sum(eligible)),
        ("deterioration", deteriorated, 7),
    ):
        lo, hi = proportion_confint(sum(flags), den, method="wilson")
        assert total[key]["estimate"] == pytest.approx(sum(flags) / den)
        assert (total[key]["lower"], total[key]["upper"]) == pytest.approx((lo, hi), abs=1e-9)
    page = res.get("/reports/clinic").text
    assert "Wilson" in page and "suppressed" in page and "Closed 0" not in page
    assert res.get("/api/v1/clients").status_code == 403  # still no client record for the researcher
    adm, _ = sign_in(app, "adm")
    assert adm.get("/api/v1/reports/clinic").status_code == 403
    adm2, _ = sign_in(app, "adm2")
    assert adm2.get("/reports/clinic").status_code == 200
    assert http.get("/api/v1/reports/clinic").status_code == 403


def test_every_new_route_declares_its_access(app):
    from sciplab.web.policy import ACTIONS
    from sciplab.web.views.routes import router

    for route in router.routes:
        access = (route.openapi_extra or {}).get("x-access")
        assert access in ACTIONS or access in ("public", "link", "signed-in"), route.path
