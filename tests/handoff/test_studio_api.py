"""The staff studio's API (/api/console/content/*) on SQLite and on PostgreSQL + Redis: an editor edits a
draft, previews it per channel, publishes, and the web chat answers with it; history and rollback; four
eyes on phone numbers; the content check blocks a bad draft; mediators get 403; the audit log."""

from __future__ import annotations

from typing import Any

from bot.web.app import SERVICES
from tests.handoff.conftest import Client, chat, handoff_of, sid

ANSWER = "answers/work_legally"
HOTLINE = "hotlines_bg/1"  # the national anti-trafficking hotline (0800 20 100)
NEW_TEXT = "Нов текст за законна работа: писмен договор, без такси."


async def put(m: Any, item_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with m.http.put(
        m.url(f"/api/console/content/items/{item_id}"), json=body, headers={"X-CSRF-Token": m.csrf}
    ) as r:
        return r.status, await r.json()


async def web_answer(client: Client) -> str:
    """The web chat's answer to "how do I work legally" in Bulgarian."""
    session = sid()
    await chat(client, session, payload="lang:bg")
    texts = await chat(client, session, text="kak da rabotq legalno v chuzhbina")
    return "\n".join(texts)


async def test_an_editor_edits_previews_publishes_and_rolls_back(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    assert "Като граждани на ЕС" in await web_answer(client)

    status, listed = await editor.get("/api/console/content/items?q=work_legally")
    assert status == 200 and [i["id"] for i in listed["items"]] == [ANSWER]
    start_version = listed["items"][0]["version"]

    status, saved = await put(editor, ANSWER, {"texts": {"bg": NEW_TEXT}})
    assert status == 200, saved
    assert saved["draft"]["texts"]["bg"] == NEW_TEXT and not saved["draft"]["needs_approval"]
    assert "Като граждани на ЕС" in await web_answer(client)  # a draft is not published

    status, shown = await editor.get(f"/api/console/content/preview/{ANSWER}?lang=bg&channel=viber")
    assert status == 200 and shown["draft"]
    assert shown["messages"][0]["text"].startswith(NEW_TEXT)
    assert shown["payloads"][0]["type"] == "text" and shown["payloads"][0]["keyboard"]["Buttons"]
    status, telegram = await editor.get(f"/api/console/content/preview/{ANSWER}?lang=bg&channel=telegram")
    assert telegram["payloads"][-1]["reply_markup"]["inline_keyboard"]

    status, published = await editor.post("/api/console/content/publish", {"ids": [ANSWER]})
    assert status == 200, published
    new_version = published["version"]
    assert new_version > start_version
    assert NEW_TEXT in await web_answer(client)  # the same server, no restart

    status, detail = await editor.get(f"/api/console/content/items/{ANSWER}")
    assert detail["draft"] is None
    assert detail["history"][0]["version"] == new_version and detail["history"][0]["author"] == editor.name
    assert NEW_TEXT in detail["history"][0]["diff"]

    status, rolled = await editor.post("/api/console/content/rollback", {"version": new_version - 1})
    assert status == 200 and rolled["version"] == new_version + 1 and rolled["ids"] == [ANSWER]
    assert "Като граждани на ЕС" in await web_answer(client)

    actions = [a.action for a in await handoff_of(client).repo.audit_log()]
    assert {"content_edit", "content_publish", "content_rollback"} <= set(actions)


async def test_a_phone_change_waits_for_a_second_editor(client: Client, mediators: Any) -> None:
    first, second = await mediators("editor"), await mediators("editor")
    status, refused = await put(first, HOTLINE, {"phone": "112", "source": None})
    assert status == 422 and "source" in refused["error"]
    status, saved = await put(first, HOTLINE, {"phone": "112", "checked": "2026-12-04"})
    assert status == 200 and saved["draft"]["needs_approval"] and saved["draft"]["approved_by"] is None

    status, waiting = await first.post("/api/console/content/publish", {"ids": [HOTLINE]})
    assert status == 409 and "approval" in waiting["error"]
    status, _ = await first.post("/api/console/content/publish", {})
    assert status == 409  # nothing else is ready; the phone change is not published with "all"

    status, _ = await first.post(f"/api/console/content/items/{HOTLINE}/approve")
    assert status == 409  # not by its own author
    status, approved = await second.post(f"/api/console/content/items/{HOTLINE}/approve")
    assert status == 200 and approved["draft"]["approved_by"] == second.name
    status, published = await first.post("/api/console/content/publish", {"ids": [HOTLINE]})
    assert status == 200, published
    svc = client.app[SERVICES] if client.app else None
    assert svc is not None
    assert svc.content.get().hotlines_bg[1].phone == "112"
    status, detail = await first.get(f"/api/console/content/items/{HOTLINE}")
    assert detail["history"][0]["approved_by"] == second.name
    actions = [a.action for a in await handoff_of(client).repo.audit_log()]
    assert "content_approve" in actions


async def test_a_draft_that_breaks_the_check_is_refused_naming_the_problem(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    status, body = await put(editor, ANSWER, {"texts": {"bg": "Обадете се на 0888 123 456 веднага."}})
    assert status == 422 and "phone" in body["error"]
    status, body = await put(editor, ANSWER, {"texts": {"en": ""}})  # the English text removed
    assert status == 422 and "en" in body["error"]
    status, body = await put(editor, "countries/DE/contacts/1", {"url": "not a link"})
    assert status == 422
    status, detail = await editor.get(f"/api/console/content/items/{ANSWER}")
    assert detail["draft"] is None  # nothing was saved


async def test_mediators_get_403_and_strangers_401(client: Client, mediators: Any) -> None:
    mediator = await mediators("mediator")
    for path in ("/api/console/content/items", f"/api/console/content/items/{ANSWER}", "/api/console/content/stale"):
        status, _ = await mediator.get(path)
        assert status == 403
    status, _ = await put(mediator, ANSWER, {"texts": {"bg": "x"}})
    assert status == 403
    status, _ = await mediator.post("/api/console/content/publish", {})
    assert status == 403
    async with client.get("/api/console/content/items") as r:
        assert r.status == 401


async def test_put_without_csrf_is_refused(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    async with editor.http.put(editor.url(f"/api/console/content/items/{ANSWER}"), json={"texts": {"bg": "x"}}) as r:
        assert r.status == 403


async def test_stale_facts_show_the_wage_that_changes_on_1_january(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    status, body = await editor.get("/api/console/content/stale?days=100000&all=1")
    assert status == 200
    wage = next(f for f in body["facts"] if f["id"] == "countries/DE/sections/minimum_wage")
    assert wage["due"] == "2027-01-01"
    status, body = await editor.get("/api/console/content/items?country=DE&topic=minimum_wage")
    assert [i["id"] for i in body["items"]] == ["countries/DE/sections/minimum_wage"]


async def test_a_placeholder_left_in_blocks_the_draft(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    for text in ("Работете с договор. TODO: добави срок", "Минималната заплата в {country} е ...", "Текст [...]"):
        status, body = await put(editor, ANSWER, {"texts": {"bg": text}})
        assert status == 422 and "placeholder" in body["error"], (text, body)


async def test_a_draft_the_content_schema_refuses_is_422_naming_key_and_problem(client: Client, mediators: Any) -> None:
    editor = await mediators("editor")
    status, body = await put(editor, ANSWER, {"phone": "0800 20 100"})  # an answer has no phone field
    assert status == 422 and "answers.yml: work_legally.phone: unknown key" in body["error"]
    status, body = await put(editor, ANSWER, {"checked": "21.11.2026"})
    assert status == 422 and "work_legally.checked: '21.11.2026' is not an ISO date" in body["error"]
    status, body = await put(editor, HOTLINE, {"fields": {"name": {"bulgarian": "Линия"}}})
    assert status == 422 and "hotlines_bg.yml: [1].name: 'bulgarian' is not a language code" in body["error"]
    status, detail = await editor.get(f"/api/console/content/items/{ANSWER}")
    assert detail["draft"] is None
