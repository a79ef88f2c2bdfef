"""How much a stored article trace weighs, and where the weight is.

    uv run python -m bench.trace_weight [--topic "..."] [--top 12]

Starts an MLflow server and a traced API on loopback (offline model), writes one standard
article (the request's defaults), reads its trace back from the server and prints the stored
size (each span as MLflow serialises it), the span count, the heaviest spans and their inputs'
and outputs' share, and the spans that hold a source document's text. Deterministic on the
offline model: the same code writes the same trace, so a change's effect is the difference.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from mlflow.entities import Span

from agent.research.sources import SourceLibrary
from agent.settings import get_settings
from bench.harness import apis
from testbed.servers import wait_for_trace

TOPIC = "How honeybees pollinate crops"
KIB = 1024


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def holders_of_documents(spans: list[Span], library: SourceLibrary) -> Counter[str]:
    """Span name -> how many of the library's passages its inputs or outputs quote whole."""
    texts = [p.text for p in library.passages if len(p.text) > 200]
    found: Counter[str] = Counter()
    for span in spans:
        blob = json.dumps([span.inputs, span.outputs], ensure_ascii=False, default=str)
        if quoted := sum(1 for text in texts if json.dumps(text, ensure_ascii=False)[1:-1] in blob):
            found[span.name] += quoted
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--save", type=Path, help="write the trace's JSON here, to read it")
    args = parser.parse_args()
    with apis({"traced": {}}) as (mlflow_url, started):
        api = started["traced"]
        answer = httpx.post(f"{api.url}/write", json={"topic": args.topic}, timeout=120)
        answer.raise_for_status()
        body = answer.json()
        trace = wait_for_trace(mlflow_url, body["trace_id"])
    if args.save:
        args.save.write_text(trace.to_json(pretty=True))
    spans = trace.data.spans
    sizes = {s.span_id: size(s.to_dict()) for s in spans}
    total = sum(sizes.values())
    print(
        f"{args.topic!r}: {body['article']['word_count']} words; stored trace "
        f"{total / KIB:.0f} KiB in {len(spans)} spans"
    )
    by_name: Counter[str] = Counter()
    for s in spans:
        by_name[s.name] += sizes[s.span_id]
    print(f"heaviest span names (of {len(by_name)}):")
    for name, weight in by_name.most_common(args.top):
        count = sum(1 for s in spans if s.name == name)
        ins = sum(size(s.inputs) for s in spans if s.name == name)
        outs = sum(size(s.outputs) for s in spans if s.name == name)
        print(
            f"  {name:<28} x{count:<3} {weight / KIB:6.1f} KiB  "
            f"(inputs {ins / KIB:5.1f}, outputs {outs / KIB:5.1f})"
        )
    library = SourceLibrary.from_settings(get_settings())
    holders = holders_of_documents(spans, library)
    print("spans quoting whole library passages (name: passages quoted):")
    for name, quoted in holders.most_common():
        print(f"  {name:<28} {quoted}")


if __name__ == "__main__":
    main()
