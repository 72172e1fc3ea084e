"""An event that fails on every try is set aside; the person's later events are still answered."""

from __future__ import annotations

import json
import logging

import pytest

from tests.handoff.conftest import Mediator, add_user
from tests.pipeline.conftest import Bots
from tests.pipeline.test_webhooks import expected_texts, inbox_statuses, sent_texts


async def test_a_message_the_database_refuses_is_set_aside_and_the_next_one_is_answered(
    shared_bots: Bots, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await shared_bots.start()
    # PostgreSQL refuses U+0000 in text: the turn's write fails every time (the fake channel does not
    # sanitise, so this tests the inbox, not the edge).
    assert await bot.post({"id": "p-1", "user": "nul", "text": "zdravei\x00 refused zq"}) == 200
    assert await bot.post({"id": "p-2", "user": "nul", "payload": "/start"}) == 200
    assert await bot.post({"id": "p-3", "user": "other", "payload": "/start"}) == 200
    await bot.idle()
    assert sent_texts(bot.channel, "nul") == expected_texts(bot, "/start")
    assert sent_texts(bot.channel, "other") == expected_texts(bot, "/start")
    assert await inbox_statuses(bot) == ["failed", "done", "done"]

    admin = Mediator(bot.client, await add_user(bot.client, "admin"))
    mediator = Mediator(bot.client, await add_user(bot.client, "mediator"))
    try:
        assert (await admin.login()).status == 200 and (await mediator.login()).status == 200
        status, body = await admin.get("/api/console/inbox/set-aside")
        assert status == 200
        assert body["count"] == 1
        (event,) = body["events"]
        assert event["channel"] == "fake" and event["kind"] == "message" and event["attempts"] == 3
        assert "zq" not in json.dumps(body) and "nul" not in json.dumps(body)
        assert (await mediator.get("/api/console/inbox/set-aside"))[0] == 403
    finally:
        await admin.close()
        await mediator.close()
    assert "set aside" in caplog.text
    assert "zq" not in caplog.text  # the failure is logged by its type, never with the text
