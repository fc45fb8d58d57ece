"""A stand-in for Slack's incoming webhooks on 127.0.0.1: checks each message, answers like Slack.

:func:`message_problems` checks a posted body against the shape Slack documents for incoming
webhook messages with Block Kit: a JSON object with a ``text`` fallback and at most 50 blocks;
``header`` blocks hold ``plain_text`` of at most 150 characters; ``section`` blocks a text object of
at most 3000 characters and/or 1 to 10 ``fields`` of at most 2000 characters each; ``context``
blocks 1 to 10 elements. :func:`like_slack` answers ``200 ok`` to a good message and ``400
invalid_payload`` otherwise (keeping what was wrong for the test to report).
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.webhook_receiver import Received, Reply

MAX_BLOCKS = 50
TOP_LEVEL = {
    "text",
    "blocks",
    "attachments",
    "thread_ts",
    "mrkdwn",
    "username",
    "icon_emoji",
    "icon_url",
    "channel",
}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _text_object(where: str, value: Any, limit: int, types: set[str] = TEXT_TYPES) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: not a text object"]
    problems = []
    if value.get("type") not in types:
        problems.append(f"{where}: type {value.get('type')!r} not in {sorted(types)}")
    text = value.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: empty text")
    elif len(text) > limit:
        problems.append(f"{where}: {len(text)} characters, limit {limit}")
    if value.get("type") == "mrkdwn" and "emoji" in value:
        problems.append(f"{where}: emoji is only for plain_text")
    extra = set(value) - {"type", "text", "emoji", "verbatim"}
    if extra:
        problems.append(f"{where}: unknown keys {sorted(extra)}")
    return problems


def _block(index: int, block: Any) -> list[str]:
    where = f"blocks[{index}]"
    if not isinstance(block, dict):
        return [f"{where}: not an object"]
    kind = block.get("type")
    if "block_id" in block and (not isinstance(block["block_id"], str) or len(block["block_id"]) > 255):
        return [f"{where}: bad block_id"]
    if kind == "header":
        return _text_object(f"{where}.text", block.get("text"), 150, {"plain_text"})
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"{where}: a section needs text or fields"]
        problems = []
        if "text" in block:
            problems += _text_object(f"{where}.text", block["text"], 3000)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                return [f"{where}.fields: 1 to 10 fields"]
            for n, item in enumerate(fields):
                problems += _text_object(f"{where}.fields[{n}]", item, 2000)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"{where}.elements: 1 to 10 elements"]
        problems = []
        for n, item in enumerate(elements):
            problems += _text_object(f"{where}.elements[{n}]", item, 3000)
        return problems
    if kind == "divider":
        return []
    return [f"{where}: unexpected block type {kind!r}"]


def message_problems(raw: bytes) -> list[str]:
    try:
        body = json.loads(raw)
    except ValueError:
        return ["not JSON"]
    if not isinstance(body, dict):
        return ["not a JSON object"]
    problems = [f"unknown top-level key {key!r}" for key in sorted(set(body) - TOP_LEVEL)]
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("no text fallback")
    elif len(text) > 40000:
        problems.append("text over 40000 characters")
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= MAX_BLOCKS:
        problems.append(f"blocks: 1 to {MAX_BLOCKS} needed")
        return problems
    for index, block in enumerate(blocks):
        problems += _block(index, block)
    return problems


def like_slack(request: Received) -> Reply:
    """Slack's answer to one post: ``ok``, or ``invalid_payload`` when the message is malformed."""
    if request.headers.get("content-type", "").split(";")[0] != "application/json":
        return Reply(400, b"invalid_payload")
    if message_problems(request.body):
        return Reply(400, b"invalid_payload")
    return Reply(200, b"ok", headers={"content-type": "text/html"})
