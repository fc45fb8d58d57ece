"""Mail content and the MIME message built from it.

A mail is plain text plus an HTML alternative. The HTML is assembled from paragraphs by
:func:`render_html`, which escapes every piece of text it is given: callers pass user data
(names, addresses) as plain strings and never write markup themselves.
"""

from __future__ import annotations

import email.utils
import html
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8

from email_validator import EmailNotValidError, validate_email

from aiclone.mail.repository import Claim


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class MailContent:
    subject: str
    text: str
    html: str


def compose(subject: str, paragraphs: list[str | Link], *, footer: str) -> MailContent:
    """Plain text and HTML of one mail, from the same paragraphs (text, or a link button)."""
    if any(c in subject for c in "\r\n"):
        raise ValueError("a subject is one line")
    text_parts = [f"{p.label}:\n{p.url}" if isinstance(p, Link) else p for p in paragraphs]
    text = "\n\n".join([*text_parts, "--", footer]) + "\n"
    return MailContent(subject=subject, text=text, html=render_html(subject, paragraphs, footer=footer))


def render_html(title: str, paragraphs: list[str | Link], *, footer: str) -> str:
    body: list[str] = []
    for part in paragraphs:
        if isinstance(part, Link):
            url = html.escape(part.url, quote=True)
            body.append(
                f'<p><a href="{url}" style="display:inline-block;padding:10px 16px;background:#1f4fd1;'
                f'color:#ffffff;text-decoration:none;border-radius:4px">{html.escape(part.label)}</a></p>'
                f'<p style="font-size:12px;color:#555555;word-break:break-all">{url}</p>'
            )
        else:
            body.append(f"<p>{html.escape(part)}</p>".replace("\n", "<br>"))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        '<body style="font-family:sans-serif;line-height:1.5;color:#111111">'
        + "".join(body)
        + f'<hr><p style="font-size:12px;color:#555555">{html.escape(footer)}</p></body></html>'
    )


def ascii_address(address: str) -> str | None:
    """The address with its domain as A-labels (``xn--…``), or None when the local part is not ASCII."""
    try:
        return validate_email(address, check_deliverability=False).ascii_email
    except EmailNotValidError:
        return None


def build_message(claim: Claim, sender: Address) -> EmailMessage:
    """The MIME message of a claimed mail. Its Message-ID is fixed per row, so retries repeat it.

    A recipient whose domain is internationalised is addressed by its A-labels; one whose local
    part is not ASCII needs a server that speaks SMTPUTF8, so the headers are written in UTF-8.
    """
    recipient = ascii_address(claim.to_address)
    message = EmailMessage(policy=SMTP if recipient is not None else SMTPUTF8)
    message["From"] = sender
    message["To"] = recipient or claim.to_address
    message["Subject"] = claim.subject
    message["Date"] = email.utils.format_datetime(claim.created_at)
    message["Message-ID"] = f"<{claim.mail_id}@{sender.domain or 'localhost'}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(claim.text_body)
    message.add_alternative(claim.html_body, subtype="html")
    return message
