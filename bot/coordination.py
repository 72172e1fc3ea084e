"""Coordination between bot processes: once-only ticks, per-conversation locks and rate limits, one contract.

`MemoryCoordination` is the embedded default (one process). `RedisCoordination` (SIGURNO_REDIS_URL)
lets several processes serve the same bot: first_seen (the handoff timers' once per tick) is
`SET NX EX`, the conversation lock is a Redis key holding a random token (taken with `SET NX PX`,
renewed while held, released only by its holder through a token-checked script), and rate limits are
fixed one-minute windows (`INCR` + `EXPIRE`). Which webhook event is new is decided by the database
(bot.inbox), never here.
A configured Redis that cannot be reached stops start-up: the bot never falls back to memory
silently, because two processes each with their own memory would answer the same message twice.

Keys hold no raw ids: person keys are already pseudonymous and addresses are hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from bot.settings import LimitSettings, SettingsError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0


class LockTimeout(RuntimeError):
    """The conversation lock could not be taken in time (another process holds it for too long)."""


@dataclass(frozen=True)
class LockOptions:
    ttl: float = 30.0  # a lock left by a crashed process frees itself after this long
    wait: float = 120.0  # give up (LockTimeout) after waiting this long
    poll_min: float = 0.002  # Redis: first retry after this, doubling up to poll_max
    poll_max: float = 0.05


class KeyedLocks:
    """Per-key asyncio locks for one process, FIFO per key, dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class Coordination(ABC):
    """The contract. Every method is safe to call from many tasks (and, for Redis, many processes)."""

    def __init__(self, limits: LimitSettings) -> None:
        self.limits = limits

    @abstractmethod
    async def first_seen(self, channel: str, key: str, ttl: float) -> bool:
        """True the first time (channel, key) is seen within `ttl` seconds, False for a repeat."""

    @abstractmethod
    async def forget(self, channel: str, key: str) -> None:
        """Undo first_seen (the event could not be taken in, so the platform's retry must get through)."""

    @abstractmethod
    def hold(self, person_key: str) -> AbstractAsyncContextManager[None]:
        """The conversation lock: one event of a person at a time, here and in every other process."""

    @abstractmethod
    async def hit(self, bucket: str, limit: int, per_seconds: float = WINDOW_SECONDS) -> bool:
        """Count one event in `bucket`; False when more than `limit` fell in the current window."""

    # -- expiring counters and blocks (login delays: bot/accounts/auth.py) ---------------------------

    @abstractmethod
    async def count(self, key: str, ttl: float) -> int:
        """Add one to `key` and return it; the count is forgotten `ttl` seconds after its last addition."""

    @abstractmethod
    async def block(self, key: str, seconds: float) -> None:
        """Mark `key` as blocked for `seconds`."""

    @abstractmethod
    async def blocked_for(self, key: str) -> float:
        """Seconds left of `key`'s block (0.0: not blocked)."""

    @abstractmethod
    async def clear(self, *keys: str) -> None:
        """Forget counts and blocks."""

    async def allow(self, person_key: str) -> bool:
        """The per-person message limit (limits.person_per_minute)."""
        return await self.hit(f"p:{person_key}", self.limits.person_per_minute)

    async def allow_ip(self, address: str, scope: str) -> bool:
        """A per-address limit: scope "web" (web chat messages), "web_updates" (the page's polling, its own
        bucket at four times the message limit so open tabs never starve real messages) or "bad_webhook"."""
        limits = {
            "web": self.limits.web_ip_per_minute,
            "web_updates": 4 * self.limits.web_ip_per_minute,
        }
        limit = limits.get(scope, self.limits.bad_webhook_ip_per_minute)
        digest = hashlib.blake2b(address.encode(), digest_size=12).hexdigest()  # no raw address in keys
        return await self.hit(f"ip:{scope}:{digest}", limit)

    async def close(self) -> None:  # noqa: B027 - optional for implementations without resources
        """Release connections."""


class MemoryCoordination(Coordination):
    """One process: dicts and asyncio locks. Expired entries are swept as new ones arrive."""

    def __init__(self, limits: LimitSettings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limits or LimitSettings())
        self._now = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._locks = KeyedLocks()
        self._windows: dict[str, tuple[int, int]] = {}
        self._hits_since_sweep = 0
        self._expiring: dict[str, tuple[int, float]] = {}  # count / block key -> (value, expires at)

    async def first_seen(self, channel: str, key: str, ttl: float) -> bool:
        now = self._now()
        while self._expiry and self._expiry[0][0] <= now:
            _, old = heapq.heappop(self._expiry)
            if self._seen.get(old, now + 1) <= now:
                del self._seen[old]
        k = (channel, key)
        if self._seen.get(k, 0.0) > now:
            return False
        self._seen[k] = now + ttl
        heapq.heappush(self._expiry, (now + ttl, k))
        return True

    async def forget(self, channel: str, key: str) -> None:
        self._seen.pop((channel, key), None)

    def hold(self, person_key: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(person_key)

    async def hit(self, bucket: str, limit: int, per_seconds: float = WINDOW_SECONDS) -> bool:
        window = int(self._now() // per_seconds)
        self._hits_since_sweep += 1
        if self._hits_since_sweep >= 4096:  # drop the counters of past windows now and then
            self._hits_since_sweep = 0
            self._windows = {b: wc for b, wc in self._windows.items() if wc[0] >= window}
        w, count = self._windows.get(bucket, (window, 0))
        count = count + 1 if w == window else 1
        self._windows[bucket] = (window, count)
        return count <= limit

    async def count(self, key: str, ttl: float) -> int:
        now = self._now()
        value, until = self._expiring.get(key, (0, now))
        value = value + 1 if until > now else 1
        self._expiring[key] = (value, now + ttl)
        if len(self._expiring) > 4096:  # drop what has expired now and then
            self._expiring = {k: vu for k, vu in self._expiring.items() if vu[1] > now}
        return value

    async def block(self, key: str, seconds: float) -> None:
        self._expiring["block:" + key] = (1, self._now() + seconds)

    async def blocked_for(self, key: str) -> float:
        _, until = self._expiring.get("block:" + key, (0, 0.0))
        return max(0.0, until - self._now())

    async def clear(self, *keys: str) -> None:
        for key in keys:
            self._expiring.pop(key, None)
            self._expiring.pop("block:" + key, None)


# Token-checked release and renewal: only the holder's token may delete or extend the lock.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)


class RedisCoordination(Coordination):
    """Several processes: open with `await RedisCoordination.open(url, limits)`."""

    def __init__(
        self,
        client: object,
        limits: LimitSettings | None = None,
        *,
        prefix: str = "sigurno:",
        lock: LockOptions | None = None,
    ) -> None:
        from redis.asyncio import Redis

        if not isinstance(client, Redis):
            raise TypeError("client must be a redis.asyncio.Redis")
        super().__init__(limits or LimitSettings())
        self._r: Redis = client
        self._prefix = prefix
        self._lock = lock or LockOptions()
        self._local = KeyedLocks()  # waiters in this process queue here (FIFO) instead of polling Redis
        self._release = self._r.register_script(_RELEASE)
        self._renew = self._r.register_script(_RENEW)

    @classmethod
    async def open(
        cls, url: str, limits: LimitSettings | None = None, *, prefix: str = "sigurno:", lock: LockOptions | None = None
    ) -> RedisCoordination:
        """Connect and check Redis answers; SettingsError (naming the setting, not the URL) when it does not."""
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)
        try:
            await client.ping()
        except (RedisError, OSError) as e:
            await client.aclose()
            raise SettingsError(
                f"storage.redis_url (SIGURNO_REDIS_URL): Redis does not answer ({type(e).__name__}); "
                "start it or unset the setting for the single-process default"
            ) from e
        return cls(client, limits, prefix=prefix, lock=lock)

    async def close(self) -> None:
        await self._r.aclose()

    async def first_seen(self, channel: str, key: str, ttl: float) -> bool:
        done = await self._r.set(f"{self._prefix}seen:{channel}:{key}", b"1", nx=True, px=max(1, int(ttl * 1000)))
        return bool(done)

    async def forget(self, channel: str, key: str) -> None:
        await self._r.delete(f"{self._prefix}seen:{channel}:{key}")

    def hold(self, person_key: str) -> AbstractAsyncContextManager[None]:
        return self._hold(person_key)

    @asynccontextmanager
    async def _hold(self, person_key: str) -> AsyncIterator[None]:
        async with self._local.hold(person_key):
            name = f"{self._prefix}lock:{person_key}"
            token = secrets.token_hex(16)
            ttl_ms = int(self._lock.ttl * 1000)
            await self._acquire(name, token, ttl_ms)
            renewer = _Renewer(self, name, token, ttl_ms)
            try:
                yield
            finally:
                renewer.stop()
                try:
                    released = await self._release(keys=[name], args=[token])
                except Exception:  # the lock then expires by itself after its ttl
                    log.warning("conversation lock not released (Redis error); it expires in %.0f s", self._lock.ttl)
                else:
                    if not released:
                        log.warning("conversation lock had expired before release (processing took too long)")

    async def _acquire(self, name: str, token: str, ttl_ms: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock.wait
        pause = self._lock.poll_min
        while not await self._r.set(name, token, nx=True, px=ttl_ms):
            if loop.time() >= deadline:
                raise LockTimeout("the conversation is locked by another process for too long")
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._lock.poll_max)

    async def renew(self, name: str, token: str, ttl_ms: int) -> bool:
        return bool(await self._renew(keys=[name], args=[token, ttl_ms]))

    async def hit(self, bucket: str, limit: int, per_seconds: float = WINDOW_SECONDS) -> bool:
        window = int(time.time() // per_seconds)
        key = f"{self._prefix}rl:{bucket}:{window}"
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, int(per_seconds * 2) + 1)
            count, _ = await pipe.execute()
        return int(count) <= limit

    async def count(self, key: str, ttl: float) -> int:
        name = f"{self._prefix}n:{key}"
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.pexpire(name, max(1, int(ttl * 1000)))
            value, _ = await pipe.execute()
        return int(value)

    async def block(self, key: str, seconds: float) -> None:
        await self._r.set(f"{self._prefix}b:{key}", b"1", px=max(1, int(seconds * 1000)))

    async def blocked_for(self, key: str) -> float:
        left = int(await self._r.pttl(f"{self._prefix}b:{key}"))
        return max(0.0, left / 1000)

    async def clear(self, *keys: str) -> None:
        if keys:
            await self._r.delete(*(f"{self._prefix}{kind}:{k}" for k in keys for kind in ("n", "b")))


class _Renewer:
    """Extends a held Redis lock every ttl/3 while its holder still works (no task unless it is needed)."""

    def __init__(self, owner: RedisCoordination, name: str, token: str, ttl_ms: int) -> None:
        self.owner, self.name, self.token, self.ttl_ms = owner, name, token, ttl_ms
        self.loop = asyncio.get_running_loop()
        self.task: asyncio.Task[None] | None = None
        self.handle: asyncio.TimerHandle | None = self.loop.call_later(ttl_ms / 3000, self._start)

    def _start(self) -> None:
        self.handle = None
        self.task = self.loop.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                if not await self.owner.renew(self.name, self.token, self.ttl_ms):
                    log.warning("conversation lock lost while held")
                    return
            except Exception:
                log.warning("conversation lock renewal failed (Redis error)")
            await asyncio.sleep(self.ttl_ms / 3000)

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        if self.task is not None:
            self.task.cancel()


async def open_coordination(redis_url: str | None, limits: LimitSettings, prefix: str = "sigurno:") -> Coordination:
    """Redis when configured (and reachable: else SettingsError), otherwise the in-process default."""
    if redis_url:
        return await RedisCoordination.open(redis_url, limits, prefix=prefix)
    return MemoryCoordination(limits)
