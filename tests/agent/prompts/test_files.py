from pathlib import Path

import pytest

from agent.prompts import PromptBook, PromptFileError, PromptSet, read_prompt_file
from agent.settings import BUNDLED_PROMPTS

GOOD = """name: demo
description: A demo.
variables: [topic]
messages:
  - role: user
    content: Write about {{topic}}.
"""


def test_the_bundled_prompts_load_and_format() -> None:
    book = PromptBook.from_folder(BUNDLED_PROMPTS)
    assert set(book.files) == {
        "article-plan",
        "article-research",
        "article-draft",
        "article-review",
        "article-revise",
        "article-amend",
        "article-grade",
    }
    plan = PromptSet.bundled(book).get("article-plan")
    messages = plan.format(
        topic="Bees", audience="kids", tone="warm", target_words=300, background="- [b] B / C: text"
    )
    assert "Topic: Bees" in messages[-1]["content"]
    assert plan.model_config == {"temperature": 0.2}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD.replace("description: A demo.\n", ""), "missing field(s) description"),
        (GOOD.replace("{{topic}}", "{{subject}}"), "undeclared variable(s) subject"),
        (GOOD.replace("[topic]", "[topic, tone]"), "declares unused variable(s) tone"),
        (GOOD.replace("role: user", "role: robot"), "messages must be a list"),
        ("name: [unclosed", "not valid YAML"),
        # The schema a prompt answers is its node's contract (agent.prompts.contracts).
        (GOOD + "response_format: Outline\n", "unknown field(s) response_format"),
    ],
)
def test_a_broken_prompt_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(PromptFileError, match=r"broken\.yaml: ") as raised:
        read_prompt_file(path)
    assert problem in str(raised.value)


def test_each_answered_prompt_registers_the_schema_its_node_asks_for() -> None:
    from agent.prompts import contracts, registry
    from agent.state import Outline, ReviewVerdict

    book = PromptBook.from_folder(BUNDLED_PROMPTS)
    assert registry.response_schema(book.files["article-plan"]) == Outline.model_json_schema()
    assert registry.response_schema(book.files["article-review"]) == (
        ReviewVerdict.model_json_schema()
    )
    assert registry.response_schema(book.files["article-draft"]) is None
    assert contracts.PLAN.answer is Outline and contracts.REVIEW.answer is ReviewVerdict
