"""A real, tiny, imperfect model writes through the real HTTP API.

SmolLM2-135M cannot be relied on to write a good article, so each topic passes with either an
article that keeps the grounding rules, or a clearly coded error a user can act on. It fails on
a hang, a 500, a misleading message, or an answer after the request's own time bound.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from service.failures import WriteFailed
from testbed.servers import wait_for_trace
from tests.real_model.report import Report, Run, summarize_model_log, summarize_trace

if TYPE_CHECKING:
    from tests.real_model.conftest import RealApi

pytestmark = pytest.mark.real_model

# The honest failures a weak model may cause, by HTTP status.
ALLOWED_ERRORS = {
    (422, "no_sources"),
    (422, "context_too_small"),
    (502, "model_error"),
    (502, "provider_rejected"),
    (502, "provider_error"),
    (504, "timeout"),
}
GENERIC_MESSAGES = {
    WriteFailed.MESSAGES["internal_error"],
    "The server failed to answer. Try again later.",  # api/errors.py's unhandled-error reply
}
# The OpenAI client's wording of a provider's error ("Error code: 400 - …"): the server's to log,
# not the user's to read (api/errors.py: internal error text never leaves the server).
PROVIDER_TEXT = re.compile(r"Error code: \d{3}\b")
CITATION = re.compile(r"\[(\d+)\]")
LINK = re.compile(r"https?://|www\.", re.I)
REFERENCE_HEADING = re.compile(r"^#{1,6}\s*(references|sources|bibliography)\b", re.I | re.M)
TARGET_WORDS = 200
# The answer may arrive this long after REQUEST_TIMEOUT_SECONDS (the run is cancelled at the
# bound, then its trace is closed); the client waits longer than that, to tell late from hung.
GRACE_S = 15
CLIENT_SLACK_S = 30


@dataclass(frozen=True)
class Topic:
    text: str
    library_doc: str | None  # the bundled document that covers it; None: none does


TOPICS = (
    Topic("Medieval Japanese castle architecture", None),
    Topic("Wind power", "wind-power"),
    Topic("Vaccines and immunity", "vaccines-and-immunity"),
)


@pytest.fixture(scope="module")
def library() -> SourceLibrary:
    return SourceLibrary(BUNDLED_SOURCES)


def test_topics_are_where_they_are_said_to_be(library: SourceLibrary) -> None:
    for topic in TOPICS:
        if topic.library_doc:
            assert library.get(topic.library_doc), topic


# Setup (llama-server and the API, once) + the client's wait + the trace's export.
@pytest.mark.timeout(780)
@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t.text)
def test_an_article_or_a_clear_error(
    topic: Topic, real_api: RealApi, mlflow_url: str, run_report: Report, library: SourceLibrary
) -> None:
    bound_s = float(real_api.settings["REQUEST_TIMEOUT_SECONDS"])
    run = Run(topic.text, in_library=topic.library_doc is not None)
    run_report.runs.append(run)
    model_log, api_log = _Tail(real_api.model.log), _Tail(real_api.log)

    started = time.monotonic()
    try:
        answer = httpx.post(
            f"{real_api.url}/write",
            json={"topic": topic.text, "target_words": TARGET_WORDS},
            timeout=bound_s + CLIENT_SLACK_S,
        )
    except httpx.TimeoutException:
        run.code = "client_timeout"
        run.problems.append(f"no answer in {bound_s + CLIENT_SLACK_S:.0f} s: the request hung")
    finally:
        run.wall_s = round(time.monotonic() - started, 1)
        run.model_calls = summarize_model_log(model_log.new())
        # The server's own account of a failure (its log has the exception the client never sees).
        run.api_log = [line for line in api_log.new().splitlines() if not line.startswith("INFO:")]
    if run.code == "client_timeout":
        pytest.fail(run.problems[0])

    run.status = answer.status_code
    body = _json(answer, run)
    if body is not None:
        run.trace_id = body.get("trace_id")
        run.code = "ok" if answer.status_code == 200 else body.get("error")
        run.message = body.get("message")
        _check_answer(topic, answer, body, run, library)
        _record_trace(mlflow_url, run)
    if run.wall_s > bound_s + GRACE_S:
        run.problems.append(f"answered after {run.wall_s:.0f} s, past its bound of {bound_s:.0f}")
    assert not run.problems, "\n".join(run.problems)


class _Tail:
    """What a log file gains from now on."""

    def __init__(self, path: Path) -> None:
        self.path, self.start = path, path.stat().st_size

    def new(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.start)
            return log.read().decode(errors="replace")


def _json(answer: httpx.Response, run: Run) -> dict[str, Any] | None:
    if answer.status_code == 500:
        run.problems.append(f"500: {answer.text[:300]}")
    try:
        body = answer.json()
    except ValueError:
        run.problems.append(f"{answer.status_code} answer is not JSON: {answer.text[:300]!r}")
        return None
    if not isinstance(body, dict):
        run.problems.append(f"answer is JSON but not an object: {body!r:.300}")
        return None
    return body


def _check_answer(
    topic: Topic, answer: httpx.Response, body: dict[str, Any], run: Run, library: SourceLibrary
) -> None:
    problems = run.problems
    if not body.get("trace_id"):
        problems.append(f"{answer.status_code} answer has no trace_id: {body}")
    elif answer.headers.get("X-Trace-Id") != body["trace_id"]:
        problems.append("X-Trace-Id header differs from the body's trace_id")

    if topic.library_doc is None and answer.status_code == 200:
        problems.append("an article on a topic the library does not cover (expected no_sources)")
    if answer.status_code == 200:
        _check_grounding(body["article"], run, library)
        return

    code, message = body.get("error"), body.get("message") or ""
    if (answer.status_code, code) not in ALLOWED_ERRORS:
        problems.append(f"unexpected status/code {answer.status_code} {code}: {message[:300]}")
    if not message or message in GENERIC_MESSAGES:
        problems.append(f"{code}: the message says nothing the user can act on: {message!r}")
    if PROVIDER_TEXT.search(message):
        problems.append(f"{code}: the provider's raw error reached the client: {message!r}")
    if code == "provider_rejected" and "try again later" in message.lower():
        problems.append("provider_rejected (retrying will not help) says to try again later")
    if topic.library_doc is None:
        if (answer.status_code, code) != (422, "no_sources"):
            problems.append(f"off-library topic got {answer.status_code} {code}, not no_sources")
        elif topic.text.lower() not in message.lower():
            problems.append(f"no_sources message does not name the topic: {message!r}")
    elif code == "no_sources" and "The model that grades sources judged" not in message:
        # The library holds a document on exactly this topic: saying it has none misleads,
        # unless the answer says that the model grading the sources refused them.
        problems.append(f"no_sources for a topic {topic.library_doc}.md covers: {message!r}")


def _check_grounding(article: dict[str, Any], run: Run, library: SourceLibrary) -> None:
    markdown: str = article["markdown"]
    references: list[dict[str, Any]] = article["references"]
    cited = [int(n) for n in CITATION.findall(markdown)]
    run.article = {
        "title": article.get("title"),
        "words": article.get("word_count"),
        "citations": len(cited),
        "references": [r["source_id"] for r in references],
        "notes": article.get("notes", []),
        "markdown": markdown,
    }
    problems = run.problems
    if not cited:
        problems.append("the article cites nothing")
    if wrong := sorted({n for n in cited if not 1 <= n <= len(references)}):
        problems.append(f"citations {wrong} name no reference (there are {len(references)})")
    if unknown := [r["source_id"] for r in references if library.get(r["source_id"]) is None]:
        problems.append(f"references to documents the library does not hold: {unknown}")
    if links := LINK.findall(markdown):
        problems.append(f"the article holds links: {links}")
    if headings := REFERENCE_HEADING.findall(markdown):
        problems.append(f"the article has its own reference section(s): {headings}")


def _record_trace(mlflow_url: str, run: Run) -> None:
    if not run.trace_id:
        return
    try:
        # The API exports traces in the background: wait until the whole trace is stored.
        trace = wait_for_trace(mlflow_url, run.trace_id, timeout_s=120)
    except Exception as exc:
        run.problems.append(f"trace {run.trace_id} not stored: {exc!r:.300}")
        return
    run.trace = summarize_trace(trace)
