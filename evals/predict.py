"""The app as `mlflow.genai.evaluate` calls it: one article per evaluation row."""

from __future__ import annotations

import asyncio
from typing import Any

from evals.settings import EvalSettings
from service.failures import WriteFailed
from service.request import DEFAULTS, WriteRequest
from service.turn import ArticleWriter


def predictor(settings: EvalSettings) -> Any:
    """A `predict_fn` for `evaluate`: it runs the whole graph inside the row's trace.

    Each call gets its own writer and event loop: evaluate calls from worker threads, and the
    model client's async resources belong to the loop that made them. A run that ends without
    an article answers `{"article": None, "outcome": <its code>}`, which the scorers read as
    such (`article_written`), rather than an error that would leave the row out of the means.
    """

    def write_article(
        topic: str,
        audience: str = DEFAULTS.audience,
        target_words: int = DEFAULTS.target_words,
    ) -> dict[str, Any]:
        async def run() -> dict[str, Any]:
            writer = ArticleWriter(settings)
            request = WriteRequest(topic=topic, audience=audience, target_words=target_words)
            try:
                result = await writer.write_article(request)
            except WriteFailed as failed:
                return {"article": None, "outcome": failed.code, "message": str(failed)}
            return {
                "article": result.article.model_dump(),
                "outcome": "article",
                "usage": vars(result.usage),
            }

        return asyncio.run(run())

    return write_article
