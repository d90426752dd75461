"""Reasoners behind one interface (:class:`agents.case.Reasoner`): offline and OpenAI-compatible.

Use :func:`build_reasoner`; every reasoner also has ``usage(case) -> ReasonerUsage``.
"""

from __future__ import annotations

import httpx

from agents.case import Reasoner
from agents.reasoners.offline import OfflineReasoner
from agents.reasoners.openai_compat import OpenAIReasoner, ToolBox
from warehouse.settings import Settings

__all__ = ["OfflineReasoner", "OpenAIReasoner", "ToolBox", "build_reasoner"]


def build_reasoner(settings: Settings, *, tools: ToolBox | None = None,
                   http_client: httpx.Client | None = None) -> Reasoner:
    """The configured reasoner: offline unless an LLM base URL and model are both set.

    Args:
        settings: ``llm_*`` fields decide which reasoner and its budgets.
        tools: read-only tools the LLM may call for extra context (ignored offline, and when
            ``settings.llm_tools`` is off).
        http_client: injected into the OpenAI client (tests); None builds a plain httpx one.

    Returns:
        An :class:`OfflineReasoner`, or an :class:`OpenAIReasoner` that falls back to one.
    """
    offline = OfflineReasoner()
    if not (settings.llm_base_url and settings.llm_model):
        return offline
    from agents.reasoners.client import make_client

    return OpenAIReasoner(
        make_client(settings, http_client), settings.llm_model, offline,
        tools=tools if settings.llm_tools else None,
        max_calls=settings.llm_max_calls, max_tokens=settings.llm_max_tokens,
        json_mode=settings.llm_json_mode, retries=settings.llm_retries,
        min_support=settings.llm_min_support, completion_tokens=settings.llm_completion_tokens,
    )
