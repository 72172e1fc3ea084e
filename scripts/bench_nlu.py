"""NLU benchmark: model load time, whole-pipeline parse latency p50/p99 and peak memory, printed as figures.

The pipeline is the one the bot serves with: intent classifier, rules, the learned risk model and its
sentence embeddings (multilingual-e5-small). Messages come from the project's own test sets (short
questions, long stories, every script); each is parsed once cold (not in the embedding cache).

Wall-clock latency depends on what else the machine runs; the CPU time of a parse (all threads of the
process) and the share of parses that needed no sentence embedding depend far less on it, so compare
runs on a shared machine by those.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ("tests/data/nlu_test.jsonl", "tests/data/mixed_independent.jsonl", "tests/data/risk_independent.jsonl")


class CountingEmbedder:
    """The serving embedder, counting the texts it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> Any:
        self.texts += len(texts)
        return self.inner.embed(texts)


def _percentiles(values: list[float]) -> str:
    v = sorted(values)
    return f"p50 {statistics.median(v):.2f}  p90 {v[int(0.90 * (len(v) - 1))]:.2f}  p99 {v[int(0.99 * (len(v) - 1))]:.2f} ms"


def main() -> int:
    from bot.settings import load_settings

    settings = load_settings(ROOT / "config.yml")
    t0 = time.perf_counter()
    from bot.services import build_nlu

    nlu = build_nlu(settings.nlu)
    if nlu.embedder is not None:
        nlu.embedder.embed(["warm up"])  # the engine's first call allocates
    load_s = time.perf_counter() - t0
    texts = [json.loads(line)["text"] for s in SETS for line in (ROOT / s).read_text().splitlines() if line.strip()]
    counting = CountingEmbedder(nlu.embedder)
    nlu.embedder = counting
    if hasattr(nlu.backend, "embedder"):
        nlu.backend.embedder = counting

    async def run() -> tuple[list[float], list[float], int]:
        lat, cpu, unembedded = [], [], 0
        for t in texts:
            before = counting.texts
            c, s = time.process_time(), time.perf_counter()
            await nlu.parse(t)
            lat.append((time.perf_counter() - s) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            unembedded += counting.texts == before
        return lat, cpu, unembedded

    lat, cpu, unembedded = asyncio.run(run())
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model load (imports + models)  {load_s:.2f} s")
    print(f"parses (each message once)     {len(lat)}, {unembedded / len(lat):.0%} without the sentence embedding")
    print(f"parse latency                  {_percentiles(lat)}")
    print(f"parse CPU time                 {_percentiles(cpu)} (total {sum(cpu) / 1000:.1f} s)")
    print(f"peak RSS                       {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
