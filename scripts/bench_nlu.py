"""NLU benchmark: model load time, parse latency p50/p99 and peak memory, printed as figures."""

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


def main() -> int:
    from bot.settings import load_settings

    settings = load_settings(ROOT / "config.yml")
    model_path = ROOT / settings.nlu.model_path
    t0 = time.perf_counter()
    from nlu.backends.builtin import BuiltinBackend
    from nlu.pipeline import Nlu

    nlu = Nlu(BuiltinBackend.from_path(model_path))
    load_s = time.perf_counter() - t0
    texts = [json.loads(line)["text"] for line in (ROOT / "tests/data/nlu_test.jsonl").read_text().splitlines()]

    async def run() -> list[float]:
        lat = []
        for _ in range(5):
            for t in texts:
                s = time.perf_counter()
                await nlu.parse(t)
                lat.append((time.perf_counter() - s) * 1000)
        return lat

    lat = sorted(asyncio.run(run()))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model load (imports + model)  {load_s:.2f} s")
    print(f"parses                        {len(lat)}")
    print(f"parse latency p50             {statistics.median(lat):.2f} ms")
    print(f"parse latency p99             {lat[int(0.99 * (len(lat) - 1))]:.2f} ms")
    print(f"peak RSS                      {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
