"""Slack incoming webhooks: each event as a Block Kit message, and what Slack's answers mean.

The message: a ``header`` block (plain text, at most 150 characters), a ``section`` with a one-line
summary, ``section`` fields with the event's key facts (at most 10 per section and 20 in all, each
at most 2000 characters), and a ``context`` block linking to the dashboard (``AICLONE_PUBLIC_URL``), plus the
top-level ``text`` that Slack shows in notifications and where blocks cannot be rendered. Every
text is clipped to Slack's limits with an ellipsis, never in the middle of an escape, and a
message never has more than 50 blocks.

Text from events is escaped for mrkdwn: ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;`` and
``&gt;``, so a prospect named ``<!channel>`` or ``<https://evil|click>`` is shown literally and
pings nobody. Plain-text blocks (the header) are not escaped: Slack shows them as they are.

One renderer per family of event types (prospects, research, outreach, content, automations) and a
generic one for every other type, so a new event type is rendered (plainly) before anyone writes
its renderer.

Slack answers a good message with ``200 ok``. Its documented failures are strings in the body;
those that will not change on a retry (the webhook was removed, the channel archived or gone, the
workspace disabled, the payload refused) disable the endpoint with a reason naming the string, see
:func:`permanent_failure`. ``429`` with ``Retry-After`` and ``5xx`` are retried like any failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from aiclone.events.types import EventType

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
# Facts shown at most (two sections): keeps a message small whatever the event carries.
MAX_FACTS = 20
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 3000
MAX_FALLBACK_TEXT = 3000
ELLIPSIS = "…"

# Slack's documented answers to an incoming-webhook post that no retry will fix, and what they mean.
PERMANENT_ERRORS: dict[str, str] = {
    "invalid_payload": "Slack could not read the message",
    "user_not_found": "the user named in the message does not exist",
    "invalid_blocks": "Slack refused the message's blocks",
    "invalid_blocks_format": "Slack refused the message's blocks",
    "missing_text_or_fallback_or_attachments": "Slack found no text in the message",
    "too_many_attachments": "the message has too many attachments",
    "action_prohibited": "a workspace admin restricts posting through this webhook",
    "posting_to_general_channel_denied": "posting to this channel is restricted",
    "invalid_token": "the webhook's token is invalid",
    "channel_not_found": "the channel does not exist any more",
    "no_service": "the webhook was disabled, removed or is invalid",
    "no_service_id": "the webhook URL is invalid",
    "no_team": "the Slack workspace does not exist any more",
    "no_active_hooks": "the webhook is not active any more",
    "channel_is_archived": "the channel was archived",
    "team_disabled": "the Slack workspace was disabled",
}


def permanent_failure(status: int | None, body: str | None) -> str | None:
    """Why a Slack answer disables the endpoint, or None when a retry may succeed."""
    if status is None or 200 <= status < 300 or status == 429 or status >= 500:
        return None
    code = (body or "").strip()
    if code in PERMANENT_ERRORS:
        return f"Slack answered HTTP {status} {code}: {PERMANENT_ERRORS[code]}"
    if status in (404, 410):
        return f"Slack answered HTTP {status}: the webhook was removed"
    return None


# --- text ------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text for a mrkdwn field: Slack's three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in an ellipsis when cut; never inside an ``&…;`` escape."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:] and len(cut) - amp <= len("&amp;"):
        cut = cut[:amp]
    return cut + ELLIPSIS


def mrkdwn(text: str, limit: int) -> str:
    return clip(escape(text), limit)


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_value(item)}" for key, item in value.items()) or "—"
    return str(value)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


# --- messages --------------------------------------------------------------------------------


class Message:
    """What a renderer decides: a title, a summary line, the key facts and the dashboard path."""

    def __init__(
        self,
        title: str,
        summary: str = "",
        facts: Iterable[tuple[str, Any]] = (),
        path: str = "activity",
    ) -> None:
        self.title = title
        self.summary = summary
        self.facts = [(label, value) for label, value in facts if value not in (None, "", [])]
        self.path = path


def _text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else default


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _prospect(event_type: str, data: dict[str, Any]) -> Message:
    name = _text(data, "name", "A prospect")
    facts = [
        ("Company", data.get("company")),
        ("Job title", data.get("job_title")),
        ("Email", data.get("email")),
        ("Status", data.get("approval_status")),
        ("Fit score", data.get("fit_score")),
        ("Tags", data.get("tags")),
    ]
    if event_type == EventType.PROSPECT_ADDED:
        return Message(
            f"New prospect: {name}",
            _text(data, "best_outreach_angle"),
            facts,
            f"prospects/{data.get('id', '')}",
        )
    reason = _text(data, "reason", "edited").replace("_", " ")
    facts.insert(0, ("Changed", data.get("changes")))
    return Message(f"Prospect {reason}: {name}", "", facts, f"prospects/{data.get('id', '')}")


def _research(event_type: str, data: dict[str, Any]) -> Message:
    title = _text(data, "title", "Research task")
    task = data.get("task_id") or data.get("id") or ""
    if event_type == EventType.RESEARCH_COMPLETED:
        insight = _object(data, "insight")
        facts = [
            ("Key findings", insight.get("key_findings")),
            ("Pain points", insight.get("pain_points")),
            ("Opportunities", insight.get("opportunities")),
            ("Suggested outreach", insight.get("suggested_outreach")),
        ]
        return Message(f"Research ready: {title}", _text(insight, "summary"), facts, f"research/{task}")
    status = _text(data, "status", "updated")
    facts = [("Status", status), ("Progress", data.get("progress")), ("Error", data.get("error"))]
    return Message(f"Research {status}: {title}", "", facts, f"research/{task}")


def _outreach(event_type: str, data: dict[str, Any]) -> Message:
    subject = _text(data, "subject", "(no subject)")
    prospect = _object(data, "prospect")
    facts = [
        ("Channel", data.get("channel")),
        ("Prospect", prospect.get("name")),
        ("Company", prospect.get("company")),
        ("Status", data.get("status")),
    ]
    if event_type == EventType.OUTREACH_SENT:
        return Message(f"Outreach sent: {subject}", _text(data, "body"), facts, "activity")
    action = _text(data, "action", "updated")
    return Message(f"Outreach draft {action}: {subject}", "", facts, "activity")


def _content(event_type: str, data: dict[str, Any]) -> Message:
    title = _text(data, "title", "Untitled")
    facts = [("Channel", data.get("channel")), ("Tags", data.get("tags")), ("Status", data.get("status"))]
    if event_type == EventType.CONTENT_PUBLISHED:
        return Message(f"Content published: {title}", _text(data, "body"), facts, "activity")
    action = _text(data, "action", "updated")
    facts.insert(0, ("Changed", data.get("changes")))
    return Message(f"Content draft {action}: {title}", "", facts, "activity")


def _automation(_event_type: str, data: dict[str, Any]) -> Message:
    name = _text(data, "automation_name", "An automation")
    facts = [
        ("Action", data.get("action")),
        ("Triggered by", data.get("trigger_event")),
        ("Manual run", data.get("manual")),
    ]
    return Message(f"Automation ran: {name}", _text(data, "summary"), facts, "automations")


def _generic(event_type: str, data: dict[str, Any]) -> Message:
    scalars = [(key, value) for key, value in data.items() if not isinstance(value, dict | list)]
    return Message(_label(event_type), "", [(_label(key), value) for key, value in scalars])


_RENDERERS: dict[str, Callable[[str, dict[str, Any]], Message]] = {
    EventType.PROSPECT_ADDED.value: _prospect,
    EventType.PROSPECT_UPDATED.value: _prospect,
    EventType.RESEARCH_COMPLETED.value: _research,
    EventType.TASK_COMPLETED.value: _research,
    EventType.TASK_UPDATE.value: _research,
    EventType.OUTREACH_SENT.value: _outreach,
    EventType.OUTREACH_UPDATED.value: _outreach,
    EventType.CONTENT_PUBLISHED.value: _content,
    EventType.CONTENT_UPDATED.value: _content,
    EventType.AUTOMATION_TRIGGERED.value: _automation,
}


def describe(event_type: str, data: dict[str, Any]) -> Message:
    return _RENDERERS.get(event_type, _generic)(event_type, data)


def render(
    event_type: str, timestamp: dt.datetime, data: dict[str, Any], *, public_url: str, test: bool = False
) -> dict[str, Any]:
    """The Slack message (a JSON object) for one event."""
    message = describe(event_type, data)
    title = f"[test] {message.title}" if test else message.title
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, MAX_HEADER_TEXT), "emoji": False},
        }
    ]
    if message.summary:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(message.summary, MAX_SECTION_TEXT)}}
        )
    facts = message.facts[:MAX_FACTS]
    for start in range(0, len(facts), MAX_FIELDS):
        fields = [
            {
                "type": "mrkdwn",
                "text": clip(f"*{escape(label)}*\n", MAX_FIELD_TEXT // 2)
                + mrkdwn(_value(value), MAX_FIELD_TEXT // 2),
            }
            for label, value in facts[start : start + MAX_FIELDS]
        ]
        blocks.append({"type": "section", "fields": fields})
    if len(message.facts) > MAX_FACTS:
        more = len(message.facts) - MAX_FACTS
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {more} more fields"}]}
        )
    link = f"{public_url}/#/{message.path}".rstrip("/")
    when = timestamp.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = f"<{_link_target(link)}|Open in aiclone> · {escape(event_type)} · {when}"
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(context, MAX_CONTEXT_TEXT)}]}
    )
    fallback = title if not message.summary else f"{title}: {message.summary}"
    return {"text": mrkdwn(fallback, MAX_FALLBACK_TEXT), "blocks": blocks}


def _link_target(url: str) -> str:
    """A URL inside ``<url|label>``: the characters that would end it are percent-encoded."""
    return url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
