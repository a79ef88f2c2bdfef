"""The chat model for every node: one `ChatOpenAI` client, whichever provider serves it.

`offline` talks to the built-in offline model in process, through a streaming httpx ASGI
transport (`agent.offline.transport`), so
the app runs the same client code path, retries and token accounting as against a real provider.
`openai:<model>` talks to OpenAI, or to any OpenAI-compatible server named by OPENAI_BASE_URL.
"""

from __future__ import annotations

from typing import Any

import httpx
from langchain_openai import ChatOpenAI

from agent.offline.server import MODEL_NAME, create_app
from agent.offline.transport import StreamingASGITransport
from agent.settings import Settings

OFFLINE_BASE_URL = "http://offline-model/v1"
# Prompt-file model settings that a node may override per call.
TUNABLE = {"temperature", "top_p", "max_tokens", "max_completion_tokens", "seed"}


def chat_model(settings: Settings) -> ChatOpenAI:
    common: dict[str, Any] = {
        "temperature": settings.llm_temperature,
        "max_retries": settings.llm_max_retries,
        "timeout": settings.llm_timeout_seconds,
        # Without it, streamed calls report no tokens, and so no cost (mlflow.md trap 2).
        "stream_usage": True,
    }
    if settings.llm_model == "offline":
        transport = StreamingASGITransport(create_app(settings.offline_token_delay_ms))
        return ChatOpenAI(
            model=MODEL_NAME,
            api_key="offline",
            base_url=OFFLINE_BASE_URL,
            http_async_client=httpx.AsyncClient(transport=transport, base_url=OFFLINE_BASE_URL),
            **common,
        )
    key = settings.openai_api_key
    return ChatOpenAI(
        model=settings.model_name,
        # Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) ignore the key.
        api_key=key or "not-needed",
        base_url=settings.openai_base_url,
        **common,
    )


def tuned(llm: ChatOpenAI, model_config: dict[str, Any] | None, streams: bool) -> ChatOpenAI:
    """The same client with a prompt's own model settings (temperature and the like).

    Only the nodes that write the article's text stream (when a caller listens for tokens);
    the others get whole answers, which spares per-token work on JSON and tool calls.
    """
    update = {k: v for k, v in (model_config or {}).items() if k in TUNABLE}
    update["disable_streaming"] = not streams
    return llm.model_copy(update=update)
