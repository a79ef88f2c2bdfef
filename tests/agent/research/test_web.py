"""The web as a source, against a loopback server that speaks Wikipedia's and Tavily's APIs:
pages found and cited by URL, providers that fail reported and not raised, and requests that
never go where they should not."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agent.research import web
from cli.settings import Settings
from testbed.webserver import FakeWeb, fake_web


@pytest.fixture(scope="module")
def site() -> Iterator[FakeWeb]:
    with fake_web() as server:
        yield server


@pytest.fixture(autouse=True)
def healthy(site: FakeWeb) -> None:
    site.mode = "ok"
    site.tavily_results = ["lens-grinding"]


def config(site: FakeWeb, *providers: str, **changes: object) -> web.WebConfig:
    settings = Settings(_env_file=None, **{**site.settings(*providers), **changes})  # type: ignore[arg-type]
    made = settings.web
    assert made is not None
    return made


async def test_wikipedia_pages_become_documents_cited_by_their_url(site: FakeWeb) -> None:
    found = await web.search(config(site, "wikipedia"), "history of the telescope")
    by_title = {d.title: d for d in found.documents}
    assert set(by_title) == {"Telescope", "History of the telescope"}
    telescope = by_title["Telescope"]
    assert telescope.id == f"127.0.0.1:{site.port}/wiki/Telescope"
    assert [p.section for p in telescope.passages][1:] == ["History", "Reflecting telescopes"]
    passage = telescope.passages[1]
    assert passage.origin == "web" and passage.location == f"{site.url}/wiki/Telescope"
    assert "Lipperhey" in passage.text and not found.unreachable


async def test_tavily_results_are_fetched_and_cleaned_to_their_article_text(
    site: FakeWeb,
) -> None:
    found = await web.search(config(site, "tavily"), "grinding telescope lenses")
    (page,) = found.documents
    assert page.title == "Grinding Telescope Lenses"
    text = " ".join(p.text for p in page.passages)
    assert "Venetian glass" in text
    assert "Copyright" not in text and "Home | About" not in text  # trafilatura's cleaning
    assert ("POST", "/tavily/search") in site.seen


async def test_both_providers_merge_and_a_page_found_twice_is_kept_once(site: FakeWeb) -> None:
    found = await web.search(config(site, "wikipedia", "tavily"), "telescope lenses")
    ids = [d.id for d in found.documents]
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("429", "rate limited (HTTP 429)"),
        ("500", "the provider failed (HTTP 500)"),
        ("garbage", "not JSON"),
        ("slow", "no answer within"),
    ],
)
async def test_a_provider_that_fails_is_reported_and_research_goes_on(
    site: FakeWeb, mode: str, said: str
) -> None:
    site.mode = mode
    started = time.monotonic()
    found = await web.search(
        config(site, "wikipedia", "tavily", web_timeout_seconds=1), "telescope"
    )
    assert time.monotonic() - started < 4  # bounded: neither provider was waited for longer
    assert found.documents == []
    assert len(found.unreachable) == 2
    assert found.unreachable[0].startswith("Wikipedia: ") and said in found.unreachable[0]
    assert found.unreachable[1].startswith("Tavily: ")


async def test_pages_that_are_not_html_too_large_or_private_are_skipped_with_a_reason(
    site: FakeWeb,
) -> None:
    site.tavily_results = ["report.pdf", "huge", "to-private", "lens-grinding"]
    found = await web.search(
        config(site, "tavily", web_max_results=4, web_max_page_mb=1), "telescope"
    )
    assert [d.title for d in found.documents] == ["Grinding Telescope Lenses"]
    reasons = "\n".join(found.unreachable)
    assert "report.pdf: not an HTML page (application/pdf)" in reasons
    assert "huge: larger than 1 MB" in reasons
    assert "to-private: a private or local address (10.1.2.3)" in reasons


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",  # loopback, without WEB_ALLOW_LOOPBACK
        "http://10.0.0.8/x",
        "http://192.168.1.20/x",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "http://[::1]:9/x",
        "file:///etc/passwd",
        "ftp://example.org/x",
    ],
)
async def test_requests_go_only_to_public_http_addresses(url: str) -> None:
    import httpx

    strict = web.WebConfig(("tavily",), allow_loopback=False)
    async with httpx.AsyncClient() as client:
        with pytest.raises(web.Refused, match=r"private or local|not an http"):
            await web.fetch_page(client, strict, url)


def test_web_search_is_off_unless_set_and_names_only_known_providers() -> None:
    assert Settings(_env_file=None).web is None
    with pytest.raises(ValueError, match="WEB_SEARCH names"):
        Settings(_env_file=None, web_search="wikipedia,altavista")
    key = "tvly-secret-0123456789"
    assert key in Settings(_env_file=None, tavily_api_key=key).secrets()  # masked in traces
