"""Train a candidate model and score it beside the live one: the console's "Train" runs this as a child
process (bot/review/training.py), at low CPU priority, so the server keeps answering.

    python -m nlu.candidate --data DIR --out MODEL --live LIVE_MODEL --scores OUT.json SET.jsonl...

DIR is a training folder (intent YAML; risk examples in its risk_data sibling); each SET is a labelled
test set (tests/data/*.jsonl): both models are scored on each with the same pipeline and thresholds.
Only exception names reach stderr, never message text.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nlu.backends.builtin import BuiltinBackend, BuiltinModel, load, train_from
from nlu.embedding import shared_embedder
from nlu.evaluate import Report, evaluate, read_rows
from nlu.pipeline import Nlu, Thresholds


def summary(rep: Report) -> dict[str, float | int | None]:
    """The four figures the review page shows: intent accuracy, on Latin-script Bulgarian, urgent messages
    caught (judged urgent or the safety question asked), harmless ones called urgent."""
    return {
        "n": rep.n,
        "intent": round(rep.intent_accuracy, 4),
        "bg_latn": None if "bg-latn" not in rep.accuracy_by_lang else round(rep.accuracy_by_lang["bg-latn"], 4),
        "urgent_caught": round(rep.urgent_caught, 4),
        "false_urgent": round(rep.false_urgent_rate, 4),
    }


async def score(model: BuiltinModel, thresholds: Thresholds, sets: Sequence[Path]) -> dict[str, object]:
    nlu = Nlu(BuiltinBackend(model), thresholds, model.risk, shared_embedder())
    try:
        return {path.stem: summary(await evaluate(nlu, read_rows(path))) for path in sets}
    finally:
        await nlu.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nlu.candidate", description=__doc__)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--live", required=True, type=Path)
    p.add_argument("--scores", required=True, type=Path)
    p.add_argument("--embed-cache", type=Path)
    p.add_argument("--fallback", type=float, default=Thresholds.fallback)
    p.add_argument("--emergency", type=float, default=Thresholds.emergency_alone)
    p.add_argument("sets", nargs="+", type=Path)
    args = p.parse_args(argv)
    os.nice(10)  # the server's turns come first
    try:
        model, n, seconds = train_from(args.data, args.out, embed_cache=args.embed_cache)
        thresholds = Thresholds(args.fallback, args.emergency)
        scores = {
            "candidate": asyncio.run(score(model, thresholds, args.sets)),
            "live": asyncio.run(score(load(args.live), thresholds, args.sets)),
            "trained_on": n,
            "train_seconds": round(seconds, 1),
        }
    except Exception as e:  # the parent stores this line as the job's error: a name, never data
        print(f"training failed: {type(e).__name__}", file=sys.stderr)
        return 1
    args.scores.write_text(json.dumps(scores), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
