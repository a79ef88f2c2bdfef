"""Follow-ups over real HTTP: a session's article changed turn by turn, each turn a trace."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import mlflow

from agent import citations
from agent.settings import BUNDLED_SOURCES
from testbed.servers import Server, wait_for_trace
from tests.api.test_stream import read_stream

OWNER = {"user_id": "ada"}


def start(api: Server, topic: str = "Solar power", **body: object) -> dict[str, Any]:
    answer = httpx.post(f"{api.url}/write", json={"topic": topic, **OWNER, **body}, timeout=120)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def revise(api: Server, session: str, instruction: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{api.url}/sessions/{session}/revise",
        json={"instruction": instruction, **OWNER, **body},
        timeout=120,
    )


def revised(api: Server, session: str, instruction: str, **body: object) -> dict[str, Any]:
    answer = revise(api, session, instruction, **body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def current(api: Server, session: str) -> dict[str, Any]:
    return dict(httpx.get(f"{api.url}/sessions/{session}", params=OWNER).json())


def sections(article: dict[str, Any]) -> dict[str, str]:
    return {s["heading"]: s["markdown"] for s in article["sections"]}


def test_shorter_lowers_the_word_count_toward_its_target(api: Server) -> None:
    first = start(api)
    words = first["article"]["word_count"]
    shorter = revised(api, first["session_id"], "Make it shorter, please")
    assert shorter["session_id"] == first["session_id"] and shorter["turn"] == 2
    aimed = round(words * 0.6 / 50) * 50
    assert abs(shorter["article"]["word_count"] - aimed) <= 0.2 * aimed
    assert set(sections(shorter["article"])) == set(sections(first["article"]))  # same plan

    named = revised(api, first["session_id"], "shorter still", target_words=200)
    assert named["turn"] == 3 and 160 <= named["article"]["word_count"] <= 240
    assert current(api, first["session_id"])["article"] == named["article"]


def test_a_new_section_comes_from_the_library_and_is_cited(api: Server) -> None:
    first = start(api)
    added = revised(api, first["session_id"], "Add a section on grid storage")
    new = set(sections(added["article"])) - set(sections(first["article"]))
    [heading] = new
    assert "storage" in heading.lower()
    text = sections(added["article"])[heading]
    cited = citations.cited(text)
    assert cited, text
    references = {r["n"]: r["source_id"] for r in added["article"]["references"]}
    texts = [(BUNDLED_SOURCES / f"{references[n]}.md").read_text() for n in cited]
    library = " ".join(" ".join(text.split()) for text in texts)
    # Every sentence of the new section stands in a source it cites.
    for sentence in re.split(r"(?<=[.!?])\s+", citations.strip(text)):
        assert " ".join(sentence.split()).rstrip(".") in library, sentence


def test_a_tone_change_rewrites_for_the_new_readers(api: Server, mlflow_url: str) -> None:
    first = start(api)
    styled = revised(api, first["session_id"], "More formal, for children")
    assert styled["article"]["markdown"] != first["article"]["markdown"]
    assert "children" in styled["article"]["markdown"]
    trace = wait_for_trace(mlflow_url, styled["trace_id"])
    # The writer was told: its request carried the reader's change.
    asked = [str(s.inputs) for s in trace.data.spans if s.span_type == "CHAT_MODEL"]
    assert any('kind="restyle"' in a and 'audience="children"' in a for a in asked)


def test_each_turn_is_a_trace_of_the_session_in_order(api: Server, mlflow_url: str) -> None:
    session = "s-solar-conversation"
    turns = [start(api, session_id=session)]
    turns.append(revised(api, session, "make it shorter"))
    turns.append(revised(api, session, "add a section on grid storage"))
    assert [t["turn"] for t in turns] == [1, 2, 3]
    for turn, preview in zip(
        turns, ["Solar power", "make it shorter", "add a section on grid storage"], strict=True
    ):
        trace = wait_for_trace(mlflow_url, turn["trace_id"])
        assert trace.info.request_preview == preview
        assert trace.info.trace_metadata["session.turn"] == str(turn["turn"])
    found = mlflow.MlflowClient(mlflow_url).search_traces(
        locations=[trace.info.experiment_id],
        filter_string=f"metadata.`mlflow.trace.session` = '{session}'",
        order_by=["timestamp_ms ASC"],
    )
    assert [t.info.trace_id for t in found] == [t["trace_id"] for t in turns]
    view = current(api, session)
    assert [(t["kind"], t["instruction"]) for t in view["turns"]] == [
        ("write", "Solar power"),
        ("revise", "make it shorter"),
        ("revise", "add a section on grid storage"),
    ]
    assert view["article"] == turns[-1]["article"]


def test_a_follow_up_streams_like_a_write(api: Server) -> None:
    first = start(api)
    response, events = read_stream(
        api.url,
        {"instruction": "make it longer", **OWNER},
        f"/sessions/{first['session_id']}/revise",
    )
    assert response.status_code == 200
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "trace" and kinds[-1] == "done" and "token" in kinds
    trace = events[0][2]
    assert (trace["session_id"], trace["turn"]) == (first["session_id"], 2)
    nodes = [data["node"] for kind, _, data in events if kind == "node"]
    assert nodes[0] == "amend" and "plan" not in nodes and nodes[-1] == "finalize"
    assert events[-1][2]["article"]["word_count"] > first["article"]["word_count"]


def test_what_it_cannot_do_is_refused_and_the_article_stays(api: Server) -> None:
    first = start(api)
    session = first["session_id"]
    poem = revise(api, session, "Write me a poem about the sea instead")
    assert poem.status_code == 422
    assert poem.json()["error"] == "unrevisable"
    assert "shorten or lengthen" in poem.json()["message"] and poem.json()["trace_id"]
    nothing = revise(api, session, "add a section on medieval castle architecture")
    assert nothing.status_code == 422 and nothing.json()["error"] == "no_sources"
    assert "unchanged" in nothing.json()["message"]
    view = current(api, session)
    assert view["article"] == first["article"]
    assert [t["error"] for t in view["turns"]] == [None, "unrevisable", "no_sources"]
    # The failed turns left the article as it was: the next change starts from it.
    shorter = revised(api, session, "make it shorter")
    assert set(sections(shorter["article"])) == set(sections(first["article"]))


async def test_bad_follow_ups_are_told_what_to_fix(api: Server) -> None:
    session = start(api)["session_id"]
    path = f"/sessions/{session}/revise"
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as client:
        bad: list[tuple[dict[str, object], int, str]] = [
            ({"instruction": "  "}, 422, "invalid_request"),
            ({"instruction": "x" * 501}, 422, "invalid_request"),
            ({"instruction": "shorter", "target_words": 10}, 422, "invalid_request"),
            ({"instruction": "shorter", "user_id": "mallory"}, 404, "unknown_session"),
        ]
        for body, status, code in bad:
            answer = await client.post(path, json={**OWNER, **body})
            assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
        unknown = await client.post(
            "/sessions/s-never-made/revise", json={"instruction": "shorter", **OWNER}
        )
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_session"

        longer = {"instruction": "make it longer", **OWNER}
        answers = await asyncio.gather(*(client.post(path, json=longer) for _ in range(3)))
    codes = sorted(a.status_code for a in answers)
    assert 200 in codes and 409 in codes and set(codes) <= {200, 409}, codes


def test_a_session_without_an_article_has_nothing_to_revise(api: Server) -> None:
    body = {"topic": "Medieval castle architecture", "session_id": "s-castles", **OWNER}
    failed = httpx.post(f"{api.url}/write", json=body, timeout=60)
    assert failed.status_code == 422 and failed.json()["error"] == "no_sources"
    [turn] = current(api, "s-castles")["turns"]
    assert turn["error"] == "no_sources" and current(api, "s-castles")["article"] is None
    answer = revise(api, "s-castles", "make it shorter")
    assert answer.status_code == 409 and answer.json()["error"] == "no_article"
    assert "POST /write" in answer.json()["message"]
