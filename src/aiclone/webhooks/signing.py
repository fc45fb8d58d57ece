"""Webhook secrets and Standard Webhooks signatures.

A secret is ``whsec_`` followed by the standard base64 of 24 to 64 random bytes (we generate 32).
The signature of one attempt is ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")),
where ``key`` is the decoded secret; during a rotation overlap the header carries the new and the
old signature, one space apart, and a receiver accepts the message if either verifies.

Secrets must stay usable for signing, so they cannot be hashed. They are kept sealed instead:
AES-256-GCM under a key derived (HKDF-SHA256) from ``AICLONE_SECRET_KEY``, with the endpoint id
as associated data, so a database dump alone neither reveals them nor lets one endpoint's sealed
secret be moved onto another. Changing ``AICLONE_SECRET_KEY`` therefore makes existing webhook
secrets unreadable: rotate them afterwards. :class:`WebhookSecret` hides the value from ``repr``
so it cannot leak into logs by accident.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
GENERATED_SECRET_BYTES = 32
_SEALED_VERSION = "v1:"
_NONCE_BYTES = 12


class WebhookSecret:
    """A signing secret in its ``whsec_…`` form; ``repr`` and ``str`` never show it."""

    __slots__ = ("_key", "_value")

    def __init__(self, value: str) -> None:
        self._key = decode_secret(value)
        self._value = value

    @classmethod
    def generate(cls) -> WebhookSecret:
        return cls(PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode())

    def reveal(self) -> str:
        """The full secret: only for the create and rotate responses."""
        return self._value

    @property
    def key(self) -> bytes:
        return self._key

    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"WebhookSecret({self.masked()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebhookSecret) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self._key)


def decode_secret(value: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError naming what is wrong."""
    if not value.startswith(PREFIX):
        raise ValueError(f"must start with {PREFIX}")
    body = value[len(PREFIX) :]
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"must be {PREFIX} followed by standard base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(f"must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes (got {len(key)})")
    return key


def mask(value: str) -> str:
    return f"{PREFIX}{value[len(PREFIX) : len(PREFIX) + 4]}…"


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(keys: list[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


class SecretBox:
    """Seals and opens webhook secrets with a key derived from the application secret."""

    def __init__(self, application_secret: str) -> None:
        if not application_secret:
            raise ValueError("SecretBox needs the application secret key")
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"aiclone-webhooks", info=b"webhook secrets v1"
        ).derive(application_secret.encode())
        self._aead = AESGCM(derived)

    def seal(self, endpoint_id: uuid.UUID, secret: WebhookSecret) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.reveal().encode(), endpoint_id.bytes)
        return _SEALED_VERSION + base64.b64encode(nonce + sealed).decode()

    def open(self, endpoint_id: uuid.UUID, sealed: str) -> WebhookSecret:
        """ValueError when the value was sealed under another key or for another endpoint."""
        if not sealed.startswith(_SEALED_VERSION):
            raise ValueError("unknown sealed secret format")
        try:
            raw = base64.b64decode(sealed[len(_SEALED_VERSION) :], validate=True)
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], endpoint_id.bytes)
        except (binascii.Error, InvalidTag):
            raise ValueError("the sealed secret cannot be opened with this application secret") from None
        return WebhookSecret(plain.decode())

    def signing_keys(
        self,
        endpoint_id: uuid.UUID,
        sealed: str,
        previous_sealed: str | None,
        previous_expires_at: dt.datetime | None,
        now: dt.datetime,
    ) -> list[bytes]:
        """The current key, plus the previous one while the rotation overlap lasts."""
        keys = [self.open(endpoint_id, sealed).key]
        if previous_sealed and previous_expires_at is not None and previous_expires_at > now:
            keys.append(self.open(endpoint_id, previous_sealed).key)
        return keys
