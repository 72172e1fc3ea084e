"""The staff studio's pages (/console/content...) against a real `sigurno serve`, in Chromium at phone and
laptop size. An editor changes the Bulgarian text of an answer, previews it as Viber, publishes, and the
web chat's next answer (a second browser, the same running server) shows the new text; a rollback brings
the old text back. A phone-number change waits for a second editor's approval.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.chatpage import ChatPage
from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_console import PASSWORD, STATIC, Console, add_user, no_overflow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Dialog, Page, ViewportSize

LAPTOP: ViewportSize = {"width": 1366, "height": 800}
VIEWPORTS = {"phone": PHONE, "laptop": LAPTOP}
ANSWER = "answers/work_legally"
HOTLINE = "hotlines_bg/1"
OLD_START = "Като граждани на ЕС"
PAGES = ("content.html", "content-item.html", "content-stale.html")


class Editor(Console):
    """A console tab that accepts the rollback's confirm() (other dialogs are still problems)."""

    def _dialog(self, dialog: Dialog) -> None:
        if dialog.type == "confirm":
            dialog.accept()
        else:
            super()._dialog(dialog)


@pytest.fixture(scope="module")
def editors(live_server: LiveServer) -> tuple[str, str]:
    add_user(live_server, "ema", "editor")
    add_user(live_server, "ivo", "editor")
    return "ema", "ivo"


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[BrowserContext]:
    size = VIEWPORTS[request.param]
    context = chromium.new_context(viewport=size, is_mobile=size is PHONE, has_touch=size is PHONE, locale="bg-BG")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def web_chat_answer(chromium: Browser, live_server: LiveServer) -> str:
    """A person on the web chat (a fresh phone browser) asks how to work legally, in Bulgarian."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="bg-BG")
    context.set_default_timeout(15_000)
    try:
        chat = ChatPage(context.new_page(), live_server.url)
        chat.open()
        chat.tap("Български")
        texts = chat.say("как да работя законно в чужбина")
        chat.check()
        return "\n".join(texts)
    finally:
        context.close()


def open_item(page: Page, base: str, item_id: str) -> None:
    page.goto(base + "/console/content/items/" + item_id)
    page.wait_for_selector("#published dd")


def test_pages_have_no_inline_code_and_no_external_resources() -> None:
    for name in PAGES:
        html = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{name}: inline script"
        assert "<style" not in html and " style=" not in html, f"{name}: inline style"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{name}: inline event handler"
        for src in re.findall(r"""<(?:script|link)[^>]*\s(?:src|href)="(/[^"]*)\"""", html):
            assert (STATIC / src.removeprefix("/console/static/")).is_file(), (name, src)


@pytest.mark.browser
def test_edit_preview_publish_and_roll_back(
    screen: BrowserContext, chromium: Browser, live_server: LiveServer, editors: tuple[str, str]
) -> None:
    editor = Editor(screen.new_page(), live_server.url)
    page = editor.page
    editor.login(editors[0], PASSWORD, then="/console/content")
    page.fill("#q", "work_legally")
    page.click("#filters button[type=submit]")
    page.locator("#list a", has_text=ANSWER).click()
    page.wait_for_url(re.compile(r"/console/content/items/answers/work_legally$"))
    page.wait_for_selector("#text-bg")
    size = page.viewport_size["width"] if page.viewport_size else 0
    new_text = f"Нов текст ({size} px): работете само с писмен договор."

    page.fill("#text-bg", new_text)
    page.click("#save")
    page.wait_for_selector("#note:not([hidden])")
    page.click("#channels [data-channel=viber]")
    page.wait_for_function(
        "(t) => document.querySelector('#preview .pmsg .body')?.textContent.startsWith(t)", arg=new_text
    )
    assert page.locator("#preview .pbuttons li").count() > 0  # the buttons as Viber shows them
    assert '"keyboard"' in (page.locator("#payload").text_content() or "")
    if page.viewport_size and page.viewport_size["width"] <= PHONE["width"]:
        no_overflow(page, PHONE["width"])

    page.click("#publish")
    page.wait_for_selector("#note:has-text('2')")
    assert new_text in web_chat_answer(chromium, live_server)  # the server kept running

    page.wait_for_selector("#history li.hist:nth-child(2) button")
    page.locator("#history li.hist").nth(1).locator("button").click()  # the version before the publish
    page.wait_for_function("() => document.querySelectorAll('#history li.hist').length >= 3")
    answer = web_chat_answer(chromium, live_server)
    assert new_text not in answer and OLD_START in answer
    editor.check()


@pytest.mark.browser
def test_a_phone_number_change_waits_for_a_second_editor(
    screen: BrowserContext, live_server: LiveServer, editors: tuple[str, str]
) -> None:
    first = Editor(screen.new_page(), live_server.url)
    first.login(editors[0], PASSWORD, then="/console/content")
    open_item(first.page, live_server.url, HOTLINE)
    phone = first.page.locator("#f-phone")
    new_number = "112" if phone.input_value() != "112" else "0800 20 100"  # both in the fact sheet (V)
    phone.fill(new_number)
    first.page.fill("#f-checked", "2026-12-04")
    first.page.click("#save")
    first.page.wait_for_selector("#note:not([hidden])")
    # The note shows before the page has reloaded the item: wait for the draft's line, then read it.
    first.page.wait_for_selector("#draft-state:has-text('Чернова от')")
    assert "одобрение" in (first.page.locator("#draft-state").text_content() or "")  # needs approval
    assert first.page.locator("#approve").is_hidden()  # not by its own author
    first.page.click("#publish")
    first.page.wait_for_selector("#error:not([hidden])")
    assert "approval" in (first.page.locator("#error").text_content() or "")

    second_context = screen.browser.new_context(viewport=screen.pages[0].viewport_size) if screen.browser else None
    assert second_context is not None
    try:
        second = Editor(second_context.new_page(), live_server.url)
        second.login(editors[1], PASSWORD, then="/console/content")
        open_item(second.page, live_server.url, HOTLINE)
        second.page.click("#approve")
        second.page.wait_for_selector("#draft-state:has-text('ivo')")
        second.check()
    finally:
        second_context.close()

    open_item(first.page, live_server.url, HOTLINE)
    first.page.click("#publish")
    first.page.wait_for_selector("#note:not([hidden])")
    first.page.wait_for_function("(n) => document.querySelector('#published').textContent.includes(n)", arg=new_number)
    first.check()


@pytest.mark.browser
def test_stale_facts_page_lists_the_wage_that_changes_on_1_january(
    screen: BrowserContext, live_server: LiveServer, editors: tuple[str, str]
) -> None:
    editor = Editor(screen.new_page(), live_server.url)
    editor.login(editors[0], PASSWORD, then="/console/content/stale")
    editor.page.wait_for_selector("#list li")
    assert editor.page.locator("#list a", has_text="countries/DE/sections/minimum_wage").count() == 1
    editor.check()
