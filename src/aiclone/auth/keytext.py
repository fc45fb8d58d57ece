"""The text of an API key: ``ack_<public id>_<secret>``, and how it is checked.

* ``ack_`` is fixed so secret scanners (and our own URL check) recognise a leaked key:
  :data:`KEY_PATTERN` is the regular expression, documented in the README.
* The public id (16 hex characters, 64 random bits) finds the row; it is shown in listings as
  the key's ``prefix`` and is no secret.
* The secret is 32 random bytes (256 bits) from :mod:`secrets`, base64url without padding.

Only the SHA-256 of the secret is stored. A slow password hash (argon2) would be the wrong tool:
it exists to make guessing low-entropy passwords expensive, whereas 256 random bits cannot be
guessed at any speed, and a key is verified on every request, where an argon2 call would cost
tens of milliseconds of CPU each. No pepper either: against a 256-bit secret it adds nothing,
and tying keys to ``AICLONE_SECRET_KEY`` would silently invalidate every key on a rotation of
the signing secret. The comparison with the stored hash is constant-time.

The format is auth's, which recognises and admits keys (middleware, identity gate);
:mod:`aiclone.apikeys` issues, lists and revokes them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final, NamedTuple

PREFIX: Final = "ack_"
PUBLIC_ID_HEX: Final = 16
SECRET_BYTES: Final = 32
SECRET_LENGTH: Final = 43  # base64url of 32 bytes, unpadded
# What a scanner looks for; also what the service refuses to see in a URL.
KEY_PATTERN: Final = re.compile(r"ack_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")
KEY_LENGTH: Final = len(PREFIX) + PUBLIC_ID_HEX + 1 + SECRET_LENGTH


class NewKey(NamedTuple):
    text: str  # shown once, to its creator
    public_id: str
    secret_hash: str


class KeyParts(NamedTuple):
    public_id: str
    secret: str


def generate() -> NewKey:
    public_id = secrets.token_hex(PUBLIC_ID_HEX // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return NewKey(f"{PREFIX}{public_id}_{secret}", public_id, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(text: str) -> bool:
    return text.startswith(PREFIX)


def parse(text: str) -> KeyParts | None:
    """The parts of a well-formed key, or None (checked by length and pattern, no I/O)."""
    if len(text) != KEY_LENGTH or KEY_PATTERN.fullmatch(text) is None:
        return None
    return KeyParts(text[len(PREFIX) : len(PREFIX) + PUBLIC_ID_HEX], text[len(PREFIX) + PUBLIC_ID_HEX + 1 :])


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def contains_key(text: str) -> bool:
    """Whether ``text`` (a query string value, say) holds something shaped like a key."""
    return PREFIX in text and KEY_PATTERN.search(text) is not None
