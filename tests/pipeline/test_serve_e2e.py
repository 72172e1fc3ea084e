"""`sigurno serve` end to end through the harness, with the real platform modules and a fake platform API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.channels import harness as h


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
            await asyncio.sleep(0.5)
        logs = bot.logs()
    assert len(api.sends()) == 8
    assert {s.user for s in api.sends("messenger")} == {"psid-1", "psid-2"}
    assert {s.user for s in api.sends("telegram")} == {"4242"}
    assert len(api.sends("telegram")) == 2  # the redelivered update was not answered again
    for secret in (*h.SECRETS, "vIbErUsEr==", "psid-1", "4242", "zdravei"):
        assert secret not in logs, secret
