"""Unit tests of the access-token codec, including its memory of verified tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from pathlib import Path

import pytest

from aiclone.auth import tokens
from aiclone.auth.tokens import LEEWAY_SECONDS, TokenCodec
from aiclone.errors import Unauthenticated
from tests.conftest import make_settings


@pytest.fixture
def codec(tmp_path: Path) -> TokenCodec:
    return TokenCodec(make_settings("sqlite+aiosqlite:///unused.db", tmp_path))


def test_round_trip(codec: TokenCodec) -> None:
    user_id = uuid.uuid4()
    issued = codec.issue(user_id=user_id, email="a@example.com", role="admin")
    principal = codec.decode(issued.token)
    assert principal.id == user_id
    assert principal.is_admin
    assert codec.decode(issued.token) == principal  # the remembered answer is the same


def test_a_remembered_token_still_expires(codec: TokenCodec) -> None:
    # Valid for about one more second (expiry just inside the leeway).
    issued_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=codec.ttl + LEEWAY_SECONDS - 1)
    token = codec.issue(user_id=uuid.uuid4(), email="a@example.com", role="user", now=issued_at).token
    codec.decode(token)
    time.sleep(1.2)
    with pytest.raises(Unauthenticated, match="expired"):
        codec.decode(token)


def test_a_tampered_copy_of_a_remembered_token_is_refused(codec: TokenCodec) -> None:
    token = codec.issue(user_id=uuid.uuid4(), email="a@example.com", role="user").token
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
    token = codec.issue(user_id=uuid.uuid4(), email="a@example.com", role="user").token
    codec.decode(token)
    other = TokenCodec(make_settings("sqlite+aiosqlite:///unused.db", tmp_path, secret_key="o" * 40))
    with pytest.raises(Unauthenticated):
        other.decode(token)


def test_the_memory_is_bounded(codec: TokenCodec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 16)
    issued = [codec.issue(user_id=uuid.uuid4(), email="a@example.com", role="user").token for _ in range(40)]
    for token in issued:
        codec.decode(token)
    assert len(codec._verified) <= 16
    # Evicted tokens are simply verified again.
    assert codec.decode(issued[0]).email == "a@example.com"
