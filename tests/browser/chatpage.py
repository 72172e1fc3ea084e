"""A small driver for bot/static/chat.html in Playwright: tap a chip or send text, then wait for the answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Locator, Page

_IDLE = """([bots, mine]) => {
  const typing = document.getElementById("typing");
  const error = document.getElementById("error");
  if (!typing.hidden) return false;
  if (!error.hidden) return true;
  return document.querySelectorAll("#log .msg.bot").length > bots && document.querySelectorAll("#log .msg.me").length >= mine;
}"""


class ChatPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.js_errors: list[str] = []
        page.on("pageerror", lambda e: self.js_errors.append(f"page error: {e}"))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Dialog) -> None:
        self.js_errors.append(f"unexpected {dialog.type} dialog: {dialog.message}")
        dialog.dismiss()

    # -- reading -------------------------------------------------------------------------------

    @property
    def log(self) -> Locator:
        return self.page.locator("#log")

    @property
    def box(self) -> Locator:
        return self.page.locator("#box")

    @property
    def error(self) -> Locator:
        return self.page.locator("#error")

    def bot_texts(self) -> list[str]:
        """The text of every bot message, in order (without the screen-reader prefix)."""
        return self.page.locator("#log .msg.bot .text").all_text_contents()

    def my_texts(self) -> list[str]:
        return self.page.locator("#log .msg.me .text").all_text_contents()

    def chip_titles(self) -> list[str]:
        return self.page.locator("#log .chip").all_text_contents()

    def check(self) -> None:
        """No JavaScript error and no alert/confirm dialog so far."""
        assert self.js_errors == []

    # -- acting --------------------------------------------------------------------------------

    def open(self) -> list[str]:
        """Load the page and wait for the first bot messages."""
        self.page.goto(self.base_url + "/")
        self._wait(0, 0)
        return self.bot_texts()

    def tap(self, title: str, *, exact: bool = True) -> list[str]:
        """Tap the chip with this title (or containing it); return the bot messages that came back."""
        pattern = re.compile(rf"^\s*{re.escape(title)}\s*$" if exact else re.escape(title))
        chip = self.page.locator("#log .chip").filter(has_text=pattern)
        return self._after(chip.first.click, mine=1)

    def say(self, text: str) -> list[str]:
        """Type text in the box and press Enter; return the bot messages that came back."""
        self.box.fill(text)
        return self._after(lambda: self.box.press("Enter"), mine=1)

    def help_now(self) -> list[str]:
        return self._after(self.page.locator("#help").click, mine=1)

    def _after(self, action: Callable[[], object], mine: int) -> list[str]:
        bots = len(self.bot_texts())
        before_mine = len(self.my_texts())
        action()
        self._wait(bots, before_mine + mine)
        return self.bot_texts()[bots:]

    def _wait(self, bots: int, mine: int) -> None:
        self.page.wait_for_function(_IDLE, arg=[bots, mine], timeout=15_000)
