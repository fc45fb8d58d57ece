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
from aiclone.settings import LLMSettings, ResearchSettings


def _web(research: ResearchSettings, _llm: LLMClient, _budget: int) -> ResearchEngine:
    return WebEngine(WebEngineConfig.from_settings(research))


def _llm(research: ResearchSettings, llm: LLMClient, input_token_budget: int) -> ResearchEngine:
    return LLMEngine(
        llm, WebEngine(WebEngineConfig.from_settings(research)), input_token_budget=input_token_budget
    )


BUILT_IN: dict[str, Callable[[ResearchSettings, LLMClient, int], ResearchEngine]] = {"web": _web, "llm": _llm}


def build_engines(
    research: ResearchSettings, llm: LLMSettings, client: LLMClient | None = None
) -> EngineRegistry:
    """The engines ``research.engines`` names; ``client`` is the shared provider (else one from ``llm``)."""
    client = client or LLMClient(LLMConfig.from_settings(llm))
    return EngineRegistry(
        BUILT_IN[name](research, client, llm.input_token_budget) for name in research.engines
    )
