"""What the real model did, per topic: the answer, how long it took, and what its trace shows.

One JSON file per session (for comparing runs), and a compact table at the end of the terminal
output (for reading one).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlflow.entities import Span, Trace

from agent.graph import build_graph

# The graph's nodes, as LangGraph lists them.
NODES = tuple(name for name in build_graph().nodes if not name.startswith("__"))
# llama-server's per-request timing lines, "… print_timing: id  0 | task 0 | prompt eval time =
# 4180.60 ms /   997 tokens (…)" then "… |        eval time = 2362.28 ms /   140 tokens (…, 58.84
# tokens per second)".
PROMPT_LINE = re.compile(r"\| prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
EVAL_LINE = re.compile(
    r"\|\s+eval time =\s*[\d.]+ ms /\s*(\d+) tokens.*?([\d.]+) tokens per second"
)


@dataclass
class Run:
    topic: str
    in_library: bool
    status: int | None = None  # None: no answer before the client's timeout
    code: str | None = None  # "ok", the error code, or what went wrong on the client side
    message: str | None = None
    wall_s: float | None = None
    trace_id: str | None = None
    article: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None
    model_calls: dict[str, Any] | None = None  # from llama-server's log
    api_log: list[str] = field(default_factory=list)  # the API's warnings while it ran
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    setup: dict[str, Any] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    path: Path | None = None

    def write(self, path: Path) -> None:
        self.path = path
        body = {"setup": self.setup, "runs": [asdict(run) for run in self.runs]}
        path.write_text(json.dumps(body, indent=2, default=str) + "\n")

    def table(self) -> list[str]:
        lines = [
            f"{'topic':<40} {'status':>6} {'code':<18} {'wall s':>7}  nodes (runs × s) / tools"
        ]
        for run in self.runs:
            status = "-" if run.status is None else str(run.status)
            wall = "-" if run.wall_s is None else f"{run.wall_s:.0f}"
            lines.append(f"{run.topic[:40]:<40} {status:>6} {run.code or '-':<18} {wall:>7}  ")
            if run.trace:
                nodes = run.trace["nodes"]
                lines[-1] += " ".join(
                    f"{name}×{n['runs']}:{n['seconds']:.0f}" for name, n in nodes.items()
                )
                tools = ", ".join(f"{t}×{n}" for t, n in run.trace["tools"].items()) or "none"
                lines.append(f"{'':<75}tools: {tools}")
            if run.model_calls:
                calls = run.model_calls
                lines.append(
                    f"{'':<75}model: {calls['completions']} calls, {calls['prompt_tokens']} "
                    f"prompt / {calls['generated_tokens']} generated tokens "
                    f"(longest answer {calls['longest_answer_tokens']})"
                )
            lines.extend(f"{'':<6}✗ {problem[:300]}" for problem in run.problems)
            if run.problems:  # why, as the server saw it: its account of the failure
                failed = [i for i, line in enumerate(run.api_log) if "article failed" in line]
                shown = run.api_log[failed[0] : failed[0] + 3] if failed else run.api_log[-3:]
                lines.extend(f"{'':<6}log: {line[:300]}" for line in shown)
        return lines


def _seconds(span: Span) -> float:
    if span.end_time_ns is None:  # never ended: count it as zero rather than guess
        return 0.0
    return (span.end_time_ns - span.start_time_ns) / 1e9


def summarize_trace(trace: Trace) -> dict[str, Any]:
    """Per node: how often it ran and for how long; the tools called; the model calls."""
    spans = trace.data.spans
    by_id = {s.span_id: s for s in spans}
    gated = {
        by_id[s.parent_id].name for s in spans if s.name.endswith(".state") and s.parent_id in by_id
    }
    names = [*NODES, *sorted(gated - set(NODES))]
    nodes: dict[str, dict[str, Any]] = {}
    for name in names:
        runs = [s for s in spans if s.name == name and s.span_type != "TOOL"]
        if runs:
            durations = [round(_seconds(s), 2) for s in runs]
            nodes[name] = {
                "runs": len(runs),
                "seconds": round(sum(durations), 2),
                "each": durations,
            }
    tools = Counter(s.name for s in spans if s.span_type == "TOOL")
    chats = [s for s in spans if s.span_type == "CHAT_MODEL"]
    root = next((s for s in spans if s.parent_id is None), None)
    gate = next((s for s in spans if s.name == "coverage" and s.span_type != "TOOL"), None)
    return {
        "state": trace.info.state.value,
        "outcome": (root.attributes.get("error.code") if root else None)
        or trace.info.tags.get("outcome"),
        "nodes": nodes,
        "tools": dict(tools),
        "chat_calls": len(chats),
        "chat_seconds": round(sum(_seconds(s) for s in chats), 2),
        "token_usage": trace.info.token_usage,
        # Why the gate let the article through or not: the sources kept, the sections dropped.
        "coverage": _coverage(gate) if gate else None,
    }


def _coverage(gate: Span) -> dict[str, Any] | None:
    outputs, inputs = gate.outputs, gate.inputs
    found = outputs.get("coverage") if isinstance(outputs, dict) else None
    if not isinstance(found, dict):
        return None
    planned = (inputs.get("outline") if isinstance(inputs, dict) else None) or {}
    return {
        "planned": [s.get("heading") for s in planned.get("sections", [])],
        "verdict": found.get("verdict"),
        "kept": [s.get("id") for s in found.get("kept", [])],
        "sections_dropped": found.get("sections_dropped"),
        "outline": [s.get("heading") for s in (outputs.get("outline") or {}).get("sections", [])],
    }


def summarize_model_log(text: str) -> dict[str, Any]:
    """What llama-server says it did for one request's worth of its log."""
    prompts = [int(n) for n in PROMPT_LINE.findall(text)]
    evals = [(int(n), float(rate)) for n, rate in EVAL_LINE.findall(text)]
    generated = [n for n, _ in evals]
    return {
        "completions": len(generated),
        "prompt_tokens": sum(prompts),
        "generated_tokens": sum(generated),
        "longest_answer_tokens": max(generated, default=0),
        "tokens_per_second": [rate for _, rate in evals],
    }
