"""The web chat page (bot/static/chat.html) against a real `sigurno serve`, in Chromium at phone size."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.browser.chatpage import ChatPage
from tests.browser.conftest import ROOT, LiveServer

pytestmark = pytest.mark.browser

TEXTS: dict[str, dict[str, str]] = yaml.safe_load((ROOT / "content" / "data" / "texts.yml").read_text(encoding="utf-8"))
SCREENSHOT = Path("/tmp/webchat.png")
URGENT = "they took our passports and lock us in"
MENU_KEYS = ("menu_work", "menu_country", "menu_offer", "menu_trafficking", "menu_hotlines", "menu_mediator")


def en(key: str) -> str:
    return TEXTS[key]["en"]


def before_placeholder(key: str, lang: str = "en") -> str:
    """The fixed start of a text with a {placeholder} in it."""
    return TEXTS[key][lang].split("{", 1)[0].strip()


def stored_cases(server: LiveServer) -> list[Any]:
    """The cases in the server's database, read with the store API (in a thread: Playwright owns this one)."""

    async def read() -> list[Any]:
        from bot.storage.store import Store

        store = await Store.open(server.database_url, server.user_key_secret, server.data_key, migrate=False)
        try:
            return list(await store.list_cases())
        finally:
            await store.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=30)


def test_conversation_job_check_and_urgent_case(chat: ChatPage, live_server: LiveServer) -> None:
    first = chat.open()
    assert any(TEXTS["greeting"]["bg"] in t or en("greeting") in t for t in first), first
    assert {"English", "Български"} <= set(chat.chip_titles())
    assert chat.page.title() == "Sigurno"

    menu = chat.tap("English")
    assert chat.page.evaluate("document.documentElement.lang") == "en"
    assert chat.page.locator("#help").text_content() == en("menu_help_now")
    titles = chat.chip_titles()
    for key in MENU_KEYS:
        assert any(en(key) in title for title in titles), (key, titles)
    assert any(t.endswith(en("menu_help_now")) for t in titles), titles
    assert menu, "no menu text"

    replies = chat.tap(en("menu_offer"), exact=False)
    assert any(t.startswith(before_placeholder("jobcheck_intro")) for t in replies), replies
    for n in range(8):
        assert {en("btn_yes"), en("btn_no")} <= set(chat.chip_titles()), f"question {n + 1}: {chat.chip_titles()}"
        replies = chat.tap(en("btn_no") if n == 0 else en("btn_yes"))
    verdicts = [en("jobcheck_green"), en("jobcheck_amber"), en("jobcheck_red")]
    assert any(t.startswith(v) for t in replies for v in verdicts), replies

    cases_before = len(stored_cases(live_server))
    replies = chat.say(URGENT)
    assert chat.my_texts()[-1] == URGENT
    assert chat.box.input_value() == ""
    text = "\n".join(replies)
    assert en("urgent_intro") in text
    assert "112" in text
    assert "0800 20 100" in text
    assert before_placeholder("urgent_case_in_hours") in text or before_placeholder("urgent_case_off_hours") in text
    # the numbers are tappable on a phone
    assert chat.page.locator('#log a[href="tel:080020100"]').count() >= 1
    assert chat.page.locator('#log a[href="tel:112"]').count() >= 1
    chat.page.screenshot(path=str(SCREENSHOT))

    cases = stored_cases(live_server)
    assert len(cases) == cases_before + 1
    urgent = [c for c in cases if c.priority == "urgent" and c.channel == "web"]
    assert urgent, [(c.status, c.priority, c.channel) for c in cases]
    assert {"document_retention", "confinement"} & set(urgent[0].signals), urgent[0].signals
    chat.check()


def test_message_text_is_shown_as_text_never_as_html(chat: ChatPage) -> None:
    chat.open()
    hostile = 'look <img src=x onerror=alert(1)> and <b id="bold">this</b> & "that"'
    chat.say(hostile)
    assert chat.my_texts()[-1] == hostile
    assert chat.page.locator("img").count() == 0
    assert chat.page.locator("#bold").count() == 0
    assert chat.page.locator("#log .msg.me b").count() == 0
    chat.check()


def test_fits_a_small_phone_without_sideways_scrolling(chat: ChatPage) -> None:
    width = 360
    chat.page.set_viewport_size({"width": width, "height": 640})
    chat.open()
    chat.tap("Български")
    chat.tap(TEXTS["menu_offer"]["bg"], exact=False)
    chat.say("1234567890" * 12 + " https://example.org/" + "a" * 200)
    assert chat.page.evaluate("document.scrollingElement.scrollWidth") <= width
    assert chat.page.evaluate("document.getElementById('scroller').scrollWidth") <= width
    for name in ("#help", "#box", "#send"):
        box = chat.page.locator(name).bounding_box()
        assert box is not None, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= 640, (name, box)
        assert box["height"] >= 44, (name, box)
    for chip in chat.page.locator("#log .chip").all():
        box = chip.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= width, box
    chat.check()


def test_help_now_chip_is_always_there_and_sends_help_now(chat: ChatPage) -> None:
    chat.open()
    help_chip = chat.page.locator("#help")
    assert help_chip.is_visible()
    assert help_chip.text_content() == TEXTS["menu_help_now"]["bg"]
    replies = chat.help_now()
    text = "\n".join(replies)
    assert TEXTS["urgent_intro"]["bg"] in text
    assert "112" in text and "0800 20 100" in text
    chat.check()


def test_a_network_error_keeps_the_typed_text(chat: ChatPage) -> None:
    chat.open()
    chat.page.route("**/api/chat", lambda route: route.abort())
    bots = len(chat.bot_texts())
    chat.box.fill("3")
    chat.box.press("Enter")
    chat.page.wait_for_selector("#error:not([hidden])")
    assert chat.box.input_value() == "3"
    assert chat.error.text_content()
    assert "3" not in chat.my_texts()
    assert len(chat.bot_texts()) == bots
    chat.page.unroute("**/api/chat")
    chat.page.locator("#send").click()
    chat.page.wait_for_function("(n) => document.querySelectorAll('#log .msg.bot').length > n", arg=bots)
    chat.page.wait_for_selector("#error[hidden]", state="attached")
    assert chat.my_texts()[-1] == "3"
    assert chat.box.input_value() == ""
    chat.check()


def test_a_rejected_message_is_explained_and_kept(chat: ChatPage) -> None:
    chat.open()
    # an over-long message: the server (or its size limit) refuses it with a 4xx {"error": ...}
    chat.page.evaluate("document.getElementById('box').removeAttribute('maxlength')")
    long_text = "word " * 60_000
    chat.box.fill(long_text)
    chat.box.press("Enter")
    chat.page.wait_for_selector("#error:not([hidden])")
    assert chat.box.input_value() == long_text
    assert "дълго" in (chat.error.text_content() or "")  # "the message is too long", in the page's language
    assert chat.my_texts() == []
    chat.check()


def test_history_survives_a_reload_and_clear_forgets_it(chat: ChatPage) -> None:
    chat.open()
    chat.tap("English")
    session = chat.page.evaluate("localStorage.getItem('sigurno.session')")
    assert isinstance(session, str) and re.fullmatch(r"[A-Za-z0-9_-]{8,128}", session)

    chat.page.reload()
    chat.page.wait_for_selector("#log .chip")
    assert chat.my_texts() == ["English"]
    assert chat.page.evaluate("document.documentElement.lang") == "en"
    assert chat.page.evaluate("localStorage.getItem('sigurno.session')") == session
    # the words of the chat are kept for this tab only, never in localStorage
    assert chat.page.evaluate("JSON.stringify(localStorage)").find("English") == -1

    other_tab = chat.page.context.new_page()
    other_tab.goto(chat.base_url + "/")
    other_tab.wait_for_selector("#log .chip")
    assert other_tab.locator("#log .msg.me").count() == 0
    other_tab.close()

    chat.page.locator("#clear").click()
    chat.page.wait_for_function("() => document.querySelectorAll('#log .msg.bot').length > 0")
    chat.page.wait_for_selector("#typing[hidden]", state="attached")
    assert chat.my_texts() == []
    assert chat.page.evaluate("document.documentElement.lang") == "bg"
    assert chat.page.evaluate("localStorage.getItem('sigurno.session')") not in (None, session)
    chat.check()
