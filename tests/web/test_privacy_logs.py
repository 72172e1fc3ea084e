"""Logs carry no message text, raw ids or tokens, whatever the log level."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.logsafe import RedactingFilter, redact

Client = TestClient[web.Request, web.Application]
SECRET_TEXT = "vzeha mi pasporta, az sum Ivan ot Sliven"
SESSION = "session-7b1d9c0e5a"


async def test_a_conversation_leaves_no_text_or_id_in_the_logs(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for body in ({"payload": "/start"}, {"text": SECRET_TEXT}, {"text": "please delete my data"}):
        resp = await client.post("/api/chat", json={"session": SESSION, **body})
        assert resp.status == 200
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "pasporta" not in logged and "Ivan" not in logged
    assert SESSION not in logged


def test_tokens_are_redacted_from_library_log_lines() -> None:
    line = "POST https://api.telegram.org/bot123456789:AAH-abcdefghijklmnopqrstuvwxyz0123/sendMessage 200"
    assert "AAH-abc" not in redact(line)
    assert "X-Viber-Auth-Token" not in redact(
        "x-viber-auth-token: 4453b6ac12345678-e02c5f12174805f9"
    ) or "4453b6ac" not in redact("x-viber-auth-token: 4453b6ac12345678-e02c5f12174805f9")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "GET %s", ("https://x/bot1234567:ABCDEFGHIJKLMNOPQRSTUVWXYZ/getMe",), None
    )
    RedactingFilter().filter(record)
    assert "ABCDEFGHIJ" not in record.getMessage()
