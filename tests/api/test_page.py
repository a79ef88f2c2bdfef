"""The web page at GET / (docs/page.md), in a real browser: Debian's Chromium, headless, driven
by Playwright against the API and a real MLflow server on loopback, on the offline model.

Each test asserts what a user sees, and saves a screenshot of each state under its tmp_path.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import mlflow
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    ProxySettings,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from agent.settings import BUNDLED_SOURCES
from api.security import keys
from service.failures import WriteFailed
from testbed.servers import Server, start_traced_api, wait_for_trace

CHROMIUM = shutil.which("chromium")
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT_MS = 60_000  # for a whole article on a busy machine
OFF_LIBRARY = "Medieval Japanese castle architecture"  # as tests/api/test_grounding.py
XSS = "<img src=x onerror=alert(1)>"
# A source about the XSS topic, so that its markup reaches the article, its title and its
# reference list, not only the error message of a topic the library lacks.
MARKUP_SOURCE = f"""# The {XSS} tag and <script>alert(2)</script>

The string {XSS} is the classic test of whether a page renders text as HTML: an img element
with src x fails to load, and its onerror handler calls alert(1). A page that shows {XSS} as
text is safe; a page that runs alert is not.

## How the img onerror alert works

An img element whose src is x points at no image, so the browser fires the error event, and the
onerror attribute runs alert(1) as script. The same happens with <svg onload=alert(3)> and with
<script>alert(2)</script> when markup is parsed. Writing **<b onmouseover=alert(4)>bold</b>**
into a page has the same effect on hover.

## Keeping img src onerror alert inert

Pages that display text from users or models set it with textContent, which never parses
markup, so {XSS} stays the literal text it is. A content security policy that allows no inline
script blocks onerror and alert handlers as a second line of defence.
"""


@pytest.fixture(scope="module")
def page_api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("api-page")
    sources = work / "sources"
    shutil.copytree(BUNDLED_SOURCES, sources)
    (sources / "markup.md").write_text(MARKUP_SOURCE)
    server = start_traced_api(
        work,
        mlflow_url,
        "tests-page",
        SOURCES_DIR=str(sources),
        # A few seconds an article: the text can be seen streaming, and a run be stopped.
        OFFLINE_TOKEN_DELAY_MS="2",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("no `chromium` on PATH: `apt-get install chromium` (make test installs it)")
    with sync_playwright() as playwright:
        # Every address but loopback goes to a closed port: the page must need nothing else.
        nowhere: ProxySettings = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"}
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, proxy=nowhere
        )
        yield launched
        launched.close()


@dataclass
class Seen:
    """A browser tab on the page, and what it did besides showing it."""

    page: Page
    shots: Path
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions, console errors
    requests: list[str] = field(default_factory=list)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=self.shots / f"{name}.png", full_page=True)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(self, message: ConsoleMessage) -> None:
        # Chromium logs each 4xx/5xx answer; the page's own errors are what count.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)


@pytest.fixture
def open_page(browser: Browser, tmp_path: Path) -> Iterator[Callable[..., Seen]]:
    """Opens the page in a fresh browser context (its own localStorage) at a viewport size;
    afterwards, checks that no dialog opened, no script failed and nothing left loopback."""
    opened: list[Seen] = []
    contexts = []

    def open_(viewport: ViewportSize = DESKTOP) -> Seen:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        seen = Seen(context.new_page(), tmp_path)
        seen.page.set_default_timeout(WAIT_MS)
        seen.page.on("dialog", seen.on_dialog)
        seen.page.on("console", seen.on_console)
        seen.page.on("pageerror", lambda error: seen.errors.append(str(error)))
        seen.page.on("request", lambda request: seen.requests.append(request.url))
        opened.append(seen)
        return seen

    yield open_
    for context in contexts:
        context.close()
    for seen in opened:
        assert seen.dialogs == [], "a dialog opened"
        assert seen.errors == [], "the page's script failed"
        # The page talks to the server it came from (one test's server has API keys).
        (page_host,) = {urlsplit(url).netloc for url in seen.requests[:1]}
        assert {urlsplit(url).netloc for url in seen.requests} == {page_host}
        assert urlsplit(seen.requests[0]).hostname == "127.0.0.1"


# Records the first moment the page showed a trace link, and a draft's text, with what else it
# showed then. A MutationObserver runs before the page handles its next event, so nothing is
# missed when events come faster than a test can look (a busy machine).
FIRST_SEEN = """() => {
  window.firstSeen = {};
  const $ = (id) => document.getElementById(id);
  const note = (name, seen) => {
    window.firstSeen[name] ??= {
      ...seen, finished: !$("result").hidden, stoppable: !$("stop").disabled,
      tokens: $("tokens").textContent, elapsed: $("elapsed").textContent,
      turn: $("turn").textContent,
    };
  };
  new MutationObserver(() => {
    const link = $("trace").querySelector("a");
    if (link) note("trace", {id: link.textContent, href: link.href});
    const text = $("stream").textContent;
    if (text.length > 200) note("text", {text});
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def start_writing(page: Page, topic: str, words: int = 300) -> None:
    page.fill("#topic", topic)
    page.fill("#target_words", str(words))
    page.get_by_role("button", name="Write article").click()


def trace_link_of(page: Page, panel: str) -> tuple[str, str]:
    """The trace id a panel shows, and the MLflow address it links to."""
    link = page.locator(f"{panel} a[href*='selectedEvaluationId']")
    expect(link).to_be_visible()
    return link.inner_text(), str(link.get_attribute("href"))


def about_of(page: Page) -> dict[str, str]:
    """The facts under "About this article", by name."""
    return dict(
        zip(
            page.locator("#about dt").all_inner_texts(),
            page.locator("#about dd").all_inner_texts(),
            strict=True,
        )
    )


def words_of(page: Page) -> int:
    return int(about_of(page)["Words"].replace(",", ""))


def steps_of(page: Page) -> list[str]:
    timeline = page.get_by_role("list", name="Steps and tool calls")
    return timeline.locator(":scope > li > .name").all_inner_texts()


def follow_up(page: Page, instruction: str) -> None:
    form = page.get_by_role("form", name="Change this article")
    form.get_by_label("What to change").fill(instruction)
    form.get_by_role("button", name="Send", exact=True).click()


def root_span(mlflow_url: str, trace_id: str) -> Any:
    trace = wait_for_trace(mlflow_url, trace_id)
    return trace, next(s for s in trace.data.spans if s.parent_id is None)


# --- writing, reading, rating -------------------------------------------------------------


PAGE_KEY = keys.new_key()


@pytest.fixture(scope="module")
def keyed_page_api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-page-keys"),
        mlflow_url,
        "tests-page-keys",
        API_KEYS=keys.entry("page-key", PAGE_KEY),
    )
    yield server
    server.stop()


def test_on_a_server_with_keys_the_page_asks_for_one_and_sends_it(
    open_page: Callable[..., Seen], keyed_page_api: Server, mlflow_url: str
) -> None:
    seen = open_page()
    page = seen.page
    page.goto(keyed_page_api.url)
    key = page.get_by_label("API key")
    expect(key).to_be_visible()  # the aliases answered 401: the form asks for a key
    expect(key).to_have_attribute("type", "password")
    seen.shot("1-key-asked")

    start_writing(page, "How honeybees pollinate crops")
    error = page.get_by_role("alert")
    expect(error).to_contain_text("The server needs a valid API key.")
    expect(error).to_contain_text("Authorization: Bearer")
    expect(key).to_be_focused()

    key.fill("awk_" + "x" * 43)
    key.press("Tab")  # a changed key is tried at once, on the aliases
    expect(page.locator("#api_key-error")).to_contain_text("mistyped or revoked")
    seen.shot("2-key-refused")
    key.fill(PAGE_KEY)
    key.press("Tab")
    expect(page.locator("#api_key-error")).to_be_hidden()
    expect(page.get_by_label("Prompt alias")).to_contain_text("production (default)")

    start_writing(page, "How honeybees pollinate crops")
    expect(page.locator("#article")).to_be_visible(timeout=WAIT_MS)
    seen.shot("3-written-with-key")
    trace_id, _ = trace_link_of(page, "#progress")
    stored, root = root_span(mlflow_url, trace_id)
    # No user named on the form: the key's name is the trace's user.
    assert stored.info.request_metadata["mlflow.trace.user"] == "page-key"
    assert root.inputs["key_name"] == "page-key"

    # The tab keeps the key (sessionStorage), the page never writes it where it would stay.
    page.reload()
    expect(page.get_by_label("API key")).to_have_value(PAGE_KEY)
    assert PAGE_KEY not in page.evaluate("() => JSON.stringify(localStorage)")


def test_an_article_is_seen_being_written_then_finished(
    open_page: Callable[..., Seen], page_api: Server, mlflow_url: str
) -> None:
    seen = open_page()
    page = seen.page
    page.goto(page_api.url)
    # The registry's aliases fill the form (the session syncs `production`).
    expect(page.get_by_label("Prompt alias")).to_contain_text("production (default)")
    seen.shot("1-form")
    page.evaluate(FIRST_SEEN)
    start_writing(page, "How honeybees pollinate crops")

    # At once, before any article: the trace id, linked to the MLflow UI.
    trace = page.wait_for_function("() => window.firstSeen.trace").json_value()
    assert re.fullmatch(r"tr-[0-9a-f]{32}", trace["id"]) and not trace["finished"]
    assert trace["href"].endswith(f"selectedEvaluationId={trace['id']}")

    # The draft's text while it is being written, with the tokens and time so far.
    streaming = page.wait_for_function("() => window.firstSeen.text").json_value()
    assert not streaming["finished"] and streaming["stoppable"]
    assert streaming["text"].startswith("# ")  # the Markdown, raw, as the model writes it
    assert re.match(r"[1-9][\d,]* \(", streaming["tokens"])
    assert float(streaming["elapsed"].removesuffix(" s")) > 0
    seen.shot("2-writing")

    article = page.locator("#article")
    expect(article).to_be_visible(timeout=WAIT_MS)
    seen.shot("3-finished")
    expect(page.get_by_role("status").first).to_contain_text("Article ready")

    # The timeline: every step, the tool calls, and what each step found or decided.
    timeline = page.get_by_role("list", name="Steps and tool calls")
    steps = steps_of(page)
    assert {"plan", "research", "research_tools", "coverage", "draft", "review"} <= set(steps)
    assert steps[0] == "plan" and steps[-1] == "finalize"
    tools = set(timeline.locator(".tools .name").all_inner_texts())
    assert {"search_sources", "read_source", "word_count", "check_citations"} <= tools
    summaries = timeline.locator(".summary").all_inner_texts()
    assert any(re.fullmatch(r"\d+ sources?", s) for s in summaries)
    assert any(re.fullmatch(r"[\d,]+ words", s) for s in summaries)
    assert any(re.match(r"decision: (finalize|revise) · \d+ issues?", s) for s in summaries)
    expect(timeline.locator(".running")).to_have_count(0)

    # The article, rendered, with its references and facts.
    title = article.get_by_role("heading", level=2)
    expect(title).to_have_count(1)
    assert "honeybee" in title.inner_text().lower()
    expect(article.locator("h3").first).to_be_visible()
    assert not re.search(r"^#|\*\*", article.inner_text(), re.MULTILINE)  # no raw Markdown
    cite = article.locator("a.cite").first
    expect(cite).to_have_attribute("href", re.compile(r"^#ref-\d+$"))
    references = page.locator("#references li")
    assert references.count() >= 2
    expect(references.first).to_contain_text("(your documents: ")  # SOURCES_DIR is a copy

    # The article to keep: its Markdown with the references, and a standalone HTML page.
    with page.expect_download() as saved:
        page.get_by_role("link", name="Download Markdown").click()
    kept = Path(saved.value.path()).read_text()
    assert kept.startswith("# ") and "\n## References\n\n1. " in kept and "[1]" in kept
    with page.expect_download() as saved:
        page.get_by_role("link", name="Download HTML").click()
    html = Path(saved.value.path()).read_text()
    assert html.startswith("<!doctype html>") and '<meta charset="utf-8">' in html
    assert title.inner_text() in html and "<script" not in html
    about = about_of(page)
    words = words_of(page)
    assert words > 100 and f"{about['Words']} words" in page.locator("#status").inner_text()
    assert re.fullmatch(r"[\d,]+ \([\d,]+ in, [\d,]+ out\)", about["Tokens"])
    assert about["Cost"] == "no price for this model"  # MLflow has none for the offline model
    assert "article-draft v1" in about["Prompts"]
    assert about["Prompts"].endswith("(alias production)")
    open_trace = page.get_by_role("link", name="Open trace in MLflow")
    expect(open_trace).to_have_attribute("href", trace["href"])
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()

    stored, root = root_span(mlflow_url, trace["id"])
    assert stored.info.state.value == "OK"
    assert root.inputs["topic"] == "How honeybees pollinate crops"


def test_a_rating_is_stored_on_the_trace(
    open_page: Callable[..., Seen], page_api: Server, mlflow_url: str
) -> None:
    seen = open_page(PHONE)
    page = seen.page
    page.goto(page_api.url)
    page.get_by_label("Your name (user id)").fill("page-rater")
    start_writing(page, "Wind power", words=150)
    expect(page.locator("#article")).to_be_visible(timeout=WAIT_MS)
    trace_id, _ = trace_link_of(page, "#progress")

    rating = page.get_by_role("form", name="Rate this article")
    rating.get_by_label("Thumbs up").check()
    rating.locator(".stars label").nth(3).click()  # the fourth star, as a reader taps it
    expect(rating.get_by_label("4 stars")).to_be_checked()
    rating.get_by_label("Comment (optional)").fill("Clear, and the sources check out.")
    seen.shot("1-rating")
    rating.get_by_role("button", name="Send rating").click()
    status = page.locator("#rating-status")
    expect(status).to_have_text(f"Stored on trace {trace_id}: thumbs up, 4 stars.")
    seen.shot("2-rated")

    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    deadline = time.monotonic() + 30
    while True:
        assessments = client.get_trace(trace_id).info.assessments or []
        found = {(a.name, a.source.source_id): a for a in assessments}
        if len(found) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    thumbs, stars = found[("thumbs", "page-rater")], found[("rating", "page-rater")]
    assert thumbs.value is True and stars.value == 4
    assert thumbs.rationale == stars.rationale == "Clear, and the sources check out."
    assert str(stars.source.source_type) == "HUMAN"

    # The name is remembered for the next visit.
    page.reload()
    expect(page.get_by_label("Your name (user id)")).to_have_value("page-rater")


def test_markup_in_the_topic_and_the_sources_stays_text(
    open_page: Callable[..., Seen], page_api: Server
) -> None:
    seen = open_page()
    page = seen.page
    answer = page.goto(page_api.url)
    assert answer is not None
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    start_writing(page, XSS)
    article = page.locator("#article")
    expect(article).to_be_visible(timeout=WAIT_MS)
    article.hover()  # would fire an onmouseover handler, had one been made
    seen.shot("1-article")

    # The only elements are the page's own: nothing the model or a source wrote became one.
    made = page.locator("main").locator("img, script, svg, b, iframe, [onerror], [onload]")
    expect(made).to_have_count(0)
    # The article itself carries no markup: finalize dropped it, and the notes say so.
    expect(article).to_contain_text("stays the literal text it is")
    for shown in (article, page.locator("#references")):
        expect(shown).not_to_contain_text("<img")
        expect(shown).not_to_contain_text("<script")
        expect(shown).not_to_contain_text("onmouseover")
    expect(page.locator("#notes-list")).to_contain_text("HTML markup were removed")
    queries = page.locator("#timeline .tools .args").all_inner_texts()
    assert any(json.dumps(XSS) in args for args in queries), queries
    assert seen.dialogs == []


def test_stop_ends_the_run_and_its_trace_is_marked_cancelled(
    open_page: Callable[..., Seen], page_api: Server, mlflow_url: str
) -> None:
    seen = open_page(PHONE)
    page = seen.page
    page.goto(page_api.url)
    start_writing(page, "Coral reefs", words=900)
    expect(page.locator("#stream")).not_to_be_empty()  # writing has begun
    page.get_by_role("button", name="Stop").click()

    error = page.get_by_role("alert")
    expect(error).to_contain_text("Stopped.")
    expect(error).to_contain_text("marked cancelled")
    trace_id, _ = trace_link_of(page, "#error")
    expect(page.locator("#result")).to_be_hidden()
    stopped = page.locator("#timeline > li.stopped")  # the step it was in
    expect(stopped.locator(".name")).to_have_text(["draft"])
    expect(stopped.locator(".badge")).to_have_text(["stopped"])
    expect(page.locator("#live-heading")).to_have_text("Draft, as far as it got")
    expect(page.locator("#stream")).to_contain_text("# Coral")
    expect(page.get_by_role("button", name="Write article")).to_be_enabled()
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    seen.shot("1-stopped")

    trace, root = root_span(mlflow_url, trace_id)
    assert trace.info.state.value == "ERROR"
    assert trace.info.tags["outcome"] == "cancelled"
    assert root.attributes["cancelled"] is True
    assert "finalize" not in {s.name for s in trace.data.spans}


# --- follow-ups ---------------------------------------------------------------------------


def test_a_follow_up_revises_the_article_in_a_new_turn_of_its_session(
    open_page: Callable[..., Seen], page_api: Server, mlflow_url: str
) -> None:
    seen = open_page()
    page = seen.page
    page.goto(page_api.url)
    page.get_by_label("Your name (user id)").fill("page-reviser")
    start_writing(page, "How honeybees pollinate crops")
    expect(page.locator("#article")).to_be_visible(timeout=WAIT_MS)
    first_trace, _ = trace_link_of(page, "#progress")
    turn = page.locator("#turn")
    expect(turn).to_have_text(re.compile(r"^Turn 1 of session s-[0-9a-f]+$"))
    session_id = turn.locator("code").inner_text()
    title = page.locator("#article h2").inner_text()
    words = words_of(page)
    form = page.get_by_role("form", name="Change this article")
    expect(form.get_by_label("What to change")).to_have_attribute("placeholder", "make it shorter")
    seen.shot("1-written")

    page.evaluate(FIRST_SEEN)
    follow_up(page, "make it shorter")
    # The run shows as a write's does: its own trace at once, then the revision streaming in,
    # with the article it changes still on the page.
    trace = page.wait_for_function("() => window.firstSeen.trace").json_value()
    assert re.fullmatch(r"tr-[0-9a-f]{32}", trace["id"]) and trace["id"] != first_trace
    assert trace["turn"] == f"Turn 1 of session {session_id}" and trace["stoppable"]
    streaming = page.wait_for_function("() => window.firstSeen.text").json_value()
    assert streaming["text"].startswith("# ") and streaming["stoppable"]
    assert streaming["turn"] == f"Turn 1 of session {session_id}"
    assert re.match(r"[1-9][\d,]* \(", streaming["tokens"])
    seen.shot("2-revising")

    expect(turn).to_have_text(f"Turn 2 of session {session_id}", timeout=WAIT_MS)
    expect(page.locator("#live")).to_be_hidden()
    seen.shot("3-revised")
    expect(page.locator("#status")).to_contain_text("Revised article ready (turn 2)")
    steps = steps_of(page)
    assert steps[0] == "amend" and "revise" in steps and steps[-1] == "finalize", steps
    assert {"plan", "research", "draft"}.isdisjoint(steps)  # it goes on from the article
    amend = page.locator("#timeline > li").first
    expect(amend.locator(".summary")).to_contain_text("change: shorten")
    expect(page.locator("#timeline .running")).to_have_count(0)
    assert words_of(page) < words
    assert page.locator("#article h2").inner_text() == title
    assert page.locator("#references li").count() >= 2
    trace_id, href = trace_link_of(page, "#progress")
    assert trace_id == trace["id"] and about_of(page)["Trace"] == trace_id
    expect(page.get_by_role("link", name="Open trace in MLflow")).to_have_attribute("href", href)
    expect(form.get_by_label("What to change")).to_have_value("")  # ready for the next change

    # The revised article is rated on its own trace.
    rating = page.get_by_role("form", name="Rate this article")
    rating.get_by_label("Thumbs up").check()
    rating.get_by_role("button", name="Send rating").click()
    expect(page.locator("#rating-status")).to_have_text(f"Stored on trace {trace_id}: thumbs up.")
    page.set_viewport_size(PHONE)
    seen.shot("4-revised-phone")

    # In MLflow, turn 2 is a trace of the session, previewed by the reader's instruction.
    stored = wait_for_trace(mlflow_url, trace_id)
    assert stored.info.state.value == "OK"
    found = mlflow.MlflowClient(mlflow_url).search_traces(
        locations=[stored.info.experiment_id],
        filter_string=f"metadata.`mlflow.trace.session` = '{session_id}'",
        order_by=["timestamp_ms ASC"],
    )
    assert [t.info.trace_id for t in found] == [first_trace, trace_id]
    second = found[1].info
    assert second.trace_metadata["mlflow.trace.session"] == session_id
    assert second.trace_metadata["session.turn"] == "2"
    assert second.request_preview == "make it shorter"


def test_a_follow_up_the_app_cannot_make_leaves_the_article_as_it_was(
    open_page: Callable[..., Seen], page_api: Server
) -> None:
    seen = open_page(PHONE)
    page = seen.page
    page.goto(page_api.url)
    start_writing(page, "Wind power", words=150)  # by no one: the session has no owner
    article = page.locator("#article")
    expect(article).to_be_visible(timeout=WAIT_MS)
    title = article.get_by_role("heading", level=2).inner_text()
    text = article.inner_text()
    # A name typed after the article was written: the follow-up still goes as the session's
    # owner (none), or the server would not know the session.
    page.get_by_label("Your name (user id)").fill("page-latecomer")
    follow_up(page, "write me a poem")

    error = page.get_by_role("alert")
    expect(error).to_contain_text("This change cannot be made.")
    expect(error).to_contain_text("The instruction asks for none of the changes this app can make")
    expect(error).to_contain_text("The article below is unchanged: turn 1.")
    trace_link_of(page, "#error")
    expect(page.locator("#timeline > li > .name")).to_have_text(["amend"])
    expect(article).to_be_visible()
    expect(article.get_by_role("heading", level=2)).to_have_text(title)
    assert article.inner_text() == text
    expect(page.locator("#turn")).to_have_text(re.compile(r"^Turn 1 of session s-"))
    instruction = page.get_by_label("What to change")
    expect(instruction).to_have_value("write me a poem")  # there to be rephrased
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    seen.shot("1-unrevisable-phone")
    page.set_viewport_size(DESKTOP)
    seen.shot("2-unrevisable")

    # Refused before any run (past the browser's own check): marked on the field, the article
    # still there.
    instruction.evaluate("input => { input.removeAttribute('minlength'); }")
    follow_up(page, "ab")
    note = page.locator("#instruction-error")
    expect(note).to_contain_text("at least 3 characters")
    expect(instruction).to_have_attribute("aria-invalid", "")
    expect(instruction).to_be_focused()
    expect(error).to_contain_text("Check the form.")
    expect(error).to_contain_text("The article below is unchanged: turn 1.")
    expect(article.get_by_role("heading", level=2)).to_have_text(title)
    seen.shot("3-refused")


# --- outline approval ---------------------------------------------------------------------


def events_of(stream: str) -> list[tuple[str, dict[str, Any]]]:
    """A finished event stream's events, as (name, data)."""
    found = []
    for block in re.split(r"\r?\n\r?\n", stream):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), "message")
        data = [line[5:].strip() for line in lines if line.startswith("data:")]
        if data:
            found.append((name, json.loads("\n".join(data))))
    return found


def write_for_approval(page: Page, topic: str, words: int = 300) -> dict[str, Any]:
    """Writes with "Let me approve the outline first" ticked; the stream's `interrupt` data."""
    page.get_by_label("Let me approve the outline first").check()
    # The test reads the stream on its way to the page: Chromium does not keep the body of a
    # response the page consumed as a stream (Response.text() fails under load). The page gets
    # the same bytes, at once; the first test here watches a stream arrive as it is written.
    seen: list[str] = []

    def through(route: Route) -> None:
        answer = route.fetch(timeout=120_000)
        seen.append(answer.text())
        route.fulfill(response=answer)

    page.route("**/write", through)
    try:
        start_writing(page, topic, words)
        expect(page.get_by_role("form", name="Approve the outline")).to_be_visible(timeout=120_000)
    finally:
        page.unroute("**/write", through)
    events = events_of(seen[0])
    assert events[-1][0] == "interrupt", [name for name, _ in events]
    return events[-1][1]


def test_an_edited_outline_is_approved_and_written_in_turn_2(
    open_page: Callable[..., Seen], page_api: Server, mlflow_url: str
) -> None:
    seen = open_page()
    page = seen.page
    page.goto(page_api.url)
    page.get_by_label("Your name (user id)").fill("page-outliner")
    waiting = write_for_approval(page, "How honeybees pollinate crops")
    outline, session_id = waiting["outline"], waiting["session_id"]

    # The run stops after its plan: the outline, to edit, and no article.
    form = page.get_by_role("form", name="Approve the outline")
    expect(form).to_be_visible()
    expect(page.get_by_role("heading", name="Approve the outline")).to_be_focused()
    expect(page.locator("#status")).to_contain_text("Outline ready")
    expect(form.get_by_label("Title")).to_have_value(outline["title"])
    sections = form.locator("#outline-sections > li")
    expect(sections).to_have_count(len(outline["sections"]))
    for n, section in enumerate(outline["sections"], 1):
        group = form.get_by_role("group", name=f"Section {n}", exact=True)
        expect(group.get_by_label("Heading")).to_have_value(section["heading"])
        expect(group.get_by_label("Question")).to_have_value(section["question"])
    for n, question in enumerate(outline["research_questions"], 1):
        expect(form.get_by_label(f"Research question {n}", exact=True)).to_have_value(question)
    expect(form.locator("time")).to_have_attribute("datetime", waiting["expires_at"])
    assert steps_of(page) == ["plan"]
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#live")).to_be_hidden()
    paused_trace, _ = trace_link_of(page, "#progress")
    assert paused_trace == waiting["trace_id"] and waiting["turn"] == 1
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    seen.shot("1-outline")
    page.set_viewport_size(PHONE)
    seen.shot("2-outline-phone")
    page.set_viewport_size(DESKTOP)

    # A new title, and the last section removed. (The coverage gate may drop more of them, for
    # want of sources: the article's sections are some of those kept.)
    count = len(outline["sections"])
    assert count >= 3, outline
    title = "Honeybees, and the crops that need them"
    form.get_by_label("Title").fill(title)
    form.get_by_role("button", name=f"Remove section {count}").click()
    expect(sections).to_have_count(count - 1)
    kept, removed = outline["sections"][:-1], outline["sections"][-1]["heading"]
    seen.shot("3-edited")
    with page.expect_request("**/sessions/*/outline") as sent:
        form.get_by_role("button", name="Approve", exact=True).click()
    edited = {**outline, "title": title, "sections": kept}
    assert sent.value.post_data_json == {"outline": edited, "user_id": "page-outliner"}

    # The approval runs as a write does, from research on, in the next turn.
    turn = page.locator("#turn")
    expect(turn).to_have_text(f"Turn 2 of session {session_id}", timeout=WAIT_MS)
    expect(form).to_be_hidden()
    expect(page.locator("#status")).to_contain_text("Article ready (turn 2)")
    article = page.locator("#article")
    expect(article.get_by_role("heading", level=2)).to_have_text(title)
    headings = article.locator("h3").all_inner_texts()
    assert headings and set(headings) <= {s["heading"] for s in kept}, headings
    assert removed not in headings
    steps = steps_of(page)
    assert steps[0] == "research" and steps[-1] == "finalize" and "plan" not in steps, steps
    expect(page.locator("#timeline .running")).to_have_count(0)
    trace_id, _ = trace_link_of(page, "#progress")
    assert trace_id != paused_trace and about_of(page)["Trace"] == trace_id
    expect(page.get_by_role("form", name="Change this article")).to_be_visible()
    expect(page.get_by_role("form", name="Rate this article")).to_be_visible()
    seen.shot("4-approved")

    # In MLflow, turn 2 is the session's second trace, and names the paused one.
    stored = wait_for_trace(mlflow_url, trace_id)
    found = mlflow.MlflowClient(mlflow_url).search_traces(
        locations=[stored.info.experiment_id],
        filter_string=f"metadata.`mlflow.trace.session` = '{session_id}'",
        order_by=["timestamp_ms ASC"],
    )
    assert [t.info.trace_id for t in found] == [paused_trace, trace_id]
    second = found[1].info
    assert second.state.value == "OK"
    assert second.trace_metadata["session.continues"] == paused_trace
    assert second.trace_metadata["session.turn"] == "2"


def test_an_outline_the_server_refuses_stays_to_be_corrected(
    open_page: Callable[..., Seen], page_api: Server
) -> None:
    seen = open_page(PHONE)
    page = seen.page
    page.goto(page_api.url)
    write_for_approval(page, "Wind power", words=150)
    form = page.get_by_role("form", name="Approve the outline")
    sections = form.locator("#outline-sections > li")
    removes = form.get_by_role("button", name=re.compile(r"^Remove section \d$"))
    while (count := sections.count()) > 2:
        form.get_by_role("button", name=f"Remove section {count}").click()
        expect(sections).to_have_count(count - 1)
    # Two sections are the least: they cannot be removed, one can be added.
    for n in range(2):
        expect(removes.nth(n)).to_be_disabled()
    expect(form.get_by_role("button", name="Add section")).to_be_enabled()

    # Past the page's own limit, to what the API says.
    last = form.get_by_role("button", name="Remove section 2")
    last.evaluate("button => { button.disabled = false; }")
    last.click()
    expect(sections).to_have_count(1)
    form.get_by_role("button", name="Approve", exact=True).click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("Check the outline.")
    expect(error).to_contain_text("outline.sections: List should have at least 2 items")
    expect(error).to_contain_text("The outline below is kept: correct it and approve it again.")
    note = form.locator("#outline-sections-error")
    expect(note).to_contain_text("at least 2 items")
    first = form.get_by_role("group", name="Section 1", exact=True).get_by_label("Heading")
    expect(first).to_be_focused()
    expect(form).to_be_visible()
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#trace")).to_have_text("waiting…")  # refused before any run
    seen.shot("1-refused-phone")

    # Corrected: a section added; left blank, the page itself asks for it.
    form.get_by_role("button", name="Add section").click()
    added = form.get_by_role("group", name="Section 2", exact=True)
    expect(added.get_by_label("Heading")).to_be_focused()
    form.get_by_role("button", name="Approve", exact=True).click()
    expect(added.get_by_label("Heading")).to_have_js_property(
        "validationMessage", "Fill this in, or remove it."
    )
    expect(error).to_contain_text("Check the outline.")  # nothing was sent
    added.get_by_label("Heading").fill("Wind farms at sea")
    added.get_by_label("Question").fill("Why build wind farms offshore?")
    form.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#turn")).to_have_text(
        re.compile(r"^Turn 2 of session s-"), timeout=WAIT_MS
    )
    expect(error).to_be_hidden()
    expect(form).to_be_hidden()
    expect(note).to_be_hidden()
    seen.shot("2-corrected-phone")


MARKUP_OUTLINE = {
    "title": XSS,
    "sections": [
        {"heading": "<script>alert(2)</script>", "question": '"><svg onload=alert(3)>'},
        {"heading": "Plain heading", "question": "<b onmouseover=alert(4)>bold</b>?"},
    ],
    "research_questions": ["<iframe src=x>"],
}


@pytest.mark.parametrize(
    ("status", "code", "headline"),
    [
        (410, "outline_expired", "This outline has expired."),
        (409, "no_outline", "This outline can no longer be approved."),
    ],
)
def test_an_outline_the_server_no_longer_has_says_to_write_again(
    open_page: Callable[..., Seen], page_api: Server, status: int, code: str, headline: str
) -> None:
    """Answered by Playwright in place of the server: a plan full of markup, then the API's
    own refusal of its approval."""
    waiting = {
        **STARTED,
        "status": "awaiting_outline",
        "outline": MARKUP_OUTLINE,
        "expires_at": "2030-01-02T12:00:00+00:00",
    }
    plan_events = [("node", {"node": "plan", "status": s}) for s in ("start", "end")]
    paused = sse(("trace", STARTED), *plan_events, ("interrupt", waiting))
    sent: list[Any] = []

    def refuse(route: Route) -> None:
        sent.append(route.request.post_data_json)
        body = {"error": code, "message": WriteFailed.MESSAGES[code], "request_id": "r-2"}
        route.fulfill(status=status, json={**body, "trace_id": None})

    seen = open_page()
    page = seen.page
    page.route(
        "**/write", lambda route: route.fulfill(body=paused, content_type="text/event-stream")
    )
    page.route("**/sessions/s-1/outline", refuse)
    page.goto(page_api.url)
    page.get_by_label("Let me approve the outline first").check()
    start_writing(page, "Honeybees")
    form = page.get_by_role("form", name="Approve the outline")
    expect(form.get_by_label("Title")).to_have_value(XSS)
    first = form.get_by_role("group", name="Section 1", exact=True)
    expect(first.get_by_label("Heading")).to_have_value("<script>alert(2)</script>")
    expect(first.get_by_label("Question")).to_have_value('"><svg onload=alert(3)>')
    expect(form.get_by_label("Research question 1")).to_have_value("<iframe src=x>")
    made = page.locator("main").locator("img, script, svg, b, iframe, [onerror], [onload]")
    expect(made).to_have_count(0)
    expect(form.locator("time")).to_contain_text("2030")  # not today: with its date

    form.get_by_role("button", name="Approve", exact=True).click()  # as it is
    error = page.get_by_role("alert")
    expect(error).to_contain_text(headline)
    expect(error).to_contain_text("Write the article again with the form")
    expect(error).to_contain_text("it can no longer be approved")
    assert sent == [{"approve": True}]
    expect(form).to_be_visible()
    expect(form.get_by_label("Title")).to_have_value(XSS)
    expect(form.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    expect(form.locator("#outline-expires")).to_have_text(
        "It can no longer be approved: write the article again."
    )
    expect(page.get_by_role("button", name="Write article")).to_be_enabled()
    seen.shot(f"1-{code}")


# --- failures -----------------------------------------------------------------------------


def test_a_topic_the_library_lacks_says_so_with_the_trace(
    open_page: Callable[..., Seen], page_api: Server
) -> None:
    seen = open_page(PHONE)
    page = seen.page
    page.goto(page_api.url)
    start_writing(page, OFF_LIBRARY)
    error = page.get_by_role("alert")
    expect(error).to_contain_text("No sources on this topic.")
    expect(error).to_contain_text(f"covers “{OFF_LIBRARY}”, so no article was written")
    expect(error).to_contain_text("The closest documents the library holds:")
    expect(error.locator("li").first).to_be_visible()
    trace_link_of(page, "#error")
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#live")).to_be_hidden()
    seen.shot("1-no-sources")


def test_a_refused_field_is_marked_with_the_servers_message(
    open_page: Callable[..., Seen], page_api: Server
) -> None:
    seen = open_page()
    page = seen.page
    page.goto(page_api.url)
    topic = page.get_by_label("Topic")
    # Past the browser's own checks, to what the API says.
    topic.evaluate("input => { input.removeAttribute('minlength'); input.required = false; }")
    start_writing(page, "ab")
    note = page.locator("#topic-error")
    expect(note).to_be_visible()
    expect(note).to_contain_text("at least 3 characters")
    expect(topic).to_have_attribute("aria-invalid", "")
    expect(topic).to_be_focused()
    expect(page.get_by_role("alert")).to_contain_text("Check the form.")
    expect(page.locator("#trace")).to_have_text("waiting…")  # no run, so no trace
    seen.shot("1-invalid")

    start_writing(page, "Honeybees", words=150)  # fixed: the mark goes
    expect(note).to_be_hidden()
    expect(topic).not_to_have_attribute("aria-invalid", "")
    expect(page.locator("#article")).to_be_visible(timeout=WAIT_MS)


def sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(
        f"id: {n}\nevent: {kind}\ndata: {json.dumps(data)}\n\n"
        for n, (kind, data) in enumerate(events, 1)
    )


TRACE_ID = "tr-" + "7" * 32
TRACE_URL = f"http://127.0.0.1:5000/#/experiments/1/traces?selectedEvaluationId={TRACE_ID}"
STARTED = {
    "trace_id": TRACE_ID,
    "trace_url": TRACE_URL,
    "request_id": "r-1",
    "session_id": "s-1",
    "turn": 1,
}


@pytest.mark.parametrize(
    ("code", "headline"),
    [
        ("busy", "The server is busy."),
        ("timeout", "The article took too long."),
        ("provider_error", "The model provider failed."),
    ],
)
def test_server_failures_read_as_sentences(
    open_page: Callable[..., Seen], page_api: Server, code: str, headline: str
) -> None:
    """Failures hard to cause on the offline model, answered as the API does: `busy` as JSON
    before any event, the others as the stream's last event, after its `trace` event."""
    message = WriteFailed.MESSAGES[code]

    def answer(route: Route) -> None:
        if code == "busy":
            body = {"error": code, "message": message, "trace_id": None, "request_id": "r-1"}
            route.fulfill(status=503, json=body, headers={"Retry-After": "5"})
        else:
            events = sse(("trace", STARTED), ("error", {"code": code, "message": message}))
            route.fulfill(status=200, body=events, content_type="text/event-stream")

    seen = open_page()
    page = seen.page
    page.route("**/write", answer)
    page.goto(page_api.url)
    start_writing(page, "Honeybees")
    error = page.get_by_role("alert")
    expect(error).to_contain_text(f"{headline} {message}")
    if code == "busy":
        expect(error).to_contain_text("Try again in 5 seconds.")
        expect(error.locator("a")).to_have_count(0)
    else:
        expect(error.locator("a")).to_have_attribute("href", TRACE_URL)
    expect(page.get_by_role("button", name="Write article")).to_be_enabled()
    seen.shot(f"1-{code}")
