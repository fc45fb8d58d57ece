from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, get
from litestar.response import ServerSentEvent
from litestar.testing import AsyncTestClient
from litestar.types import Message

from aiclone import migrate
from aiclone.app import Services, create_app
from aiclone.settings import SettingsError, load_settings
from aiclone.web.logs import JsonFormatter, TextFormatter, redact_query
from tests.conftest import TEST_SECRET, make_settings
from tests.support.factories import DEFAULT_PASSWORD, UserFactory
from tests.support.ratelimit_support import AppFactory, ServerProcess, clear_of_window_edge

Client = AsyncTestClient[Litestar]

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def build_app(database_url: str, tmp_path: Path, clean_tables: None) -> AppFactory:
    def build(**overrides: object) -> Litestar:
        return create_app(make_settings(database_url, tmp_path, **overrides))

    return build


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "content-security-policy" in response.headers


# --- security headers and caching -------------------------------------------------------------


async def test_security_headers_on_every_kind_of_response(client: Client) -> None:
    responses = [
        await client.get("/health"),  # 200 JSON
        await client.get("/api/auth/me"),  # 401 problem
        await client.get("/no/such/path"),  # 404 before any route
        await client.put("/health"),  # 405
        await client.post("/api/auth/register", json={"email": "x"}),  # 422
    ]
    assert [r.status_code for r in responses] == [200, 401, 404, 405, 422]
    for response in responses:
        assert_security_headers(response)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc", "/api"])
async def test_docs_pages_get_a_nonce_csp_that_matches_their_scripts(client: Client, path: str) -> None:
    first = await client.get(path)
    second = await client.get(path)
    assert first.status_code == 200
    assert_security_headers(first)
    csp = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]{20,})'", csp)
    assert nonce, csp
    assert "script-src 'self' 'nonce-" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "style-src 'self' 'unsafe-inline'" in csp
    scripts = re.findall(rb"<script[^>]*>", first.content)
    assert scripts
    assert all(f'nonce="{nonce.group(1)}"'.encode() in tag for tag in scripts), scripts
    assert nonce.group(1) not in second.headers["content-security-policy"]


async def test_no_store_on_authenticated_and_token_responses(client: Client, users: UserFactory) -> None:
    user = await users.create()
    me = await client.get("/api/auth/me", headers=user.headers)
    login = await users.login(user.email)
    assert me.headers["cache-control"] == "no-store"
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    # Static assets stay cacheable (health probes are no-store by their own choice).
    assert "no-store" not in (
        await client.get("/api/docs/assets/redoc/bundles/redoc.standalone.js")
    ).headers.get("cache-control", "")


# --- request ids ------------------------------------------------------------------------------


async def test_sane_request_ids_are_echoed_and_put_in_problems(client: Client) -> None:
    for request_id in (
        "abc-123",
        "0f8fad5b-d9cb-469f-a165-70867728950e",
        "req_01HZY:trace/span=+.x",
        "a" * 128,
    ):
        response = await client.get("/api/auth/me", headers={"X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id
        assert response.json()["request_id"] == request_id


@pytest.mark.parametrize(
    "bad",
    [b"a" * 129, b"has space", b'quote"d', b"semi;colon", b"caf\xc3\xa9", b"<script>", b""],
    ids=["too-long", "space", "quote", "semicolon", "non-ascii", "markup", "empty"],
)
async def test_insane_request_ids_are_replaced(client: Client, bad: bytes) -> None:
    response = await client.get("/api/auth/me", headers=[(b"X-Request-ID", bad)])
    assert HEX32.match(response.headers["x-request-id"])
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_a_request_id_is_made_when_none_is_sent(client: Client) -> None:
    first = await client.get("/health")
    second = await client.get("/health")
    assert HEX32.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


# --- compression ------------------------------------------------------------------------------


@get("/api/test-events", exclude_from_auth=True, include_in_schema=False)
async def large_event_stream() -> ServerSentEvent:
    async def events() -> AsyncIterator[str]:
        for n in range(50):
            yield json.dumps({"n": n, "padding": "x" * 200})

    return ServerSentEvent(events())


@get("/api/test-large-json", exclude_from_auth=True, include_in_schema=False)
async def large_json() -> dict[str, list[str]]:
    return {"items": [f"item number {n}" for n in range(500)]}


async def test_large_json_is_gzipped_small_json_and_event_streams_are_not(build_app: AppFactory) -> None:
    app = build_app()
    app.register(large_event_stream)
    app.register(large_json)
    async with AsyncTestClient(app=app) as client:
        gz = {"Accept-Encoding": "gzip"}
        big = await client.get("/api/test-large-json", headers=gz)
        spec = await client.get("/api/openapi.json", headers=gz)
        small = await client.get("/health", headers=gz)
        stream = await client.get("/api/test-events", headers=gz)
        plain = await client.get("/api/test-large-json", headers={"Accept-Encoding": "identity"})
    assert big.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in big.headers["vary"]
    assert big.json()["items"][499] == "item number 499"  # httpx decompressed it
    assert int(big.headers["content-length"]) < len(big.content) / 3
    assert spec.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in small.headers
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in stream.headers
    assert stream.text.count("data: ") == 50
    assert "content-encoding" not in plain.headers
    # Security headers survive compression.
    assert_security_headers(big)


def test_compression_choice_by_content_type() -> None:
    from aiclone.web.compression import is_compressible

    assert is_compressible(b"application/json")
    assert is_compressible(b"application/problem+json")
    assert is_compressible(b"text/html; charset=utf-8")
    assert not is_compressible(b"text/event-stream")
    assert not is_compressible(b"TEXT/EVENT-STREAM; charset=utf-8")
    assert not is_compressible(b"image/png")
    assert not is_compressible(b"")


# --- body, header and JSON bounds -------------------------------------------------------------


async def _post_in_chunks(
    app: Litestar, path: str, chunks: list[bytes]
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Drive the ASGI app directly: a body in several messages and no Content-Length."""
    incoming: list[Message] = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    incoming.append({"type": "http.request", "body": b"", "more_body": False})
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_oversized_bodies_are_413_with_and_without_content_length(build_app: AppFactory) -> None:
    app = build_app(max_body_bytes=64 * 1024)
    async with AsyncTestClient(app=app) as client:
        sized = await client.post(
            "/api/auth/register", content=b"x" * (65 * 1024), headers={"Content-Type": "application/json"}
        )
        status, headers, body = await _post_in_chunks(app, "/api/auth/register", [b" " * 8192] * 20)
        fits_status, _, _ = await _post_in_chunks(app, "/api/auth/register", [b" " * 8192] * 2 + [b"{}"])
    assert sized.status_code == 413
    assert sized.headers["content-type"] == "application/problem+json"
    assert sized.json()["type"].endswith("/payload-too-large")
    assert status == 413
    assert headers[b"content-type"] == b"application/problem+json"
    assert json.loads(body)["type"].endswith("/payload-too-large")
    assert fits_status == 422  # under the limit: read and validated


async def test_absurd_header_blocks_are_431(client: Client) -> None:
    many = [(f"X-Filler-{n}".encode(), b"v") for n in range(120)]
    too_many = await client.get("/health", headers=many)
    too_big = await client.get("/health", headers={"X-Big": "a" * 40_000})
    fine = await client.get("/health", headers={"X-Big": "a" * 8_000})
    for response in (too_many, too_big):
        assert response.status_code == 431
        assert response.headers["content-type"] == "application/problem+json"
        assert_security_headers(response)
    assert "100 header fields" in too_many.json()["detail"]
    assert fine.status_code == 200


async def test_absurdly_nested_json_is_a_400_not_a_500(client: Client) -> None:
    deep = b'{"email":' * 5000 + b"1" + b"}" * 5000
    response = await client.post(
        "/api/auth/register", content=deep, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The request body is nested too deeply."
    arrays = await client.post(
        "/api/auth/refresh",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"Content-Type": "application/json"},
    )
    assert arrays.status_code in (400, 413, 422)


# --- CORS -------------------------------------------------------------------------------------


async def test_cors_allows_configured_origins_only(build_app: AppFactory) -> None:
    app = build_app(cors_origins=("https://app.example.com",))
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    async with AsyncTestClient(app=app) as client:
        allowed = await client.options("/api/auth/me", headers=preflight)
        denied = await client.options(
            "/api/auth/me", headers={**preflight, "Origin": "https://evil.example.net"}
        )
        simple = await client.get("/health", headers={"Origin": "https://app.example.com"})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in denied.headers
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    exposed = simple.headers["access-control-expose-headers"].lower()
    assert "ratelimit" in exposed
    assert "retry-after" in exposed
    assert "x-request-id" in exposed


async def test_wildcard_cors_never_sends_credentials(build_app: AppFactory) -> None:
    app = build_app(cors_origins=("*",))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/health", headers={"Origin": "https://anywhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_production_refuses_wildcard_cors() -> None:
    env = {"AICLONE_ENV": "production", "AICLONE_SECRET_KEY": TEST_SECRET, "AICLONE_CORS_ORIGINS": "*"}
    with pytest.raises(SettingsError, match="AICLONE_CORS_ORIGINS"):
        load_settings(env, dotenv=None)
    env["AICLONE_CORS_ORIGINS"] = "https://app.example.com"
    assert load_settings(env, dotenv=None).server.cors_origins == ("https://app.example.com",)


async def test_a_429_is_readable_cross_origin(build_app: AppFactory) -> None:
    app = build_app(rate_limit_enabled=True, rate_limit="1/minute", cors_origins=("https://app.example.com",))
    await clear_of_window_edge(60)
    async with AsyncTestClient(app=app) as client:
        origin = {"Origin": "https://app.example.com"}
        responses = [await client.get("/api/auth/me", headers=origin) for _ in range(2)]
    refused = responses[-1]
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == "https://app.example.com"
    assert refused.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AICLONE_RATE_LIMIT": "sixty a minute"}, "AICLONE_RATE_LIMIT"),
        ({"AICLONE_RATE_LIMIT_USER": "0/minute"}, "AICLONE_RATE_LIMIT_USER"),
        ({"AICLONE_LOGIN_FAILURE_LIMIT": ""}, "AICLONE_LOGIN_FAILURE_LIMIT"),
        ({"AICLONE_RATE_LIMIT_STORAGE": "memcached://x"}, "AICLONE_RATE_LIMIT_STORAGE"),
        ({"AICLONE_RATE_LIMIT_KEY_PREFIX": "has space"}, "AICLONE_RATE_LIMIT_KEY_PREFIX"),
        ({"AICLONE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "AICLONE_TRUSTED_PROXIES"),
        ({"AICLONE_MAX_HEADER_COUNT": "0"}, "AICLONE_MAX_HEADER_COUNT"),
        ({"AICLONE_METRICS_BIND": "localhost"}, "AICLONE_METRICS_BIND"),
        ({"AICLONE_LOG_FORMAT": "xml"}, "AICLONE_LOG_FORMAT"),
        ({"AICLONE_RATE_LIMIT_ENABLED": "maybe"}, "AICLONE_RATE_LIMIT_ENABLED"),
    ],
)
def test_bad_hardening_settings_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(env, dotenv=None)


# --- logs -------------------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured_records() -> Iterator[_Records]:
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def test_logs_never_carry_tokens_or_passwords(
    build_app: AppFactory, services: Services, captured_records: _Records
) -> None:
    app = build_app(rate_limit_enabled=True)
    async with AsyncTestClient(app=app) as client:
        root = logging.getLogger()
        if captured_records not in root.handlers:  # the app's logging setup replaced the root handlers
            root.addHandler(captured_records)
        user = await UserFactory(client, services).create(password=DEFAULT_PASSWORD)
        await client.post(
            "/api/auth/login", data={"username": user.email, "password": "a wrong passphrase 9"}
        )
        refreshed = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
        new_refresh = refreshed.json()["refresh_token"]
        await client.get(
            "/api/auth/me?token=query-secret-1&ticket=query-secret-2&page=3",
            headers={**user.headers, "Cookie": "session=cookie-secret-3"},
        )
        await client.get("/api/auth/me", headers={"Authorization": "Bearer not-a-jwt-but-secret-4"})
    secrets = [
        DEFAULT_PASSWORD,
        "a wrong passphrase 9",
        user.access_token,
        user.refresh_token,
        new_refresh,
        "query-secret-1",
        "query-secret-2",
        "cookie-secret-3",
        "secret-4",
    ]
    records = [r for r in captured_records.records if r.name.startswith("aiclone")]
    access = [r for r in records if r.name == "aiclone.access"]
    assert len(access) >= 6
    for formatter in (JsonFormatter(), TextFormatter()):
        lines = [formatter.format(record) for record in records]
        text = "\n".join(lines)
        for secret in secrets:
            assert secret not in text, (secret, type(formatter).__name__)
    me_lines = [JsonFormatter().format(r) for r in access if getattr(r, "route", "") == "/api/auth/me"]
    entry = json.loads(me_lines[-2])
    assert entry["method"] == "GET"
    assert entry["status"] == 200
    assert entry["user_id"] == str(user.id)
    assert HEX32.match(entry["request_id"])
    assert entry["query"] == "token=%5Bredacted%5D&ticket=%5Bredacted%5D&page=3"
    assert isinstance(entry["duration_ms"], float)


def test_query_redaction_and_scrubbing() -> None:
    assert redact_query(b"access_token=a&refresh_token=b&password=c&ticket=d&q=e") == (
        "access_token=%5Bredacted%5D&refresh_token=%5Bredacted%5D&password=%5Bredacted%5D"
        "&ticket=%5Bredacted%5D&q=e"
    )
    record = logging.LogRecord(
        "aiclone.x", logging.INFO, __file__, 1, "sent Bearer abcdefghijklmnop", None, None
    )
    assert "abcdefghijklmnop" not in TextFormatter().format(record)
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    record = logging.LogRecord("aiclone.x", logging.INFO, __file__, 1, "token %s", (jwt_like,), None)
    assert jwt_like not in JsonFormatter().format(record)


# --- a real server: chunked bodies, header blocks and JSON logs over real HTTP ----------------


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("real-server")
    database = f"sqlite+aiosqlite:///{tmp / 'real.db'}"
    migrate.upgrade(database)
    env = {
        "AICLONE_ENV": "test",
        "AICLONE_DATABASE_URL": database,
        "AICLONE_DATA_DIR": str(tmp),
        "AICLONE_SECRET_KEY": TEST_SECRET,
        "AICLONE_LOG_FORMAT": "json",
        "AICLONE_MAX_BODY_BYTES": str(64 * 1024),
        "AICLONE_ARGON2_TIME_COST": "2",
        "AICLONE_ARGON2_MEMORY_KIB": str(19 * 1024),
        "AICLONE_ARGON2_PARALLELISM": "1",
    }
    server = ServerProcess(env, tmp / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _raw_exchange(port: int, request: bytes, body_chunks: list[bytes] | None = None) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        try:
            for chunk in body_chunks or []:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if body_chunks is not None:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the body is complete
        received = b""
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received


def test_real_server_refuses_a_chunked_body_over_the_limit(real_server: ServerProcess) -> None:
    head = (
        b"POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    answer = _raw_exchange(real_server.port, head, [b" " * 16384 for _ in range(8)])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer


def test_real_server_refuses_absurd_header_blocks(real_server: ServerProcess) -> None:
    many = b"".join(b"X-Filler-%d: v\r\n" % n for n in range(500))
    answer = _raw_exchange(
        real_server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"Connection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    huge = b"X-Big: " + b"a" * 1_000_000 + b"\r\n"
    answer = _raw_exchange(
        real_server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + huge + b"Connection: close\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]


def test_real_server_writes_json_access_logs_without_secrets(real_server: ServerProcess) -> None:
    email = "json-logs@example.com"
    with httpx.Client(base_url=real_server.url, timeout=10) as http:
        registered = http.post(
            "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "J"}
        )
        assert registered.status_code == 201
        login = http.post("/api/auth/login", data={"username": email, "password": DEFAULT_PASSWORD})
        token = login.json()["access_token"]
        me = http.get(
            "/api/auth/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "json-log-1"}
        )
        assert me.status_code == 200
        assert_security_headers(me)
    output = ""
    for _ in range(50):  # the log queue is written by a background thread
        output = real_server.output()
        if "json-log-1" in output:
            break
        time.sleep(0.1)
    assert DEFAULT_PASSWORD not in output
    assert token not in output
    assert login.json()["refresh_token"] not in output
    entries = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [e for e in entries if e.get("logger") == "aiclone.access"]
    me_entry = next(e for e in access if e.get("request_id") == "json-log-1")
    assert me_entry["route"] == "/api/auth/me"
    assert me_entry["status"] == 200
    assert me_entry["method"] == "GET"
    assert me_entry["client"] == "127.0.0.1"
    assert me_entry["user_id"]
