"""Prompt files (`prompts/*.yaml`): reading, checking, and turning them into MLflow prompts.

Each file holds one chat prompt: its registry name, a one-line description, the variables it
takes, the `{{variable}}` chat template and an optional model config. What a prompt may use and
must answer is its node's contract (`agent.prompts.contracts`), which the files are checked
against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlflow.entities.model_registry import PromptVersion

from agent.prompts.contracts import CONTRACTS
from tracing import internals

REQUIRED = ("name", "description", "variables", "messages")
FIELDS = frozenset({*REQUIRED, "model_config"})
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
    if unknown := sorted(set(data) - FIELDS):
        # A response format is the node's contract, not a file's (agent.prompts.contracts).
        raise PromptFileError(
            f"{path.name}: unknown field(s) {', '.join(map(str, unknown))} "
            f"(a prompt file has {', '.join(sorted(FIELDS))})"
        )
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
            contract = CONTRACTS.get(file.name)
            if contract is None:
                raise PromptFileError(
                    f"{file.path.name}: no node uses a prompt named {file.name!r} "
                    f"(known: {', '.join(sorted(CONTRACTS))})"
                )
            provided = contract.variables
            if unknown := sorted(set(file.variables) - provided):
                raise PromptFileError(
                    f"{file.path.name}: the {file.name} node does not provide "
                    f"{', '.join(unknown)} (it provides {', '.join(sorted(provided))})"
                )
        if missing := sorted(set(CONTRACTS) - {f.name for f in files}):
            raise PromptFileError(f"{folder}: no prompt file for {', '.join(missing)}")
        return cls({f.name: f for f in files})
