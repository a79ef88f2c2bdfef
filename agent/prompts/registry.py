"""Managing prompts in the MLflow Prompt Registry: sync, promote, roll back, list, diff.

`sync` registers a new version only when a file's content changed (its hash is kept in the
version's tags) and points an alias at it; `promote` and `set_alias` move aliases. These are the
`writer prompts` commands; requests load prompts through `agent.prompts.catalog`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import PromptVersion
from mlflow.exceptions import MlflowException

from agent.prompts.catalog import NOT_FOUND, UnknownPromptAlias
from agent.prompts.contracts import answer_schema
from agent.prompts.files import PromptBook, PromptFile

HASH_TAG = "content_hash"
FILE_TAG = "source_file"


def response_schema(file: PromptFile) -> dict[str, Any] | None:
    """The JSON schema the prompt's node asks the model for, registered with each version."""
    schema = answer_schema(file.name)
    return schema.model_json_schema() if schema else None


def content_hash(file: PromptFile) -> str:
    content = {
        "description": file.description,
        "messages": file.messages,
        "model_config": file.model_config,
        "response_format": response_schema(file),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SyncRow:
    name: str
    version: int
    alias: str
    changed: bool


def _latest(client: MlflowClient, name: str) -> PromptVersion | None:
    if client.get_prompt(name) is None:
        return None
    versions = client.search_prompt_versions(name)
    return max(versions, key=lambda v: int(v.version), default=None)


def _version(client: MlflowClient, name: str, number: int) -> PromptVersion:
    try:
        found = client.get_prompt_version(name, number)
    except MlflowException as exc:
        if exc.error_code not in NOT_FOUND:
            raise
        found = None
    if found is None:
        raise LookupError(f"prompt {name!r} has no version {number}")
    return found


def _aliased(client: MlflowClient, name: str, alias: str) -> int | None:
    try:
        return int(client.get_prompt_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if exc.error_code in NOT_FOUND:
            return None
        raise


def sync(folder: Path, alias: str, dry_run: bool = False) -> list[SyncRow]:
    """Registers changed prompt files and points `alias` at each latest version.

    Every file is read and checked before anything is written, so a broken file leaves the
    registry as it was.
    """
    book = PromptBook.from_folder(folder)
    hashes = {name: content_hash(file) for name, file in book.files.items()}
    client = MlflowClient()
    rows = []
    for name, file in sorted(book.files.items()):
        latest = _latest(client, name)
        changed = latest is None or latest.tags.get(HASH_TAG) != hashes[name]
        version = int(latest.version) if latest else 0
        if changed:
            version += 1
            if not dry_run:
                registered = mlflow.genai.register_prompt(
                    name,
                    template=file.messages,
                    commit_message=file.description,
                    tags={HASH_TAG: hashes[name], FILE_TAG: file.path.name},
                    response_format=response_schema(file),
                    model_config=file.model_config or None,
                )
                version = int(registered.version)
        if not dry_run and _aliased(client, name, alias) != version:
            mlflow.genai.set_prompt_alias(name, alias, version)
        rows.append(SyncRow(name, version, alias, changed))
    return rows


def promote(source: str, target: str, names: list[str]) -> list[SyncRow]:
    """Points `target` at the versions `source` points at, for every prompt in `names`.

    Every alias is read first, so a prompt missing `source` changes nothing.
    """
    client = MlflowClient()
    versions = {}
    for name in names:
        if (version := _aliased(client, name, source)) is None:
            raise UnknownPromptAlias(name, source)
        versions[name] = version
    rows = []
    for name, version in versions.items():
        moved = _aliased(client, name, target) != version
        if moved:
            mlflow.genai.set_prompt_alias(name, target, version)
        rows.append(SyncRow(name, version, target, moved))
    return rows


def set_alias(name: str, alias: str, version: int) -> None:
    """Points `alias` at one version: a roll-back is this with an older version."""
    _version(MlflowClient(), name, version)
    mlflow.genai.set_prompt_alias(name, alias, version)


def listing() -> list[dict[str, Any]]:
    """Every registered prompt with its versions and aliases."""
    client = MlflowClient()
    rows = []
    for prompt in client.search_prompts():
        numbers = sorted(int(v.version) for v in client.search_prompt_versions(prompt.name))
        for number in numbers:
            # Versions from a search carry no aliases; a direct read does.
            version = client.get_prompt_version(prompt.name, number)
            rows.append(
                {
                    "name": prompt.name,
                    "version": number,
                    "aliases": sorted(version.aliases or []) if version else [],
                    "description": (version.commit_message if version else "") or "",
                }
            )
    return rows


def _readable(template: str | list[dict[str, Any]]) -> list[str]:
    if isinstance(template, str):
        return template.splitlines()
    lines = []
    for message in template:
        lines += [f"[{message['role']}]", *str(message["content"]).splitlines(), ""]
    return lines


def diff(name: str, old: int, new: int) -> str:
    """A unified diff of two versions' templates."""
    client = MlflowClient()
    texts = []
    for number in (old, new):
        texts.append(_readable(_version(client, name, number).template))
    return "\n".join(
        difflib.unified_diff(texts[0], texts[1], f"{name}/{old}", f"{name}/{new}", lineterm="")
    )
