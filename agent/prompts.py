"""Prompt files (`prompts/*.yaml`): reading, checking, and turning them into MLflow prompts.

Each file holds one chat prompt: its registry name, a one-line description, the variables it
takes, the `{{variable}}` chat template, an optional model config and an optional response
format (the name of a schema in `agent.state`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlflow.entities.model_registry import PromptVersion

from agent import internals

REQUIRED = ("name", "description", "variables", "messages")
# What each node passes to its prompt. A prompt may use any of these, and no other.
NODE_VARIABLES: dict[str, frozenset[str]] = {
    "article-plan": frozenset({"topic", "audience", "tone", "target_words", "background"}),
    "article-research": frozenset({"topic", "outline", "questions"}),
    "article-draft": frozenset(
        {"topic", "title", "audience", "tone", "target_words", "outline", "sources"}
    ),
    "article-review": frozenset({"audience", "target_words", "draft"}),
    "article-revise": frozenset({"audience", "tone", "target_words", "issues", "sources", "draft"}),
}
ROLES = {"system", "user", "assistant"}
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class PromptFileError(ValueError):
    """A prompt file that cannot be used, with the file and the problem in the message."""


@dataclass(frozen=True)
class PromptFile:
    path: Path
    name: str
    description: str
    variables: tuple[str, ...]
    messages: list[dict[str, str]]
    model_config: dict[str, Any]
    response_format: str | None

    def as_version(self, version: int = 0) -> PromptVersion:
        """The prompt as MLflow's own type, so bundled and registry prompts format alike."""
        return internals.prompt_version(
            self.name, version, self.messages, self.description, self.model_config
        )


def read_prompt_file(path: Path) -> PromptFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PromptFileError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise PromptFileError(f"{path.name}: expected a mapping of fields")
    if missing := [key for key in REQUIRED if not data.get(key)]:
        raise PromptFileError(f"{path.name}: missing field(s) {', '.join(missing)}")
    messages = data["messages"]
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        for m in messages
    ):
        raise PromptFileError(f"{path.name}: messages must be a list of {{role, content}}")
    declared = tuple(data["variables"])
    used = {v for m in messages for v in VARIABLE.findall(m["content"])}
    if undeclared := sorted(used - set(declared)):
        raise PromptFileError(f"{path.name}: uses undeclared variable(s) {', '.join(undeclared)}")
    if unused := sorted(set(declared) - used):
        raise PromptFileError(f"{path.name}: declares unused variable(s) {', '.join(unused)}")
    return PromptFile(
        path=path,
        name=str(data["name"]),
        description=str(data["description"]),
        variables=declared,
        messages=[{"role": m["role"], "content": m["content"]} for m in messages],
        model_config=dict(data.get("model_config") or {}),
        response_format=data.get("response_format"),
    )


class PromptBook:
    """The prompt files of a folder, checked against what the nodes pass them."""

    def __init__(self, files: dict[str, PromptFile]) -> None:
        self.files = files

    @classmethod
    def from_folder(cls, folder: Path) -> PromptBook:
        files = [read_prompt_file(p) for p in sorted(folder.glob("*.yaml"))]
        if not files:
            raise PromptFileError(f"no prompt files (*.yaml) in {folder}")
        for file in files:
            provided = NODE_VARIABLES.get(file.name)
            if provided is None:
                raise PromptFileError(
                    f"{file.path.name}: no node uses a prompt named {file.name!r} "
                    f"(known: {', '.join(sorted(NODE_VARIABLES))})"
                )
            if unknown := sorted(set(file.variables) - provided):
                raise PromptFileError(
                    f"{file.path.name}: the {file.name} node does not provide "
                    f"{', '.join(unknown)} (it provides {', '.join(sorted(provided))})"
                )
        if missing := sorted(set(NODE_VARIABLES) - {f.name for f in files}):
            raise PromptFileError(f"{folder}: no prompt file for {', '.join(missing)}")
        return cls({f.name: f for f in files})

    def bundled(self) -> PromptSet:
        return PromptSet({name: f.as_version() for name, f in self.files.items()}, "bundled")


@dataclass(frozen=True)
class PromptSet:
    """The prompt versions one request uses, and where they came from."""

    versions: dict[str, PromptVersion]
    source: str  # "registry" or "bundled"
    alias: str | None = None

    def get(self, name: str) -> PromptVersion:
        return self.versions[name]

    def summary(self) -> list[dict[str, Any]]:
        """[{name, version, alias}], as the API returns it; bundled prompts have no version."""
        return [
            {
                "name": name,
                "version": version.version if self.source == "registry" else None,
                "alias": self.alias,
            }
            for name, version in sorted(self.versions.items())
        ]
