"""The API document matches what the server enforces, and the docs render with no internet."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support.factories import UserFactory

Client = AsyncTestClient[Litestar]
SCHEME = "OAuth2PasswordBearer"
PUBLIC = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    # Browser sessions: the credential is the refresh token in the session cookie.
    ("post", "/api/auth/session"),
    ("post", "/api/auth/session/refresh"),
    ("delete", "/api/auth/session"),
    # Account recovery: the caller cannot sign in; the credential, if any, is the mailed token.
    ("post", "/api/auth/password-reset"),
    ("post", "/api/auth/password-reset/confirm"),
    ("post", "/api/auth/verify-email"),
    ("post", "/api/auth/verify-email/resend"),
    ("get", "/health"),
    ("get", "/health/ready"),
    # Clearing the stream cookie needs no credentials: it only expires a cookie.
    ("delete", "/api/events/cookie"),
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_document_is_openapi_3_1_with_the_bearer_scheme(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    scheme = document["components"]["securitySchemes"][SCHEME]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/login"
    assert document["security"] == [{SCHEME: []}]


def test_docs_machinery_is_not_documented_as_api(document: dict[str, Any]) -> None:
    paths = set(document["paths"])
    assert not {p for p in paths if p.startswith(("/api/docs", "/api/redoc", "/api/openapi"))}
    assert "/api" not in paths
    assert "/api/{path}" not in paths


def test_every_operation_has_a_summary_and_problem_errors(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) >= 8
    for method, path, operation in ops:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation["summary"] not in ("Handler",), where
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response.get("content", {})) == ["application/problem+json"], (where, status)
                assert response["description"], (where, status)


def test_public_operations_say_security_empty_and_others_carry_the_scheme(document: dict[str, Any]) -> None:
    public = set()
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert "security" in operation, where
        if operation["security"] == []:
            public.add((method, path))
            assert "401" not in operation["responses"] or path.startswith("/api/auth/"), where
        else:
            # The bearer scheme always; the event stream also accepts a ticket or its cookie.
            assert {SCHEME: []} in operation["security"], where
            assert "401" in operation["responses"], where
    assert public == PUBLIC


def test_admin_operations_document_403(document: dict[str, Any]) -> None:
    admin_ops = [(m, p, o) for m, p, o in operations(document) if p.startswith("/api/admin/")]
    assert admin_ops
    for method, path, operation in admin_ops:
        assert "403" in operation["responses"], f"{method.upper()} {path}"


async def test_the_document_tells_the_truth_about_authentication(
    client: Client, document: dict[str, Any]
) -> None:
    """Call every operation without credentials: exactly the documented ones answer 401."""
    for method, path, operation in operations(document):
        url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        response = await client.request(method.upper(), url)
        where = f"{method.upper()} {path}"
        if operation["security"] == []:
            assert response.status_code != 401, where
        else:
            assert response.status_code == 401, (where, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), where
            assert response.headers["www-authenticate"] == "Bearer", where


async def test_swagger_authorize_flow_works(client: Client, users: UserFactory) -> None:
    """Swagger UI's password flow posts this exact form to the tokenUrl."""
    user = await users.create()
    response = await client.post(
        "/api/auth/login",
        data={"grant_type": "password", "username": user.email, "password": user.password, "scope": ""},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


_URL = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']+)["']""")
_ABSOLUTE = re.compile(r"(?:https?:)?//([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
async def test_docs_pages_use_only_local_assets(client: Client, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assets = _URL.findall(html)
    # Only what the page loads matters; example URLs inside the embedded document are data.
    remote = [url for url in assets if _ABSOLUTE.match(url)]
    assert not remote, f"{page} loads from other hosts: {remote}"
    scripts = [url for url in assets if url.endswith(".js")]
    assert scripts, f"{page} loads no script"
    for url in assets:
        assert url.startswith("/api/docs/assets/"), url
        asset = await client.get(url)  # no Authorization header
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind, (url, kind)
            assert len(asset.content) > 10_000, url
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), (url, kind)
        elif url.endswith(".png"):
            assert kind == "image/png", (url, kind)


async def test_swagger_page_loads_the_css_and_the_standalone_preset(client: Client) -> None:
    html = (await client.get("/api/docs")).text
    assert "swagger-ui.css" in html
    assert "swagger-ui-standalone-preset.js" in html
    assert "redoc.standalone.js" in (await client.get("/api/redoc")).text


async def test_unknown_asset_is_a_404_problem(client: Client) -> None:
    response = await client.get("/api/docs/assets/nothing-here.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


# --- Conventions of the document (aiclone.openapi_conventions) --------------------------------

VERBS = {
    "add", "approve", "archive", "book", "broadcast", "cancel", "change", "check", "clear", "confirm", "count",
    "create", "delete", "disable", "download", "enable", "end", "erase", "export", "generate", "get", "import",
    "issue", "list", "login", "logout", "mark", "pause", "preview", "publish", "receive", "recover", "refresh",
    "register", "reject", "renew", "replace", "request", "resend", "restore", "resume", "retry", "revoke",
    "rotate", "run", "search", "send", "set", "start", "stream", "subscribe", "sync", "test", "trigger",
    "unsubscribe", "update", "upload", "verify",
}  # fmt: skip
EDGE_HEADERS = {
    "x-request-id",
    "ratelimit",
    "ratelimit-policy",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
}


def test_operation_ids_are_unique_verbs(document: dict[str, Any]) -> None:
    ids = [operation.get("operationId") for _m, _p, operation in operations(document)]
    assert all(ids), "every operation has an operationId"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", operation_id), operation_id
        verb = re.match(r"[a-z]+", operation_id)
        assert verb
        assert verb.group() in VERBS, f"{operation_id}: name the handler for what it does, verb first"
    by_route = {(m, p): o["operationId"] for m, p, o in operations(document)}
    assert by_route[("get", "/api/prospects")] == "listProspects"
    assert by_route[("post", "/api/prospects")] == "createProspect"
    assert by_route[("get", "/api/prospects/{prospect_id}")] == "getProspect"
    assert by_route[("patch", "/api/prospects/{prospect_id}")] == "updateProspect"
    assert by_route[("delete", "/api/prospects/{prospect_id}")] == "deleteProspect"
    assert by_route[("post", "/api/webhooks")] == "createWebhook"
    assert by_route[("post", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")] == "retryDelivery"


def test_every_tag_is_declared_with_a_description(document: dict[str, Any]) -> None:
    declared = {tag["name"]: tag.get("description") for tag in document["tags"]}
    used = set()
    for method, path, operation in operations(document):
        assert operation.get("tags"), f"{method.upper()} {path}"
        used.update(operation["tags"])
    assert set(declared) == used
    for name, description in declared.items():
        assert description, (
            f"tag {name!r} needs a description in aiclone.openapi_conventions.TAG_DESCRIPTIONS"
        )


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": document["components"]})


def test_every_body_and_success_response_has_a_valid_example(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        media: list[tuple[str, dict[str, Any]]] = []
        for kind, entry in operation.get("requestBody", {}).get("content", {}).items():
            media.append((f"{where} request {kind}", entry))
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                for kind, entry in response.get("content", {}).items():
                    if kind.endswith("json"):
                        media.append((f"{where} {status} {kind}", entry))
        for label, entry in media:
            assert "example" in entry or "examples" in entry, label
            errors = list(_validator(document, entry["schema"]).iter_errors(entry["example"]))
            assert not errors, (label, [e.message for e in errors])


def test_every_operation_documents_the_problems_of_the_edge(document: dict[str, Any]) -> None:
    from aiclone.ratelimit.policy import EXEMPT_PATHS

    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        wanted = {"431", "503"}
        if "requestBody" in operation:
            wanted |= {"408", "413"}
        if path not in EXEMPT_PATHS:
            wanted.add("429")
        assert wanted <= set(responses), (where, wanted - set(responses))
        for status, response in responses.items():
            headers = {name.lower() for name in response.get("headers", {})}
            assert "x-request-id" in headers, (where, status)
            if path not in EXEMPT_PATHS:
                assert {"ratelimit", "ratelimit-policy"} <= headers, (where, status)
            if status in ("429", "503"):
                assert "retry-after" in headers, (where, status)


def test_optional_enum_query_parameters_are_one_plain_enum(document: dict[str, Any]) -> None:
    """openapi-python-client makes one type per branch of a nullable enum (``StatusType1``...)."""
    seen = 0
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if parameter["in"] == "query" and "enum" in schema:
                seen += 1
                assert None not in schema["enum"], (method, path, parameter["name"])
                assert schema.get("type") == "string", (method, path, parameter["name"], schema)
                assert not {"oneOf", "anyOf"} & set(schema), (method, path, parameter["name"])
    assert seen >= 5


def test_a_rules_trigger_is_the_catalogues_list_everywhere_in_the_document(document: dict[str, Any]) -> None:
    from aiclone.events.types import AUTOMATION_TRIGGERS

    triggers = [t.value for t in AUTOMATION_TRIGGERS]
    schemas = document["components"]["schemas"]
    for name in ("AutomationCreate", "AutomationUpdate"):
        assert schemas[name]["properties"]["trigger_event"]["enum"] == triggers, name
    (listing,) = [
        parameter
        for parameter in document["paths"]["/api/automations"]["get"]["parameters"]
        if parameter["name"] == "trigger_event"
    ]
    assert listing["schema"]["enum"] == triggers


def test_the_document_passes_openapi_spec_validator(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(document)  # raises on the first error


def _documented(operation: dict[str, Any], response: Any, where: str) -> None:
    status = str(response.status_code)
    assert status in operation["responses"], (where, status, response.text[:300])
    documented = {name.lower() for name in operation["responses"][status].get("headers", {})}
    sent = EDGE_HEADERS & {name.lower() for name in response.headers}
    assert sent <= documented, (where, status, sent - documented)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), (where, status)


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


async def test_real_responses_are_documented_with_their_headers(
    client: Client, users: UserFactory, document: dict[str, Any]
) -> None:
    """Every operation, signed in: a call with made-up ids (404s), a body that is not valid (422),
    and a header block over the limit (431); each status and edge header it answers is documented."""
    user = await users.create()
    crowd = {f"x-filler-{i}": "1" for i in range(120)}
    seen: set[str] = set()
    for method, path, operation in operations(document):
        if (
            path == "/api/events"
            or path in ("/api/auth/logout", "/api/auth/session")
            or path.startswith(("/api/auth/me", "/api/auth/password", "/api/auth/sessions"))
        ):
            continue  # endless, or would end the signed-in session the loop needs
        where = f"{method.upper()} {path}"
        url = _url(path)
        plain = await client.request(method.upper(), url, headers=user.headers)
        _documented(operation, plain, where)
        seen.add(str(plain.status_code))
        if "requestBody" in operation:
            bad = await client.request(method.upper(), url, headers=user.headers, json={"no_such_field": [1]})
            _documented(operation, bad, where + " (bad body)")
            seen.add(str(bad.status_code))
        crowded = await client.request(method.upper(), url, headers={**user.headers, **crowd})
        assert crowded.status_code == 431, where
        _documented(operation, crowded, where + " (431)")
        seen.add(str(crowded.status_code))
    assert {"200", "404", "422", "431"} <= seen, seen


async def test_rate_limited_responses_are_documented(
    database_url: str, tmp_path: Any, clean_tables: None, document: dict[str, Any]
) -> None:
    """With a quota of one request a minute, the second call of each operation is a 429."""
    from aiclone.app import create_app
    from aiclone.ratelimit.policy import EXEMPT_PATHS
    from tests.conftest import make_settings

    app = create_app(
        make_settings(
            database_url, tmp_path, rate_limit_enabled=True, rate_limit="1/minute", rate_limit_user="1/minute"
        )
    )
    refused = 0
    async with AsyncTestClient(app=app) as limited:
        for method, path, operation in operations(document):
            if path == "/api/events":
                continue
            where = f"{method.upper()} {path}"
            headers = {"X-Forwarded-For": f"198.51.100.{refused % 250}", "X-Test-Operation": where}
            for attempt in range(2):
                response = await limited.request(method.upper(), _url(path), headers=headers)
                _documented(operation, response, f"{where} #{attempt}")
                if path not in EXEMPT_PATHS:
                    assert "ratelimit" in {name.lower() for name in response.headers}, where
            if path not in EXEMPT_PATHS:
                assert response.status_code == 429, (where, response.status_code)
                refused += 1
    assert refused > 50


# --- Event types: the webhooks section and GET /api/event-types share one set of schemas ------


def _inline(node: Any, lookup: Any, depth: int = 0) -> Any:
    """``node`` with every ``$ref`` replaced by what it points at (recursion cut at a depth)."""
    if isinstance(node, dict):
        if "$ref" in node and depth < 12:
            return _inline(lookup(node["$ref"]), lookup, depth + 1)
        return {k: _inline(v, lookup, depth) for k, v in node.items() if k not in ("$defs", "$schema")}
    if isinstance(node, list):
        return [_inline(v, lookup, depth) for v in node]
    return node


async def test_event_types_endpoint_and_webhooks_share_the_schemas(
    client: Client, users: UserFactory, document: dict[str, Any]
) -> None:
    from aiclone.events.types import EVENT_TYPES, EventType

    user = await users.create()
    response = await client.get("/api/event-types", headers=user.headers)
    assert response.status_code == 200, response.text
    items = {item["type"]: item for item in response.json()["items"]}
    # Every type the backbone can record (it refuses any other) is listed, and is a webhook.
    assert set(items) == EVENT_TYPES == {t.value for t in EventType}
    assert set(document["webhooks"]) == EVENT_TYPES
    components = document["components"]["schemas"]
    for event_type, item in items.items():
        assert item["description"], event_type
        body = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        assert body["required"] == ["type", "timestamp", "data"]
        assert body["properties"]["type"]["const"] == event_type
        served = item["data_schema"]
        defs = served.get("$defs", {})
        from_endpoint = _inline(served, lambda ref, defs=defs: defs[ref.rsplit("/", 1)[-1]])
        from_document = _inline(body["properties"]["data"], lambda ref: components[ref.rsplit("/", 1)[-1]])
        assert from_endpoint == from_document, event_type
    assert (await client.get("/api/event-types")).status_code == 401


async def test_every_recorded_event_matches_its_published_schema(
    database_url: str, tmp_path: Any, clean_tables: None
) -> None:
    """Drive the domains through the API, then check each stored event's data against the schema
    ``GET /api/event-types`` publishes for its type."""
    from jsonschema import Draft202012Validator
    from sqlalchemy.ext.asyncio import AsyncSession

    from aiclone.app import create_app
    from aiclone.db import build_engine
    from aiclone.events.log import events_after
    from tests.conftest import make_settings

    # No workers: the research task stays queued (nothing fetches its URLs).
    app = create_app(make_settings(database_url, tmp_path, run_workers=False))
    async with AsyncTestClient(app=app) as http:
        user = await UserFactory(http, app.state.services).create()
        h = user.headers

        async def call(method: str, url: str, body: Any = None, status: int = 200) -> dict[str, Any]:
            response = await http.request(method, url, json=body, headers=h)
            assert response.status_code == status, (url, response.text)
            return response.json() if response.content else {}

        rule = {
            "name": "Greet",
            "trigger_event": "prospect_added",
            "action": {"type": "notify", "title": "Hi {{name}}"},
        }
        await call("POST", "/api/automations", rule, 201)
        prospect = await call("POST", "/api/prospects", {"name": "Ada Lovelace", "company": "Engines"}, 201)
        await call("PATCH", f"/api/prospects/{prospect['id']}", {"job_title": "Analyst"})
        content = await call("POST", "/api/content", {"title": "Notes", "body": "On engines."}, 201)
        await call("POST", f"/api/content/{content['id']}/publish")
        message = await call(
            "POST", "/api/outreach", {"prospect_id": prospect["id"], "subject": "Hi", "body": "Hello"}, 201
        )
        await call("POST", f"/api/outreach/{message['id']}/send")
        task = await call(
            "POST",
            "/api/research-tasks",
            {"title": "Engines", "input_source": "https://engines.example.com/", "source_type": "urls"},
            201,
        )
        await call("POST", f"/api/research-tasks/{task['id']}/cancel")
        await call("POST", "/api/notifications/read", {})
        catalog = {
            item["type"]: item["data_schema"] for item in (await call("GET", "/api/event-types"))["items"]
        }
    # Read back through an engine of this loop (the app's connections belong to the client's).
    engine = build_engine(database_url, pool_size=1)
    try:
        async with AsyncSession(engine) as session:
            events = await events_after(session, user.id, 0, limit=1000)
    finally:
        await engine.dispose()
    seen = set()
    for event in events:
        errors = [e.message for e in Draft202012Validator(catalog[event.type]).iter_errors(event.data)]
        assert not errors, (event.type, event.data, errors)
        seen.add(event.type)
    # Only research_completed needs a task that ran to done (tests/integration/research/test_research_runner.py).
    assert set(catalog) - seen == {"research_completed"}, sorted(seen)
