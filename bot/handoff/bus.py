"""Live console events: an in-process broadcaster, or Redis pub/sub so every bot process sees every event.

Events carry no personal data: a case id, its priority, country, channel, status, and the mediator's
name. A slow subscriber (an SSE client on a bad line) never holds up the others: its queue is bounded
and it is told to reload (`overflow`) instead of receiving an unbounded backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

EventType = Literal["case_opened", "case_updated", "message", "overflow"]
QUEUE_SIZE = 256


@dataclass(frozen=True)
class ConsoleEvent:
    type: EventType
    case_id: int
    priority: str | None = None
    country: str | None = None
    channel: str | None = None
    status: str | None = None  # queued | assigned | closed | released | erased
    assignee: str | None = None
    change: str | None = None  # opened | raised | claimed | released | closed | realert | erased | in | mediator

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConsoleEvent:
        fields = {k: data.get(k) for k in ("priority", "country", "channel", "status", "assignee", "change")}
        return cls(type=data["type"], case_id=int(data["case_id"]), **fields)


class Subscription:
    """What one listener (an SSE stream) reads from: `await sub.get()` -> event, or None when the bus closed."""

    def __init__(self, owner: LocalFanout) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[ConsoleEvent | None] = asyncio.Queue(QUEUE_SIZE)

    def _offer(self, event: ConsoleEvent | None) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Too far behind: drop the backlog and ask the client to reload once.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(ConsoleEvent("overflow", 0) if event is not None else None)

    async def get(self) -> ConsoleEvent | None:
        return await self._queue.get()

    def close(self) -> None:
        self._owner._subs.discard(self)


class LocalFanout:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self.closed = False

    def subscribe(self) -> Subscription:
        sub = Subscription(self)
        if self.closed:
            sub._offer(None)
        else:
            self._subs.add(sub)
        return sub

    def deliver(self, event: ConsoleEvent | None) -> None:
        for sub in list(self._subs):
            sub._offer(event)

    def close(self) -> None:
        self.closed = True
        self.deliver(None)
        self._subs.clear()


class Bus(ABC):
    def __init__(self) -> None:
        self._local = LocalFanout()

    def subscribe(self) -> Subscription:
        return self._local.subscribe()

    @property
    def subscribers(self) -> int:
        return len(self._local._subs)

    @abstractmethod
    async def publish(self, event: ConsoleEvent) -> None: ...

    def end_streams(self) -> None:
        """Tell every subscriber the bus is done (server shutdown); later subscribers end at once."""
        self._local.close()

    async def close(self) -> None:
        self._local.close()


class MemoryBus(Bus):
    """One process: events go straight to this process's subscribers."""

    async def publish(self, event: ConsoleEvent) -> None:
        self._local.deliver(event)


class RedisBus(Bus):
    """Several processes: publish to a Redis channel; one reader task per process fans events out locally."""

    def __init__(self, client: Any, channel: str) -> None:
        super().__init__()
        self._r = client
        self._channel = channel
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @classmethod
    async def open(cls, url: str, channel: str) -> RedisBus:
        from redis.asyncio import Redis

        bus = cls(Redis.from_url(url, socket_connect_timeout=3, health_check_interval=30), channel)
        bus._reader = asyncio.create_task(bus._read(), name="console-events-reader")
        try:
            await asyncio.wait_for(bus._ready.wait(), timeout=5)
        except TimeoutError:
            await bus.close()
            raise
        return bus

    async def _read(self) -> None:
        from redis.exceptions import RedisError

        while True:
            try:
                async with self._r.pubsub() as ps:
                    await ps.subscribe(self._channel)
                    self._ready.set()
                    async for msg in ps.listen():
                        if msg.get("type") != "message":
                            continue
                        try:
                            event = ConsoleEvent.from_json(json.loads(msg["data"]))
                        except (ValueError, KeyError, TypeError):
                            log.warning("ignored a malformed console event from Redis")
                            continue
                        self._local.deliver(event)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError):
                log.warning("console events: Redis connection lost; reconnecting")
                # Whatever happened meanwhile is not replayed: tell the listeners to reload.
                self._local.deliver(ConsoleEvent("overflow", 0))
                await asyncio.sleep(1)

    async def publish(self, event: ConsoleEvent) -> None:
        await self._r.publish(self._channel, json.dumps(event.to_json()))

    async def close(self) -> None:
        await super().close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._r.aclose()
