"""The chat model for every node: one `ChatOpenAI` client, whichever provider serves it.

`offline` talks to the built-in offline model in process, through a streaming httpx ASGI
transport (`agent.offline.transport`), so
the app runs the same client code path, retries and token accounting as against a real provider.
`openai:<model>` talks to OpenAI, or to any OpenAI-compatible server named by OPENAI_BASE_URL.
"""

from __future__ import annotations

from typing import Any

import httpx
import mlflow
from langchain_openai import ChatOpenAI
from mlflow.entities import SpanEvent

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
        offline = StreamingASGITransport(create_app(settings.offline_token_delay_ms))
        return ChatOpenAI(
            model=MODEL_NAME,
            api_key="offline",
            base_url=OFFLINE_BASE_URL,
            http_async_client=httpx.AsyncClient(
                transport=RecordedAttempts(offline), base_url=OFFLINE_BASE_URL
            ),
            **common,
        )
    key = settings.openai_api_key
    network = httpx.AsyncHTTPTransport(limits=PROVIDER_LIMITS)
    return ChatOpenAI(
        model=settings.model_name,
        # Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) ignore the key.
        api_key=key or "not-needed",
        base_url=settings.openai_base_url,
        # The OpenAI client's own settings, with every attempt recorded on the trace.
        http_async_client=httpx.AsyncClient(
            transport=RecordedAttempts(network), follow_redirects=True
        ),
        **common,
    )


PROVIDER_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
PROVIDER_ERROR_EVENT = "provider_error"


class RecordedAttempts(httpx.AsyncBaseTransport):
    """Puts every failed attempt at the provider on the model call's span, as an event.

    The OpenAI client retries 429s, 5xx answers and timeouts by itself. A call that succeeded
    on its third attempt would otherwise look, on the trace, like one that went smoothly.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            _record({"error.type": type(exc).__name__})
            raise
        if response.status_code >= 400:
            _record({"error.type": "http_status", "http.status_code": response.status_code})
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _record(attributes: dict[str, Any]) -> None:
    # Inline autolog makes the chat span the active one while its HTTP call runs.
    span = mlflow.get_current_active_span()
    if span is not None:
        # MLflow declares SpanEvent's proto converter abstract; the event itself is complete.
        span.add_event(SpanEvent(PROVIDER_ERROR_EVENT, attributes=attributes))  # type: ignore[abstract]


def tuned(llm: ChatOpenAI, model_config: dict[str, Any] | None, streams: bool) -> ChatOpenAI:
    """The same client with a prompt's own model settings (temperature and the like).

    Only the nodes that write the article's text stream (when a caller listens for tokens);
    the others get whole answers, which spares per-token work on JSON and tool calls.
    """
    update = {k: v for k, v in (model_config or {}).items() if k in TUNABLE}
    update["disable_streaming"] = not streams
    return llm.model_copy(update=update)
