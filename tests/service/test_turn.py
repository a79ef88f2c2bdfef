"""The whole graph in process on the offline model: what a reader of the article would check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig

from agent import citations
from cli.settings import Settings
from offline_model import writing
from service.events import Event
from service.failures import WriteFailed
from service.request import WriteRequest, new_session_id
from service.turn import ArticleWriter

TOPIC = "How honeybees pollinate crops"


# The writer's graph saves each run under a thread (the session id); a run of its own here.
def one_run() -> RunnableConfig:
    return {"configurable": {"thread_id": new_session_id()}}


async def run_graph(settings: Settings, **request: object) -> dict:
    """The final state, plus `research_messages` as research left them (draft clears them)."""
    writer = ArticleWriter(settings)
    state = {"topic": TOPIC, "audience": "gardeners", "tone": "friendly", "target_words": 500}
    state.update(request)
    research: list = []
    async for values in writer.graph.astream(
        state, one_run(), context=writer.context, stream_mode="values"
    ):
        research = values.get("research_messages") or research
    return {**values, "research_messages": research}


async def test_research_conversation_stays_out_of_later_steps(untraced) -> None:
    writer = ArticleWriter(untraced())
    state = {"topic": TOPIC, "audience": "gardeners", "tone": "friendly", "target_words": 500}
    final = await writer.graph.ainvoke(state, one_run(), context=writer.context)
    assert final["research_messages"] == []
    assert final["sources"]  # what research found is kept


async def test_same_input_gives_the_same_article(offline_settings: Settings) -> None:
    writer = ArticleWriter(offline_settings)
    first = await writer.write(WriteRequest(topic=TOPIC))
    second = await writer.write(WriteRequest(topic=TOPIC))
    assert first.article == second.article
    assert first.usage == second.usage
    other = await writer.write(WriteRequest(topic="The history of paper"))
    assert other.article.markdown != first.article.markdown


async def test_citations_name_only_sources_that_research_retrieved(
    offline_settings: Settings,
) -> None:
    final = await run_graph(offline_settings)
    retrieved = {
        item["source_id"]
        for message in final["research_messages"]
        if isinstance(message, ToolMessage) and isinstance(message.artifact, list)
        for item in message.artifact
    }
    article = final["article"]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", article.markdown)}
    assert cited == {ref.n for ref in article.references}
    assert {ref.source_id for ref in article.references} <= retrieved
    # Every sentence stands, word for word, in a passage of a source its paragraph cites.
    passages = {
        n: " ".join(p.text for p in final["sources"][n - 1].passages)
        for n in range(1, len(final["sources"]) + 1)
    }
    for paragraph in citations.paragraphs(final["draft"]):
        cited_here = citations.cited(paragraph)
        assert cited_here, f"uncited paragraph: {paragraph[:80]}"
        for sentence in writing.sentences(citations.strip(paragraph)):
            assert any(sentence in passages[n] for n in cited_here), sentence


async def test_the_draft_follows_the_outline(offline_settings: Settings) -> None:
    final = await run_graph(offline_settings)
    headings = [s.heading for s in final["outline"].sections]
    assert [s.heading for s in final["article"].sections] == headings
    assert final["article"].title == final["outline"].title
    for section in final["article"].sections:
        assert re.search(r"\[\d+\]", section.markdown), f"{section.heading} cites nothing"


async def test_a_short_draft_is_revised_toward_the_target(offline_settings: Settings) -> None:
    words: list[int] = []

    def watch(event: Event) -> None:
        data = event.data
        if event.kind == "node" and data["status"] == "end" and data["node"] in ("draft", "revise"):
            words.append(data["state"]["words"])

    writer = ArticleWriter(offline_settings)
    result = await writer.write(WriteRequest(topic=TOPIC, target_words=1400), on_event=watch)
    assert 2 <= len(words) <= 1 + offline_settings.max_revisions  # draft, then revisions
    assert words[0] < 1400 * 0.85  # the first draft was short, so the editor asked for more
    assert abs(words[-1] - 1400) < abs(words[0] - 1400)
    assert result.article.word_count == words[-1]


async def test_research_stops_at_its_round_bound(untraced) -> None:
    settings = untraced(max_research_rounds=1)
    final = await run_graph(settings)
    tool_rounds = [m for m in final["research_messages"] if getattr(m, "tool_calls", None)]
    assert final["research_rounds"] >= 1
    assert not any(
        isinstance(m, ToolMessage) and m.name == "read_source" for m in final["research_messages"]
    )
    assert len(tool_rounds) <= 2  # one round ran; the second request for tools was not served
    assert final["article"].references


@pytest.mark.parametrize("topic", ["Quantum chromodynamics of gluons", "xyzzy plugh"])
async def test_topics_the_library_lacks_end_as_no_sources(
    offline_settings: Settings, topic: str
) -> None:
    writer = ArticleWriter(offline_settings)
    with pytest.raises(WriteFailed) as refused:
        await writer.write(WriteRequest(topic=topic))
    assert refused.value.code == "no_sources" and topic in str(refused.value)


async def test_a_grading_model_decides_among_the_sources_the_rule_kept(untraced) -> None:
    settings = untraced(source_grader="model")
    final = await run_graph(settings)
    coverage = final["coverage"]
    assert coverage.verdict in ("covered", "partial") and final["sources"]
    by_model = [g for g in coverage.grades if g.by == "model"]
    # Every source the rule kept went to the model, with its word check's reason; the
    # sources the article may cite are those it judged relevant, and no other.
    assert by_model and all(g.reason.startswith("the model: Offline") for g in by_model)
    assert {s.id for s in final["sources"]} == {g.id for g in by_model if g.relevant}
    assert all(g.by == "rule" and not g.relevant for g in coverage.grades if g not in by_model)
    # Under SOURCE_GRADER=auto the offline provider is graded by the rule alone.
    plain = await run_graph(untraced())
    assert {g.by for g in plain["coverage"].grades} == {"rule"}


async def test_an_article_on_the_readers_own_files_cites_them_by_file(
    untraced, tmp_path: Path
) -> None:
    from testbed.documents import tidal_folder

    folder = tidal_folder(tmp_path / "docs")
    settings = untraced(sources_dir=folder, sources_cache_dir=tmp_path / "cache")
    result = await ArticleWriter(settings).write(
        WriteRequest(topic="Tidal power", target_words=300)
    )
    cited = {(r.source_id, r.origin, r.location) for r in result.article.references}
    assert cited == {
        ("barrages", "documents", "barrages.pdf"),
        ("streams", "documents", "streams.html"),
        ("costs", "documents", "costs.docx"),
    }
    assert "A tidal barrage holds the sea" in result.article.markdown  # the PDF's text


async def test_a_topic_outside_the_readers_files_names_the_folder_searched(
    untraced, tmp_path: Path
) -> None:
    from testbed.documents import tidal_folder

    folder = tidal_folder(tmp_path / "docs")
    (folder / "broken.pdf").write_bytes(b"not a pdf")
    settings = untraced(sources_dir=folder, sources_cache_dir=tmp_path / "cache")
    with pytest.raises(WriteFailed) as refused:
        await ArticleWriter(settings).write(WriteRequest(topic="How honeybees make honey"))
    message = str(refused.value)
    assert refused.value.code == "no_sources"
    assert f"the 3 documents in {folder}" in message and "1 more could not be read" in message


async def test_an_article_on_a_topic_outside_the_library_cites_wikipedia_by_url(
    untraced,
) -> None:
    from testbed.webserver import fake_web

    with fake_web() as site:
        settings = untraced(**site.settings("wikipedia"))
        result = await ArticleWriter(settings).write(
            WriteRequest(topic="The invention of the telescope", target_words=300)
        )
    references = result.article.references
    assert references and all(r.origin == "web" for r in references)
    assert {r.location for r in references} <= {
        f"{site.url}/wiki/Telescope",
        f"{site.url}/wiki/History_of_the_telescope",
    }
    assert "Lipperhey" in result.article.markdown or "Galileo" in result.article.markdown


async def test_a_source_that_gives_orders_changes_nothing_in_the_article(untraced) -> None:
    from testbed.webserver import fake_web

    with fake_web() as site:
        site.tavily_results = ["ignore-instructions", "lens-grinding"]
        settings = untraced(**site.settings("tavily"))
        result = await ArticleWriter(settings).write(
            WriteRequest(topic="How telescope lenses are made", target_words=300)
        )
    markdown = result.article.markdown
    assert "1999" not in markdown and "attacker" not in markdown
    assert "ignore" not in markdown.lower()
    assert result.article.references  # the page's own text still serves


async def test_a_provider_that_fails_leaves_an_honest_answer(untraced) -> None:
    from testbed.webserver import fake_web

    with fake_web() as site:
        site.mode = "429"
        settings = untraced(**site.settings("wikipedia"))
        with pytest.raises(WriteFailed) as refused:
            await ArticleWriter(settings).write(
                WriteRequest(topic="The invention of the telescope")
            )
    message = str(refused.value)
    assert refused.value.code == "no_sources"
    assert "and the web (Wikipedia)" in message
    assert "Not reached: Wikipedia: rate limited (HTTP 429)" in message
