"""Schemathesis over the clinic's OpenAPI document: every operation, valid and invalid inputs, signed in
and not; no 5xx, every answer inside the documented statuses, media types and schemas.

Bounded for CI: ``EXAMPLES`` positive and ``EXAMPLES`` negative cases per operation (Hypothesis, a fixed
seed, no deadline). Cases are sent as a signed-in therapist with a CSRF token (so the fuzzing reaches
past the sign-in check) or with no session; half of the record ids and link tokens are swapped for
real ones (client A, a live questionnaire link), the useful part of stateful testing here: the
fuzzer's answers then come from the services, not from a 404.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sciplab.web.clinic import COOKIE  # noqa: E402

from .conftest import add_user, new_client, new_link, sign_in  # noqa: E402

EXAMPLES = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_survives_fuzzing(app):
    add_user(app, "t1")
    add_user(app, "boss", "admin")
    http, csrf = sign_in(app, "t1")
    client_id = new_client(http, csrf, "Fuzz Target")
    cookie = http.cookies[COOKIE]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    tokens = [new_link(http, csrf, client_id) for _ in range(EXAMPLES * 4)]
    real = {"client_id": client_id}
    failures: list[str] = []
    calls = 0

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @seed(17)
        @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=strategy, signed_in=st.booleans(), use_real=st.booleans())
        def run(case: Any, signed_in: bool, use_real: bool) -> None:
            nonlocal calls
            if use_real and case.path_parameters:
                for name in case.path_parameters:
                    if name in real:
                        case.path_parameters[name] = real[name]
                    elif name == "token" and tokens:
                        case.path_parameters[name] = tokens.pop()
            headers = {"X-CSRF-Token": csrf} if signed_in else {}
            cookies = {COOKIE: cookie} if signed_in else {}
            response = case.call(headers=headers, cookies=cookies)
            calls += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure
                where = f"{case.operation.method.upper()} {case.operation.path}"
                failures.append(f"{where}: {type(exc).__name__}: {exc}"[:800])

        run()
    assert calls >= len(operations) * EXAMPLES
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(set(failures))[:20])


FIELDS = ["name", "contact", "gender", "birth_year", "therapist_id", "date", "attendance", "therapist_alliance",
          "distance_rating", "note", "instrument", "schedule", "every_n", "mode", "session_id", "action",
          "username", "password", "role", "supervisor", "clinical_access", "require_2fa", "code", "next",
          "item_1", "item_9", "token", "form_token"]  # fmt: skip


def test_every_page_form_survives_fuzzing(app):
    """Hypothesis over the form parsers of every page POST route (taken from the route table, so new
    routes are covered): random fields and values, signed in with a valid CSRF token; never a 5xx."""
    from sciplab.web.security import flat_routes

    add_user(app, "t1")
    http, csrf = sign_in(app, "t1")
    client_id = new_client(http, csrf, "Form Fuzz")
    token = new_link(http, csrf, client_id)
    routes = [r for r in flat_routes(app) if "POST" in r.methods and not r.path.startswith("/api/")]
    assert len(routes) >= 10
    values = {"client_id": client_id, "alert_id": 1, "token": token, "username": "t1", "action": "enable"}
    failures: list[str] = []
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
    field_values = st.one_of(text, st.integers(-(2**70), 2**70).map(str), st.sampled_from(["", "on", "PHQ-9", "3"]))
    for route in routes:
        path = route.path
        for name in route.path_format.split("{")[1:]:
            key = name.split("}")[0]
            path = path.replace("{" + key + "}", str(values.get(key, 1)))

        @seed(23)
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(form=st.dictionaries(st.one_of(st.sampled_from(FIELDS), text), field_values, max_size=8))
        def run(form: dict[str, str], target: str) -> None:
            r = http.post(target, data={**form, "csrf_token": csrf})
            if r.status_code >= 500 or "Traceback" in r.text:
                failures.append(f"POST {target} {form!r}: {r.status_code}")

        run(target=path)
    assert not failures, "\n".join(failures[:20])
