"""Where tracing's CPU goes, by function: the API sampled by py-spy under load, traced and not.

    uv run python -m bench.profile [--concurrency 8] [--duration 40] [--top 15]
        [--setting OFFLINE_FIRST_TOKEN_MS=300 ...] [--save DIR]

Starts an MLflow server and two APIs on loopback (offline model, no delay unless --setting
gives one), as bench.throughput does, and loads each in turn while py-spy samples the API
process from outside: each sample is the stack of the thread holding the GIL, so the samples are
the process's Python work on every thread (native work without the GIL, such as the kernel's
side of a socket call, is not in them). Nothing in the app is changed to be profiled.

Prints CPU per article by who owns the work, traced against untraced: a sample belongs to
`tracing` when any frame in its stack is MLflow's, OpenTelemetry's, LangChain's tracer
callbacks, the app's tracing layer or the agent's state spans; the others are grouped by the
innermost library frame.
Then, for the traced API's tracing samples, the entry points (the outermost tracing frame of
each stack: what called into tracing) and the functions that did the work (the innermost
frame), each as ms per article. `--save` keeps py-spy's raw stacks for a flame graph.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import apis, tracking_server_pid
from bench.phases import Phase, report_phase, report_ratios
from bench.throughput import COMMON, run_load, warm_up

RATE = 200  # samples a second per thread

# A frame is "name (path:line)" in py-spy's raw output; the path says whose code it is.
FRAME = re.compile(r"^(?P<name>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")

# Whose work a frame is, by its file's path: the first match wins.
TRACING = (
    ("mlflow", "/mlflow/"),
    ("opentelemetry", "/opentelemetry/"),
    ("langchain tracer callbacks", "/langchain_core/tracers/"),
    ("app tracing", "/tracing/"),  # the app's tracing layer (MLflow's own matched above)
    ("app tracing", "/agent/spans.py"),  # the agent's node state spans
)
# Tracing's wrappers around someone else's function: below these frames the work is that
# function's own (the node the app's span decorator runs, the LangChain call autolog patched).
PASS_THROUGH = (
    ("run", "agent/spans.py"),
    ("call_original", "mlflow/utils/autologging_utils/safety.py"),
)
OWNERS = (
    ("langchain callbacks", "/langchain_core/callbacks/"),
    ("langgraph", "/langgraph/"),
    ("langchain", "/langchain_core/"),
    ("openai client", "/openai/"),
    ("langchain-openai", "/langchain_openai/"),
    ("httpx/httpcore", "/httpx/"),
    ("httpx/httpcore", "/httpcore/"),
    ("pydantic", "/pydantic"),
    ("web server", "/uvicorn/"),
    ("web server", "/starlette/"),
    ("web server", "/fastapi/"),
    ("web server", "/sse_starlette/"),
    ("ranking", "/rank_bm25"),
    ("ranking", "/numpy/"),
    ("app", "/agent/"),
    ("app", "/service/"),
    ("app", "/api/"),
)


@dataclass
class Profile:
    """py-spy's samples of one load phase, as (stack, count); a stack runs outermost first."""

    articles: int
    stacks: list[tuple[list[tuple[str, str]], int]] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str, articles: int) -> Profile:
        profile = cls(articles)
        for line in raw.splitlines():
            stack_text, _, count = line.rpartition(" ")
            if not stack_text or not count.isdigit():
                continue
            frames = []
            for text in stack_text.split(";"):
                match = FRAME.match(text)
                # The thread's own entry ("thread (0x7f..)") has no path: it owns nothing.
                if match and match["path"].endswith(".py"):
                    frames.append((match["name"], match["path"]))
            profile.stacks.append((frames, int(count)))
        return profile

    def ms_per_article(self, samples: int) -> float:
        return samples * 1000 / RATE / max(self.articles, 1)

    def by_owner(self) -> Counter[str]:
        owners: Counter[str] = Counter()
        for frames, count in self.stacks:
            owners[owner(frames)] += count
        return owners

    def tracing_functions(self) -> tuple[Counter[str], Counter[str]]:
        """Of the tracing samples: by entry point (outermost tracing frame) and by the
        innermost frame, each as "function (library file)"."""
        entries: Counter[str] = Counter()
        leaves: Counter[str] = Counter()
        for frames, count in self.stacks:
            own = own_work(frames)
            inside = [i for i, (_, path) in enumerate(own) if tracing_part(path)]
            if not inside:
                continue
            entries[label(own[inside[0]])] += count
            leaves[label(own[-1])] += count
        return entries, leaves


def tracing_part(path: str) -> str | None:
    return next((name for name, marker in TRACING if marker in f"/{path}"), None)


def own_work(frames: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The stack below the innermost pass-through frame: the part that decides the owner."""
    cut = 0
    for i, (name, path) in enumerate(frames):
        if any(name.endswith(n) or f".{n}" in name for n, p in PASS_THROUGH if path.endswith(p)):
            cut = i + 1
    return frames[cut:]


def owner(frames: list[tuple[str, str]]) -> str:
    own = own_work(frames)
    if any(tracing_part(path) for _, path in own):
        return "tracing"
    for _, path in reversed(own):
        for name, marker in OWNERS:
            if marker in f"/{path}":
                return name
    return "python and the rest"


def label(frame: tuple[str, str]) -> str:
    name, path = frame
    # The path inside site-packages (or the project) is enough to find the function.
    short = re.sub(r"^.*?/(site-packages|lib/python3\.\d+)/", "", path)
    short = re.sub(r"^.*?/(agent|api)/", r"\1/", short)
    return f"{name} ({short})"


@contextlib.contextmanager
def sampled(pid: int, out: Path) -> Iterator[None]:
    """py-spy records the process's threads while the block runs."""
    spy = subprocess.Popen(
        [
            py_spy(),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(RATE),
            "--format",
            "raw",
            "--nonblocking",  # never pauses the API: its timings stay honest
            "--gil",  # only the thread running Python: a thread waiting for the GIL costs nothing
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    yield
    # Stopped when the last response is in, so the samples cover exactly the phase's articles.
    spy.send_signal(signal.SIGINT)
    _, err = spy.communicate(timeout=60)
    if spy.returncode != 0 or not out.exists():
        sys.exit(f"py-spy failed ({spy.returncode}): {err.decode(errors='replace')[-500:]}")


def py_spy() -> str:
    """py-spy from the project's dev dependencies, beside this Python."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        sys.exit("py-spy is not installed: run `make sync` (it is a dev dependency)")
    return found


def report(traced: Profile, untraced: Profile, top: int) -> None:
    mine, theirs = traced.by_owner(), untraced.by_owner()
    print("sampled CPU per article, ms (traced, untraced, difference):")
    rows = sorted(set(mine) | set(theirs), key=lambda o: -(mine[o] + theirs[o]))
    for name in rows:
        t, u = traced.ms_per_article(mine[name]), untraced.ms_per_article(theirs[name])
        print(f"   {name:<28} {t:7.1f} {u:7.1f} {t - u:+7.1f}")
    t = traced.ms_per_article(sum(mine.values()))
    u = untraced.ms_per_article(sum(theirs.values()))
    print(f"   {'all':<28} {t:7.1f} {u:7.1f} {t - u:+7.1f}\n")
    entries, leaves = traced.tracing_functions()
    for title, counter in (
        ("tracing, by entry point (what called into it)", entries),
        ("tracing, by the function doing the work", leaves),
    ):
        print(f"{title}, ms per article:")
        for name, count in counter.most_common(top):
            print(f"   {traced.ms_per_article(count):6.1f}  {name}")
        print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=40, help="seconds per configuration")
    parser.add_argument("--top", type=int, default=15, help="functions listed per table")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--save", type=Path, help="keep py-spy's raw stacks in this folder")
    args = parser.parse_args()
    both = {**COMMON, **dict(setting.split("=", 1) for setting in args.setting)}
    configs = {"untraced": {**both, "TRACING_ENABLED": "false"}, "traced": both}
    with apis(configs) as (mlflow_url, servers):
        folder = args.save or next(iter(servers.values())).log.parent
        folder.mkdir(parents=True, exist_ok=True)
        mlflow_pid = tracking_server_pid(mlflow_url)
        phases: dict[str, Phase] = {}
        profiles: dict[str, Profile] = {}
        for name, api in servers.items():
            warm_up(api)
            phase = phases[name] = Phase(name, args.concurrency)
            out = folder / f"{name}.pyspy.txt"
            with sampled(api.process.pid, out):
                asyncio.run(run_load(api, mlflow_pid, phase, args.duration))
            report_phase(phase)
            profiles[name] = Profile.parse(out.read_text(), len(phase.latencies_ms))
        report_ratios(phases["traced"], phases["untraced"])
        report(profiles["traced"], profiles["untraced"], args.top)
        print(f"raw stacks: {folder}/*.pyspy.txt")


if __name__ == "__main__":
    main()
