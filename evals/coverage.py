"""The coverage bar: the labelled topics of evals/topics.yaml through the app, scored.

A topic labelled `covered` must come back as an article citing a document it names; one
labelled `outside` must not come back as an article at all (`no_sources`). Topics under
`limits` are ones the word rule is known to judge wrongly: they run and are reported, never
gated. The bars are in evals/coverage_thresholds.yaml.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer

from evals.settings import EvalSettings
from service.failures import WriteFailed
from service.request import WriteRequest
from service.turn import ArticleWriter

HERE = Path(__file__).parent
TOPICS = HERE / "topics.yaml"
THRESHOLDS = HERE / "coverage_thresholds.yaml"
DATASET_NAME = "article-writer-coverage"
# Short articles: the bar is about whether one is written and what it cites, not its length.
TARGET_WORDS = 300


def load_topics(path: Path = TOPICS, limit: int | None = None) -> list[dict[str, Any]]:
    """One evaluation record per labelled topic; with `limit`, the first of each label, about
    half covered and half outside, so that both bars are measured."""
    labelled = yaml.safe_load(path.read_text())
    if limit:
        labelled = {
            "covered": labelled["covered"][: (limit + 1) // 2],
            "outside": labelled["outside"][: limit // 2],
        }

    def record(topic: str, label: str, sources: list[str], limit: str = "") -> dict[str, Any]:
        expectations: dict[str, Any] = {"label": label, "expected_sources": sources}
        if limit:
            expectations["known_limit"] = limit
        return {"inputs": {"topic": topic}, "expectations": expectations}

    return [
        *(record(c["topic"], "covered", c["sources"]) for c in labelled["covered"]),
        *(record(topic, "outside", []) for topic in labelled["outside"]),
        *(
            record(c["topic"], c["label"], c.get("sources", []), " ".join(c["why"].split()))
            for c in labelled.get("limits", [])
        ),
    ]


def predictor(settings: EvalSettings) -> Any:
    """One short article per topic, or the code the run ended with."""

    def write(topic: str) -> dict[str, Any]:
        async def run() -> dict[str, Any]:
            writer = ArticleWriter(settings)
            try:
                result = await writer.write_article(
                    WriteRequest(topic=topic, target_words=TARGET_WORDS)
                )
            except WriteFailed as failed:
                return {"outcome": failed.code, "message": str(failed), "cited": []}
            cited = sorted({ref.source_id for ref in result.article.references})
            return {"outcome": "article", "title": result.article.title, "cited": cited}

        return asyncio.run(run())

    return write


def _summary(outputs: dict[str, Any]) -> str:
    if outputs.get("outcome") == "article":
        return f"an article citing {', '.join(outputs.get('cited') or []) or 'nothing'}"
    return f"no article ({outputs.get('outcome')})"


@scorer
def off_topic_article(outputs: dict[str, Any], expectations: dict[str, Any]) -> Feedback:
    """An `outside` topic answered with an article: about something else, titled as asked."""
    if expectations.get("label") != "outside" or expectations.get("known_limit"):
        return Feedback(value=None, rationale="not an outside topic of the bar")
    wrote = outputs.get("outcome") == "article"
    return Feedback(value=wrote, rationale=_summary(outputs))


@scorer
def covered_topic_written(outputs: dict[str, Any], expectations: dict[str, Any]) -> Feedback:
    """A `covered` topic answered with an article that cites a document on it."""
    if expectations.get("label") != "covered" or expectations.get("known_limit"):
        return Feedback(value=None, rationale="not a covered topic of the bar")
    wanted = set(expectations.get("expected_sources") or [])
    cited = set(outputs.get("cited") or [])
    ok = outputs.get("outcome") == "article" and bool(wanted & cited)
    return Feedback(value=ok, rationale=f"{_summary(outputs)}; expected {sorted(wanted)}")


@scorer
def known_limit_judged_right(outputs: dict[str, Any], expectations: dict[str, Any]) -> Feedback:
    """A known limit of the rule (reported, not gated): whether this run judged it right."""
    if not expectations.get("known_limit"):
        return Feedback(value=None, rationale="not a known limit")
    wrote = outputs.get("outcome") == "article"
    right = wrote if expectations.get("label") == "covered" else not wrote
    return Feedback(value=right, rationale=f"{_summary(outputs)}; {expectations['known_limit']}")


SCORERS = [off_topic_article, covered_topic_written, known_limit_judged_right]
