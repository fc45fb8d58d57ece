"""Static checks of the dashboard's files: no HTML sinks, no inline code, every import resolves.

The browser tests prove behaviour; these keep the rules the CSP and the text-only rendering
rely on from eroding in a file no browser test happens to reach.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "aiclone" / "dashboard" / "static"
OUR_MODULES = sorted(p for p in (STATIC / "js").rglob("*.js") if "vendor" not in p.parts)
# Ways to turn a string into markup or code. dom.js names some of them only to refuse them.
SINKS = re.compile(
    r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\s*\("
    r"|\.style\.|setAttribute\(\s*['\"](style|on\w+)['\"]|srcdoc\s*="
)
IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", re.MULTILINE)


def test_the_modules_are_found() -> None:
    names = {p.name for p in OUR_MODULES}
    assert {"main.js", "dom.js", "api.js", "live.js", "chart.js"} <= names
    assert len(OUR_MODULES) >= 10


@pytest.mark.parametrize("path", OUR_MODULES, ids=lambda p: p.relative_to(STATIC).as_posix())
def test_no_html_or_code_sinks(path: Path) -> None:
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SINKS.search(line) and not line.lstrip().startswith("//")
    ]
    assert found == [], f"{path.name} builds markup or code from strings"


@pytest.mark.parametrize("path", OUR_MODULES, ids=lambda p: p.relative_to(STATIC).as_posix())
def test_relative_imports_resolve(path: Path) -> None:
    for target in IMPORT.findall(path.read_text()):
        assert target.startswith("./") or target.startswith("../"), f"{path.name}: bare import {target}"
        assert (path.parent / target).resolve().is_file(), f"{path.name}: {target} does not exist"


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (STATIC / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    for reference in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        assert (STATIC / reference.removeprefix("/static/")).is_file(), reference


def test_no_module_spells_a_password_length_of_its_own() -> None:
    """The forms' hint and bounds come from the page's policy meta, written from the settings."""
    for path in OUR_MODULES:
        text = path.read_text()
        assert not re.search(r"[Aa]t least \d+ char", text), path.name
        assert not re.search(r"minlength:\s*\d", text), path.name


def test_the_served_page_carries_the_servers_password_rule() -> None:
    from aiclone.dashboard.controller import _index_html
    from aiclone.settings import Settings

    settings = Settings()
    page = _index_html(settings.auth.password_min_length, settings.auth.password_max_length).decode()
    meta = re.search(r'<meta name="aiclone-password-policy" content="([^"]*)">', page)
    assert meta, "the policy meta is missing"
    assert meta.group(1) == f"{settings.auth.password_min_length} {settings.auth.password_max_length}"
    assert _index_html(12, 64).decode().count('content="12 64"') == 1
