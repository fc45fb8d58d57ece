"""Unit tests of the access-token codec, including its memory of verified tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from pathlib import Path

import jwt
import pytest

from aiclone.auth import tokens
from aiclone.auth.tokens import TokenCodec
from aiclone.errors import Unauthenticated
from tests.conftest import make_settings


@pytest.fixture
def codec(tmp_path: Path) -> TokenCodec:
    return TokenCodec(make_settings("sqlite+aiosqlite:///unused.db", tmp_path).auth)


def test_round_trip(codec: TokenCodec) -> None:
    user_id = uuid.uuid4()
    issued = codec.issue(session_id=uuid.uuid4(), user_id=user_id, email="a@example.com", role="admin")
    principal = codec.decode(issued.token)
    assert principal.id == user_id
    assert principal.is_admin
    assert codec.decode(issued.token) == principal  # the remembered answer is the same


def test_a_remembered_token_still_expires(codec: TokenCodec) -> None:
    # Valid for two more seconds: room for the first decode however busy the machine is.
    issued_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=codec.ttl - 2)
    token = codec.issue(
        session_id=uuid.uuid4(), user_id=uuid.uuid4(), email="a@example.com", role="user", now=issued_at
    ).token
    codec.decode(token)
    expires = issued_at.timestamp() + codec.ttl
    while time.time() < expires + 0.05:  # the remembered copy outlives no second of the token
        time.sleep(0.05)
    with pytest.raises(Unauthenticated, match="expired"):
        codec.decode(token)


def test_a_tampered_copy_of_a_remembered_token_is_refused(codec: TokenCodec) -> None:
    token = codec.issue(
        session_id=uuid.uuid4(), user_id=uuid.uuid4(), email="a@example.com", role="user"
    ).token
    codec.decode(token)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        codec.decode(f"{header}.{forged}.{signature}")
    with pytest.raises(Unauthenticated):
        codec.decode(token + "x")


def test_another_key_does_not_accept_remembered_tokens(codec: TokenCodec, tmp_path: Path) -> None:
    token = codec.issue(
        session_id=uuid.uuid4(), user_id=uuid.uuid4(), email="a@example.com", role="user"
    ).token
    codec.decode(token)
    other = TokenCodec(make_settings("sqlite+aiosqlite:///unused.db", tmp_path, secret_key="o" * 40).auth)
    with pytest.raises(Unauthenticated):
        other.decode(token)


def test_the_memory_is_bounded(codec: TokenCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 16)
    issued = [
        codec.issue(session_id=uuid.uuid4(), user_id=uuid.uuid4(), email="a@example.com", role="user").token
        for _ in range(40)
    ]
    for token in issued:
        codec.decode(token)
    assert len(codec._verified) <= 16
    # Evicted tokens are simply verified again.
    assert codec.decode(issued[0]).email == "a@example.com"


def _signed(codec: TokenCodec, **overrides: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "email": "a@example.com",
        "role": "user",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "iss": "aiclone",
        "aud": "aiclone-api",
    }
    claims.update(overrides)
    return jwt.encode(claims, codec._key, algorithm="HS256")


def test_no_leeway_past_exp(codec: TokenCodec) -> None:
    now = int(time.time())
    with pytest.raises(Unauthenticated, match="expired"):
        codec.decode(_signed(codec, iat=now - 60, exp=now - 1))
    assert codec.decode(_signed(codec, iat=now - 60, exp=now + 2)).email == "a@example.com"


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": ["aiclone-api"]},
        {"aud": ["aiclone-api", "other"]},
        {"exp": 1e300},
        {"exp": -1e300},
        {"exp": 10**30},
        {"iat": 1e300},
        {"exp": "soon"},
        {"exp": int(time.time()) + 10**6},  # longer than any token we issue
        {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 3700},  # issued in the future
        {"sid": "not-a-uuid"},
    ],
    ids=[
        "aud list",
        "aud list with others",
        "exp 1e300",
        "exp -1e300",
        "exp 10**30",
        "iat 1e300",
        "exp text",
        "lifetime too long",
        "issued in the future",
        "sid not a uuid",
    ],
)
def test_claims_we_never_issue_are_refused(codec: TokenCodec, claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        codec.decode(_signed(codec, **claims))


def test_a_token_without_a_session_is_refused(codec: TokenCodec) -> None:
    token = _signed(codec)
    claims = jwt.decode(token, options={"verify_signature": False})
    del claims["sid"]
    with pytest.raises(Unauthenticated):
        codec.decode(jwt.encode(claims, codec._key, algorithm="HS256"))
