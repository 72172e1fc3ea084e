"""`kill -9` mid-stream: no accepted message is lost, replies stay in order, only in-flight sends repeat.

`sigurno serve` runs as a real process group (two workers on PostgreSQL + Redis, or the SQLite
default). A sender plays the platform: each person's updates go one after another, and an update
that got no 200 is sent again until it does (Telegram retries un-acknowledged webhooks). Mid-stream
the whole process group is killed with SIGKILL and started again on the same port.

What a person must see: the replies of a person who was never interrupted (the control person, who
sends the same taps before the stream), in the same order; a reply may repeat only if it was being
sent at the instant of the crash: at most one per person, since one person's replies go out one at
a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.channels import harness as h
from tests.web.conftest import drop_schema

TAPS = ("lang:en", "menu", "menu:hotlines", "menu", "menu:offer")
PEOPLE = 60  # 300 updates in all
KILL_AT = 120  # accepted updates before the kill
CONCURRENCY = 16  # webhooks the "platform" keeps in flight at once
CONTROL = 990_000


class ProcessGroup:
    """`sigurno serve` in a session of its own, so that the whole group (parent and workers) can be killed."""

    def __init__(self, env: dict[str, str], port: int, args: list[str], log_path: Path) -> None:
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"), **env}
        self.port, self.args, self.log_path = port, args, log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(h.SIGURNO) if h.SIGURNO.exists() else sys.executable,
                *([] if h.SIGURNO.exists() else ["-m", "bot.cli"]),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.args,
                cwd=str(h.ROOT),
                env=self.env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc.returncode is None, self.log_path.read_text(errors="replace")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as r:
                        if r.status == 200:
                            return
                assert time.monotonic() < deadline, "sigurno serve did not start"
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL to the process group: no handler runs, nothing is drained."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()
        for _ in range(100):  # the workers die with the group; wait until the port is free again
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            await self.kill()


@contextlib.asynccontextmanager
async def running(env: dict[str, str], args: list[str], tmp_path: Path) -> AsyncIterator[ProcessGroup]:
    group = ProcessGroup(env, h.free_port(), args, tmp_path / "serve.log")
    await group.start()
    try:
        yield group
    finally:
        await group.stop()


async def post_until_acknowledged(session: aiohttp.ClientSession, url: str, body: bytes) -> None:
    """What the platform does: send again until the webhook answers 200."""
    deadline = time.monotonic() + 120
    while True:
        try:
            async with session.post(url, data=body, headers=h.telegram_headers()) as r:
                await r.read()
                if r.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        assert time.monotonic() < deadline, "an update was never acknowledged"
        await asyncio.sleep(0.1)


async def replies_settle(api: h.FakePlatform, quiet: float = 1.5, timeout: float = 60) -> None:
    """Wait until nothing new was sent for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(api.sends())
        if n != seen:
            seen, since = n, time.monotonic()
        elif n and time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.1)


def texts_to(api: h.FakePlatform, user: int) -> list[str]:
    return [s.text for s in api.sends("telegram", user)]


def is_subsequence(expected: list[str], got: list[str]) -> bool:
    it = iter(got)
    return all(any(g == e for g in it) for e in expected)


async def crash_and_recover(api: h.FakePlatform, env: dict[str, str], args: list[str], tmp_path: Path) -> None:
    async with running(env, args, tmp_path) as group:
        url = f"http://127.0.0.1:{group.port}/webhooks/telegram"
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for i, tap in enumerate(TAPS):  # the control person, never interrupted
                await post_until_acknowledged(session, url, h.telegram_callback(1 + i, CONTROL, tap))
            await replies_settle(api)
            expected = texts_to(api, CONTROL)
            assert len(expected) >= len(TAPS)

            accepted = 0
            killed = asyncio.Event()
            limit = asyncio.Semaphore(CONCURRENCY)

            async def person(p: int) -> None:
                nonlocal accepted
                for i, tap in enumerate(TAPS):
                    async with limit:
                        body = h.telegram_callback(1000 + p * 10 + i, 10_000 + p, tap)
                        await post_until_acknowledged(session, url, body)
                    accepted += 1
                    if accepted == KILL_AT:
                        killed.set()

            async def crash() -> None:
                await killed.wait()
                await group.kill()
                await asyncio.sleep(0.5)  # the platform's retries meet a closed port meanwhile
                await group.start()

            await asyncio.gather(crash(), *(person(p) for p in range(PEOPLE)))

        # Every person answered in full (or, when something was lost, a generous time to show it).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and any(
            len(texts_to(api, 10_000 + p)) < len(expected) for p in range(PEOPLE)
        ):
            await asyncio.sleep(0.2)
        await replies_settle(api)
        lost: dict[int, list[str]] = {}
        repeated: dict[int, int] = {}
        for p in range(PEOPLE):
            got = texts_to(api, 10_000 + p)
            if not is_subsequence(expected, got):
                lost[p] = got
            elif len(got) > len(expected):
                repeated[p] = len(got) - len(expected)
    assert not lost, (
        f"{len(lost)} people lost replies or got them out of order: "
        f"{[len(g) for g in lost.values()]} replies where {len(expected)} were due"
    )
    assert all(n <= 1 for n in repeated.values()), f"replies sent again beyond the in-flight ones: {repeated}"


async def test_kill_9_of_two_workers_on_postgres_and_redis_loses_nothing(tmp_path: Path, nlu_model_path: Path) -> None:
    pg, redis = os.environ.get("SIGURNO_TEST_POSTGRES_URL"), os.environ.get("SIGURNO_TEST_REDIS_URL")
    if not (pg and redis):
        pytest.skip("needs PostgreSQL and Redis (SIGURNO_TEST_POSTGRES_URL, SIGURNO_TEST_REDIS_URL)")
    schema = f"crash_{secrets.token_hex(6)}"
    try:
        async with h.FakePlatform() as api:
            env = h.server_env(
                tmp_path,
                nlu_model_path,
                api.url,
                channels=("telegram",),
                postgres_url=pg,
                schema=schema,
                redis_url=redis,
                extra={"SIGURNO_REDIS_PREFIX": f"crash{secrets.token_hex(4)}:"},
            )
            await crash_and_recover(api, env, ["--workers", "2"], tmp_path)
    finally:
        await drop_schema(pg, schema)


async def test_kill_9_on_the_sqlite_default_loses_nothing(tmp_path: Path, nlu_model_path: Path) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("telegram",))
        await crash_and_recover(api, env, [], tmp_path)
