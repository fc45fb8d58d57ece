"""The one check of an error answer: its status, the problem+json media type and the problem ``type``.

A status alone says little (a 404 from a missing route looks like a 404 from a missing row); the
``type`` names which refusal it was (``aiclone.errors``: ``TYPE_BASE`` + the error's slug).
"""

from __future__ import annotations

from typing import Any, Protocol

from aiclone.errors import PROBLEM_JSON, TYPE_BASE


class _Response(Protocol):
    status_code: int
    headers: Any
    text: str

    def json(self) -> Any: ...


def assert_problem(response: _Response, status: int, slug: str, note: object = None) -> dict[str, Any]:
    """Assert ``response`` is the problem ``slug`` with ``status``; returns the body for more checks.

    ``note`` (the case a loop is at, say) goes into every failure message.
    """
    assert response.status_code == status, (note, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), (note, response.headers)
    body: dict[str, Any] = response.json()
    assert body["type"] == TYPE_BASE + slug, (note, body)
    assert body["status"] == status, (note, body)
    return body
