"""Messenger end to end: signed webhooks into a real `sigurno serve`, answers out to a fake Graph API.

The harness (tests/channels/harness.py) runs the server as a subprocess with the harness's test secrets;
payloads are the fixtures of this folder (PLATFORMS.md §2.3 shapes), re-signed with the harness app secret.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.channels import harness as h
from tests.channels.messenger.fakegraph import fake_graph, payload
from tests.conftest import ROOT

PSID = "6512345678901234"  # the sender of the single-message fixtures
HUB = "/webhooks/messenger?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="


def rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def out_messages(db: Path) -> list[tuple[str | None, str | None, str | None]]:
    sql = "SELECT platform_message_id, delivery_status, delivery_error FROM messages WHERE direction = 'out'"
    return [(r[0], r[1], r[2]) for r in rows(db, sql)]


async def until(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met within {timeout:g} s")
        await asyncio.sleep(0.1)


def config_with(tmp_path: Path, **channels: object) -> str:
    """config.yml with some `channels:` values changed (a short send timeout)."""
    lines = (ROOT / "config.yml").read_text(encoding="utf-8").splitlines()
    for key, value in channels.items():
        lines = [f"  {key}: {value}" if line.strip().startswith(f"{key}:") else line for line in lines]
    path = tmp_path / "config.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def text_body(psid: str, mid: str, text: str) -> bytes:
    return h.messenger_text([(psid, mid, text)])


def assert_clean(logs: str, *private: str) -> None:
    for value in (*h.SECRETS, *private):
        assert value not in logs, value


async def test_hub_verification(tmp_path: Path, nlu_model_path: Path) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("messenger",))
        async with h.SigurnoServer(env) as bot:
            ok = await bot.get(HUB + h.MESSENGER_VERIFY_TOKEN)
            assert ok.status == 200
            assert await ok.text() == "1158201444"
            wrong = await bot.get(HUB + "not-the-verify-token")
            assert wrong.status == 403
            assert "1158201444" not in await wrong.text()
            missing = await bot.get("/webhooks/messenger?hub.mode=subscribe&hub.challenge=1158201444")
            assert missing.status == 403
            other_mode = await bot.get(
                f"/webhooks/messenger?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={h.MESSENGER_VERIFY_TOKEN}"
            )
            assert other_mode.status == 403
        logs = bot.logs()
    assert api.requests == []
    assert_clean(logs, "not-the-verify-token")


async def test_signed_messages_are_answered_once_and_unsigned_never(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    # A plain greeting: this test is about signatures and redelivery, not about what the message asks
    # (the captured fixture's "I need help with my passport" now rightly gets the safety question first).
    body = text_body(PSID, "m_AQHRx0aVb9Jk3Lq1text0001", "Здравейте")
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("messenger",))
        async with h.SigurnoServer(env) as bot:
            # bad, missing, wrong-prefix or other-secret signatures: 403, nothing taken in, nothing sent
            good = h.messenger_headers(body)
            digest = good["X-Hub-Signature-256"].removeprefix("sha256=")
            for headers in (
                {"Content-Type": "application/json"},
                {"X-Hub-Signature-256": "sha256=" + "0" * 64},
                {"X-Hub-Signature-256": digest},
                {"X-Hub-Signature-256": "sha1=" + digest},
                {"X-Hub-Signature": "sha256=" + digest},
                h.messenger_headers(body, app_secret="some-other-app-secret"),
                h.messenger_headers(body + b" "),
            ):
                assert (await bot.post("/webhooks/messenger", body, headers)).status == 403, headers
            # a non-page object, signed: refused
            insta = body.replace(b'"object":"page"', b'"object":"instagram"')
            assert (await bot.post("/webhooks/messenger", insta, h.messenger_headers(insta))).status == 400
            await asyncio.sleep(0.5)
            assert api.requests == []

            # good signature: answered (first contact = greeting + language choice)
            assert (await bot.post("/webhooks/messenger", body, good)).status == 200
            sent = await api.wait_for_sends(2, user=PSID)
            # the same mid again (Meta retries until it gets a 200): no second answer
            assert (await bot.post("/webhooks/messenger", body, good)).status == 200
            # an echo of our own message and a read receipt: nothing sent either
            for name in ("echo", "read"):
                extra = payload(name)
                assert (await bot.post("/webhooks/messenger", extra, h.messenger_headers(extra))).status == 200
            # the same new mid five times at once: one answer
            dup = text_body("psid-dup", "m_dup_1", "здравейте")
            statuses = await asyncio.gather(
                *(bot.post("/webhooks/messenger", dup, h.messenger_headers(dup)) for _ in range(5))
            )
            assert {r.status for r in statuses} == {200}
            await api.wait_for_sends(2, user="psid-dup")
            await asyncio.sleep(1.0)
            assert len(api.sends("messenger", user=PSID)) == 2
            assert len(api.sends("messenger", user="psid-dup")) == 2

            # the quick-reply tap (payload lang:bg) goes on with the conversation: the menu, with its buttons
            tap = payload("quick_reply")
            assert (await bot.post("/webhooks/messenger", tap, h.messenger_headers(tap))).status == 200
            menu = (await api.wait_for_sends(3, user=PSID))[2]
            assert menu.body["message"].get("quick_replies")
        logs = bot.logs()
    sends = api.sends("messenger", user=PSID)
    assert len(sends) == 3
    for s in sent:
        assert s.query["access_token"] == h.MESSENGER_PAGE_TOKEN and s.query.get("appsecret_proof")
        assert s.body["messaging_type"] == "RESPONSE" and s.body["notification_type"] in ("REGULAR", "SILENT_PUSH")
        assert 0 < len(s.text) <= 2000
    quick = sent[1].body["message"]["quick_replies"]  # the language choice
    assert 1 <= len(quick) <= 13 and all(len(q["title"]) <= 20 and q["payload"] for q in quick)
    assert len(out_messages(db)) == 5 and {status for _, status, _ in out_messages(db)} == {"sent"}
    assert {mid for mid, _, _ in out_messages(db)} == {f"m_fake{1000 + n}" for n in range(5)}
    assert_clean(logs, PSID, "psid-dup", "passport", "Здравей", "здравейте")


async def test_a_batched_body_gets_every_message_answered(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    body = payload("batched")  # 2 entries x 2 messaging items, 3 people (one of them twice)
    users = ("6512345678900001", "6512345678900002", "6512345678900003")
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("messenger",))
        async with h.SigurnoServer(env) as bot:
            assert (await bot.post("/webhooks/messenger", body, h.messenger_headers(body))).status == 200
            await api.wait_for(
                lambda _: (
                    len(api.sends(user=users[0])) >= 3
                    and len(api.sends(user=users[1])) >= 2
                    and len(api.sends(user=users[2])) >= 2
                )
            )
            await until(
                lambda: len(rows(db, "SELECT id FROM inbox WHERE kind = 'message' AND status = 'done'")) == 4,
                what="all four messages answered and sent",
            )
            # a receipt naming every message we sent, from person 2: only person 2's messages become delivered
            receipt = json.loads(payload("delivery"))
            receipt["entry"][0]["messaging"][0]["sender"]["id"] = users[1]
            receipt["entry"][0]["messaging"][0]["delivery"]["mids"] = [m for m, _, _ in out_messages(db) if m]
            raw = json.dumps(receipt, separators=(",", ":")).encode()
            before = len(api.sends())
            assert (await bot.post("/webhooks/messenger", raw, h.messenger_headers(raw))).status == 200
            await until(
                lambda: sum(1 for _, st, _ in out_messages(db) if st == "delivered") == len(api.sends(user=users[1])),
                what="person 2's messages delivered",
            )
            await asyncio.sleep(0.5)
            assert len(api.sends()) == before  # nothing is sent for a receipt
            assert sum(1 for _, st, _ in out_messages(db) if st == "delivered") == len(api.sends(user=users[1]))
        logs = bot.logs()
    inbox = rows(db, "SELECT key FROM inbox WHERE kind = 'message'")
    assert {k for (k,) in inbox} == {
        "m_AQHRbatchE1M1000000000001",
        "m_AQHRbatchE1M2000000000002",
        "m_AQHRbatchE2M1000000000003",
        "m_AQHRbatchE2M2000000000004",
    }
    assert_clean(logs, *users, "passport", "здрасти")


async def test_twenty_people_at_once_get_twenty_answers(tmp_path: Path, nlu_model_path: Path) -> None:
    people = [f"65123456789{n:05d}" for n in range(20)]
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("messenger",))
        async with h.SigurnoServer(env) as bot:
            bodies = [text_body(p, f"m_crowd_{i}", "здравейте") for i, p in enumerate(people)]
            results = await asyncio.gather(
                *(bot.post("/webhooks/messenger", b, h.messenger_headers(b)) for b in bodies)
            )
            assert [r.status for r in results] == [200] * 20
            await api.wait_for_sends(40, timeout=30)
        logs = bot.logs()
    sends = api.sends("messenger")
    assert len(sends) == 40
    greetings = set()
    for p in people:
        mine = api.sends(user=p)
        assert len(mine) == 2, p
        assert mine[1].body["message"]["quick_replies"]  # the language choice comes second, with its buttons
        greetings.add(mine[0].text)
    assert len(greetings) == 1  # every person got the same (correct) first answer
    assert_clean(logs, *people)


async def test_a_failing_or_hanging_api_does_not_stop_the_others(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    good = [f"psid-good-{n}" for n in range(5)]
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url, channels=("messenger",))
        env["SIGURNO_CONFIG"] = config_with(tmp_path, send_timeout_seconds=4)
        api.behave("fail", user="psid-fail", platform="messenger")
        api.behave("hang", user="psid-hang", platform="messenger")
        async with h.SigurnoServer(env) as bot:
            for n, user in enumerate(["psid-hang", "psid-fail", *good]):
                body = text_body(user, f"m_mixed_{n}", "здравейте")
                assert (await bot.post("/webhooks/messenger", body, h.messenger_headers(body))).status == 200
            # everyone else is answered while the hanging request is still open (send timeout: 4 s)
            started = time.monotonic()
            for user in good:
                await api.wait_for_sends(2, user=user, timeout=3.5)
            assert time.monotonic() - started < 4
            # the failures are recorded with their reason (500 now; the hang after its timeout)
            await until(
                lambda: sum(1 for _, status, _ in out_messages(db) if status == "failed") >= 3,
                timeout=20,
                what="failed sends recorded",
            )
        logs = bot.logs()
    failed = [err for _, status, err in out_messages(db) if status == "failed"]
    assert any("HTTP 500" in (e or "") for e in failed)
    assert any("did not answer" in (e or "") for e in failed)
    assert len([s for s, st, _ in out_messages(db) if st == "sent"]) == 2 * len(good)
    assert_clean(logs, "psid-hang", "psid-fail", *good)


async def test_outside_the_window_is_recorded_as_permanent(tmp_path: Path, nlu_model_path: Path) -> None:
    db = tmp_path / "sigurno.db"
    async with fake_graph(token=h.MESSENGER_PAGE_TOKEN) as graph:
        graph.behaviour["psid-late"] = "window"
        env = h.server_env(tmp_path, nlu_model_path, graph.root, channels=("messenger",))
        async with h.SigurnoServer(env) as bot:
            for n, user in enumerate(["psid-late", "psid-ontime"]):
                body = text_body(user, f"m_window_{n}", "hello")
                assert (await bot.post("/webhooks/messenger", body, h.messenger_headers(body))).status == 200
            await until(lambda: len(graph.to("psid-ontime")) == 2, what="the other person answered")
            await until(
                lambda: sum(1 for _, st, _ in out_messages(db) if st == "failed") == 2, what="failures recorded"
            )
        logs = bot.logs()
    # the first refusal is permanent: the second reply is not even tried
    assert len([r for r in graph.requests if r.recipient == "psid-late"]) == 1
    failed = [err or "" for _, st, err in out_messages(db) if st == "failed"]
    assert any("10/2018278" in e for e in failed)
    assert_clean(logs, "psid-late", "psid-ontime")
