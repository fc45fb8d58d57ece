"""The lock files agree with pyproject.toml, and the runtime install stays lean.

``requirements.lock`` (what the image installs) and ``requirements-dev.lock`` (what ``make
install`` and CI install) are resolved by ``make lock``. This reads them as text: every
requirement of pyproject is pinned at a version its specifier allows, every pin is there because
pyproject asks for it or a pinned package depends on it (uv's ``# via`` notes, followed back to
pyproject), every pin carries hashes, and the two locks pin the same versions where they overlap.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = "aiclone (pyproject.toml)"
# Never part of a runtime install: the docs assets are built into the wheel (hatch_build.py), and
# granian is the `granian` extra.
NOT_AT_RUN_TIME = {"django", "drf-spectacular-sidecar", "granian", "asgiref", "sqlparse"}


@dataclass
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def read_lock(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    in_via = False
    for line in path.read_text().splitlines():
        head = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if head:
            marker = Marker(head.group(3)) if head.group(3) else None
            pins.append(Pin(canonicalize_name(head.group(1)), Version(head.group(2)), marker))
            in_via = False
            continue
        stripped = line.strip()
        if stripped.startswith("--hash=sha256:"):
            pins[-1].hashes += 1
        elif stripped.startswith("# via"):
            rest = stripped.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                pins[-1].via.add(rest)
        elif in_via and stripped.startswith("#   "):
            pins[-1].via.add(stripped.removeprefix("#").strip())
        else:
            in_via = False
    return pins


def _name_of(via: str) -> str:
    return via if via == PYPROJECT else canonicalize_name(re.split(r"[\s\[]", via)[0])


def pyproject_requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        requirements += [Requirement(text) for text in project["optional-dependencies"][extra]]
    # The dev extra names aiclone[granian] itself; that is the granian extra, read above.
    return [r for r in requirements if canonicalize_name(r.name) != "aiclone"]


LOCKS = {"requirements.lock": (), "requirements-dev.lock": ("granian", "dev")}


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_every_requirement_is_pinned_within_its_specifier(lock: str, extras: tuple[str, ...]) -> None:
    pins = read_lock(REPO / lock)
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    for requirement in pyproject_requirements(extras):
        name = canonicalize_name(requirement.name)
        assert name in by_name, f"{requirement} is not in {lock}: run make lock"
        for pin in by_name[name]:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{lock} pins {name}=={pin.version}, outside {requirement}: run make lock"
            )
            assert PYPROJECT in pin.via, f"{lock} does not say {name} comes from pyproject"


@pytest.mark.parametrize(("lock", "extras"), LOCKS.items())
def test_nothing_in_the_lock_is_unexplained(lock: str, extras: tuple[str, ...]) -> None:
    pins = read_lock(REPO / lock)
    direct = {canonicalize_name(r.name) for r in pyproject_requirements(extras)}
    names = {pin.name for pin in pins}
    for pin in pins:
        assert pin.hashes >= 1, f"{pin.name} in {lock} has no hash"
        assert pin.via, f"{pin.name} in {lock} says nothing of why it is there"
        reasons = {_name_of(via) for via in pin.via}
        assert reasons <= names | {PYPROJECT}, f"{pin.name} in {lock} is there for {reasons - names}"
        if PYPROJECT in reasons:
            assert pin.name in direct, f"{lock} says pyproject asks for {pin.name}; it no longer does"
    # Everything is reachable from pyproject's requirements through the via notes.
    needed_by: dict[str, set[str]] = {pin.name: set() for pin in pins}
    for pin in pins:
        for via in pin.via:
            needed_by.setdefault(_name_of(via), set()).add(pin.name)
    reached, frontier = set(), [PYPROJECT]
    while frontier:
        for child in needed_by.get(frontier.pop(), set()) - reached:
            reached.add(child)
            frontier.append(child)
    assert reached == names, f"{lock} pins {names - reached} that nothing asks for"


def test_the_runtime_lock_is_lean_and_agrees_with_the_dev_lock() -> None:
    runtime = read_lock(REPO / "requirements.lock")
    dev = {(pin.name, str(pin.marker)): pin.version for pin in read_lock(REPO / "requirements-dev.lock")}
    names = {pin.name for pin in runtime}
    assert not names & NOT_AT_RUN_TIME, names & NOT_AT_RUN_TIME
    assert not names & {"pytest", "mypy", "ruff", "uv", "kubernetes-validate"}
    for pin in runtime:
        # The image runs exactly what CI tested (a marker may differ when dev packages widen a range).
        versions = {version for (name, _), version in dev.items() if name == pin.name}
        assert pin.version in versions, f"{pin.name}: {pin.version} at run time, {versions} in CI"


def test_pyproject_keeps_frameworks_and_granian_out_of_the_runtime_dependencies() -> None:
    runtime = {canonicalize_name(r.name) for r in pyproject_requirements(())}
    assert not runtime & NOT_AT_RUN_TIME
    granian = pyproject_requirements(("granian",))
    assert "granian" in {canonicalize_name(r.name) for r in granian}
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert "aiclone[granian]" in dev, "the tests run both servers"
