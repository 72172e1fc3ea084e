"""One background training job at a time: a candidate NLU model trained from nlu/data (+ nlu/risk_data)
and the examples editors labelled, scored beside the live model on the project's test sets.

`Trainer.start(actor)` records the job ("training") and returns its number at once; a child process
(nlu/candidate.py, at low priority: the machine's cores serve the chat first) trains and scores; the
model's bytes and the scores go into the job's row ("ready"), where any process can publish it from.
Labelled examples that are word for word in a test set are held out of the training: a test set is
never training data. `publish(job, actor)` refuses a candidate that catches fewer urgent messages than
the live model on any test set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.live import NLU_MODEL, Current
from bot.review.export import Labelled, write_examples
from bot.settings import Settings
from bot.storage.published import PublishedRepo
from bot.storage.review_repo import ExampleRec, JobRec, NotPublishable, ReviewRepo
from nlu.backends.builtin import data_hash, risk_dir_for
from nlu.evaluate import read_rows
from nlu.pipeline import Nlu

log = logging.getLogger(__name__)

TEST_SETS = (
    Path("tests/data/nlu_test.jsonl"),
    Path("tests/data/risk_independent.jsonl"),
    Path("tests/data/mixed_independent.jsonl"),
)
TRAIN_TIMEOUT = timedelta(minutes=30)  # a job older than this that still says "training" lost its process


class CannotTrain(Exception):
    """Training is not possible here (another backend, missing data or test sets)."""


class Refused(Exception):
    """The candidate catches fewer urgent messages than the live model."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def refusal(scores: dict[str, Any]) -> str | None:
    """Why this candidate may not be published: fewer urgent messages caught than the live model on a set."""
    cand, live = scores.get("candidate") or {}, scores.get("live") or {}
    if not cand or not live:
        return "no scores"
    for name, figures in cand.items():
        before = (live.get(name) or {}).get("urgent_caught")
        if before is not None and figures.get("urgent_caught", 0.0) < before - 1e-9:
            return f"urgent caught drops on {name}: {figures['urgent_caught']:.1%} < {before:.1%}"
    return None


class Trainer:
    def __init__(
        self,
        settings: Settings,
        repo: ReviewRepo,
        published: PublishedRepo,
        live_nlu: Current[Nlu],
        test_sets: tuple[Path, ...] = TEST_SETS,
        embed_cache: Path | None = None,
    ) -> None:
        self.settings, self.repo, self.published, self.live_nlu = settings, repo, published, live_nlu
        self.test_sets = test_sets
        self.embed_cache = embed_cache or settings.nlu.model_path.parent / "embeddings.npz"
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def _check(self) -> None:
        s = self.settings.nlu
        if s.backend != "builtin":
            raise CannotTrain("training in the console needs the built-in NLU backend (nlu.backend: builtin)")
        if not s.data_dir.is_dir():
            raise CannotTrain(f"no training data folder {s.data_dir}")
        missing = [str(p) for p in self.test_sets if not p.is_file()]
        if missing:
            raise CannotTrain(f"test set not found: {', '.join(missing)}")

    def held_out(self) -> set[str]:
        return {r.text.strip().lower() for path in self.test_sets for r in read_rows(path)}

    async def start(self, actor: str) -> int:
        """Record a job and start training it in the background; Busy when one is running."""
        self._check()
        held = await asyncio.to_thread(self.held_out)
        examples = [e for e in await self.repo.examples() if e.text.strip().lower() not in held]
        live_version = (await self.published.versions()).get(NLU_MODEL, 0)
        base = data_hash(self.settings.nlu.data_dir)
        job = await self.repo.start_job(actor, len(examples), base, live_version, TRAIN_TIMEOUT)
        self._tasks[job] = asyncio.create_task(self._run(job, examples, live_version), name=f"nlu-train-{job}")
        return job

    async def _run(self, job: int, examples: list[ExampleRec], live_version: int) -> None:
        work = Path(tempfile.mkdtemp(prefix="sigurno-train-"))
        try:
            error = await self._train(job, work, examples, live_version)
        except asyncio.CancelledError:
            await self.repo.fail_job(job, "the server stopped during training")
            raise
        except Exception as e:
            log.exception("nlu training job %d failed", job)
            error = f"training failed: {type(e).__name__}"
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self._tasks.pop(job, None)
        if error:
            await self.repo.fail_job(job, error)

    async def _train(self, job: int, work: Path, examples: list[ExampleRec], live_version: int) -> str | None:
        s = self.settings.nlu
        data = work / "data"
        shutil.copytree(s.data_dir, data, ignore=shutil.ignore_patterns("*.tmp"))
        risk_src = risk_dir_for(s.data_dir)
        if risk_src.is_dir():
            shutil.copytree(risk_src, risk_dir_for(data))
        write_examples([Labelled(e.text, e.intent, e.country, e.risk) for e in examples], data)
        if live_version:
            got = await self.repo.model_bytes(live_version)
            if got is None:
                return f"the live model (version {live_version}) is not in the database"
            live = work / "live.joblib"
            live.write_bytes(got[0])
        else:
            live = s.model_path
        out, scores_file = work / "candidate.joblib", work / "scores.json"
        args = [
            *("-m", "nlu.candidate", "--data", str(data), "--out", str(out), "--live", str(live)),
            *("--scores", str(scores_file), "--embed-cache", str(self.embed_cache)),
            *("--fallback", str(s.fallback_threshold), "--emergency", str(s.emergency_threshold)),
            *(str(p) for p in self.test_sets),
        ]
        log.info("nlu training job %d started with %d labelled examples", job, len(examples))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), TRAIN_TIMEOUT.total_seconds())
        except (TimeoutError, asyncio.CancelledError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()
            return (last[-1] if last else f"training exited with {proc.returncode}")[:200]
        scores = json.loads(scores_file.read_text(encoding="utf-8"))
        await self.repo.finish_job(job, out.read_bytes(), scores)
        log.info("nlu training job %d ready in %.0f s", job, float(scores.get("train_seconds", 0)))
        return None

    async def publish(self, job: int, actor: str) -> int:
        """Publish a ready candidate; every process swaps it in (bot/review/service.py). Refused when it
        catches fewer urgent messages than the live model; NotPublishable when it is not ready."""
        rec = await self.repo.job(job)
        if rec is None or rec.status != "ready":
            raise NotPublishable(f"job {job} is not a candidate ready to publish")
        why = refusal(rec.scores)
        if why:
            await self.repo.refuse_job(job, why)
            raise Refused(why)
        return await self.repo.publish(job, actor, rec.live_version)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def job_json(rec: JobRec) -> dict[str, Any]:
    scores = rec.scores or {}
    return {
        "job": rec.id,
        "status": rec.status,
        "started_by": rec.started_by,
        "started_at": rec.started_at.isoformat().replace("+00:00", "Z"),
        "finished_at": None if rec.finished_at is None else rec.finished_at.isoformat().replace("+00:00", "Z"),
        "examples": rec.examples,
        "scores": {"candidate": scores.get("candidate"), "live": scores.get("live")},
        "train_seconds": scores.get("train_seconds"),
        "refusal": refusal(scores) if rec.status == "ready" else None,
        "error": rec.error,
        "published_version": rec.published_version,
    }
