"""The chat model for every node: one `ChatOpenAI` client, whichever provider serves it.

`offline` talks to the built-in offline model in process, through a streaming httpx ASGI
transport (`offline_model.transport`), so
the app runs the same client code path, retries and token accounting as against a real provider.
`openai:<model>` talks to OpenAI, or to any OpenAI-compatible server named by OPENAI_BASE_URL.
`gateway:<endpoint>` talks to the AI Gateway of the MLflow tracking server, whose endpoint holds
the provider's key and decides which model answers (traffic splits, fallbacks).

The base URL is always passed explicitly: left unset, the OpenAI client would read
OPENAI_BASE_URL from the process environment, which the eval judges may set for themselves.
"""

from __future__ import annotations

from typing import Any

import httpx
import mlflow
import openai
from langchain_openai import ChatOpenAI
from mlflow.tracing import get_tracing_context_headers_for_http_request

import tracing
from offline_model.server import MODEL_NAME, create_app
from offline_model.transport import StreamingASGITransport
from service.settings import ServiceSettings

OFFLINE_BASE_URL = "http://offline-model/v1"
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The gateway's OpenAI passthrough: `model` names the endpoint, whose routing (traffic split,
# fallbacks) picks the model; the request reaches it as the app wrote it. The unified route,
# /gateway/mlflow/v1, re-reads requests into MLflow's own schema instead, which turns on
# `strict` for every JSON schema (OpenAI then refuses the plan's) and keeps only part of JSON
# Schema in tool parameters.
GATEWAY_ROUTE = "/gateway/openai/v1"


def chat_model(settings: ServiceSettings) -> ChatOpenAI:
    common: dict[str, Any] = {
        "temperature": settings.llm_temperature,
        "max_retries": settings.llm_max_retries,
        "timeout": settings.llm_timeout_seconds,
        # Without it, streamed calls report no tokens, and so no cost.
        "stream_usage": True,
    }
    if settings.llm_model == "offline":
        offline = StreamingASGITransport(
            create_app(settings.offline_token_delay_ms, settings.offline_first_token_ms)
        )
        return ChatOpenAI(
            model=MODEL_NAME,
            api_key="offline",
            base_url=OFFLINE_BASE_URL,
            http_async_client=httpx.AsyncClient(
                transport=RecordedAttempts(offline), base_url=OFFLINE_BASE_URL
            ),
            **common,
        )
    key = settings.openai_api_key if settings.provider == "openai" else None
    network = httpx.AsyncHTTPTransport(limits=PROVIDER_LIMITS)
    return ChatOpenAI(
        model=settings.model_name,
        # Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) ignore the key; the gateway
        # holds the provider's own, and an OpenAI key must not travel to it.
        api_key=key or "not-needed",
        base_url=base_url(settings),
        # The OpenAI client's own settings, with every attempt recorded on the trace.
        http_async_client=httpx.AsyncClient(
            transport=RecordedAttempts(network), follow_redirects=True
        ),
        **common,
    )


def base_url(settings: ServiceSettings) -> str:
    """Where the chat calls go, never left to the environment."""
    if settings.provider == "gateway":
        return settings.mlflow_tracking_uri.rstrip("/") + GATEWAY_ROUTE
    return settings.openai_base_url or OPENAI_DEFAULT_BASE_URL


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
        # The call carries the trace on (W3C `traceparent` of the chat span, which inline autolog
        # makes the active one): a provider or gateway that traces joins the same trace.
        if mlflow.get_current_active_span() is not None:
            request.headers.update(get_tracing_context_headers_for_http_request())
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            # Inline autolog makes the chat span the active one while its HTTP call runs.
            tracing.record_event(
                PROVIDER_ERROR_EVENT, on_active_span=True, **{"error.type": type(exc).__name__}
            )
            raise
        if response.status_code >= 400:
            failed: dict[str, str | int] = {
                "error.type": "http_status",
                "http.status_code": response.status_code,
            }
            tracing.record_event(PROVIDER_ERROR_EVENT, on_active_span=True, **failed)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


# Where OpenAI-compatible servers say how long a context their model takes, if they do:
# LM Studio and OpenRouter `context_length`, vLLM `max_model_len`, llama.cpp `meta.n_ctx_train`.
CONTEXT_KEYS = ("context_length", "max_model_len", "context_window")


async def context_window(llm: ChatOpenAI) -> int | None:
    """The model's context size as its server reports it on `/models`; None if it does not."""
    if str(llm.openai_api_base).endswith(GATEWAY_ROUTE):
        return None  # the gateway has no `/models` there, and its endpoints do not say
    try:
        page = await llm.root_async_client.models.list()
    except openai.OpenAIError:
        return None
    models = [m for m in page.data if m.id == llm.model_name] or page.data[:1]
    for model in models:
        extra: dict[str, Any] = model.model_extra or {}
        meta: dict[str, Any] = extra["meta"] if isinstance(extra.get("meta"), dict) else {}
        for value in [
            *(extra.get(k) for k in CONTEXT_KEYS),
            meta.get("n_ctx"),
            meta.get("n_ctx_train"),
        ]:
            if isinstance(value, int) and value > 0:
                return value
    return None
