"""Routes of the clinician views: pages (server-rendered, no script needed) and their JSON twins under /api/v1.

Each route declares its access (``openapi_extra={"x-access": action}``, an action of
:data:`sciplab.web.policy.ACTIONS`); the service it calls enforces it and audits the view or change.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import Request

from sciplab._core.results import to_jsonable
from sciplab.web.auth import service as auth
from sciplab.web.clinic import Clinic, Login
from sciplab.web.views import charts
from sciplab.web.views import service as vs
from sciplab.web.views.overview import ClientOverview

router = APIRouter()


def _clinic(request: Request) -> Clinic:
    return request.app.state.clinic


def _render(request: Request, name: str, login: Login, **ctx: Any) -> Response:
    from sciplab.web.pages import render

    return render(request, name, login=login, **ctx)


async def _posted(request: Request, fn: Any) -> Any:
    from sciplab.web.pages import _posted as posted

    return await posted(request, fn)


def _see_other(url: str) -> Response:
    from fastapi.responses import RedirectResponse

    return RedirectResponse(url, status_code=303)


def _json_login(request: Request, db: Any, csrf: str | None = None, *, post: bool = False) -> Login:
    login = _clinic(request).authenticate(db, request)
    if post:
        auth.check_csrf(login.session, csrf)
    return login


# -- JSON shapes -----------------------------------------------------------------------------------------------


def overview_json(o: ClientOverview | None) -> dict[str, Any]:
    """The client overview as JSON (what the page shows, numbers unrounded)."""
    if o is None:
        return {"episode": None}
    out: dict[str, Any] = {
        "chain": [to_jsonable(c.__dict__) for c in o.chain],
        "attachment_pattern": o.pattern,
        "watch_for": o.watch,
        "attachment": None if isinstance(o.formulation, str) else to_jsonable(o.formulation.attachment),
        "attachment_intake": to_jsonable(o.attachment_intake),
        "interpersonal": None if isinstance(o.formulation, str) else to_jsonable(o.formulation.interpersonal),
        "formulation_note": o.formulation if isinstance(o.formulation, str) else "",
        "outcome": None,
        "alliance": to_jsonable(o.alliance),
        "ruptures": to_jsonable(o.rupture_rows()),
        "ruptures_note": o.ruptures if isinstance(o.ruptures, str) else "",
        "unrepaired": to_jsonable(o.unrepaired()),
        "gaps": None if isinstance(o.gaps, str) else to_jsonable(o.gaps.table),
        "gaps_note": o.gaps if isinstance(o.gaps, str) else "",
        "rupture_sd_ref": o.sd_ref,
        "plan": to_jsonable({k: v for k, v in o.plan.items() if k != "rows"} | {"sessions": o.plan["rows"]}),
    }
    if o.outcome is not None:
        oc = o.outcome
        ref = oc["reference"]
        out["outcome"] = to_jsonable(
            {
                "measure": oc["measure"],
                "status": oc["status"],
                "status_session": oc["status_session"],
                "reference": None if ref is None else {"source": ref.source, "description": ref.description},
                "table": None if oc["etr"] is None else oc["etr"].table,
                "note": oc["etr_note"],
                "change": oc["change"],
                "rc_points": oc["rc_points"],
                "cutoff": oc["cutoff"],
                "series": oc["series"],
            }
        )
    return out


class ReviewIn(BaseModel):
    """A decision on one formulation statement."""

    statement: str = Field(max_length=64)
    decision: str = Field(description="accepted, edited or rejected")
    text: str = Field(default="", max_length=5000, description="the edited wording (decision 'edited')")


class AckIn(BaseModel):
    """An acknowledgement of a computed flag: which one, and what was done."""

    kind: str = Field(description="not_on_track, rupture or overdue")
    ref: str = Field(max_length=64, description="the flag as the caseload names it, e.g. 'session 12'")
    action: str = Field(max_length=2000, description="what was done")


# -- pages ---------------------------------------------------------------------------------------------------


@router.get("/clients/{client_id}/formulation", include_in_schema=False, openapi_extra={"x-access": "clients.view"})
def formulation_page(request: Request, client_id: int) -> Response:
    """Page: the client's formulation with accept / edit / reject on every statement."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        ctx = vs.formulation_page(db, login.actor, client_id)
        from sciplab.web.policy import allowed

        return _render(request, "formulation.html", login, can_review=allowed(login.actor, "formulation.review"), **ctx)


@router.post(
    "/clients/{client_id}/formulation/review", include_in_schema=False, openapi_extra={"x-access": "formulation.review"}
)
async def formulation_review(request: Request, client_id: int) -> Response:
    """Page: POST a decision on one statement."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> str:
        r = vs.review_statement(
            login.db, login.actor, client_id, form.get("statement", ""), form.get("decision", ""), form.get("text", "")
        )
        return r.statement_id

    statement = await _posted(request, fn)
    return _see_other(f"/clients/{client_id}/formulation#s-{statement}")


@router.post(
    "/clients/{client_id}/attention/acknowledge",
    include_in_schema=False,
    openapi_extra={"x-access": "alerts.acknowledge"},
)
async def attention_ack(request: Request, client_id: int) -> Response:
    """Page: POST an acknowledgement of a not-on-track, rupture or overdue flag with what was done."""

    def fn(clinic: Clinic, login: Login, form: dict[str, str]) -> str:
        vs.acknowledge_flag(
            login.db, login.actor, client_id, form.get("kind", ""), form.get("ref", ""), form.get("action", "")
        )
        return form.get("next", "")

    nxt = await _posted(request, fn)
    return _see_other("/dashboard" if nxt == "/dashboard" else f"/clients/{client_id}#attention")


@router.get("/supervision", include_in_schema=False, openapi_extra={"x-access": "supervision.view"})
def supervision_page(request: Request) -> Response:
    """Page: the supervisor's view across supervisees."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        data = vs.supervision(db, login.actor)
        return _render(request, "supervision.html", login, sup=data)


@router.get("/reports/clinic", include_in_schema=False, openapi_extra={"x-access": "reports.clinic"})
def clinic_report_page(request: Request) -> Response:
    """Page: reliable change and recovery rates of closed episodes by quarter."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = clinic.authenticate(db, request)
        rep = vs.clinic_report(db, login.actor)
        figures = {
            t["measure"]: charts.rate_bars(f"{t['measure']}: reliable improvement", t["rows"], "reliable_improvement")
            for t in rep["tables"]
            if t["rows"]
        }
        return _render(request, "clinic_report.html", login, rep=rep, figures=figures)


# -- JSON ------------------------------------------------------------------------------------------------------


@router.get("/api/v1/clients/{client_id}/overview", tags=["clinic"], openapi_extra={"x-access": "clients.view"})
def api_overview(request: Request, client_id: int) -> JSONResponse:
    """The SCIP chain, outcome with traffic light, alliance and ruptures, relationship plan of the current episode."""
    clinic = _clinic(request)

    def work() -> dict[str, Any]:
        with clinic.tx() as db:  # short: who, the policy's decision, the audit entry
            login = _json_login(request, db)
            vs.audit_client_view(db, login.actor, client_id)
        with clinic.read() as db:  # reads only: no lock held while the overview is computed
            _, o = vs.client_page(db, login.actor, client_id, request.app.state.overview_cache, audit=False)
            return overview_json(o)

    return JSONResponse(work())


@router.get("/api/v1/clients/{client_id}/formulation", tags=["clinic"], openapi_extra={"x-access": "clients.view"})
def api_formulation(request: Request, client_id: int) -> JSONResponse:
    """The formulation of the current episode and the review decisions per statement."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db)
        ctx = vs.formulation_page(db, login.actor, client_id)
        form = ctx["formulation"]
        return JSONResponse(
            to_jsonable(
                {
                    "formulation": None if isinstance(form, str) else form.to_dict(),
                    "note": form if isinstance(form, str) else "",
                    "reviews": ctx["reviews"],
                }
            )
        )


@router.post(
    "/api/v1/clients/{client_id}/formulation/review",
    tags=["clinic"],
    status_code=201,
    openapi_extra={"x-access": "formulation.review"},
)
def api_review(
    request: Request, client_id: int, body: ReviewIn, x_csrf_token: str | None = Header(default=None)
) -> JSONResponse:
    """Accept, edit or reject one statement (kept with the record, audited)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db, x_csrf_token, post=True)
        r = vs.review_statement(db, login.actor, client_id, body.statement, body.decision, body.text)
        return JSONResponse({"id": r.id, "statement": r.statement_id, "decision": r.decision}, status_code=201)


@router.get("/api/v1/caseload/attention", tags=["clinic"], openapi_extra={"x-access": "clients.list"})
def api_attention(request: Request) -> JSONResponse:
    """The caseload sorted by what needs attention (risk, red, unrepaired rupture, yellow, overdue)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db)
        return JSONResponse(to_jsonable([r.to_dict() for r in vs.caseload_analysis(db, login.actor)]))


@router.post(
    "/api/v1/clients/{client_id}/attention/acknowledge",
    tags=["clinic"],
    status_code=201,
    openapi_extra={"x-access": "alerts.acknowledge"},
)
def api_attention_ack(
    request: Request, client_id: int, body: AckIn, x_csrf_token: str | None = Header(default=None)
) -> JSONResponse:
    """Acknowledge a computed flag with what was done (audited)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db, x_csrf_token, post=True)
        ack = vs.acknowledge_flag(db, login.actor, client_id, body.kind, body.ref, body.action)
        return JSONResponse({"id": ack.id, "kind": ack.kind, "ref": ack.ref}, status_code=201)


@router.get("/api/v1/supervision", tags=["clinic"], openapi_extra={"x-access": "supervision.view"})
def api_supervision(request: Request) -> JSONResponse:
    """Counts by traffic light, rupture-repair and outcome per supervisee (small numbers suppressed)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db)
        return JSONResponse(to_jsonable(vs.supervision(db, login.actor)))


@router.get("/api/v1/reports/clinic", tags=["clinic"], openapi_extra={"x-access": "reports.clinic"})
def api_clinic_report(request: Request) -> JSONResponse:
    """Reliable change and recovery rates by quarter with Wilson 95 % intervals (small numbers suppressed)."""
    clinic = _clinic(request)
    with clinic.tx() as db:
        login = _json_login(request, db)
        rep = vs.clinic_report(db, login.actor)
        for t in rep["tables"]:
            keep = ("cutoff", "higher_is_worse", "min_reliable_change", "method", "rc_source", "cutoff_source")
            t["details"] = {k: t["details"][k] for k in keep if k in t["details"]}
        return JSONResponse(to_jsonable(rep))
