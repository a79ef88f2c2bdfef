"""Which version of the agent wrote each trace: one MLflow LoggedModel per app version and commit.

The MLflow UI's "Agent versions" page lists LoggedModels with the traces and evaluation runs
linked to them. The app finds or creates its own at start-up, named
`article-writer-<version>-<commit>` (`article-writer-0_1_0-1a2b3c4d`; the version alone where
there is no git checkout). What else decides how it writes is in its params (provider, model,
prompt alias, the graph's bounds), and the prompt versions it serves in its tags. Every trace
names it (`mlflow.modelId`), and `writer eval` links its run to it, so each version's quality
sits beside its traffic.

A configuration is part of the version: a second start of the same commit with, say, another
model gets a LoggedModel of its own (the name plus a short hash of the params), instead of
rewriting the first one's params.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import LoggedModel

from service.settings import ServiceSettings

log = logging.getLogger(__name__)
APP_NAME = "article-writer"
APP_VERSION = version(APP_NAME)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DIAGRAM_DIR = "diagram"  # the LoggedModel's artifacts: graph.mmd (Mermaid) and graph.png
MODEL_TYPE = "agent"


@dataclass(frozen=True)
class Commit:
    sha: str
    dirty: bool


def git_commit(root: Path = PROJECT_ROOT) -> Commit | None:
    """The checkout's commit, and whether files differ from it; None outside a git checkout."""
    try:
        sha = _git(root, "rev-parse", "HEAD")
        changes = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return Commit(sha, bool(changes))


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def version_name(commit: Commit | None) -> str:
    # MLflow refuses dots in a LoggedModel's name: 0.1.0 is spelled 0_1_0.
    name = f"{APP_NAME}-{APP_VERSION.replace('.', '_')}"
    return name + (f"-{commit.sha[:8]}" if commit else "")


def params(settings: ServiceSettings) -> dict[str, str]:
    """What, beside the code and the prompts, decides how this version writes."""
    values: dict[str, Any] = {
        "llm.provider": settings.provider,
        "llm.model": settings.model_name,
        "llm.temperature": settings.llm_temperature,
        "llm.max_output_tokens": settings.llm_max_output_tokens,
        "prompt.alias": settings.prompt_alias,
        "graph.max_research_rounds": settings.max_research_rounds,
        "graph.max_editor_rounds": settings.max_editor_rounds,
        "graph.max_revisions": settings.max_revisions,
        "graph.step_timeout_seconds": settings.step_timeout_seconds,
        "graph.request_timeout_seconds": settings.request_timeout_seconds,
    }
    return {key: str(value) for key, value in values.items()}


def prompt_tags(prompts: list[dict[str, Any]]) -> dict[str, str]:
    """`prompt.<name>` = the version served (or `bundled` when the registry was not used)."""
    return {
        f"prompt.{p['name']}": str(p["version"]) if p["version"] is not None else "bundled"
        for p in prompts
    }


class AgentVersion:
    """This process's LoggedModel: found or created once the tracking store answers."""

    def __init__(self, settings: ServiceSettings, graph: Any) -> None:
        self.settings = settings
        self.graph = graph
        self.commit = git_commit()
        self.params = params(settings)
        self.model_id: str | None = None
        self.name: str | None = None
        self._tagged: dict[str, str] = {}
        self._tagging: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """Registers the version if it is not yet; False while the store cannot be reached.

        Runs beside the tracking check (after it has set the experiment), so a server that comes
        up late still gets the version, and traces written before then simply carry none.
        """
        if self.model_id is None:
            try:
                await asyncio.to_thread(self.activate)
            except Exception as exc:  # the app serves articles without a version meanwhile
                log.warning("could not register the agent version: %s", type(exc).__name__)
                return False
        return True

    def activate(self) -> str:
        """Finds or creates the LoggedModel in the active experiment; returns its id."""
        base = version_name(self.commit)
        model = self._find(base)
        if model is not None and model.params != self.params:
            fingerprint = hashlib.sha256(repr(sorted(self.params.items())).encode()).hexdigest()
            model = self._find(name := f"{base}-{fingerprint[:6]}")
        else:
            name = base
        if model is None:
            model = mlflow.create_external_model(
                name=name, params=self.params, tags=self._tags(), model_type=MODEL_TYPE
            )
        else:
            mlflow.set_logged_model_tags(model.model_id, self._tags())
        try:
            self._log_diagram(model.model_id)
        except Exception as exc:  # the version stands without its picture
            log.warning("could not log the graph diagram: %s", type(exc).__name__)
        self.model_id, self.name = model.model_id, name
        log.info("agent version %s (%s)", name, model.model_id)
        return model.model_id

    def note_prompts(self, prompts: list[dict[str, Any]]) -> None:
        """Tags the version with the prompt versions served, when they change (an alias moved).

        Called on every article; the tags are written in the background, only on a change.
        """
        tags = prompt_tags(prompts)
        busy = self._tagging is not None and not self._tagging.done()
        if self.model_id is None or tags == self._tagged or busy:
            return
        self._tagged = tags
        task = self._write_tags(self.model_id, tags)
        self._tagging = asyncio.get_running_loop().create_task(task)

    async def _write_tags(self, model_id: str, tags: dict[str, str]) -> None:
        try:
            await asyncio.to_thread(mlflow.set_logged_model_tags, model_id, tags)
        except Exception as exc:
            log.warning("could not tag the agent version: %s", type(exc).__name__)
            self._tagged = {}  # try again on the next article

    def _tags(self) -> dict[str, str]:
        tags = {"app.version": APP_VERSION}
        if self.commit:
            tags |= {"git.commit": self.commit.sha, "git.dirty": str(self.commit.dirty).lower()}
        return tags

    def _find(self, name: str) -> LoggedModel | None:
        found = mlflow.search_logged_models(
            filter_string=f"name = '{name}'", max_results=1, output_format="list"
        )
        return found[0] if found else None

    def _log_diagram(self, model_id: str) -> None:
        client = mlflow.MlflowClient()
        if client.list_logged_model_artifacts(model_id, DIAGRAM_DIR):
            return
        with tempfile.TemporaryDirectory() as work:
            for name, content in diagram(self.graph).items():
                (Path(work) / name).write_bytes(content)
            client.log_model_artifacts(model_id, work, DIAGRAM_DIR)


def diagram(graph: Any) -> dict[str, bytes]:
    """The graph as LangGraph draws it: Mermaid source, and a PNG rendered here by Graphviz
    (pygraphviz bundles it), with no web rendering service."""
    drawing = graph.get_graph()
    files = {"graph.mmd": drawing.draw_mermaid().encode()}
    try:
        files["graph.png"] = drawing.draw_png()
    except Exception as exc:  # Graphviz missing or failing (no fonts): the Mermaid source stays
        log.warning("could not draw the graph as PNG: %s", type(exc).__name__)
    return files
