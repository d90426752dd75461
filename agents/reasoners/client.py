"""The one place an OpenAI-compatible client is built.

openai 3.x sends through HTTPX2 by default. We always hand it a plain ``httpx.Client``
instead: one transport in the whole service, proxies and CA settings read the same way as
everywhere else, and respx (which patches ``httpx`` only) sees every request in tests. The
SDK's own retries are off (``max_retries=0``): :mod:`agents.reasoners.openai_compat` owns the
single retry policy.
"""

from __future__ import annotations

import httpx
from openai import OpenAI

from warehouse.settings import Settings

# Local servers (Ollama, llama.cpp, vLLM) accept any key; the SDK refuses an empty one.
_PLACEHOLDER_KEY = "not-needed"


def make_client(settings: Settings, http_client: httpx.Client | None = None) -> OpenAI:
    """Build the chat client for the configured endpoint.

    Args:
        settings: needs ``llm_base_url``; ``llm_api_key`` and ``llm_timeout_s`` are used too.
        http_client: an ``httpx.Client`` to send through (tests inject one); by default a
            new plain ``httpx.Client`` with the configured timeout, never the SDK's HTTPX2.

    Returns:
        An ``OpenAI`` client with SDK retries disabled.

    Raises:
        ValueError: when no base URL is configured.
    """
    if not settings.llm_base_url:
        raise ValueError("TALLY_LLM_BASE_URL is not set")
    timeout = httpx.Timeout(settings.llm_timeout_s, connect=min(10.0, settings.llm_timeout_s))
    return OpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or _PLACEHOLDER_KEY,
        max_retries=0,
        timeout=settings.llm_timeout_s,
        # openai types this as its httpx2.Client; an httpx.Client serves it (and respx mocks it)
        http_client=http_client or httpx.Client(  # type: ignore[arg-type]
            timeout=timeout, follow_redirects=True),
    )
