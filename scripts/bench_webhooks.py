"""Webhook benchmark: `sigurno serve` driven with signed Telegram webhooks from this (second) process.

    .venv/bin/python scripts/bench_webhooks.py                       # embedded default: SQLite, in-process
    .venv/bin/python scripts/bench_webhooks.py --postgres postgresql+asyncpg://root@127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/15 [--workers 2]

This process runs a fake Telegram Bot API on loopback (timestamping every sendMessage) and the webhook
client. Every simulated person has the same 10-message conversation (typed text and button taps);
each sends the next message when the answer to the previous one has arrived, as people do, and
`--concurrency` people talk at once. A reference person runs the script alone first: how many
replies each message gets and their texts. Then every person must receive exactly the reference
texts in the reference order: fewer is a lost answer, more a duplicate, another order a reordering.

Prints messages/s (all messages / time from the first webhook to the last answer) and latency from
the webhook POST to the first (and to the last) reply reaching the fake API: p50, p99, max. Then, in
the same run and harness, a bare aiohttp webhook (checks the secret header, parses the JSON, sends one
reply) as the ceiling, and Sigurno's throughput as a ratio of it (--no-bare skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels import harness as h  # noqa: E402

# (kind, value): "text" typed by the person, "tap" a button's payload (a callback query).
SCRIPT: tuple[tuple[str, str], ...] = (
    ("text", "zdravei"),
    ("tap", "lang:bg"),
    ("text", "iskam da rabotq v germaniq"),
    ("tap", "menu:offer"),
    ("tap", "jobcheck:yes"),
    ("tap", "jobcheck:no"),
    ("text", "kakvi dokumenti mi trqbvat za holandiq"),
    ("tap", "menu"),
    ("text", "3"),
    ("tap", "menu:hotlines"),
)
ANSWER_TIMEOUT = 15.0  # seconds a person waits for an answer before counting it lost
QUIET = 0.4  # reference run: no new reply for this long means the message is fully answered


@dataclass
class Inbox:
    """What the fake Telegram API received, per chat."""

    texts: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, rec: h.Recorded) -> None:
        if not rec.is_send:
            return
        chat = rec.user
        self.texts[chat].append(rec.text)
        self.times[chat].append(rec.at)
        count = len(self.texts[chat])
        keep = []
        for want, fut in self.waiters[chat]:
            if count >= want and not fut.done():
                fut.set_result(None)
            elif not fut.done():
                keep.append((want, fut))
        self.waiters[chat] = keep

    async def wait(self, chat: str, count: int, timeout: float) -> bool:
        if len(self.texts[chat]) >= count:
            return True
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[chat].append((count, fut))
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False


class Client:
    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url + "/webhooks/telegram"
        self.session = session
        self.update_id = 0
        self.headers = h.telegram_headers()
        self.failed_posts = 0

    async def post(self, chat: int, kind: str, value: str) -> float:
        """Send one message as a webhook; the time it was sent (monotonic)."""
        self.update_id += 1
        uid = self.update_id
        body = h.telegram_text(uid, chat, value) if kind == "text" else h.telegram_callback(uid, chat, value)
        started = time.monotonic()
        async with self.session.post(self.url, data=body, headers=self.headers) as r:
            await r.read()
            if r.status != 200:
                self.failed_posts += 1
        return started


async def reference(client: Client, inbox: Inbox, chat: int) -> tuple[list[int], list[str]]:
    """Run the script alone: replies per message, and all reply texts in order."""
    counts: list[int] = []
    key = str(chat)
    for kind, value in SCRIPT:
        before = len(inbox.texts[key])
        await client.post(chat, kind, value)
        await inbox.wait(key, before + 1, ANSWER_TIMEOUT)
        while True:  # until no more replies come
            n = len(inbox.texts[key])
            await asyncio.sleep(QUIET)
            if len(inbox.texts[key]) == n:
                break
        counts.append(len(inbox.texts[key]) - before)
    if any(c < 1 for c in counts):
        raise SystemExit(f"bench: a script message got no answer in the reference run: {counts}")
    return counts, list(inbox.texts[key])


@dataclass
class Result:
    first: list[float] = field(default_factory=list)  # POST -> first reply at the fake API
    last: list[float] = field(default_factory=list)  # POST -> last reply
    timeouts: int = 0


async def person(client: Client, inbox: Inbox, chat: int, counts: list[int], result: Result) -> None:
    key = str(chat)
    done = 0
    for (kind, value), n in zip(SCRIPT, counts, strict=True):
        sent = await client.post(chat, kind, value)
        if not await inbox.wait(key, done + n, ANSWER_TIMEOUT):
            result.timeouts += 1
            done = len(inbox.texts[key])
            continue
        times = inbox.times[key]
        result.first.append(times[done] - sent)
        result.last.append(times[done + n - 1] - sent)
        done += n


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (the --workers processes), from /proc."""
    import os

    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def serve_bare(port: int, api_url: str) -> None:
    """The ceiling: an aiohttp webhook that verifies, parses and sends one reply, nothing else."""
    from aiohttp import web

    secret = h.telegram_headers()["X-Telegram-Bot-Api-Secret-Token"]
    send_url = f"{api_url}/bot{h.TELEGRAM_TOKEN}/sendMessage"
    tasks: set[asyncio.Task[None]] = set()

    async def send(session: aiohttp.ClientSession, chat: int) -> None:
        async with session.post(send_url, json={"chat_id": chat, "text": "ok"}) as r:
            await r.read()

    async def webhook(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.json_response({}, status=403)
        update = json.loads(await request.read())
        message = update.get("message") or update.get("callback_query", {}).get("message", {})
        chat = message.get("chat", {}).get("id") or update["callback_query"]["from"]["id"]
        task = asyncio.get_running_loop().create_task(send(request.app["session"], chat))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def session_ctx(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession()
        yield
        await app["session"].close()

    app = web.Application()
    app.cleanup_ctx.append(session_ctx)
    app.router.add_post("/webhooks/telegram", webhook)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def measure_bare(api_url: str, inbox: Inbox, people: int, concurrency: int) -> float:
    """messages/s of the bare webhook (serve_bare in a subprocess) under the same load."""
    port = h.free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--serve-bare", str(port), api_url)
    try:
        url = f"http://127.0.0.1:{port}"
        connector = aiohttp.TCPConnector(limit=concurrency + 8)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(100):
                try:
                    async with session.get(url + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            client = Client(url, session)
            counts, _ = await reference(client, inbox, 2)
            result = Result()
            queue: asyncio.Queue[int] = asyncio.Queue()
            chats = [300_000 + i for i in range(people)]
            for c in chats:
                queue.put_nowait(c)

            async def talker() -> None:
                while not queue.empty():
                    await person(client, inbox, queue.get_nowait(), counts, result)

            started = time.monotonic()
            await asyncio.gather(*(talker() for _ in range(concurrency)))
            answered = max((inbox.times[str(c)][-1] for c in chats if inbox.times[str(c)]), default=started)
        return people * len(SCRIPT) / (answered - started)
    finally:
        proc.terminate()
        await proc.wait()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    people = args.people
    if args.messages % len(SCRIPT):
        raise SystemExit(f"--messages must be a multiple of {len(SCRIPT)} (the script's length)")
    people = args.messages // len(SCRIPT)
    inbox = Inbox()
    tmp = Path(tempfile.mkdtemp(prefix="sigurno-bench-"))
    nlu_model = ROOT / "var" / "nlu" / "model.joblib"
    if not nlu_model.exists():
        raise SystemExit("bench: no NLU model at var/nlu/model.joblib: run `make model` first")
    schema = f"bench_{secrets.token_hex(4)}" if args.postgres else None
    async with h.FakePlatform() as api:
        api.on_request = inbox.record
        extra = {"SIGURNO_REDIS_PREFIX": f"bench{secrets.token_hex(4)}:"} if args.redis else {}
        extra.update(kv.split("=", 1) for kv in args.env)
        env = h.server_env(
            tmp,
            nlu_model,
            api.url,
            channels=("telegram",),
            postgres_url=args.postgres,
            schema=schema,
            redis_url=args.redis,
            extra=extra,
        )
        server_args = ["--workers", str(args.workers)] if args.workers > 1 else []
        try:
            async with h.SigurnoServer(env, args=server_args, log_path=tmp / "serve.log") as bot:
                connector = aiohttp.TCPConnector(limit=args.concurrency + 8)
                async with aiohttp.ClientSession(connector=connector) as session:
                    client = Client(bot.url, session)
                    counts, expected = await reference(client, inbox, 1)
                    warm = Result()
                    await asyncio.gather(*(person(client, inbox, 50 + i, counts, warm) for i in range(20)))
                    result = Result()
                    chats = [100_000 + i for i in range(people)]
                    queue: asyncio.Queue[int] = asyncio.Queue()
                    for c in chats:
                        queue.put_nowait(c)

                    async def talker() -> None:
                        while not queue.empty():
                            await person(client, inbox, queue.get_nowait(), counts, result)

                    assert bot.proc is not None
                    cpu_before, own_before = cpu_seconds(bot.proc.pid), time.process_time()
                    started = time.monotonic()
                    await asyncio.gather(*(talker() for _ in range(args.concurrency)))
                    server_cpu = cpu_seconds(bot.proc.pid) - cpu_before
                    client_cpu = time.process_time() - own_before
                    answered = max((inbox.times[str(c)][-1] for c in chats if inbox.times[str(c)]), default=started)
                    await asyncio.sleep(1.0)  # late duplicates would arrive now
                    failed_posts = client.failed_posts
            logs = bot.logs()
            bare = None if args.no_bare else await measure_bare(api.url, inbox, people, args.concurrency)
        finally:
            if args.postgres and schema:
                await _drop_schema(args.postgres, schema)
    lost = duplicated = reordered = 0
    for c in chats:
        got = inbox.texts[str(c)]
        if got == expected:
            continue
        if len(got) < len(expected):
            lost += len(expected) - len(got)
        elif len(got) > len(expected):
            duplicated += len(got) - len(expected)
        else:
            reordered += 1
    elapsed = answered - started
    total = people * len(SCRIPT)
    leaks = [s for s in h.SECRETS if s in logs]
    return {
        "setup": {
            "database": "postgresql" if args.postgres else "sqlite",
            "coordination": "redis" if args.redis else "in-process",
            "workers": args.workers,
            "messages": total,
            "people": people,
            "concurrency": args.concurrency,
            "replies_per_person": len(expected),
        },
        "messages_per_s": round(total / elapsed, 1) if elapsed > 0 else None,
        "bare_aiohttp_messages_per_s": None if bare is None else round(bare, 1),
        "ratio_to_bare": None if bare is None or elapsed <= 0 else round(total / elapsed / bare, 3),
        "replies_per_s": round(len(expected) * people / elapsed, 1) if elapsed > 0 else None,
        "latency_first_ms": {k: round(pct(result.first, p) * 1000, 1) for k, p in (("p50", 50), ("p99", 99))}
        | {"max": round(max(result.first, default=float("nan")) * 1000, 1)},
        "latency_last_ms": {k: round(pct(result.last, p) * 1000, 1) for k, p in (("p50", 50), ("p99", 99))},
        "mean_first_ms": round(statistics.fmean(result.first) * 1000, 1) if result.first else None,
        "server_cpu_ms_per_message": round(server_cpu / total * 1000, 2),
        "client_cpu_ms_per_message": round(client_cpu / total * 1000, 2),
        "lost_answers": lost,
        "duplicated_answers": duplicated,
        "reordered_conversations": reordered,
        "unanswered_waits": result.timeouts,
        "webhooks_not_200": failed_posts,
        "secrets_in_logs": len(leaks),
    }


async def _drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=3000, help="messages in all (a multiple of 10; default 3000)")
    p.add_argument("--people", type=int, default=300, help=argparse.SUPPRESS)  # messages / 10
    p.add_argument("--concurrency", type=int, default=32, help="people talking at the same time (default 32)")
    p.add_argument("--postgres", metavar="URL", help="postgresql+asyncpg:// URL (a fresh schema is used and dropped)")
    p.add_argument("--redis", metavar="URL", help="redis:// URL for coordination")
    p.add_argument("--workers", type=int, default=1, help="server processes (sigurno serve --workers N)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra server environment")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--no-bare", action="store_true", help="skip the bare aiohttp webhook baseline")
    p.add_argument("--serve-bare", nargs=2, metavar=("PORT", "API_URL"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return 0
    out = asyncio.run(run(args))
    if args.json:
        print(json.dumps(out))
    else:
        s = out["setup"]
        print(
            f"{s['messages']} messages from {s['people']} people, {s['concurrency']} at once; "
            f"{s['database']} + {s['coordination']} coordination, {s['workers']} server process(es)"
        )
        print(f"  throughput: {out['messages_per_s']} messages/s ({out['replies_per_s']} replies/s)")
        if out["bare_aiohttp_messages_per_s"] is not None:
            print(
                f"  bare aiohttp webhook in the same run: {out['bare_aiohttp_messages_per_s']} messages/s; "
                f"ratio {out['ratio_to_bare']}"
            )
        f, last = out["latency_first_ms"], out["latency_last_ms"]
        print(f"  webhook -> first reply: p50 {f['p50']} ms, p99 {f['p99']} ms, max {f['max']} ms")
        print(f"  webhook -> last reply:  p50 {last['p50']} ms, p99 {last['p99']} ms")
        print(
            f"  CPU per message: server {out['server_cpu_ms_per_message']} ms "
            f"(all its processes), this client + fake API {out['client_cpu_ms_per_message']} ms"
        )
        print(
            f"  lost {out['lost_answers']}, duplicated {out['duplicated_answers']}, "
            f"reordered {out['reordered_conversations']}, webhooks not 200: {out['webhooks_not_200']}, "
            f"secrets in logs: {out['secrets_in_logs']}"
        )
    bad = out["lost_answers"] or out["duplicated_answers"] or out["reordered_conversations"] or out["secrets_in_logs"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
