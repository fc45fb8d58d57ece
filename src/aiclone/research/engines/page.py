"""What one HTML page says about its owner, read with the standard library's ``html.parser``.

Extracted: the title, the meta description (or ``og:description``), h1 to h3 headings, contact
emails (``mailto:`` links and addresses written in the text), outbound links (http(s) links to
another host, fragments dropped) and the visible text in blocks, for phrase extraction.
Script, style, template, SVG and noscript content is not visible text. Every list is bounded,
so a hostile page cannot make the result large.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

import httpx

MAX_TITLE = 300
MAX_DESCRIPTION = 500
MAX_HEADINGS = 30
MAX_HEADING = 200
MAX_EMAILS = 20
MAX_LINKS = 50
MAX_LINK = 500
MAX_TEXT_CHARS = 200_000

_EMAIL = re.compile(
    r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}(?![\w-])", re.I
)
# Asset names that look like addresses ("logo@2x.png").
_NOT_A_TLD = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "css", "js", "ico", "bmp"})
_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "iframe", "object"})
_HEADINGS = frozenset({"h1", "h2", "h3"})
_BLOCKS = frozenset(
    {
        "p", "div", "li", "ul", "ol", "br", "tr", "td", "th", "section", "article", "header", "footer",
        "nav", "main", "aside", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
        "form", "dd", "dt", "figcaption", "title",
    }
)  # fmt: skip
_SPACE = re.compile(r"\s+")


def _clean(text: str, limit: int) -> str:
    return _SPACE.sub(" ", text).strip()[:limit]


def _host_key(host: str) -> str:
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def normalize_email(candidate: str) -> str | None:
    address = candidate.strip().strip(".").lower()
    if not _EMAIL.fullmatch(address):
        return None
    if address.rsplit(".", 1)[-1] in _NOT_A_TLD:
        return None
    return address


@dataclass
class PageFacts:
    title: str | None = None
    description: str | None = None
    headings: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    outbound_links: list[str] = field(default_factory=list)
    text_blocks: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url = httpx.URL(url)
        self.base = self.url
        self.base_set = False
        self.facts = PageFacts()
        self._skip = 0
        self._title: list[str] | None = None
        self._heading: list[str] | None = None
        self._block: list[str] = []
        self._text_chars = 0
        self._emails: dict[str, None] = {}
        self._links: dict[str, None] = {}
        self._og_description: str | None = None
        self._og_title: str | None = None

    # -- tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name.lower(): value or "" for name, value in attrs}
        if tag in _SKIPPED:
            self._skip += 1
            return
        if tag in _BLOCKS:
            self._end_block()
        if tag == "title" and self.facts.title is None and self._title is None:
            self._title = []
        elif tag in _HEADINGS:
            self._heading = []
        elif tag == "meta":
            self._meta(attributes)
        elif tag == "a":
            self._anchor(attributes.get("href", ""))
        elif tag == "base" and not self.base_set and attributes.get("href"):
            self.base_set = True
            try:
                self.base = self.url.join(attributes["href"])
            except (httpx.InvalidURL, ValueError):
                self.base = self.url

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(self._skip - 1, 0)
            return
        if tag == "title" and self._title is not None:
            self.facts.title = _clean("".join(self._title), MAX_TITLE) or None
            self._title = None
        elif tag in _HEADINGS and self._heading is not None:
            heading = _clean("".join(self._heading), MAX_HEADING)
            if heading and heading not in self.facts.headings and len(self.facts.headings) < MAX_HEADINGS:
                self.facts.headings.append(heading)
            self._heading = None
        if tag in _BLOCKS:
            self._end_block()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._title is not None:
            self._title.append(data)
            return
        if self._heading is not None:
            self._heading.append(data)
        if self._text_chars < MAX_TEXT_CHARS:
            self._block.append(data)
            self._text_chars += len(data)

    # -- helpers

    def _meta(self, attributes: dict[str, str]) -> None:
        key = (attributes.get("name") or attributes.get("property") or "").lower()
        content = _clean(attributes.get("content", ""), MAX_DESCRIPTION)
        if not content:
            return
        if key == "description" and self.facts.description is None:
            self.facts.description = content
        elif key == "og:description" and self._og_description is None:
            self._og_description = content
        elif key == "og:title" and self._og_title is None:
            self._og_title = content[:MAX_TITLE]

    def _anchor(self, href: str) -> None:
        href = href.strip()
        if not href:
            return
        if href.lower().startswith("mailto:"):
            for part in unquote(href[7:].split("?", 1)[0]).split(","):
                self._add_email(part)
            return
        try:
            target = self.base.join(href)
        except (httpx.InvalidURL, ValueError):
            return
        if target.scheme not in ("http", "https") or not target.host:
            return
        if _host_key(target.host) == _host_key(self.url.host):
            return
        link = str(target.copy_with(fragment=None))
        if len(link) <= MAX_LINK and len(self._links) < MAX_LINKS:
            self._links.setdefault(link, None)

    def _add_email(self, candidate: str) -> None:
        address = normalize_email(candidate)
        if address is not None and len(self._emails) < MAX_EMAILS:
            self._emails.setdefault(address, None)

    def _end_block(self) -> None:
        if not self._block:
            return
        text = _clean("".join(self._block), MAX_TEXT_CHARS)
        self._block = []
        if text:
            self.facts.text_blocks.append(text)
            for match in _EMAIL.finditer(text):
                self._add_email(match.group(0))

    def finish(self) -> PageFacts:
        self.close()
        self._end_block()
        if self.facts.title is None and self._title:
            self.facts.title = _clean("".join(self._title), MAX_TITLE) or None
        self.facts.title = self.facts.title or self._og_title
        self.facts.description = self.facts.description or self._og_description
        self.facts.emails = list(self._emails)
        self.facts.outbound_links = list(self._links)
        return self.facts


def parse_page(html: str, url: str) -> PageFacts:
    """Extract the facts of one page; ``url`` is where it was fetched (for relative links)."""
    parser = _PageParser(url)
    parser.feed(html)
    return parser.finish()
