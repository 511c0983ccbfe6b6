"""FHIR R4 exchange: instruments as Questionnaire, responses as QuestionnaireResponse, scores as Observation.

Resources are built from the instrument library and the stored records, and every resource that
leaves or enters is validated with the ``fhir.resources`` models (pydantic v2). That library models
R5 by default and R4B (4.3.0) as a sub-package; it no longer ships R4 (4.0.1) models for pydantic v2.
R4B changed only medication-definition, evidence and subscription resources: ``Questionnaire``,
``QuestionnaireResponse``, ``Observation`` and ``Bundle`` are the same in R4 and R4B, so the R4B
models validate exactly the R4 documents written here (``fhirVersion`` 4.0.1 is declared).

Licensed wording: an item's text (and the response anchors) goes into a ``Questionnaire`` only where
the instrument's licence allows shipping it (PHQ-9, GAD-7, CORE-10, CORE-OM); for every other
instrument (IIP, OQ-45, WAI ...) items carry their number and answer codes only (the SEQ's answer
labels, bipolar adjectives, are its wording). Wording an admin imported for the
clinic's own use never leaves through FHIR.

Import takes a ``Bundle`` of ``QuestionnaireResponse`` resources (or one such resource) from another
system for one client, checks every resource before storing any (unknown questionnaire, wrong
resource type, an answer outside the response scale — naming the entry, the item, the value and
what was expected), then stores and scores all of them through :func:`sciplab.score` in the
request's transaction: all or nothing. Export and import are audited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sciplab._core.errors import suggest
from sciplab.instruments.schema import Instrument
from sciplab.web.audit.service import record
from sciplab.web.clients.service import current_episode, get_client, who_of
from sciplab.web.errors import BadRequest, NotFound
from sciplab.web.measures.service import parse_answers, scorable, score_and_store_many
from sciplab.web.models import Response, ResponseItem, Score
from sciplab.web.policy import Actor

FHIR_VERSION = "4.0.1"
QUESTIONNAIRE = "urn:sciplab:Questionnaire:"
ANSWERS = "urn:sciplab:answers:"
SCALES = "urn:sciplab:scales"
CLIENT_CODE = "urn:sciplab:client-code"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MAX_PROBLEMS = 50


def _models() -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.observation import Observation
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    return {
        "Bundle": Bundle,
        "Observation": Observation,
        "Questionnaire": Questionnaire,
        "QuestionnaireResponse": QuestionnaireResponse,
    }


def validated(resource: Mapping[str, Any]) -> dict[str, Any]:
    """``resource`` after validation by the ``fhir.resources`` model of its type (BadRequest naming the fields)."""
    from pydantic import ValidationError

    kind = resource.get("resourceType")
    model = _models().get(str(kind))
    if model is None:
        raise BadRequest(
            f"resourceType {kind!r} is not one SCIP Clinic exchanges (Bundle, Questionnaire, "
            "QuestionnaireResponse, Observation)"
        )
    try:
        obj = model.model_validate(dict(resource))
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r:.60})" for e in exc.errors()]
        raise BadRequest(f"not a valid FHIR R4 {kind}: " + "; ".join(problems[:10])) from None
    except Exception as exc:  # noqa: BLE001 - fhir.resources raises KeyError and others on an unknown nested type
        raise BadRequest(f"not a valid FHIR R4 {kind}: {type(exc).__name__}: {exc}") from None
    return json.loads(obj.model_dump_json(exclude_none=True))


def _fhir_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]


def instrument_of(instrument_id: str) -> Instrument:
    """A scorable instrument by id or alias (NotFound with close names)."""
    key = str(instrument_id).strip().lower()
    for inst in scorable():
        if key == inst.id.lower() or key in (a.lower() for a in inst.aliases) or key == _fhir_id(inst.id).lower():
            return inst
    ids = [i.id for i in scorable()]
    raise NotFound(f"no instrument {instrument_id!r}{suggest(str(instrument_id), ids)}")


def questionnaire(inst: Instrument) -> dict[str, Any]:
    """The instrument as a ``Questionnaire``: one ``choice`` item per item, wording only where the licence allows."""
    shipped = bool(inst.licence.item_text and inst.item_text)
    options = []
    for v in range(inst.response.min, inst.response.max + 1):
        coding: dict[str, Any] = {"system": ANSWERS + inst.id, "code": str(v)}
        if shipped and inst.response.anchors.get(v):
            coding["display"] = inst.response.anchors[v]
        options.append({"valueCoding": coding})
    items = []
    for n in inst.item_numbers:
        item: dict[str, Any] = {"linkId": str(n), "prefix": f"{n}.", "type": "choice", "answerOption": options}
        if shipped and inst.item_text.get(n):
            item["text"] = inst.item_text[n]
        items.append(item)
    lic = inst.licence
    resource = {
        "resourceType": "Questionnaire",
        "id": _fhir_id(inst.id),
        "url": QUESTIONNAIRE + inst.id,
        "name": re.sub(r"[^A-Za-z0-9_]", "_", inst.id),
        "title": inst.name,
        "status": "active",
        "description": inst.citation,
        "copyright": (lic.attribution if shipped and lic.attribution else lic.statement)
        + ("" if shipped else " Item wording is not included: its licence does not allow shipping it."),
        "item": items,
    }
    return validated(resource)


def questionnaire_bundle() -> dict[str, Any]:
    """Every scorable instrument as a ``Questionnaire`` in a collection ``Bundle``."""
    entries = [{"resource": questionnaire(i)} for i in scorable()]
    return validated({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _authored(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds")


def export_client(db: Session, actor: Actor, client_id: int) -> bytes:
    """The client's responses and scores as a collection ``Bundle`` in JSON (subject: the client's code), audited.

    The audit entry holds the SHA-256 of exactly the bytes returned.
    """
    client = get_client(db, actor, client_id, "fhir.export")
    subject = {"identifier": {"system": CLIENT_CODE, "value": client.code}}
    responses = db.scalars(select(Response).where(Response.client_id == client.id).order_by(Response.id)).all()
    ids = [r.id for r in responses]
    items: dict[int, list[ResponseItem]] = {}
    for it in db.scalars(select(ResponseItem).where(ResponseItem.response_id.in_(ids)).order_by(ResponseItem.item)):
        items.setdefault(it.response_id, []).append(it)
    scores: dict[int, list[Score]] = {}
    for s in db.scalars(select(Score).where(Score.response_id.in_(ids)).order_by(Score.id)):
        scores.setdefault(s.response_id, []).append(s)
    entries = []
    for r in responses:
        inst = instrument_of(r.instrument_id)
        answered = [
            {
                "linkId": str(i.item),
                "answer": [{"valueCoding": {"system": ANSWERS + inst.id, "code": str(int(i.value))}}],
            }
            for i in items.get(r.id, [])
            if i.value is not None
        ]
        qr: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": f"response-{r.id}",
            "questionnaire": QUESTIONNAIRE + inst.id,
            "status": "completed",
            "subject": subject,
            "authored": _authored(r.submitted_at),
        }
        if answered:
            qr["item"] = answered
        entries.append({"resource": qr})
        for s in scores.get(r.id, []):
            entries.append({"resource": _observation(inst, s, r, subject)})
    bundle = validated({"resourceType": "Bundle", "type": "collection", "entry": entries})
    content = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    detail = {
        "code": client.code,
        "responses": len(responses),
        "resources": len(entries),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    record(db, who_of(actor), "fhir.export", "client", client.id, detail=detail)
    return content


def _observation(inst: Instrument, s: Score, r: Response, subject: dict[str, Any]) -> dict[str, Any]:
    scale = inst.scale(s.scale)
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"score-{s.id}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": {
            "coding": [
                {"system": SCALES, "code": inst.column(scale.name), "display": f"{inst.id} {scale.label or scale.name}"}
            ]
        },
        "subject": subject,
        "effectiveDateTime": _authored(r.submitted_at),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/response-{r.id}"}],
        "method": {"text": "sciplab.score (the instrument's scoring key and missing-data rule)"},
    }
    if s.value is None:
        obs["dataAbsentReason"] = {"text": s.status or "not scored"}
    else:
        obs["valueQuantity"] = {"value": s.value, "unit": "score"}
    if s.band:
        obs["interpretation"] = [{"text": s.band}]
    if s.status:
        obs["note"] = [{"text": f"validity: {s.status}"}]
    return obs


# -- import --------------------------------------------------------------------------------------------------


def _instrument_of_reference(ref: Any) -> Instrument | None:
    if not isinstance(ref, str) or not ref.strip():
        return None
    name = ref.split("|", 1)[0].rstrip("/")
    for prefix in (QUESTIONNAIRE, "Questionnaire/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = re.split(r"[/:]", name)[-1]
    try:
        return instrument_of(name)
    except NotFound:
        return None


_LINK = re.compile(r"^(?:.*[^0-9])?([0-9]{1,4})$")


def _answer_value(answer: Any) -> Any:
    if not isinstance(answer, Mapping):
        return answer
    for key in ("valueInteger", "valueDecimal"):
        if key in answer:
            return answer[key]
    if "valueCoding" in answer and isinstance(answer["valueCoding"], Mapping):
        return answer["valueCoding"].get("code")
    if "valueString" in answer:
        return answer["valueString"]
    kinds = [k for k in answer if k.startswith("value")]
    return f"<{kinds[0] if kinds else 'no value'}>"


def _answers(items: Any, inst: Instrument, where: str, problems: list[str]) -> dict[str, Any]:
    """``{item number: raw value}`` from (possibly nested) items; structural problems appended."""
    out: dict[str, Any] = {}
    stack = list(items or [])
    while stack:
        item = stack.pop(0)
        if not isinstance(item, Mapping):
            problems.append(f"{where}: an item is not an object")
            continue
        stack.extend(item.get("item") or [])
        answers = item.get("answer") or []
        if not answers:
            continue
        link = str(item.get("linkId", ""))
        m = _LINK.match(link)
        if m is None or int(m.group(1)) not in inst.item_numbers:
            problems.append(
                f"{where}: linkId {link!r} is not an item of {inst.id} (expected item numbers "
                f"{inst.item_numbers[0]}-{inst.item_numbers[-1]})"
            )
            continue
        number = str(int(m.group(1)))
        if number in out:
            problems.append(f"{where}: item {number} is answered twice")
            continue
        if len(answers) != 1:
            problems.append(f"{where}: item {number} has {len(answers)} answers; expected one")
            continue
        out[number] = _answer_value(answers[0])
    return out


def _parse_authored(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            at = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        except ValueError:
            return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _resources(payload: Any) -> list[Any]:
    if not isinstance(payload, Mapping):
        raise BadRequest(f"expected a FHIR Bundle (a JSON object); got {type(payload).__name__}")
    kind = payload.get("resourceType")
    if kind == "QuestionnaireResponse":
        return [payload]
    if kind != "Bundle":
        raise BadRequest(
            f"expected resourceType Bundle (of QuestionnaireResponse) or QuestionnaireResponse; got {kind!r}"
        )
    entries = payload.get("entry") or []
    if not isinstance(entries, list):
        raise BadRequest("Bundle.entry must be a list of entries")
    out = []
    for n, entry in enumerate(entries, start=1):
        out.append(entry.get("resource") if isinstance(entry, Mapping) else None)
        if not isinstance(out[-1], Mapping):
            raise BadRequest(f"entry {n}: has no resource object")
    return out


def import_bundle(
    db: Session, actor: Actor, client_id: int, payload: Any, *, raw: bytes | None = None
) -> dict[str, Any]:
    """Store and score every ``QuestionnaireResponse`` of ``payload`` for the client, or none (BadRequest: why)."""
    client = get_client(db, actor, client_id, "fhir.import")
    resources = _resources(payload)
    if not resources:
        raise BadRequest("the Bundle has no entries: nothing to import")
    problems: list[str] = []
    for n, res in enumerate(resources, start=1):
        kind = res.get("resourceType")
        if kind != "QuestionnaireResponse":
            problems.append(f"entry {n}: resourceType {kind!r}; only QuestionnaireResponse resources can be imported")
    if problems:
        raise BadRequest(_problems(problems))
    for n, res in enumerate(resources, start=1):
        try:
            validated(res)
        except BadRequest as exc:
            problems.append(f"entry {n}: {exc}")
    if problems:
        raise BadRequest(_problems(problems))
    parsed: list[tuple[Instrument, dict[int, int | None], dt.datetime]] = []
    for n, res in enumerate(resources, start=1):
        where = f"entry {n} (QuestionnaireResponse {res.get('id') or 'without id'})"
        inst = _instrument_of_reference(res.get("questionnaire"))
        if inst is None:
            problems.append(
                f"{where}: questionnaire {res.get('questionnaire')!r} is not an instrument of this clinic "
                f"(expected {QUESTIONNAIRE}<instrument id>, e.g. {QUESTIONNAIRE}PHQ-9; the list: "
                "GET /api/v1/fhir/Questionnaire)"
            )
            continue
        where = f"{where}, {inst.id}"
        if res.get("status") not in ("completed", "amended"):
            problems.append(f"{where}: status {res.get('status')!r}; only completed or amended responses are imported")
        subject = (res.get("subject") or {}).get("identifier") or {}
        if subject.get("system") == CLIENT_CODE and subject.get("value") != client.code:
            problems.append(f"{where}: subject is client {subject.get('value')!r}, not {client.code}")
        at = _parse_authored(res.get("authored"))
        if at is None:
            problems.append(f"{where}: authored {res.get('authored')!r}; expected the date and time it was answered")
        given = _answers(res.get("item"), inst, where, problems)
        try:
            values = parse_answers(inst.id, given)
        except BadRequest as exc:
            problems.append(f"{where}: {exc} (answers are codes {inst.response.min}-{inst.response.max})")
            continue
        if at is not None:
            parsed.append((inst, values, at))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise BadRequest(_problems(problems))
    episode = current_episode(db, client)
    by_instrument: dict[str, tuple[list[Response], list[dict[int, int | None]]]] = {}
    for inst, values, at in parsed:
        resp = Response(
            client_id=client.id,
            episode_id=episode.id,
            instrument_id=inst.id,
            source="fhir",
            entered_by=actor.user_id,
            submitted_at=at,
        )
        db.add(resp)
        group = by_instrument.setdefault(inst.id, ([], []))
        group[0].append(resp)
        group[1].append(values)
    db.flush()
    alerts = 0
    for resps, values_list in by_instrument.values():
        alerts += len(score_and_store_many(db, resps, values_list))
    ids = [r.id for resps, _ in by_instrument.values() for r in resps]
    body = raw if raw is not None else json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    record(
        db,
        who_of(actor),
        "fhir.import",
        "client",
        client.id,
        detail={
            "code": client.code,
            "responses": len(ids),
            "alerts": alerts,
            "sha256": digest,
            "instruments": {k: len(v[0]) for k, v in by_instrument.items()},
        },
    )
    return {"imported": len(ids), "response_ids": ids, "alerts": alerts}


def _problems(problems: list[str]) -> str:
    head = f"{len(problems)} problem(s); nothing was imported: "
    return head + " | ".join(problems[:MAX_PROBLEMS])
