"""The review page (/console/review) against a real `sigurno serve`, in Chromium at phone and laptop size.

A person writes something the bot does not understand on the web chat, with a phone number and an
e-mail address in it; an editor sees it masked on the review page, labels it, and finds it under
"labelled"; another one is dismissed. A mediator is told the page is not theirs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_console import STATIC, Console, add_user, chat_say, no_overflow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ViewportSize

LAPTOP: ViewportSize = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "laptop": LAPTOP}


@pytest.fixture(scope="module")
def staff(live_server: LiveServer) -> dict[str, str]:
    made = {"editor": "rev-editor", "mediator": "rev-mediator"}
    for role, name in made.items():
        add_user(live_server, name, role)
    return made


@pytest.fixture(params=list(SIZES))
def screen(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[BrowserContext]:
    phone = request.param == "phone"
    context = chromium.new_context(
        viewport=SIZES[request.param], is_mobile=phone, has_touch=phone, locale="en-GB" if phone else "bg-BG"
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def test_the_page_has_no_inline_code_and_loads_only_console_files() -> None:
    html = (STATIC / "review.html").read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+\s*=", html)
    for src in re.findall(r"""<(?:script|link)[^>]*\s(?:src|href)="(/[^"]*)\"""", html):
        assert src.startswith("/console/static/") and (STATIC / src.removeprefix("/console/static/")).is_file()


@pytest.mark.browser
def test_an_editor_labels_and_dismisses_what_the_bot_did_not_understand(
    screen: BrowserContext, live_server: LiveServer, staff: dict[str, str]
) -> None:
    tag = "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(6))  # letters: digits would be masked
    first = f"kak se pravi banitsa s tikva {tag}, zvanete na 0888 123 456"
    second = f"blablabla qwerty {tag} pishete na mara@example.org"
    chat_say(live_server, f"review-{tag}-a", first)
    chat_say(live_server, f"review-{tag}-b", second)

    console = Console(screen.new_page(), live_server.url)
    page = console.page
    console.login(staff["editor"], then="/console/review")
    width = page.viewport_size["width"] if page.viewport_size else 390
    items = page.locator("#items .item")
    newest = items.filter(has_text=tag).first
    newest.wait_for()
    texts = [t for t in items.locator(".text").all_text_contents() if tag in t]
    assert texts == [
        f"blablabla qwerty {tag} pishete na [email]",
        f"kak se pravi banitsa s tikva {tag}, zvanete na [phone]",
    ]
    no_overflow(page, width)

    banitsa = items.filter(has_text="banitsa").filter(has_text=tag)
    banitsa.locator("select").first.select_option("menu")
    banitsa.locator("input[type=text]").fill("bg")
    banitsa.locator("button[type=submit]").click()
    page.wait_for_selector("#note:not([hidden])")
    banitsa.wait_for(state="detached")  # labelled: out of the open list
    qwerty = items.filter(has_text="qwerty").filter(has_text=tag)
    qwerty.locator("button.ghost").click()
    qwerty.wait_for(state="detached")

    page.select_option("#status", "labelled")
    page.wait_for_selector(f"#items .item:has-text('banitsa s tikva {tag}')")
    assert page.locator("#items form").count() == 0  # decided: shown, not labelled again
    no_overflow(page, width)
    assert page.locator("#train").is_visible()
    console.check()


@pytest.mark.browser
def test_a_mediator_is_told_the_page_is_for_editors(
    screen: BrowserContext, live_server: LiveServer, staff: dict[str, str]
) -> None:
    console = Console(screen.new_page(), live_server.url)
    page = console.page
    console.login(staff["mediator"], then="/console/review")
    page.wait_for_selector("#error:not([hidden])")
    assert re.search(r"editors|редактори", page.locator("#error").text_content() or "")
    assert page.locator("#items .item").count() == 0
    console.check()


@pytest.mark.browser
def test_the_queue_links_editors_to_the_review_page(
    screen: BrowserContext, live_server: LiveServer, staff: dict[str, str]
) -> None:
    console = Console(screen.new_page(), live_server.url)
    page = console.page
    console.login(staff["editor"])
    page.locator("#nav-review").click()
    page.wait_for_url(live_server.url + "/console/review")
    page.wait_for_selector("#items[aria-busy='false']", state="attached")
