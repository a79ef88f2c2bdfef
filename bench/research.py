"""Research at scale, and each source's cost: ratios against the bundled library, same run.

1. A library of 1,000 generated documents (Markdown, four sections each) beside the bundled
   36: the time to index it, the memory it holds, a search's and a coverage check's time.
2. An article's latency on the offline model with each source: the bundled library, the
   reader's own PDF/HTML/Word files, Wikipedia and Tavily on a loopback server.

    uv run python -m bench.research [--documents 1000] [--articles 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from agent.research import grounding
from agent.research.sources import Reading, SourceLibrary
from agent.settings import BUNDLED_SOURCES
from cli.settings import Settings
from service.request import WriteRequest
from service.turn import ArticleWriter
from testbed.documents import tidal_folder
from testbed.webserver import fake_web

QUERIES = ["coral bleaching", "tidal barrages", "history of paper", "solar power costs"]


def generate(folder: Path, count: int, seed: int = 7) -> None:
    """`count` documents of English-like text on made-up subjects, four sections each."""
    from wordfreq import top_n_list

    words = top_n_list("en", 20_000)[200:]
    rng = random.Random(seed)
    for i in range(count):
        subject = " ".join(rng.sample(words, 2)).title()
        sections = []
        for s in range(4):
            sentences = [
                " ".join(rng.sample(words, rng.randint(8, 18))).capitalize() + "."
                for _ in range(rng.randint(3, 6))
            ]
            sections.append(f"## {subject} part {s + 1}\n\n" + " ".join(sentences))
        (folder / f"doc-{i:04d}.md").write_text(f"# {subject}\n\n" + "\n\n".join(sections))


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def library_figures(folder: Path) -> dict[str, float]:
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.perf_counter()
    library = SourceLibrary(folder, "documents", Reading(None))
    index_s = time.perf_counter() - started
    held_mb = (process.memory_info().rss - before) / 1e6
    search_ms = 1000 * timed(lambda: [library.search(q, 5) for q in QUERIES], 20) / len(QUERIES)
    covers_ms = 1000 * timed(lambda: grounding.documents_on(library, "tidal barrages"), 5)
    return {
        "documents": len(library.documents),
        "passages": len(library.passages),
        "index_s": index_s,
        "memory_mb": held_mb,
        "search_ms": search_ms,
        "coverage_ms": covers_ms,
    }


async def article_seconds(settings: Settings, topic: str, articles: int) -> float:
    writer = ArticleWriter(settings)
    await writer.write(WriteRequest(topic=topic, target_words=300))  # warm: caches, imports
    times = []
    for _ in range(articles):
        started = time.perf_counter()
        await writer.write(WriteRequest(topic=topic, target_words=300))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def providers(work: Path, articles: int) -> dict[str, float]:
    base: dict[str, Any] = {
        "_env_file": None,
        "tracing_enabled": False,
        "mlflow_tracking_uri": f"sqlite:///{work}/bench.db",
        "sources_cache_dir": work / "cache",
    }
    found: dict[str, float] = {}
    found["bundled library"] = await article_seconds(
        Settings(**base),
        "How do honeybees make honey?",
        articles,
    )
    folder = tidal_folder(work / "own")
    found["own PDF/HTML/Word"] = await article_seconds(
        Settings(**base, sources_dir=folder),
        "Tidal power",
        articles,
    )
    with fake_web() as site:
        for provider, topic in (
            ("wikipedia", "The invention of the telescope"),
            ("tavily", "How telescope lenses are made"),
        ):
            settings = Settings(**base, **site.settings(provider))
            found[f"{provider} (loopback)"] = await article_seconds(settings, topic, articles)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--articles", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generated = work / "generated"
        generated.mkdir()
        generate(generated, args.documents)
        small = library_figures(BUNDLED_SOURCES)
        large = library_figures(generated)
        print(
            f"{'library':<22} {'docs':>6} {'passages':>9} {'index s':>8} {'MB':>6} "
            f"{'search ms':>10} {'coverage ms':>12}"
        )
        for name, row in (("bundled", small), (f"generated {args.documents}", large)):
            print(
                f"{name:<22} {row['documents']:>6.0f} {row['passages']:>9.0f} "
                f"{row['index_s']:>8.2f} {row['memory_mb']:>6.1f} {row['search_ms']:>10.2f} "
                f"{row['coverage_ms']:>12.1f}"
            )
        ratio = {k: large[k] / small[k] for k in ("index_s", "search_ms", "coverage_ms")}
        print(
            "ratio (generated / bundled): " + ", ".join(f"{k} {v:.1f}x" for k, v in ratio.items())
        )

        latencies = asyncio.run(providers(work, args.articles))
        baseline = latencies["bundled library"]
        print(f"\n{'source':<22} {'median s':>9} {'ratio':>7}   ({args.articles} articles each)")
        for name, seconds in latencies.items():
            print(f"{name:<22} {seconds:>9.2f} {seconds / baseline:>6.2f}x")


if __name__ == "__main__":
    main()
