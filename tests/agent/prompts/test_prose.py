"""A prompt engineer may reword every prompt: the app and the offline model do not depend on its
prose, only on the variables and the tagged blocks the nodes write into them
(`agent.prompts.blocks`)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from agent.prompts.files import VARIABLE
from agent.settings import BUNDLED_PROMPTS
from service.request import WriteRequest
from service.turn import ArticleWriter

# A label before a variable ("Topic: {{topic}}", "Outline:\n{{outline}}") goes entirely.
LABEL = re.compile(r"^[A-Z][A-Za-z ]*:[ \t]*\n?(?=\{\{)", re.M)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# What the prose of the bundled prompts says that a reader of them might key on.
CUES = ("Topic:", "Title:", "Outline:", "Sources:", "Draft:", "Issues:", "passages:", "questions:")


def reword(content: str) -> str:
    """The same variables, each once, in different prose: sentences in reverse order, each a
    "Please" rephrasing; the variables that stood alone come last, with no label."""
    sentences = SENTENCE_END.split(" ".join(LABEL.sub("", content).split()))
    prose = [s for s in sentences if VARIABLE.sub("", s).strip()]
    bare = [v for s in sentences if not VARIABLE.sub("", s).strip() for v in VARIABLE.findall(s)]
    lines = [
        "Please note: " + re.sub(r"\babout\b", "roughly", s[:1].lower() + s[1:])
        for s in reversed(prose)
    ]
    if bare:
        lines.append("Please work from the material below.")
        lines += ["{{" + name + "}}" for name in bare]
    return "\n\n".join(lines)


def reworded_prompts(folder: Path) -> Path:
    for path in sorted(BUNDLED_PROMPTS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for message in data["messages"]:
            before = message["content"]
            message["content"] = after = reword(before)
            assert sorted(VARIABLE.findall(after)) == sorted(VARIABLE.findall(before))
            assert not any(cue in after for cue in CUES), after
            assert not re.search(r"about \{\{\s*target_words", after)
        (folder / path.name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder


async def test_an_article_is_written_from_reworded_prompts(untraced, tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    folder.mkdir()
    prompts = reworded_prompts(folder)
    writer = ArticleWriter(untraced(prompts_dir=prompts))
    draft = writer.prompts.book.files["article-draft"].messages
    assert draft[-1]["content"].startswith("Please work from the material below.")

    result = await writer.write(WriteRequest(topic="How honeybees pollinate crops"))
    article = result.article
    assert len(article.sections) >= 2
    assert article.references
    assert re.search(r"\[\d+\]", article.markdown)
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", article.markdown)}
    assert cited == {ref.n for ref in article.references}
