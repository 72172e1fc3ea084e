"""What the bot did not understand, the examples editors label from it, and the NLU models trained from them.

Three tables (migration 0007):
- `review_items`: one message the bot did not understand well (out_of_scope, low confidence, the safety
  question, a fallback), its text MASKED at capture (bot/review/capture.py) and never linked to the
  person: no person key, no case, no platform id. Pruned once older than privacy.retention_days.
- `nlu_examples`: the training examples editors made by labelling an item (intent, and optionally
  country and risk). Kept: they are curated training data, masked like the items they came from.
- `nlu_models`: one training job each. A job is "training", then "ready" (with the model's bytes and
  its scores beside the live model's), "failed" or "refused"; a published one holds the version
  number it was published as (published_versions, bot/live.py). Every process loads the published
  model from here, so any number of hosts serve the same one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.live import NLU_MODEL
from bot.storage.engine import WRITE
from bot.storage.published import bump_in
from bot.storage.review_models import (
    ITEM_STATUSES,
    MAX_LISTED,
    MAX_TEXT,
    RISKS,
    NluExample,
    NluModelRow,
    ReviewItem,
)
from bot.storage.store import Store, redact_errors


@dataclass(frozen=True, slots=True)
class ItemRec:
    id: int
    created_at: datetime
    text: str
    nlu: dict[str, Any]
    status: str


@dataclass(frozen=True, slots=True)
class ExampleRec:
    id: int
    text: str
    intent: str
    country: str | None
    risk: str | None


@dataclass(frozen=True, slots=True)
class JobRec:
    id: int
    status: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    examples: int
    base_hash: str
    live_version: int
    scores: dict[str, Any]
    error: str | None
    has_model: bool
    published_version: int | None


class Busy(Exception):
    """A model is being trained already."""

    def __init__(self, job: int) -> None:
        super().__init__(f"model job {job} is training")
        self.job = job


class NotDecidable(Exception):
    """The review item is gone (pruned) or decided already."""


class NotPublishable(Exception):
    pass


JOB_COLUMNS = tuple(c for c in NluModelRow.__table__.c if c.name != "model")


def _job(row: Any) -> JobRec:
    m = row._mapping
    return JobRec(
        id=int(m["id"]),
        status=m["status"],
        started_by=m["started_by"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        examples=int(m["examples"]),
        base_hash=m["base_hash"],
        live_version=int(m["live_version"]),
        scores=dict(m["scores"] or {}),
        error=m["error"],
        has_model=bool(m["has_model"]),
        published_version=m["published_version"],
    )


@redact_errors
class ReviewRepo:
    """`ReviewRepo(store)`: shares the store's engine and clock."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._writer = store.engine.execution_options(**WRITE)

    def now(self) -> datetime:
        return self._store._now()

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        async with (self._writer if write else self._engine).begin() as conn:
            yield conn

    # -- the queue ------------------------------------------------------------------------------------

    async def add_item(self, masked_text: str, nlu: dict[str, Any]) -> int:
        """One not-understood message; the caller masked the text (bot.review.capture.mask)."""
        async with self._tx(write=True) as conn:
            new_id = await conn.scalar(
                insert(ReviewItem)
                .values(created_at=self.now(), text=masked_text[:MAX_TEXT], nlu=nlu, status="open")
                .returning(ReviewItem.id)
            )
        return int(cast(int, new_id))

    async def items(self, status: str = "open", limit: int = MAX_LISTED) -> list[ItemRec]:
        """Newest first."""
        if status not in ITEM_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ITEM_STATUSES)}")
        stmt = (
            select(ReviewItem.id, ReviewItem.created_at, ReviewItem.text, ReviewItem.nlu, ReviewItem.status)
            .where(ReviewItem.status == status)
            .order_by(ReviewItem.id.desc())
            .limit(limit)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(stmt)).all()
        return [ItemRec(r.id, r.created_at, r.text, dict(r.nlu or {}), r.status) for r in rows]

    async def open_count(self) -> int:
        async with self._tx() as conn:
            return int(await conn.scalar(select(func.count()).where(ReviewItem.status == "open")) or 0)

    async def label(self, item_id: int, actor: str, intent: str, country: str | None, risk: str | None) -> int:
        """Label an open item: it becomes a training example (same transaction); the example's id."""
        if risk is not None and risk not in RISKS:
            raise ValueError(f"risk must be one of {', '.join(RISKS)}")
        now = self.now()
        async with self._tx(write=True) as conn:
            text = await conn.scalar(
                update(ReviewItem)
                .where(ReviewItem.id == item_id, ReviewItem.status == "open")
                .values(status="labelled", decided_by=actor, decided_at=now)
                .returning(ReviewItem.text)
            )
            if text is None:
                raise NotDecidable()
            example_id = await conn.scalar(
                insert(NluExample)
                .values(text=text, intent=intent, country=country, risk=risk, created_by=actor, created_at=now)
                .returning(NluExample.id)
            )
        return int(cast(int, example_id))

    async def dismiss(self, item_id: int, actor: str) -> None:
        async with self._tx(write=True) as conn:
            done = await conn.scalar(
                update(ReviewItem)
                .where(ReviewItem.id == item_id, ReviewItem.status == "open")
                .values(status="dismissed", decided_by=actor, decided_at=self.now())
                .returning(ReviewItem.id)
            )
        if done is None:
            raise NotDecidable()

    async def prune(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete review items older than `retention_days` (open or decided); how many went."""
        cutoff = (now or self.now()) - timedelta(days=retention_days)
        async with self._tx(write=True) as conn:
            gone = await conn.execute(delete(ReviewItem).where(ReviewItem.created_at < cutoff))
        return int(gone.rowcount or 0)

    async def examples(self) -> list[ExampleRec]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(
                        NluExample.id, NluExample.text, NluExample.intent, NluExample.country, NluExample.risk
                    ).order_by(NluExample.id)
                )
            ).all()
        return [ExampleRec(r.id, r.text, r.intent, r.country, r.risk) for r in rows]

    # -- model jobs -----------------------------------------------------------------------------------

    async def start_job(
        self, actor: str, examples: int, base_hash: str, live_version: int, stale_after: timedelta
    ) -> int:
        """A new job in "training"; Busy when another started less than `stale_after` ago is still training
        (an older one belonged to a process that went away: it is marked failed)."""
        now = self.now()
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(NluModelRow)
                .where(NluModelRow.status == "training", NluModelRow.started_at < now - stale_after)
                .values(status="failed", error="the training process went away", finished_at=now)
            )
            running = await conn.scalar(select(NluModelRow.id).where(NluModelRow.status == "training").limit(1))
            if running is not None:
                raise Busy(int(running))
            job = await conn.scalar(
                insert(NluModelRow)
                .values(
                    status="training",
                    started_by=actor,
                    started_at=now,
                    examples=examples,
                    base_hash=base_hash,
                    live_version=live_version,
                    scores={},
                )
                .returning(NluModelRow.id)
            )
            # Candidates nobody published are replaced by this one: their model bytes go.
            await conn.execute(
                update(NluModelRow).where(NluModelRow.status.in_(("ready", "refused"))).values(model=None)
            )
        return int(cast(int, job))

    async def finish_job(self, job: int, model: bytes, scores: dict[str, Any]) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(NluModelRow)
                .where(NluModelRow.id == job, NluModelRow.status == "training")
                .values(status="ready", model=model, scores=scores, finished_at=self.now())
            )

    async def fail_job(self, job: int, error: str) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(NluModelRow)
                .where(NluModelRow.id == job, NluModelRow.status == "training")
                .values(status="failed", error=error[:300], finished_at=self.now())
            )

    async def refuse_job(self, job: int, why: str) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(NluModelRow)
                .where(NluModelRow.id == job, NluModelRow.status == "ready")
                .values(status="refused", error=why[:300], model=None)
            )

    async def job(self, job: int) -> JobRec | None:
        stmt = select(*JOB_COLUMNS, NluModelRow.model.is_not(None).label("has_model")).where(NluModelRow.id == job)
        async with self._tx() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _job(row)

    async def latest_jobs(self, limit: int = 10) -> list[JobRec]:
        stmt = (
            select(*JOB_COLUMNS, NluModelRow.model.is_not(None).label("has_model"))
            .order_by(NluModelRow.id.desc())
            .limit(limit)
        )
        async with self._tx() as conn:
            return [_job(r) for r in (await conn.execute(stmt)).all()]

    async def publish(self, job: int, actor: str, expect_live_version: int) -> int:
        """Publish a ready job's model: bump the NLU model version in the same transaction; the version.
        NotPublishable when the job is not ready or another model was published since it was scored."""
        now = self.now()
        async with self._tx(write=True) as conn:
            row = (
                await conn.execute(
                    select(NluModelRow.status, NluModelRow.model.is_not(None)).where(NluModelRow.id == job)
                )
            ).first()
            if row is None or row[0] != "ready" or not row[1]:
                raise NotPublishable(f"job {job} has no model ready to publish")
            version = await bump_in(conn, NLU_MODEL, now)
            if version != expect_live_version + 1:
                raise NotPublishable("another model was published since this one was scored: train again")
            await conn.execute(
                update(NluModelRow)
                .where(NluModelRow.id == job)
                .values(status="published", published_version=version, published_by=actor, published_at=now)
            )
            # Only the model in use keeps its bytes (a process starting now loads it).
            await conn.execute(update(NluModelRow).where(NluModelRow.id != job).values(model=None))
        return version

    async def model_bytes(self, version: int) -> tuple[bytes, str] | None:
        """The published model of `version` and the data hash it was trained on."""
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(NluModelRow.model, NluModelRow.base_hash).where(NluModelRow.published_version == version)
                )
            ).first()
        if row is None or row[0] is None:
            return None
        return bytes(row[0]), str(row[1])
