"""The reports page (/console/reports) against a real `sigurno serve`, in Chromium on a phone and a laptop.

Eight people talk on the web chat first; an editor (made with the real CLI) then opens the reports page
and sees the totals, the tables and every chart drawn (server-side SVG), with nothing wider than the
screen and no policy violation; a mediator is told the page is not for their role.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import PHONE, LiveServer
from tests.browser.test_console import Console, add_user, no_overflow

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LAPTOP = {"width": 1366, "height": 900}
SHOTS = {"phone": Path("/tmp/console_reports_phone.png"), "laptop": Path("/tmp/console_reports_laptop.png")}
CHARTS = ("people", "topics", "countries", "job-checks", "cases", "claim-time", "fallback-rate")


def tap(server: LiveServer, session: str, payload: str) -> None:
    req = urllib.request.Request(
        server.url + "/api/chat",
        data=json.dumps({"session": session, "payload": payload}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        assert res.status == 200


@pytest.fixture(scope="module")
def reporting(live_server: LiveServer) -> dict[str, str]:
    for n in range(8):
        for payload in ("lang:en", "menu:work", "country:DE"):
            tap(live_server, f"report-page-{n:04d}", payload)
    made = {"editor": "rina", "mediator": "rada"}
    add_user(live_server, made["editor"], "editor")
    add_user(live_server, made["mediator"], "mediator")
    return made


@pytest.mark.browser
@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_reports_page_shows_figures_and_charts(
    chromium: Browser, live_server: LiveServer, reporting: dict[str, str], screen: str
) -> None:
    if screen == "phone":
        context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    else:
        context = chromium.new_context(viewport=LAPTOP, locale="en-GB")  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    try:
        console = Console(context.new_page(), live_server.url)
        page = console.page
        console.login(reporting["editor"], then="/console/reports")
        page.wait_for_selector("#totals .total")
        assert page.locator("[data-total='people'] .n").text_content() == "8"
        assert page.locator("[data-total='messages'] .n").text_content() == "24"
        assert page.locator("[data-total='cases_opened'] .n").text_content() == "<5"
        rows = page.locator("#intents tbody tr").all_text_contents()
        assert any("work_legally" in r and "8" in r for r in rows), rows
        for name in CHARTS:
            img = page.locator(f"figure[data-chart='{name}'] img")
            img.scroll_into_view_if_needed()
            page.wait_for_function("(e) => e.complete && e.naturalWidth > 0", arg=img.element_handle())
            box = img.bounding_box()
            assert box is not None and box["width"] > 200, (name, box)
            assert box["x"] + box["width"] <= (PHONE if screen == "phone" else LAPTOP)["width"] + 0.5
        width = (PHONE if screen == "phone" else LAPTOP)["width"]
        no_overflow(page, width)
        page.screenshot(path=str(SHOTS[screen]), full_page=True)
        csv_href = page.locator("#csv").get_attribute("href") or ""
        assert "format=csv" in csv_href
        console.check()
    finally:
        context.close()


@pytest.mark.browser
def test_reports_page_is_not_for_mediators(
    chromium: Browser, live_server: LiveServer, reporting: dict[str, str]
) -> None:
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    context.set_default_timeout(20_000)
    try:
        console = Console(context.new_page(), live_server.url)
        console.login(reporting["mediator"], then="/console/reports")
        console.page.wait_for_selector("#error:not([hidden])")
        assert console.page.locator("#figures").is_hidden()
        console.check()
    finally:
        context.close()
