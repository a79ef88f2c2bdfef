"""The app as `mlflow.genai.evaluate` calls it: one article per evaluation row."""

from __future__ import annotations

import asyncio
from typing import Any

from agent.request import DEFAULTS, WriteRequest
from agent.settings import Settings
from agent.writer import ArticleWriter


def predictor(settings: Settings) -> Any:
    """A `predict_fn` for `evaluate`: it runs the whole graph inside the row's trace.

    Each call gets its own writer and event loop: evaluate calls from worker threads, and the
    model client's async resources belong to the loop that made them.
    """

    def write_article(
        topic: str,
        audience: str = DEFAULTS.audience,
        target_words: int = DEFAULTS.target_words,
    ) -> dict[str, Any]:
        async def run() -> dict[str, Any]:
            writer = ArticleWriter(settings)
            result = await writer.write(
                WriteRequest(topic=topic, audience=audience, target_words=target_words)
            )
            return {"article": result.article.model_dump(), "usage": vars(result.usage)}

        return asyncio.run(run())

    return write_article
