"""What the offline model answers to a Chat Completions request.

It reads the structure of a request, never its prose: which tools it is offered, the name of
the JSON schema it is asked for, what the tool results in the conversation say, and the tagged
blocks the app writes into its prompts (`offline_model.blocks`). A prompt file reworded from end
to end gets the same answers. The same request always gets the same answer.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from agent import citations
from agent.request import LENGTH_TOLERANCE
from offline_model import blocks, writing
from offline_model.writing import Candidate

SEARCH_K = 4
MAX_SEARCHES = 6
MAX_READS = 4
DEFAULT_TARGET_WORDS = 600  # for a block that carries no target_words
# The editor's tolerance on length; the review prompt tells a model the same.
# Aims inside three quarters of the band an article counts as on length, so it lands there.
AIM = LENGTH_TOLERANCE * 0.75
# The tasks it recognises; answer faults (`server.FaultPlan`) name them. `review` is the editor
# with its tools, `decision` the editor's structured verdict asked for without tools.
Task = Literal["plan", "research", "review", "decision", "draft", "revise", "judge"]


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False  # cut at the output-token bound

    @property
    def finish_reason(self) -> str:
        if self.truncated:
            return "length"
        return "tool_calls" if self.tool_calls else "stop"


@dataclass
class Conversation:
    """A request, with the parts the model looks at pulled out."""

    messages: list[dict[str, Any]]
    tools: list[str]
    schema: dict[str, Any] | None
    schema_name: str | None = None

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> Conversation:
        tools = [t["function"]["name"] for t in body.get("tools") or [] if "function" in t]
        schema = name = None
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            json_schema = response_format.get("json_schema") or {}
            schema, name = json_schema.get("schema") or {}, json_schema.get("name")
        return cls(list(body.get("messages") or []), tools, schema, name)

    def text(self, role: str) -> str:
        return "\n\n".join(_content(m) for m in self.messages if m.get("role") == role)

    @property
    def prompt(self) -> str:
        return self.text("system") + "\n\n" + self.text("user")

    def block(self, tag: str) -> blocks.Block | None:
        return blocks.find(self.prompt, tag)

    def body(self, tag: str) -> str:
        found = self.block(tag)
        return found.body if found else ""

    def tool_results(self) -> list[tuple[str, dict[str, Any], str]]:
        """(tool name, its arguments, its result) for every answered tool call, in order."""
        calls = {
            call["id"]: call["function"]
            for m in self.messages
            if m.get("role") == "assistant"
            for call in m.get("tool_calls") or []
        }
        results = []
        for m in self.messages:
            if m.get("role") == "tool" and (call := calls.get(m.get("tool_call_id", ""))):
                results.append((call["name"], _json(call.get("arguments")) or {}, _content(m)))
        return results


def respond(body: dict[str, Any]) -> Reply:
    convo = Conversation.from_request(body)
    return answer(convo, recognise(convo))


def recognise(convo: Conversation) -> Task | None:
    """Which task a request is, by its structure: tools, schema name, tagged blocks."""
    properties = set((convo.schema or {}).get("properties", {}))
    if "search_sources" in convo.tools:
        return "research"
    if {"word_count", "check_citations"} & set(convo.tools):
        return "review"
    if not convo.tools and (convo.schema_name == "ReviewVerdict" or "decision" in properties):
        return "decision"
    if convo.schema_name == "Outline" or "research_questions" in properties:
        return "plan"
    if {"result", "rationale"} <= properties:
        return "judge"
    has = {t for t in ("outline", "sources", "issues", "draft") if convo.block(t) is not None}
    if {"issues", "draft"} <= has:
        return "revise"
    if {"outline", "sources"} <= has and "draft" not in has:
        return "draft"
    return None


def answer(convo: Conversation, task: Task | None) -> Reply:
    match task:
        case "research":
            return research(convo)
        case "review":
            return edit(convo)
        case "decision":
            return Reply(json.dumps(verdict(measurements(convo))))
        case "plan":
            return Reply(json.dumps(plan(convo)))
        case "judge":
            return Reply(json.dumps(judge(convo)))
        case "revise":
            return Reply(revise(convo))
        case "draft":
            return Reply(draft(convo))
    return Reply(
        "The offline model writes articles for this app's graph only: it needs the tagged "
        "blocks (<outline>, <sources>, <draft>...) that the app writes into its prompts."
    )


# --- plan ------------------------------------------------------------------------------------


def plan(convo: Conversation) -> dict[str, Any]:
    found = convo.block("background")
    topic = (found.attributes.get("topic") if found else None) or "the topic"
    background = blocks.parse_background(found.body if found else "")
    topic_terms = writing.terms(topic)
    # Sections come from the headings of the passages the library ranked highest for the topic:
    # the outline covers what the sources can support, in the library's order of relevance.
    headings: list[str] = []
    seen: set[frozenset[str]] = set()
    for passage in background:
        key = frozenset(writing.terms(passage.section))
        if passage.section.lower() in {"overview", "introduction", "summary"} or key in seen:
            continue
        seen.add(key)
        headings.append(passage.section)
    if len(headings) < 2:
        headings += [h for h in ("Background", "What the evidence shows") if h not in headings]
    headings = headings[:4]
    subject = topic.rstrip("?.!")
    sections = [
        {
            "heading": heading,
            "question": f"What does {writing.lower_first(heading)} tell us about {subject}?",
        }
        for heading in headings
    ]
    questions = [
        " ".join(dict.fromkeys([*heading.split(), *subject.split()]))
        if not writing.terms(heading) <= topic_terms
        else subject
        for heading in headings
    ]
    return {
        "title": writing.title_case(topic),
        "sections": sections,
        "research_questions": list(dict.fromkeys(questions)),
    }


# --- research --------------------------------------------------------------------------------


def research(convo: Conversation) -> Reply:
    questions = blocks.parse_list(convo.body("questions"))
    results = convo.tool_results()
    searches = [(args, _json(out) or []) for name, args, out in results if name == "search_sources"]
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


# --- draft -----------------------------------------------------------------------------------


def _candidates(sources: list[blocks.Source]) -> list[Candidate]:
    found: list[Candidate] = []
    for source in sources:
        for passage in source.passages:
            for sentence in writing.sentences(passage.text):
                if writing.words(sentence) >= 6:  # fragments and captions make poor claims
                    found.append(Candidate(source.n, len(found), passage.section, sentence))
    return found


def draft(convo: Conversation) -> str:
    found = convo.block("outline") or blocks.Block({}, "")
    topic = found.attributes.get("topic", "")
    title = found.attributes.get("title") or writing.title_case(topic)
    outline = blocks.parse_outline(found.body)
    candidates = _candidates(blocks.parse_sources(convo.body("sources")))
    context = writing.terms(topic)
    target = found.number("target_words", DEFAULT_TARGET_WORDS)
    used: set[str] = set()
    intro_budget = min(60, target // 10)
    section_budget = max(40, (target - intro_budget) // max(1, len(outline)))

    body = []
    for heading, question in outline:
        focus = writing.terms(f"{heading} {question}") - context or writing.terms(heading)
        chosen = writing.pick(candidates, focus, context, section_budget, used)
        body.append(f"## {heading}")
        body += writing.paragraphs_of(chosen) or [writing.NOTHING_FOUND]
    # The introduction is written last, from the most general sentences the sections left.
    intro = writing.pick(candidates, context, context, intro_budget, used)
    return "\n\n".join([f"# {title}", *writing.paragraphs_of(intro), *body])


# --- review ----------------------------------------------------------------------------------


def edit(convo: Conversation) -> Reply:
    """The editor with its tools: it measures first, then answers its verdict as text."""
    if not convo.tool_results():
        wanted = [
            name for name in ("word_count", "readability", "check_citations") if name in convo.tools
        ]
        return Reply(None, make_tool_calls(convo, [(name, {}) for name in wanted]))
    return Reply(json.dumps(verdict(measurements(convo))))


def measurements(convo: Conversation) -> dict[str, Any]:
    """What the editor's tools measured, by tool name; if no tool ran, the same measures taken
    of the `<draft>` block (citation numbers are checked only if a `<sources>` block says how
    many sources there are)."""
    if results := convo.tool_results():
        return {name: _json(out) or {} for name, _, out in results}
    found = convo.block("draft")
    if found is None:
        return {}
    sources = convo.block("sources")
    report = citations.check(found.body, len(blocks.parse_sources(sources.body if sources else "")))
    return {
        "word_count": {
            "words": citations.count_words(found.body),
            "target": found.number("target_words", DEFAULT_TARGET_WORDS),
        },
        "check_citations": {
            "invalid": report.invalid if sources else [],
            "uncited_paragraphs": report.uncited_paragraphs,
        },
    }


def verdict(measured: dict[str, Any]) -> dict[str, Any]:
    issues = []
    if count := measured.get("word_count"):
        words, target = count["words"], count["target"]
        if words < target * (1 - AIM):
            issues.append(
                f"The draft has {words} words against a target of {target}: "
                f"add about {target - words} words of sourced material."
            )
        elif words > target * (1 + AIM):
            issues.append(
                f"The draft has {words} words against a target of {target}: "
                f"cut about {words - target} words."
            )
    if check := measured.get("check_citations"):
        if check.get("invalid"):
            listed = ", ".join(f"[{n}]" for n in check["invalid"])
            issues.append(f"Citations {listed} name no listed source: remove or correct them.")
        if check.get("uncited_paragraphs"):
            listed = ", ".join(str(n) for n in check["uncited_paragraphs"])
            issues.append(f"Paragraphs {listed} cite no source: support them with citations.")
    return {"decision": "revise" if issues else "finalize", "issues": issues}


# --- revise ----------------------------------------------------------------------------------


def revise(convo: Conversation) -> str:
    """Fixes what the editor measures: bad citation numbers, uncited paragraphs, length."""
    sources = blocks.parse_sources(convo.body("sources"))
    found = convo.block("draft") or blocks.Block({}, "")
    article = found.body
    target = found.number("target_words", DEFAULT_TARGET_WORDS)
    candidates = _candidates(sources)
    valid = {s.n for s in sources}

    # Sections as lists of paragraphs; the title and headings stay exactly as they were.
    sections: list[tuple[str, list[str]]] = []
    for chunk in re.split(r"\n\s*\n", article.strip()):
        if chunk.startswith("#") or not sections:
            sections.append((chunk if chunk.startswith("#") else "", []))
            if chunk.startswith("#"):
                continue
        text = citations.tidy(
            citations.CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", chunk)
        )
        if not citations.CITATION.search(text):
            text = _cite_paragraph(text, candidates)
        sections[-1][1].append(text)

    written = " ".join(citations.strip(p) for _, ps in sections for p in ps)
    used = {c.text for c in candidates if c.text in written}
    words = sum(writing.words(p) for _, ps in sections for p in ps)
    low, high = target * (1 - AIM), target * (1 + AIM)
    if words < low:
        _lengthen(sections, candidates, used, int(target - words))
    elif words > high:
        _shorten(sections, int(words - target))
    out = []
    for heading, paragraphs in sections:
        out += ([heading] if heading else []) + [p for p in paragraphs if p.strip()]
    return "\n\n".join(out)


def _cite_paragraph(paragraph: str, candidates: list[Candidate]) -> str:
    """Cites the source whose sentences share the most terms with an uncited paragraph."""
    found = writing.terms(paragraph)
    best = max(candidates, key=lambda c: (len(c.terms & found), -c.order), default=None)
    if best is None or not best.terms & found:
        return paragraph
    return writing.cite(paragraph, best.n)


def _lengthen(
    sections: list[tuple[str, list[str]]], candidates: list[Candidate], used: set[str], need: int
) -> None:
    """Adds unused sourced sentences to the sections they fit best."""
    body = [(h, ps) for h, ps in sections if h.startswith("## ")]
    share = max(30, need // max(1, len(body)))
    for heading, paragraphs in body:
        focus = writing.terms(heading[3:])
        context = writing.terms(" ".join(paragraphs))
        extra = writing.paragraphs_of(writing.pick(candidates, focus, context, share, used))
        if extra and writing.NOTHING_FOUND in paragraphs:
            paragraphs.remove(writing.NOTHING_FOUND)
        paragraphs += extra


def _shorten(sections: list[tuple[str, list[str]]], excess: int) -> None:
    """Drops the last paragraph of the longest section until the excess is gone, keeping at
    least one paragraph everywhere."""
    while excess > 0:
        longest = max(sections, key=lambda s: sum(writing.words(p) for p in s[1]))
        if len(longest[1]) <= 1:
            return
        excess -= writing.words(longest[1].pop())


# --- judge ---------------------------------------------------------------------------------


def judge(convo: Conversation) -> dict[str, str]:
    """A verdict for an LLM judge's request: MLflow's judges ask for `{"result", "rationale"}`.

    The offline model cannot judge. It measures one criterion, whether an answer is relevant to
    its question (MLflow's RelevanceToQuery sends `<question>` and `<answer>`), as the content
    words they share, says so in the rationale, and answers "unknown" to any other criterion
    (safety, correctness...)."""
    prompt = convo.prompt
    question, answer = _tagged(prompt, "question"), _tagged(prompt, "answer")
    if question is None or answer is None or "relevant" not in prompt.lower():
        return {
            "result": "unknown",
            "rationale": "The offline model cannot judge this criterion: the only one it "
            "measures is whether an answer is relevant to its question, as shared words.",
        }
    wanted = writing.terms(_values(question))
    words = dict.fromkeys(re.findall(r"[a-z0-9]+", _values(answer).lower()))
    shared = [word for word in words if writing.terms(word) & wanted]
    check = "Offline word-overlap check, not a model's judgement: the answer"
    if not shared:
        return {"result": "no", "rationale": f"{check} shares no content word with the question."}
    return {
        "result": "yes",
        "rationale": f"{check} shares {len(shared)} content word(s) with the question "
        f"({', '.join(shared[:5])}).",
    }


def _tagged(prompt: str, tag: str) -> str | None:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", prompt, re.S)
    return found.group(1) if found else None


def _values(text: str) -> str:
    """The text of a judged field; of a dict or list (a trace's inputs or outputs), only its
    string values, so that key names (`topic`, `word_count`) and numbers match nothing."""
    try:
        data = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, RecursionError):
        data = _json(text.strip())
    if not isinstance(data, dict | list):
        return text

    def walk(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [t for v in value.values() for t in walk(v)]
        if isinstance(value, list):
            return [t for v in value for t in walk(v)]
        return [value] if isinstance(value, str) else []

    return " ".join(walk(data))


# --- plumbing --------------------------------------------------------------------------------


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def make_tool_calls(
    convo: Conversation, calls: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    out = []
    for i, (name, args) in enumerate(calls):
        arguments = json.dumps(args, ensure_ascii=False)
        digest = hashlib.sha1(f"{len(convo.messages)}:{i}:{name}:{arguments}".encode()).hexdigest()
        out.append(
            {
                "id": f"call_{digest[:16]}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    return out
