"""Research engines, built by name from settings (``AICLONE_RESEARCH_ENGINES``)."""

from __future__ import annotations

from collections.abc import Callable

from aiclone.research.engines.base import EngineRegistry, ResearchEngine
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.settings import Settings


def _web(settings: Settings) -> ResearchEngine:
    return WebEngine(WebEngineConfig.from_settings(settings))


BUILT_IN: dict[str, Callable[[Settings], ResearchEngine]] = {"web": _web}


def build_engines(settings: Settings) -> EngineRegistry:
    return EngineRegistry(BUILT_IN[name](settings) for name in settings.research_engines)
