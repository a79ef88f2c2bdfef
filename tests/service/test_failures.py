"""Whose fault a failure is: the code the user gets says whether retrying can help."""

from __future__ import annotations

import httpx
import openai
import pytest

from agent.failures import Unwritable
from api.status import CODES
from service.failures import WriteFailed, classify


def provider_answer(status: int, message: str, code: str | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://provider/v1/chat/completions")
    body = {"error": {"message": message, "code": code}}
    response = httpx.Response(status, json=body, request=request)
    error_class = {400: openai.BadRequestError, 404: openai.NotFoundError}.get(status)
    if status == 429:
        error_class = openai.RateLimitError
    elif status >= 500:
        error_class = openai.InternalServerError
    assert error_class is not None
    return error_class(message, response=response, body=body)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        # OpenAI, llama.cpp and vLLM word an over-long prompt differently.
        (
            provider_answer(400, "This model's maximum context length is 8192 tokens."),
            "context_too_small",
        ),
        (
            provider_answer(
                400, "the request exceeds the available context size, try increasing it"
            ),
            "context_too_small",
        ),
        (provider_answer(400, "Invalid value for 'temperature'"), "provider_rejected"),
        (provider_answer(404, "The model 'gpt-9' does not exist"), "provider_rejected"),
        (provider_answer(429, "Rate limit reached"), "provider_error"),
        (provider_answer(503, "Overloaded"), "provider_error"),
        (TimeoutError(), "timeout"),
        (Unwritable("model_error", "unusable"), "model_error"),
        (KeyError("bug"), "internal_error"),
    ],
)
def test_each_failure_gets_the_code_of_whose_fault_it_is(error: BaseException, code: str) -> None:
    assert classify(error) == code


def test_no_message_for_a_request_retrying_cannot_fix_says_try_again_later() -> None:
    for code, (_, retrying_helps) in CODES.items():
        message = str(WriteFailed(code, None)).lower()
        if not retrying_helps:
            assert "try again" not in message, code
