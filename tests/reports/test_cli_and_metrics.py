"""`sigurno report` prints the same figures as the console API; GET /metrics answers Prometheus text with
the webhooks, turns, latencies, queue and inbox, and nothing personal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from tests.channels import harness
from tests.conftest import ROOT

from .conftest import Bot, session

URGENT = "they took my passport and lock me in the house in Germany"


def cli(bot: Bot, *args: str) -> subprocess.CompletedProcess[str]:
    s = bot.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGURNO_")}
    env["SIGURNO_DATABASE_URL"] = s.storage.database_url
    if s.storage.schema:
        env["SIGURNO_DATABASE_SCHEMA"] = s.storage.schema
        env["SIGURNO_USER_KEY_SECRET"] = s.secrets.user_key_secret.get_secret_value()
        env["SIGURNO_DATA_KEY"] = s.secrets.data_key.get_secret_value()
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_cli_report_matches_the_api_and_refuses_bad_dates(bot: Bot) -> None:
    for n in range(6):
        for payload in ("lang:en", "menu:hotlines", "where:GB"):
            await bot.web(f"cli-person-{n}", payload=payload)
    day = datetime.now(UTC).date().isoformat()
    editor = await bot.user("editor")
    _, api_report = await editor.get(f"/api/console/reports?from={day}&to={day}&group=month")

    done = cli(bot, "--from", day, "--to", day, "--group", "month")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == api_report
    assert printed["totals"]["people"] == 6 and printed["totals"]["messages"] == 18
    assert {"country": "GB", "count": 6} in printed["countries"]

    done = cli(bot, "--from", day, "--to", day, "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "date,channel,metric,dimension,value"
    assert f"{day},web,intent,hotline,6" in lines
    assert f"{day},web,people,,6" in lines

    done = cli(bot, "--from", day, "--to", "2001-01-01")
    assert done.returncode == 2 and "'from' must not be after 'to'" in done.stderr and not done.stdout


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_in_prometheus_text_with_no_personal_data(bot: Bot) -> None:
    before_resp = await bot.client.get("/metrics")
    assert before_resp.status == 200
    before = samples(await before_resp.text())

    chat_session = session()
    await bot.web(chat_session, payload="lang:en")
    await bot.web(chat_session, text=URGENT)  # an urgent case waits in the queue
    await bot.telegram_tap(7770001, "lang:en")
    bad = await bot.client.post(
        "/webhooks/telegram", data=harness.telegram_text(99, 7770001, "hi"), headers=harness.telegram_headers("wrong")
    )
    assert bad.status == 403

    resp = await bot.client.get("/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    after = samples(text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert grew("sigurno_webhooks_total", channel="telegram", status="200") == 1
    assert grew("sigurno_webhooks_total", channel="telegram", status="403") == 1
    assert grew("sigurno_turns_total", channel="web") == 2
    assert grew("sigurno_turns_total", channel="telegram") == 1
    assert grew("sigurno_nlu_seconds_count") == 1  # one typed message; taps need no NLU
    assert grew("sigurno_turn_seconds_count", channel="web") == 2
    assert after[("sigurno_cases_queued", (("priority", "urgent"),))] == 1
    assert after[("sigurno_cases_queued", (("priority", "normal"),))] == 0
    assert after[("sigurno_oldest_unclaimed_case_seconds", ())] >= 0
    assert after[("sigurno_inbox_backlog", ())] == 0

    labels = {k for (_, pairs) in after for k, _ in pairs}
    assert labels <= {"channel", "status", "priority", "le"}
    for personal in (chat_session, "7770001", "passport", bot.store.key_for("web", chat_session)):
        assert personal not in text
