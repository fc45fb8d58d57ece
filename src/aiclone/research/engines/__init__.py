"""Research engines, built by name from settings (``AICLONE_RESEARCH_ENGINES``).

``llm`` is always registered when it is named, with or without a provider: without one it is
listed as unavailable (with the reason) and tasks asking for it are refused when created.
"""

from __future__ import annotations

from collections.abc import Callable

from aiclone.llm import LLMClient, LLMConfig
from aiclone.research.engines.base import EngineRegistry, ResearchEngine
from aiclone.research.engines.llm import LLMEngine
from aiclone.research.engines.web import WebEngine, WebEngineConfig
from aiclone.settings import Settings


def _web(settings: Settings, _llm: LLMClient) -> ResearchEngine:
    return WebEngine(WebEngineConfig.from_settings(settings))


def _llm(settings: Settings, llm: LLMClient) -> ResearchEngine:
    return LLMEngine(
        llm,
        WebEngine(WebEngineConfig.from_settings(settings)),
        input_token_budget=settings.llm_input_token_budget,
    )


BUILT_IN: dict[str, Callable[[Settings, LLMClient], ResearchEngine]] = {"web": _web, "llm": _llm}


def build_engines(settings: Settings, llm: LLMClient | None = None) -> EngineRegistry:
    client = llm or LLMClient(LLMConfig.from_settings(settings))
    return EngineRegistry(BUILT_IN[name](settings, client) for name in settings.research_engines)
