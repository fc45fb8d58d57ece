"""Paths no file can have are a 404 problem, and no path can forge a line of the text log."""

from __future__ import annotations

import json
import logging

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from aiclone.web.logs import JsonFormatter, TextFormatter

Client = AsyncTestClient[Litestar]
NOT_FOUND = "https://aiclone.dev/problems/not-found"
FORGED = '/api/x%0a127.0.0.1 - "GET / HTTP/1.1" 200'


@pytest.mark.parametrize(
    "path",
    ["/static/%00", "/static/app%00.js", "/api/docs/assets/%00", "/api/docs/assets/swagger-ui-dist/%00.css"],
)
async def test_a_nul_in_an_asset_path_is_a_404_problem_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == NOT_FOUND
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_path_with_a_newline_is_one_line_of_the_text_log(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="aiclone.access"):
        response = await client.get(FORGED)
    assert response.status_code == 404
    access = [r for r in caplog.records if r.name == "aiclone.access"]
    assert len(access) == 1
    line = TextFormatter().format(access[0])
    assert "\n" not in line
    assert "\r" not in line
    assert '/api/x\\n127.0.0.1 - "GET / HTTP/1.1" 200' in line
    # JSON escapes on its own: the path is logged as it came.
    entry = json.loads(JsonFormatter().format(access[0]))
    assert entry["path"] == '/api/x\n127.0.0.1 - "GET / HTTP/1.1" 200'


def test_control_characters_are_escaped_in_text_messages_and_extras() -> None:
    record = logging.LogRecord(
        "aiclone.x", logging.INFO, __file__, 1, "got %s", ("a\r\nb\x1b[31m\x00",), None
    )
    record.detail = "x\ny"
    line = TextFormatter().format(record)
    assert line.endswith("got a\\r\\nb\\x1b[31m\\x00 detail=x\\ny")
    # A traceback stays readable on its own lines.
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        failed = logging.LogRecord("aiclone.x", logging.ERROR, __file__, 1, "failed\n", None, sys.exc_info())
    text = TextFormatter().format(failed)
    assert text.splitlines()[0].endswith("failed\\n")
    assert "Traceback (most recent call last):" in text.splitlines()[1]


@pytest.mark.parametrize(
    "path", ["/static/index.html/x", "/static/" + "a" * 5000, "/api/docs/assets/" + "b" * 5000]
)
async def test_a_path_no_file_can_have_is_a_404_problem(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, response.text
    assert response.json()["type"] == NOT_FOUND
