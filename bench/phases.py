"""One load phase (a configuration at a concurrency): what its clients saw, and how it is told."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import dataclass, field

from bench.write_latency import p95


@dataclass
class Phase:
    """One configuration at one concurrency: what the clients saw."""

    config: str
    concurrency: int
    started_ms: int = 0  # wall clock, to find this phase's traces in the server
    seconds: float = 0.0  # first request sent to last response received
    latencies_ms: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    trace_ids: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds over the load
    mlflow_cpu_at_start: float = 0.0  # the tracking server's, when the phase began

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def report_phase(phase: Phase) -> None:
    lat = phase.latencies_ms
    failures = ", ".join(f"{k}: {v}" for k, v in sorted(phase.failures.items())) or "none"
    median = statistics.median(lat) if lat else float("nan")
    tail = p95(lat) if len(lat) > 1 else float("nan")
    print(
        f"{phase.config:>9}: {len(lat):5d} ok  {phase.rate:6.2f} articles/s  "
        f"median {median:6.0f} ms  p95 {tail:6.0f} ms  failures: {failures}",
        flush=True,
    )
    cpu = phase.cpu
    others = cpu["machine"] - cpu["API"] - cpu["MLflow server"] - cpu["this client"]
    per_article = 1000 / max(len(lat), 1)
    cores = {**cpu, "other processes": others}
    busy = ", ".join(
        f"{name} {cores[name] / phase.seconds:.2f}"
        for name in ("API", "MLflow server", "this client", "other processes")
    )
    print(
        f"   CPU per article: API {cpu['API'] * per_article:.0f} ms (event loop "
        f"{cpu['event loop'] * per_article:.0f} ms). Cores busy during the load: {busy}, "
        f"of {os.cpu_count()}",
        flush=True,
    )


def report_ratios(traced: Phase, untraced: Phase, label: str = "traced/untraced") -> None:
    """Traced against untraced (or any phase against a baseline, named by `label`), same run:
    throughput, median and p95 latency, API CPU."""
    t, u = traced.latencies_ms, untraced.latencies_ms
    cpu = [p.cpu["API"] * 1000 / max(len(p.latencies_ms), 1) for p in (traced, untraced)]
    print(
        f"   {label}: throughput {traced.rate / untraced.rate:.2f}, median latency "
        f"{statistics.median(t) / statistics.median(u):.3f}x, p95 {p95(t) / p95(u):.3f}x, "
        f"API CPU per article {cpu[0]:.0f} vs {cpu[1]:.0f} ms\n",
        flush=True,
    )
