"""HTTP routes of documents and exchange: client reports, research export, FHIR, CSV import.

Every route declares its access in ``openapi_extra={"x-access": action}`` (an action of
:data:`sciplab.web.policy.ACTIONS`, or ``signed-in``); the services check it through the policy
layer and audit. JSON API routes live under ``/api/v1``; the report and export downloads are also
reachable from the pages under the same paths without the prefix.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from sciplab.web.auth import service as auth
from sciplab.web.clinic import Clinic, Login
from sciplab.web.errors import BadRequest
from sciplab.web.exchange import csvimport, fhir, report, research
from sciplab.web.policy import check_client, require

api = APIRouter(prefix="/api/v1", tags=["exchange"])
pages = APIRouter(include_in_schema=False)

MAX_UPLOAD = 20 * 1024 * 1024  # bytes of one CSV or FHIR upload


def _clinic(request: Request) -> Clinic:
    return request.app.state.clinic


def _login(request: Request, db: Any, csrf: str | None = None, *, post: bool = False) -> Login:
    login = _clinic(request).authenticate(db, request)
    if post:
        auth.check_csrf(login.session, csrf)
    return login


def _download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


# -- client report ---------------------------------------------------------------------------------------

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@api.get("/clients/{client_id}/report.{fmt}", openapi_extra={"x-access": "reports.client"})
@pages.get("/clients/{client_id}/report.{fmt}", openapi_extra={"x-access": "reports.client"})
def client_report(request: Request, client_id: int, fmt: str, purpose: str = "record") -> Response:
    """The client report (``fmt`` html or pdf; ``purpose`` record or referral) as a download."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        content, filename = report.render(db, login.actor, client_id, fmt, purpose)
    return _download(content, filename, MEDIA.get(fmt, "application/octet-stream"))


# -- research export ---------------------------------------------------------------------------------------


@api.get("/research/export", openapi_extra={"x-access": "research.export"})
@pages.get("/research/export", openapi_extra={"x-access": "research.export"})
def research_export(request: Request, format: str = "csv", min_cell: int = research.MIN_CELL) -> Response:  # noqa: A002
    """The de-identified export (ZIP: data file in ``format`` csv, sav or parquet, and the codebook)."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        out = research.export(db, login.actor, format, min_cell=min_cell)
    response = _download(out.content, out.filename, "application/zip")
    response.headers["X-Export-SHA256"] = out.sha256
    response.headers["X-Export-Rows"] = str(out.rows)
    return response


@pages.get("/research/exports", openapi_extra={"x-access": "research.export"})
def research_export_page(request: Request) -> Response:
    """Page: the export choices for the researcher."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        require(login.actor, "research.export")
        return request.app.state.templates.TemplateResponse(
            request,
            "exchange/research_export.html",
            {
                "login": login,
                "csrf": login.session.csrf_token,
                "formats": research.FORMATS,
                "min_cell": research.MIN_CELL,
            },
        )


# -- FHIR ------------------------------------------------------------------------------------------------------

FHIR_JSON = "application/fhir+json"


#: OpenAPI: the FHIR reads answer ``application/fhir+json`` (a JSON object), documented so that clients and
#: schema checks know the media type.
FHIR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}}, "description": "A FHIR R4 resource"}
}


def _fhir(payload: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, media_type=FHIR_JSON)


@api.get("/fhir/Questionnaire", responses=FHIR_RESPONSES, openapi_extra={"x-access": "signed-in"})
def fhir_questionnaires(request: Request) -> JSONResponse:
    """Every scorable instrument as a FHIR R4 ``Questionnaire`` in a ``Bundle`` (item text only where licensed)."""
    with _clinic(request).tx() as db:
        _login(request, db)
    return _fhir(fhir.questionnaire_bundle())


@api.get("/fhir/Questionnaire/{instrument_id}", responses=FHIR_RESPONSES, openapi_extra={"x-access": "signed-in"})
def fhir_questionnaire(request: Request, instrument_id: str) -> JSONResponse:
    """One instrument as a FHIR R4 ``Questionnaire``."""
    with _clinic(request).tx() as db:
        _login(request, db)
    return _fhir(fhir.questionnaire(fhir.instrument_of(instrument_id)))


@api.get("/clients/{client_id}/fhir", responses=FHIR_RESPONSES, openapi_extra={"x-access": "fhir.export"})
def fhir_export(request: Request, client_id: int) -> Response:
    """The client's responses (``QuestionnaireResponse``) and scores (``Observation``) as a FHIR R4 ``Bundle``."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        content = fhir.export_client(db, login.actor, client_id)
    return Response(content, media_type=FHIR_JSON)


@api.post("/clients/{client_id}/fhir", status_code=201, openapi_extra={"x-access": "fhir.import"})
async def fhir_import(request: Request, client_id: int, x_csrf_token: str | None = Header(None)) -> JSONResponse:
    """Import a ``Bundle`` of ``QuestionnaireResponse`` resources for the client: all or nothing, scored at once."""
    body = await request.body()
    clinic = _clinic(request)

    def work() -> dict[str, Any]:
        with clinic.tx() as db:
            login = _login(request, db, x_csrf_token, post=True)
            check_client(db, login.actor, client_id, "fhir.import")  # decided before the body is read
            payload = _json(body, "the FHIR Bundle")
            return fhir.import_bundle(db, login.actor, client_id, payload, raw=body)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


def _json(body: bytes, what: str) -> Any:
    if len(body) > MAX_UPLOAD:
        raise BadRequest(f"{what} is {len(body)} bytes; at most {MAX_UPLOAD} are accepted")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


# -- CSV import ---------------------------------------------------------------------------------------------


class MappingIn(BaseModel):
    """A column mapping: target field -> CSV column (see ``GET /api/v1/imports/csv/fields``)."""

    columns: dict[str, str]


class CsvIn(BaseModel):
    """A CSV file (its text) and the mapping to apply: inline ``mapping`` or a saved ``mapping_name``."""

    filename: str = Field(default="upload.csv", max_length=200)
    content: str = Field(max_length=MAX_UPLOAD)
    mapping: dict[str, str] | None = None
    mapping_name: str | None = Field(default=None, max_length=40)


@api.get("/imports/csv/fields", openapi_extra={"x-access": "import.csv"})
def csv_fields(request: Request) -> dict[str, Any]:
    """The fields a mapping may fill, and the item fields of each scorable instrument (``PHQ-9:1`` ...)."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        require(login.actor, "import.csv")
    return csvimport.fields()


@api.get("/imports/csv/mappings", openapi_extra={"x-access": "import.csv"})
def csv_mappings(request: Request) -> dict[str, Any]:
    """The saved column mappings of the clinic."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        return csvimport.list_mappings(db, login.actor)


@api.put("/imports/csv/mappings/{name}", openapi_extra={"x-access": "import.csv"})
def csv_save_mapping(
    request: Request, name: str, body: MappingIn, x_csrf_token: str | None = Header(None)
) -> dict[str, Any]:
    """Save (or replace) a column mapping under ``name`` for later imports."""
    with _clinic(request).tx() as db:
        login = _login(request, db, x_csrf_token, post=True)
        return csvimport.save_mapping(db, login.actor, name, body.columns)


@api.post("/imports/csv/preview", openapi_extra={"x-access": "import.csv"})
def csv_preview(request: Request, body: CsvIn, x_csrf_token: str | None = Header(None)) -> dict[str, Any]:
    """Check a CSV file with a mapping: the rows that would be imported and every rejected row with its reason."""
    with _clinic(request).tx() as db:
        login = _login(request, db, x_csrf_token, post=True)
        plan = csvimport.plan(db, login.actor, body.filename, body.content, body.mapping, body.mapping_name)
        return plan.preview()


@api.post("/imports/csv", status_code=201, openapi_extra={"x-access": "import.csv"})
def csv_import(request: Request, body: CsvIn, x_csrf_token: str | None = Header(None)) -> Any:
    """Import a CSV file of historical sessions: every row or none (one transaction)."""
    try:
        with _clinic(request).tx() as db:
            login = _login(request, db, x_csrf_token, post=True)
            return csvimport.run(db, login.actor, body.filename, body.content, body.mapping, body.mapping_name)
    except csvimport.ImportRejected as exc:
        return JSONResponse({"error": str(exc), "status": exc.status, "rejected": exc.rejected}, status_code=exc.status)


# -- CSV import pages ---------------------------------------------------------------------------------------


def _page(request: Request, name: str, login: Login, status: int = 200, **ctx: Any) -> Response:
    ctx.update(login=login, csrf=login.session.csrf_token)
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status)


def _mapping_lines(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        field, sep, column = line.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise BadRequest(f"mapping line {n}: {line.strip()!r}; write field = column (e.g. client = Code)")
        out[field.strip()] = column.strip()
    return out


@pages.get("/imports/csv", openapi_extra={"x-access": "import.csv"})
def csv_import_page(request: Request) -> Response:
    """Page: the CSV import form (file, saved or new mapping)."""
    with _clinic(request).tx() as db:
        login = _login(request, db)
        saved = csvimport.list_mappings(db, login.actor)
        return _page(
            request,
            "exchange/csv_import.html",
            login,
            mappings=sorted(saved),
            chosen="",
            mapping_text="",
            fields=csvimport.fields(),
        )


async def _multipart(request: Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    texts: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    async with request.form(max_part_size=MAX_UPLOAD) as form:  # closes the uploaded files' spools
        for key, value in form.multi_items():
            if isinstance(value, str):
                texts[key] = value
            else:
                data = await value.read(MAX_UPLOAD + 1)
                files[key] = (value.filename or "upload.csv", data)
    return texts, files


@pages.post("/imports/csv/preview", openapi_extra={"x-access": "import.csv"})
async def csv_preview_page(request: Request) -> Response:
    """Page: check the uploaded file with the chosen mapping (saving it when asked) and show the result."""
    texts, files = await _multipart(request)
    filename, raw = files.get("file", ("upload.csv", b""))
    clinic = _clinic(request)

    def work() -> Response:
        with clinic.tx() as db:
            login = _login(request, db, texts.get("csrf_token"), post=True)
            if len(raw) > MAX_UPLOAD:
                raise BadRequest(f"{filename}: larger than {MAX_UPLOAD} bytes")
            try:
                content = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise BadRequest(f"{filename}: not UTF-8 text; save the file as CSV UTF-8") from None
            name = texts.get("mapping_name") or None
            mapping = None if name else _mapping_lines(texts.get("mapping", ""))
            if texts.get("save_as") and mapping is not None:
                csvimport.save_mapping(db, login.actor, texts["save_as"].strip(), mapping)
            plan = csvimport.plan(db, login.actor, filename, content, mapping, name)
            return _page(
                request,
                "exchange/csv_preview.html",
                login,
                p=plan.preview(),
                content=content,
                mapping_json=json.dumps(plan.mapping),
                imported=None,
            )

    return await run_in_threadpool(work)


@pages.post("/imports/csv/run", openapi_extra={"x-access": "import.csv"})
async def csv_run_page(request: Request) -> Response:
    """Page: import the previewed file (every row or none)."""
    texts, _ = await _multipart(request)
    clinic = _clinic(request)

    def work() -> Response:
        try:
            mapping = json.loads(texts.get("mapping_json") or "null")
        except json.JSONDecodeError:
            mapping = None
        content = texts.get("content", "").replace("\r\n", "\n")
        filename = texts.get("filename", "upload.csv")
        try:
            with clinic.tx() as db:
                login = _login(request, db, texts.get("csrf_token"), post=True)
                require(login.actor, "import.csv")  # decided before the form is checked
                if not isinstance(mapping, dict):
                    raise BadRequest("the form lost its mapping: preview the file again")
                out = csvimport.run(db, login.actor, filename, content, mapping)
                return _page(request, "exchange/csv_preview.html", login, status=201, imported=out, p=None)
        except csvimport.ImportRejected:
            with clinic.tx() as db:
                login = _login(request, db)
                plan = csvimport.plan(db, login.actor, filename, content, mapping)
                return _page(
                    request,
                    "exchange/csv_preview.html",
                    login,
                    status=400,
                    p=plan.preview(),
                    content=content,
                    mapping_json=json.dumps(plan.mapping),
                    imported=None,
                )

    return await run_in_threadpool(work)
