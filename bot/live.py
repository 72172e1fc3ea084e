"""What a process answers with now, and how it follows a publish without a restart.

`Current[T]` holds one object (the content, the NLU) and its published version; a turn reads it once
at its start and uses that one object throughout, so no conversation ever sees half of a publish.
`Follower` reads the published versions (bot/storage/published.py) every `interval` seconds and, when
a followed name has a version other than the one in use, builds that version with its loader and
swaps it in whole. A loader that fails leaves the old object in use and is tried again after
`RETRY_SECONDS`; the failure is logged once per version, by name, version and exception type only.

Version 0 means "nothing published yet": what the process loaded at start (the YAML content, the
model file) stays in use until the first publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

CONTENT = "content"
NLU_MODEL = "nlu_model"
RETRY_SECONDS = 30.0


class Current(Generic[T]):
    """One object in use and its published version; replaced whole, never changed in place."""

    def __init__(self, value: T, version: int = 0) -> None:
        self._value, self._version = value, version

    def get(self) -> T:
        return self._value

    @property
    def version(self) -> int:
        return self._version

    def set(self, value: T, version: int) -> None:
        self._value, self._version = value, version


def as_current(value: T | Current[T]) -> Current[T]:
    return value if isinstance(value, Current) else Current(value)


class Versions(Protocol):
    async def versions(self) -> dict[str, int]: ...


@dataclass
class _Followed(Generic[T]):
    current: Current[T]
    load: Callable[[int], Awaitable[T]]
    failed_version: int | None = None
    retry_at: float = 0.0


class Follower:
    """`follower.follow(CONTENT, current, loader)`, then `await follower.refresh()` once and
    `follower.start()`; `await follower.stop()` at shutdown."""

    def __init__(self, source: Versions, interval: float = 0.5) -> None:
        self._source = source
        self._interval = interval
        self._followed: dict[str, _Followed[object]] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed: list[Callable[[str, int], Awaitable[None]]] = []

    def follow(self, name: str, current: Current[T], load: Callable[[int], Awaitable[T]]) -> None:
        self._followed[name] = _Followed(current, load)  # type: ignore[arg-type]

    def on_change(self, listener: Callable[[str, int], Awaitable[None]]) -> None:
        """`listener(name, version)` after a new version is in use (tests, metrics)."""
        self._changed.append(listener)

    async def refresh(self) -> dict[str, int]:
        """One pass: swap in every followed name whose published version changed; the versions in use."""
        published = await self._source.versions()
        for name, followed in self._followed.items():
            version = published.get(name, 0)
            if version in (0, followed.current.version):
                continue
            if version == followed.failed_version and time.monotonic() < followed.retry_at:
                continue
            try:
                value = await followed.load(version)
            except Exception as e:  # keep answering with the old version; try again a little later
                if followed.failed_version != version:
                    log.error(
                        "could not load %s version %d (%s); still using version %d",
                        name,
                        version,
                        type(e).__name__,
                        followed.current.version,
                    )
                followed.failed_version, followed.retry_at = version, time.monotonic() + RETRY_SECONDS
                continue
            followed.failed_version = None
            followed.current.set(value, version)
            log.info("%s version %d in use", name, version)
            for listener in self._changed:
                await listener(name, version)
        return {name: f.current.version for name, f in self._followed.items()}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database is away for a moment: try again next tick
                log.warning("could not read published versions (%s)", type(e).__name__)

    def start(self) -> None:
        if self._task is None and self._followed:
            self._task = asyncio.create_task(self._run(), name="publish-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
