"""The web as a research source: Wikipedia through its public API (no key), and Tavily's search
API through its LangChain integration (a key), each page cited by its URL and title.

Wikipedia's API gives a page's text already cleaned (`prop=extracts`, plain text with its
section headings). A page a search API finds is fetched and cleaned to text by trafilatura.

Every request is bounded: in time (WEB_TIMEOUT_SECONDS for a provider's whole answer), in size
(WEB_MAX_PAGE_MB), and in where it may go: http(s) only, to addresses that are public, checked
before each request, after each redirect (followed by hand, at most MAX_REDIRECTS) and against
the address actually connected to. Loopback is allowed only with WEB_ALLOW_LOOPBACK, for tests.
A provider that is down, rate-limits, answers garbage or too slowly is reported, never raised:
research goes on with the other sources, and the article's notes say what could not be reached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr

from agent.research.markup import as_data, without_markup
from agent.research.sources import Document, Passage, parse_document

MAX_REDIRECTS = 3
PASSAGES_PER_PAGE = 12  # a long page's first sections are enough to judge and cite it
USER_AGENT = "article-writer/0.1 (a research agent; https://github.com/)"
WIKI_HEADING = re.compile(r"^(={2,6})\s*(.*?)\s*\1\s*$", re.M)
NAMES = {"wikipedia": "Wikipedia", "tavily": "Tavily"}


@dataclass(frozen=True)
class WebConfig:
    """Which providers research may ask, and the bounds on every request (WEB_* settings)."""

    providers: tuple[str, ...]
    wikipedia_api_url: str = "https://en.wikipedia.org/w/api.php"
    tavily_api_key: SecretStr | None = None
    tavily_api_url: str | None = None
    timeout_seconds: float = 10.0
    max_page_bytes: int = 2_000_000
    max_results: int = 3
    allow_loopback: bool = False


@dataclass
class Found:
    """What one web search gave: pages as documents, and the providers or pages it could not
    use, with why (for the article's notes)."""

    documents: list[Document] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)


class Refused(Exception):
    """A request the app will not make or could not complete; the message says why."""


async def search(config: WebConfig, query: str) -> Found:
    """Asks each configured provider, in order; pages found twice are kept once."""
    found = Found()
    seen: set[str] = set()
    async with httpx.AsyncClient(
        timeout=config.timeout_seconds, headers={"User-Agent": USER_AGENT}
    ) as client:
        for provider in config.providers:
            ask = _wikipedia if provider == "wikipedia" else _tavily
            try:
                async with asyncio.timeout(config.timeout_seconds):
                    answer = await ask(client, config, query)
            except TimeoutError:
                found.unreachable.append(
                    f"{NAMES[provider]}: no answer within {config.timeout_seconds:g} s"
                )
                continue
            except Refused as refused:
                found.unreachable.append(f"{NAMES[provider]}: {refused}")
                continue
            found.unreachable += answer.unreachable
            for doc in answer.documents:
                if doc.id not in seen:
                    seen.add(doc.id)
                    found.documents.append(doc)
    return found


async def _wikipedia(client: httpx.AsyncClient, config: WebConfig, query: str) -> Found:
    listed = await _json(
        client,
        config,
        config.wikipedia_api_url,
        {"action": "query", "list": "search", "srsearch": query, "srlimit": config.max_results},
    )
    titles = [hit["title"] for hit in _get(listed, "query", "search") if "title" in hit]
    if not titles:
        return Found()
    pages = await _json(
        client,
        config,
        config.wikipedia_api_url,
        {
            "action": "query",
            "prop": "extracts|info",
            "explaintext": 1,
            "exsectionformat": "wiki",
            "inprop": "url",
            "titles": "|".join(titles),
        },
    )
    found = Found()
    for page in dict(_get(pages, "query", "pages") or {}).values():
        text, url, title = page.get("extract"), page.get("fullurl"), page.get("title")
        if not (isinstance(text, str) and isinstance(url, str) and text.strip()):
            continue
        # Its "== Section ==" headings as Markdown's, so the page is cut as a document is.
        markdown = WIKI_HEADING.sub(lambda m: "#" * len(m.group(1)) + " " + m.group(2), text)
        found.documents.append(_document(url, str(title or url), markdown))
    return found


async def _tavily(client: httpx.AsyncClient, config: WebConfig, query: str) -> Found:
    from langchain_tavily._utilities import TavilySearchAPIWrapper

    if config.tavily_api_key is None:
        raise Refused("no TAVILY_API_KEY is set")
    await _check_host(config.tavily_api_url or "https://api.tavily.com", config)
    wrapper = TavilySearchAPIWrapper(
        tavily_api_key=config.tavily_api_key, api_base_url=config.tavily_api_url
    )
    try:
        answer = await wrapper.raw_results_async(
            query=query,
            max_results=config.max_results,
            search_depth="basic",
            include_domains=None,
            exclude_domains=None,
            include_answer=False,
            include_raw_content=False,
            include_images=False,
            include_image_descriptions=False,
            include_favicon=False,
            topic="general",
            time_range=None,
            country=None,
            auto_parameters=None,
            start_date=None,
            end_date=None,
            include_usage=None,
            exact_match=None,
        )
    except ValueError as exc:  # not JSON
        raise Refused(f"an answer that is not JSON ({type(exc).__name__})") from exc
    except Exception as exc:  # its client raises a bare Exception with the HTTP status
        status = re.search(r"Error (\d{3})", str(exc))
        raise Refused(_status(int(status.group(1))) if status else "not reachable") from exc
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise Refused("an answer without results")
    found = Found()
    for result in results[: config.max_results]:
        url = result.get("url") if isinstance(result, dict) else None
        if not isinstance(url, str):
            continue
        try:
            html = await fetch_page(client, config, url)
        except Refused as refused:
            found.unreachable.append(f"{url}: {refused}")
            continue
        doc = page_document(url, str(result.get("title") or url), html)
        if doc is None:
            found.unreachable.append(f"{url}: no article text on the page")
        else:
            found.documents.append(doc)
    return found


def page_document(url: str, title: str, html: str) -> Document | None:
    """An HTML page as a document: its main text, cleaned by trafilatura, cut at headings."""
    import trafilatura

    text = trafilatura.extract(
        html, url=url, output_format="markdown", include_links=False, include_images=False
    )
    if not text or not text.strip():
        return None
    return _document(url, title, text)


def _document(url: str, title: str, markdown: str) -> Document:
    clean, _ = as_data(markdown)
    name, _ = without_markup(title)
    doc = parse_document(source_id(url), clean, name.strip() or url, "web", url)
    return Document(doc.id, doc.title, doc.passages[:PASSAGES_PER_PAGE])


def source_id(url: str) -> str:
    """A page's id in citations and traces: its host and path ("en.wikipedia.org/wiki/X")."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}".rstrip("/")[:120] or url[:120]


def passages(found: Found) -> list[Passage]:
    return [p for doc in found.documents for p in doc.passages]


# --- requests that stay where they should ------------------------------------------------


async def _json(
    client: httpx.AsyncClient, config: WebConfig, url: str, params: dict[str, Any]
) -> Any:
    body = await _get_bytes(client, config, url, {**params, "format": "json"}, None)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Refused("an answer that is not JSON") from exc


async def fetch_page(client: httpx.AsyncClient, config: WebConfig, url: str) -> str:
    """An HTML page's text; Refused if it is not HTML, too large, or anywhere it may not go."""
    body = await _get_bytes(client, config, url, None, "text/html")
    return body.decode("utf-8", errors="replace")


async def _get_bytes(
    client: httpx.AsyncClient,
    config: WebConfig,
    url: str,
    params: dict[str, Any] | None,
    wanted_type: str | None,
) -> bytes:
    for _ in range(MAX_REDIRECTS + 1):
        await _check_host(url, config)
        try:
            async with client.stream("GET", url, params=params, follow_redirects=False) as answer:
                _check_peer(answer, config)
                if answer.is_redirect and "location" in answer.headers:
                    url, params = urljoin(url, answer.headers["location"]), None
                    continue
                if answer.status_code != 200:
                    raise Refused(_status(answer.status_code))
                kind = answer.headers.get("content-type", "").split(";")[0].strip().lower()
                if wanted_type and kind != wanted_type:
                    raise Refused(f"not an HTML page ({kind or 'no content type'})")
                body = bytearray()
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > config.max_page_bytes:
                        raise Refused(
                            f"larger than {config.max_page_bytes / 1e6:g} MB (WEB_MAX_PAGE_MB)"
                        )
                return bytes(body)
        except httpx.TimeoutException as exc:
            raise Refused(f"no answer within {config.timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise Refused(f"not reachable ({type(exc).__name__})") from exc
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def _status(code: int) -> str:
    if code == 429:
        return "rate limited (HTTP 429): try again later"
    if code >= 500:
        return f"the provider failed (HTTP {code}): try again later"
    return f"refused the request (HTTP {code})"


def _check_url(url: str, config: WebConfig) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"not an http(s) address: {parts.scheme or 'no scheme'}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def _check_host(url: str, config: WebConfig) -> None:
    host, port = _check_url(url, config)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"its host {host} does not resolve") from exc
    for *_, address in infos:
        _check_address(str(address[0]), config)


def _check_address(address: str, config: WebConfig) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.is_loopback and config.allow_loopback:
        return
    if not ip.is_global or ip.is_multicast:
        raise Refused(f"a private or local address ({ip}): not fetched")


def _check_peer(answer: httpx.Response, config: WebConfig) -> None:
    """The address the connection really went to: a name that resolved to a public address
    for the check and to a private one for the connection (DNS rebinding) is caught here."""
    stream = answer.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer:
        _check_address(str(peer[0]), config)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if data is not None else []
