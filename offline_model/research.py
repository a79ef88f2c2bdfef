"""The researcher's turns: search for every question, read the best documents, then report.

It plays the tool loop a model with tools plays: each turn looks at the tool results already in
the conversation to decide the next calls, so the agent's real research loop is what runs.
"""

from __future__ import annotations

from collections import defaultdict

from offline_model import blocks
from offline_model.conversation import Conversation, parse_json
from offline_model.reply import Reply, make_tool_calls

SEARCH_K = 4
MAX_SEARCHES = 6
MAX_READS = 4


def research(convo: Conversation) -> Reply:
    questions = blocks.parse_list(convo.body("questions"))
    results = convo.tool_results()
    searches = [
        (args, parse_json(out) or []) for name, args, out in results if name == "search_sources"
    ]
    read = {args.get("source_id") for name, args, _ in results if name == "read_source"}
    if not searches:
        calls = [("search_sources", {"query": q, "k": SEARCH_K}) for q in questions[:MAX_SEARCHES]]
        return Reply(None, make_tool_calls(convo, calls))
    # Read the documents that answered the most questions, best total score first.
    weight: dict[str, float] = defaultdict(float)
    for _, hits in searches:
        for hit in hits:
            weight[hit["source_id"]] += float(hit.get("score", 0))
    best = sorted(weight, key=lambda sid: (-weight[sid], sid))
    if not read and "read_source" in convo.tools:
        calls = [("read_source", {"source_id": sid}) for sid in best[:MAX_READS]]
        return Reply(None, make_tool_calls(convo, calls))
    lines = []
    for args, hits in searches:
        found = list(dict.fromkeys(hit["source_id"] for hit in hits))
        lines.append(f"- {args.get('query')}: {', '.join(found) or 'no evidence found'}")
    return Reply("Evidence by research question:\n" + "\n".join(lines))
