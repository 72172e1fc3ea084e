"""Issue 11: people talk to the bot on the web chat and on Telegram, a mediator works their cases; the
report (JSON, CSV, CLI) then shows exactly those figures, every count below 5 as "<5", and an erasure
leaves the figures as they were and nothing that leads back to the person."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.storage.console_models import AuditEntry
from bot.storage.report_models import ReportPerson
from bot.storage.report_tally import report_marker

from .conftest import Bot, green_answers, session

URGENT = "they took my passport and lock me in the house in Germany"


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def talk(bot: Bot) -> dict[str, Any]:
    """Seven people on the web chat, two on Telegram; five urgent cases, claimed and closed. Returns what the
    test needs to know (the web session of the person who later asks to be erased)."""
    regulars = [session() for _ in range(5)]
    for s in regulars:
        for payload in (
            "lang:en",
            "menu:work",
            "country:DE",
            "menu:offer",
            *(f"jobcheck:{a}" for a in green_answers()),
        ):
            await bot.web(s, payload=payload)
        await bot.web(s, payload="nosuch:thing")  # not understood
        await bot.web(s, text=URGENT)  # an urgent case opens
    sixth = session()
    for payload in ("lang:en", "menu:work", "country:FR"):
        await bot.web(sixth, payload=payload)
    for chat in (5550001, 5550002):
        await bot.telegram_tap(chat, "lang:en")
        await bot.telegram_tap(chat, "menu:work")
    admin = await bot.user("admin")
    status, queue = await admin.get("/api/console/cases?status=queued")
    assert status == 200 and len(queue["cases"]) == 5
    for n, case in enumerate(queue["cases"]):
        assert (await admin.post(f"/api/console/cases/{case['id']}/claim"))[0] == 200
        outcome = "advice_given" if n < 3 else "referred_ngo"
        assert (await admin.post(f"/api/console/cases/{case['id']}/close", {"outcome": outcome}))[0] == 200
    return {"admin": admin}


def expected_totals() -> dict[str, Any]:
    return {
        "people": 8,
        "new_people": 8,
        "messages": 5 * 14 + 3 + 4,
        "cases_opened": 5,
        "cases_closed": 5,
        "urgent": 5,
        "fallbacks": 5,
    }


async def test_the_report_shows_exactly_what_happened_with_small_counts_suppressed(bot: Bot) -> None:
    made = await talk(bot)
    admin = made["admin"]
    day = today()
    status, report = await admin.get(f"/api/console/reports?from={day}&to={day}&group=day")
    assert status == 200, report
    assert (report["from"], report["to"], report["group"]) == (day, day, "day")
    assert report["totals"] == expected_totals()
    assert report["series"] == [
        {"period": day, "channel": "telegram", "people": "<5", "messages": "<5", "new_people": "<5", "fallbacks": "<5"},
        {"period": day, "channel": "web", "people": 6, "messages": 73, "new_people": 6, "fallbacks": 5},
    ]
    intents = {i["intent"]: i["count"] for i in report["intents"]}
    assert intents["work_legally"] == 8  # six menu taps on the web chat, two on Telegram
    assert intents["job_offer_check"] == 5
    assert intents["emergency"] == 5
    countries = {c["country"]: c["count"] for c in report["countries"]}
    assert countries == {"DE": 10, "FR": "<5"}  # five taps on Germany, five urgent messages from Germany
    assert report["job_checks"] == {"green": 5, "amber": "<5", "red": "<5"}
    assert report["risk"] == {"none": "<5", "elevated": "<5", "urgent": 5}
    cases = report["cases"]
    assert (cases["opened"], cases["claimed"], cases["closed"], cases["released"]) == (5, 5, 5, "<5")
    assert cases["outcomes"]["advice_given"] == "<5" and cases["outcomes"]["referred_ngo"] == "<5"
    assert cases["by_priority"] == {"urgent": 5, "high": "<5", "normal": "<5"}
    assert (cases["claim_minutes_p50"], cases["claim_minutes_p90"]) == (1, 1)  # claimed within the minute

    # No number below 5 anywhere in the report, and no key, marker or text.
    def numbers(v: Any) -> list[int]:
        if isinstance(v, dict):
            return [n for x in v.values() for n in numbers(x)]
        if isinstance(v, list):
            return [n for x in v for n in numbers(x)]
        return [v] if isinstance(v, int) and not isinstance(v, bool) else []

    counts = {k: v for k, v in report.items() if k not in ("cases",)}
    assert all(n >= 5 for n in numbers(counts))
    assert URGENT not in str(report) and "passport" not in str(report)


async def test_csv_export_is_one_tidy_table_and_is_audited(bot: Bot) -> None:
    made = await talk(bot)
    admin = made["admin"]
    day = today()
    async with admin.http.get(admin.url(f"/api/console/reports?from={day}&to={day}&format=csv")) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0] == ["date", "channel", "metric", "dimension", "value"]
    table = {(r[0], r[1], r[2], r[3]): r[4] for r in rows[1:]}
    assert table[(day, "web", "people", "")] == "6"
    assert table[(day, "telegram", "people", "")] == "<5"
    assert table[(day, "web", "intent", "work_legally")] == "6"
    assert table[(day, "telegram", "intent", "work_legally")] == "<5"
    assert table[(day, "web", "job_check", "green")] == "5"
    assert table[(day, "web", "case_opened", "urgent")] == "5"
    assert table[(day, "web", "fallback", "")] == "5"
    assert all(v == "<5" or int(v) >= 5 for v in table.values())

    async with bot.store.engine.connect() as conn:
        audit = (await conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail))).all()
    exports = [a for a in audit if a.action == "report_export"]
    assert exports and exports[-1].actor == admin.name
    assert exports[-1].detail == {"from": day, "to": day, "group": "day", "format": "csv"}


async def test_erasure_keeps_the_figures_and_no_key(bot: Bot) -> None:
    await talk(bot)
    leaving = session()
    await bot.web(leaving, payload="lang:en")
    await bot.web(leaving, text="delete my data")
    key = bot.store.key_for("web", leaving)
    marker = report_marker(bot.store._secret, key)

    async def markers() -> tuple[int, int, int]:
        async with bot.store.engine.connect() as conn:
            rows = await conn.scalar(select(func.count()).select_from(ReportPerson))
            distinct = await conn.scalar(select(func.count(func.distinct(ReportPerson.marker))))
            theirs = await conn.scalar(select(func.count()).where(ReportPerson.marker == marker))
        return int(rows or 0), int(distinct or 0), int(theirs or 0)

    assert await markers() == (9, 9, 1)
    day = today()
    editor = await bot.user("editor")
    _, before = await editor.get(f"/api/console/reports?from={day}&to={day}")
    answer = await bot.web(leaving, payload="delete:yes")
    assert answer["replies"]  # the person is told their data is gone
    assert await bot.store.get_person(key) is None
    assert await markers() == (9, 9, 0)  # the same rows and distinct people; none carries their marker
    _, after = await editor.get(f"/api/console/reports?from={day}&to={day}")
    assert after["totals"]["people"] == before["totals"]["people"] == 9
    assert after["totals"]["new_people"] == 9
    assert after["totals"]["messages"] == before["totals"]["messages"] + 1  # the erasure's own message counts


async def test_mediators_may_not_see_reports_and_bad_periods_are_400(bot: Bot) -> None:
    mediator = await bot.user("mediator")
    day = today()
    status, body = await mediator.get(f"/api/console/reports?from={day}&to={day}")
    assert status == 403 and "error" in body
    async with mediator.http.get(mediator.url(f"/api/console/reports/charts/people.svg?from={day}&to={day}")) as r:
        assert r.status == 403
    editor = await bot.user("editor")
    for query in (
        "",
        f"from={day}",
        f"from={day}&to=2020-01-01",
        "from=yesterday&to=today",
        f"from={day}&to={day}&group=year",
        f"from={day}&to={day}&format=xml",
    ):
        status, body = await editor.get(f"/api/console/reports?{query}")
        assert status == 400 and isinstance(body["error"], str), query
    async with editor.http.get(editor.url(f"/api/console/reports?from={day}&to={day}")) as r:
        assert r.status == 200
    anonymous = await bot.client.get(f"/api/console/reports?from={day}&to={day}")
    assert anonymous.status == 401
