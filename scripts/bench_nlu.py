"""NLU benchmark: model load time, whole-pipeline parse latency p50/p99 and peak memory, printed as figures.

The pipeline is the one the bot serves with: intent classifier, rules, the learned risk model and its
sentence embeddings (multilingual-e5-small). Messages come from the project's own test sets (short
questions, long stories, every script); each is parsed once cold (not in the embedding cache).
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SETS = ("tests/data/nlu_test.jsonl", "tests/data/mixed_independent.jsonl", "tests/data/risk_independent.jsonl")


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

    async def run() -> list[float]:
        lat = []
        for t in texts:
            s = time.perf_counter()
            await nlu.parse(t)
            lat.append((time.perf_counter() - s) * 1000)
        return lat

    lat = sorted(asyncio.run(run()))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model load (imports + models)  {load_s:.2f} s")
    print(f"parses (each message once)     {len(lat)}")
    print(f"parse latency p50              {statistics.median(lat):.2f} ms")
    print(f"parse latency p90              {lat[int(0.90 * (len(lat) - 1))]:.2f} ms")
    print(f"parse latency p99              {lat[int(0.99 * (len(lat) - 1))]:.2f} ms")
    print(f"peak RSS                       {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
