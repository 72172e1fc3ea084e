"""`sigurno serve` end to end through the harness, with the real platform modules and a fake platform API."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest

from tests.channels import harness as h
from tests.web.conftest import drop_schema


async def test_each_platform_is_answered_once_and_logs_hold_no_secrets(tmp_path: Path, nlu_model_path: Path) -> None:
    async with h.FakePlatform() as api:
        env = h.server_env(tmp_path, nlu_model_path, api.url)
        async with h.SigurnoServer(env) as bot:
            tg = h.telegram_text(update_id=1, chat_id=4242, text="zdravei")
            assert (await bot.post("/webhooks/telegram", tg, h.telegram_headers())).status == 200
            assert (await bot.post("/webhooks/telegram", tg, h.telegram_headers())).status == 200  # redelivery
            vb = h.viber_text(4912661846655238145, "vIbErUsEr==", "hello")
            assert (await bot.post("/webhooks/viber", vb, h.viber_headers(vb))).status == 200
            fb = h.messenger_text([("psid-1", "m_1", "hi"), ("psid-2", "m_2", "hi")])
            assert (await bot.post("/webhooks/messenger", fb, h.messenger_headers(fb))).status == 200
            bad = await bot.post("/webhooks/telegram", tg, h.telegram_headers("wrong"))
            assert bad.status == 403
            # The first contact is two replies (greeting + language choice) for each of the four people.
            await api.wait_for_sends(8)
            # Viber: the welcome message is the body of the response to conversation_started, never sent.
            started = h.dumps(
                {
                    "event": "conversation_started",
                    "timestamp": 1,
                    "type": "open",
                    "user": {"id": "nEwViBeR==", "name": "", "api_version": 10},
                    "message_token": 4912661846655238999,
                    "subscribed": False,
                }
            )
            welcome = await bot.post("/webhooks/viber", started, h.viber_headers(started))
            assert welcome.status == 200
            body = await welcome.json()
            assert body["type"] == "text" and body["text"] and body["keyboard"]["Buttons"]
            assert "receiver" not in body
            # Messenger: hub verification.
            ok = await bot.get(
                f"/webhooks/messenger?hub.mode=subscribe&hub.verify_token={h.MESSENGER_VERIFY_TOKEN}&hub.challenge=77"
            )
            assert ok.status == 200 and await ok.text() == "77"
            refused = await bot.get("/webhooks/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=77")
            assert refused.status == 403
            await asyncio.sleep(0.5)
            assert await bot.stop() == 0  # SIGTERM: drained and exited cleanly
        logs = bot.logs()
    assert len(api.sends()) == 8  # the welcome went in the response
    assert {s.user for s in api.sends("messenger")} == {"psid-1", "psid-2"}
    assert {s.user for s in api.sends("telegram")} == {"4242"}
    assert len(api.sends("telegram")) == 2  # the redelivered update was not answered again
    for secret in (*h.SECRETS, "vIbErUsEr==", "psid-1", "4242", "zdravei"):
        assert secret not in logs, secret


async def test_two_workers_on_postgres_and_redis_answer_each_message_once(tmp_path: Path, nlu_model_path: Path) -> None:
    pg, redis = os.environ.get("SIGURNO_TEST_POSTGRES_URL"), os.environ.get("SIGURNO_TEST_REDIS_URL")
    if not (pg and redis):
        pytest.skip(
            "needs PostgreSQL and Redis (SIGURNO_TEST_POSTGRES_URL, SIGURNO_TEST_REDIS_URL; make test sets them)"
        )
    schema = f"e2e_{secrets.token_hex(6)}"
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
                extra={"SIGURNO_REDIS_PREFIX": f"e2e{secrets.token_hex(4)}:"},
            )
            async with h.SigurnoServer(env, args=["--workers", "2"]) as bot:
                updates = [h.telegram_text(100 + i, 7000 + i, "zdravei") for i in range(20)]
                posts = [bot.post("/webhooks/telegram", u, h.telegram_headers()) for u in updates + updates]
                assert {r.status for r in await asyncio.gather(*posts)} == {200}
                await api.wait_for_sends(40)  # two replies each for 20 people (the copies: none)
                await asyncio.sleep(0.5)
                assert await bot.stop() == 0  # SIGTERM: both workers drain and exit cleanly
        assert len(api.sends()) == 40
        assert sorted({s.user for s in api.sends()}) == sorted(str(7000 + i) for i in range(20))
    finally:
        await drop_schema(pg, schema)
