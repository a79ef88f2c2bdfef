"""Code scorers: what a reader, an editor and an operator check, computed without a model.

Each takes the parts of an evaluation row it needs (`inputs`, `outputs`, `expectations`,
`trace`) and returns MLflow `Feedback` with a rationale, so the UI says why a row failed.
`outputs` is what `evals.predict.write_article` returns: the article and its trace id.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS
from mlflow.entities import Feedback, Trace
from mlflow.genai.scorers import scorer

from agent import citations, readability
from agent.brief import LENGTH_TOLERANCE
from evals.settings import EvalSettings
from service.request import DEFAULTS

READING_EASE_BAND = (30.0, 90.0)  # from plain to fairly difficult prose; outside, rewrite
MIN_SECTIONS = 3
RESEARCH_TOOLS = ("search_sources", "read_source")
# A fact counts as stated when the article holds this share of its content words (stemmed)
# and every one of its numbers. On the golden set's articles, facts the prose states score 0.8
# or more; facts it only touches (same subject, other claims) score up to about 0.77.
FACT_STATED_SHARE = 0.8
# Numbers whole ("20,000", "1.27", "87.5"), words without their stopwords; "%" is "percent".
FACT_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")


def _article(outputs: dict[str, Any]) -> dict[str, Any]:
    return dict(outputs.get("article") or {})


def _unwritten(outputs: dict[str, Any]) -> Feedback | None:
    """For a row with no article: a verdict of none, so the row counts in `article_written`
    and stays out of the article scorers' means rather than failing each of them again."""
    if outputs.get("article"):
        return None
    return Feedback(value=None, rationale=f"no article ({outputs.get('outcome', 'unknown')})")


@scorer
def article_written(outputs: dict[str, Any]) -> Feedback:
    """Whether the run returned an article; if not, the code it ended with, and why."""
    if outputs.get("article"):
        return Feedback(value=True, rationale="an article was written")
    why = outputs.get("message") or outputs.get("outcome", "unknown")
    return Feedback(value=False, rationale=f"{outputs.get('outcome', 'unknown')}: {why}")


def retrieved_sources(trace: Trace) -> set[str]:
    """Source ids the run's research tools returned, read from the trace's TOOL spans."""
    found: set[str] = set()
    for span in trace.data.spans:
        if span.span_type == "TOOL" and span.name in RESEARCH_TOOLS:
            found |= set(_source_ids(span.outputs))
    return found


def _source_ids(outputs: Any) -> list[str]:
    # A ToolMessage as autolog stores it: its artifact holds the structured hits.
    if isinstance(outputs, dict):
        artifact = outputs.get("artifact")
        if isinstance(artifact, list):
            return [hit["source_id"] for hit in artifact if isinstance(hit, dict)]
        return [s for value in outputs.values() for s in _source_ids(value)]
    if isinstance(outputs, str):
        try:
            return _source_ids(json.loads(outputs))
        except ValueError:
            return []
    if isinstance(outputs, list):
        return [s for item in outputs for s in _source_ids(item)]
    return []


@scorer
def citation_validity(outputs: dict[str, Any], trace: Trace) -> Feedback:
    """Every [n] names a reference, and every reference is a source the run retrieved."""
    if skipped := _unwritten(outputs):
        return skipped
    article = _article(outputs)
    numbers = set(citations.cited(article.get("markdown", "")))
    references = {ref["n"]: ref["source_id"] for ref in article.get("references", [])}
    retrieved = retrieved_sources(trace)
    dangling = sorted(numbers - set(references))
    unretrieved = sorted({sid for sid in references.values() if sid not in retrieved})
    problems = []
    if dangling:
        problems.append(f"citations {dangling} name no reference")
    if unretrieved:
        problems.append(f"references {unretrieved} were never retrieved")
    if not numbers:
        problems.append("the article cites nothing")
    return Feedback(
        value=not problems,
        rationale="; ".join(problems) or f"{len(numbers)} citations, all to retrieved sources",
    )


@scorer
def citation_coverage(outputs: dict[str, Any]) -> Feedback:
    """The share of paragraphs that cite at least one source."""
    if skipped := _unwritten(outputs):
        return skipped
    report = citations.check(_article(outputs).get("markdown", ""), source_count=10**6)
    uncited = report.uncited_paragraphs
    return Feedback(
        value=report.coverage,
        rationale=f"uncited paragraphs: {uncited}" if uncited else "all cited",
    )


@scorer
def length_within_target(inputs: dict[str, Any], outputs: dict[str, Any]) -> Feedback:
    if skipped := _unwritten(outputs):
        return skipped
    target = int(inputs.get("target_words", DEFAULTS.target_words))
    words = int(_article(outputs).get("word_count", 0))
    off = abs(words - target) / target
    return Feedback(
        value=off <= LENGTH_TOLERANCE,
        rationale=f"{words} words for a target of {target} ({off:.0%} off)",
    )


@scorer
def structure(outputs: dict[str, Any]) -> Feedback:
    if skipped := _unwritten(outputs):
        return skipped
    article = _article(outputs)
    sections = len(article.get("sections", []))
    ok = bool(article.get("title")) and sections >= MIN_SECTIONS
    return Feedback(value=ok, rationale=f"title {article.get('title')!r}, {sections} sections")


@scorer
def readability_band(outputs: dict[str, Any]) -> Feedback:
    if skipped := _unwritten(outputs):
        return skipped
    measured = readability.measure(citations.plain_text(_article(outputs).get("markdown", "")))
    low, high = READING_EASE_BAND
    return Feedback(
        value=low <= measured.reading_ease <= high,
        rationale=f"Flesch reading ease {measured.reading_ease} "
        f"(band {low:g}-{high:g}), grade {measured.grade}",
    )


@scorer
def tool_call_efficiency(trace: Trace) -> Feedback:
    """No identical search twice, and research within its round bound.

    The bound is the MAX_RESEARCH_ROUNDS the evaluation runs with. `state.research_rounds`
    counts the research turns that asked for tools; the graph runs the tools of at most that
    many, so a count above the bound means research was cut off still asking for more.
    """
    bound = EvalSettings().max_research_rounds
    searches = [
        json.dumps(s.inputs, sort_keys=True)
        for s in trace.data.spans
        if s.span_type == "TOOL" and s.name == "search_sources"
    ]
    repeated = len(searches) - len(set(searches))
    rounds = max(
        (
            s.attributes.get("state.research_rounds", 0)
            for s in trace.data.spans
            if s.name == "research.state"
        ),
        default=0,
    )
    ok = repeated == 0 and len(searches) > 0 and rounds <= bound
    over = " (over the bound: cut off)" if rounds > bound else ""
    return Feedback(
        value=ok,
        rationale=f"{len(searches)} searches, {repeated} repeated, "
        f"{rounds} research rounds of at most {bound}{over}",
    )


@scorer
def expected_sources_used(outputs: dict[str, Any], expectations: dict[str, Any]) -> Feedback:
    """The share of the sources a good article on this topic should cite that it does cite."""
    if skipped := _unwritten(outputs):
        return skipped
    expected = set(expectations.get("expected_sources") or [])
    cited = {ref["source_id"] for ref in _article(outputs).get("references", [])}
    if not expected:
        return Feedback(value=1.0, rationale="no expected sources")
    return Feedback(
        value=round(len(expected & cited) / len(expected), 3),
        rationale=f"cited {sorted(expected & cited)} of {sorted(expected)}",
    )


def fact_terms(text: str) -> set[str]:
    """A text's content words, stemmed, and its numbers, for matching facts to articles."""
    tokens = FACT_TOKEN.findall(text.lower().replace("%", " percent "))
    words = [t for t in tokens if t.isalpha() and len(t) > 1 and t not in STOPWORDS_EN_PLUS]
    return set(_stemmer().stemWords(words)) | _numbers(tokens)


def _numbers(tokens: list[str]) -> set[str]:
    return {t.replace(",", "") for t in tokens if t[0].isdigit()}


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def fact_share(fact: str, article_terms: set[str]) -> float:
    """The share of a fact's content words and numbers that the article holds."""
    wanted = fact_terms(fact)
    return len(wanted & article_terms) / len(wanted) if wanted else 1.0


def fact_stated(fact: str, article_terms: set[str]) -> bool:
    numbers = _numbers(FACT_TOKEN.findall(fact.lower()))
    return numbers <= article_terms and fact_share(fact, article_terms) >= FACT_STATED_SHARE


@scorer
def expected_facts_stated(outputs: dict[str, Any], expectations: dict[str, Any]) -> Feedback:
    """The share of the case's expected facts the article states, read lexically.

    A fact is stated when the article's prose holds every number of the fact and at least
    FACT_STATED_SHARE of its content words. A lexical check: it misses a fact put in other
    words ("one in eight" for "12 percent"), where a judge model's `correctness` reads better,
    and never credits a fact whose figures the article does not give.
    """
    if skipped := _unwritten(outputs):
        return skipped
    facts = list(expectations.get("expected_facts") or [])
    if not facts:
        return Feedback(value=1.0, rationale="no expected facts")
    article = fact_terms(citations.plain_text(_article(outputs).get("markdown", "")))
    missing = [
        f"{fact!r} ({fact_share(fact, article):.0%} of its words)"
        for fact in facts
        if not fact_stated(fact, article)
    ]
    stated = len(facts) - len(missing)
    summary = f"{stated} of {len(facts)} expected facts stated"
    return Feedback(
        value=round(stated / len(facts), 3),
        rationale=f"{summary}; missing: {'; '.join(missing)}" if missing else summary,
    )


@scorer
def citation_support(outputs: dict[str, Any], trace: Trace) -> Feedback:
    """The share of the model's citations whose sentence its source supports: every specific
    word and number of the sentence is in the cited passages (agent.research.support). Finalize
    removes the others; this says how many the model wrote."""
    if skipped := _unwritten(outputs):
        return skipped
    kept = removed = 0
    for span in trace.data.spans:
        if span.name == "finalize.state":
            for event in span.events:
                if event.name == "citation_support":
                    kept += int(str(event.attributes.get("kept", 0)))
                    removed += int(str(event.attributes.get("removed", 0)))
    if not kept + removed:
        return Feedback(value=None, rationale="no citation_support event on the trace")
    return Feedback(
        value=round(kept / (kept + removed), 3),
        rationale=f"{kept} citations held, {removed} removed as unsupported",
    )


@scorer
def latency_seconds(trace: Trace) -> float:
    return round((trace.info.execution_duration or 0) / 1000, 3)


@scorer
def total_tokens(trace: Trace) -> int:
    return int((trace.info.token_usage or {}).get("total_tokens", 0))


CODE_SCORERS = [
    article_written,
    citation_validity,
    citation_coverage,
    length_within_target,
    structure,
    readability_band,
    tool_call_efficiency,
    expected_sources_used,
    expected_facts_stated,
    citation_support,
    latency_seconds,
    total_tokens,
]
