"""The mediator console (bot/console/static) against a real `sigurno serve`, in Chromium at phone size.

A mediator account is made with the real CLI (`sigurno users add ... --password-stdin`) on the live
server's database. The person side is the real web chat page in a second browser context, so the
whole takeover runs end to end: urgent message -> the case appears live in the queue -> claim ->
reply -> the reply shows on the person's page -> the person's answer shows live in the console ->
close with an outcome.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.browser.chatpage import ChatPage
from tests.browser.conftest import PHONE, ROOT, LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, Route

STATIC = ROOT / "bot" / "console" / "static"
PAGES = ("login.html", "queue.html", "case.html", "reports.html")
QUEUE_SHOT = Path("/tmp/console_queue.png")
CASE_SHOT = Path("/tmp/console_case.png")
URGENT = "they took our passports and lock us in"
PASSWORD = "correct horse battery staple 42"
TEXTS: dict[str, dict[str, str]] = yaml.safe_load((ROOT / "content" / "data" / "texts.yml").read_text(encoding="utf-8"))


# -- accounts and a plain HTTP client for the console API ----------------------------------------------


def add_user(server: LiveServer, name: str, role: str, password: str = PASSWORD) -> None:
    """`sigurno users add NAME --role ROLE --password-stdin` against the live server's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGURNO_")}
    env.update(
        SIGURNO_DATABASE_URL=server.database_url,
        SIGURNO_USER_KEY_SECRET=server.user_key_secret.decode(),
        SIGURNO_DATA_KEY=server.data_key.decode(),
        SIGURNO_CONSOLE__ARGON2_PROFILE="CHEAPEST",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "users", "add", name, "--role", role, "--password-stdin"],
        cwd=ROOT,
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"users add failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


@dataclass
class Reply:
    status: int
    data: Any


class ApiClient:
    """The console API over plain HTTP with one session (the cookie is handled by hand: it may be Secure)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Reply:
        headers = {"Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method != "GET" and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                status, raw, got = res.status, res.read(), res.headers.get_all("Set-Cookie") or []
        except urllib.error.HTTPError as e:
            status, raw, got = e.code, e.read(), e.headers.get_all("Set-Cookie") or []
        for line in got:
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Reply(status, json.loads(raw) if raw.strip() else None)

    def login(self, name: str, password: str = PASSWORD) -> None:
        res = self.call("POST", "/api/console/login", {"username": name, "password": password})
        assert res.status == 200, res
        self.csrf = res.data["csrf"]

    def cases(self, status: str) -> list[dict[str, Any]]:
        res = self.call("GET", f"/api/console/cases?status={status}")
        assert res.status == 200, res
        data = res.data
        return list(data["cases"] if isinstance(data, dict) else data)


def chat_say(server: LiveServer, session: str, text: str) -> dict[str, Any]:
    """What a person types on the web chat, sent straight to POST /api/chat."""
    req = urllib.request.Request(
        server.url + "/api/chat",
        data=json.dumps({"session": session, "text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        result: dict[str, Any] = json.loads(res.read())
    return result


# -- the console in a browser ---------------------------------------------------------------------------


class Console:
    """One console tab; collects page errors, dialogs and Content-Security-Policy violations."""

    def __init__(self, page: Page, base: str) -> None:
        self.page, self.base = page, base
        self.problems: list[str] = []
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"unexpected {dialog.type} dialog: {dialog.message}")
        dialog.dismiss()

    def _console(self, msg: ConsoleMessage) -> None:
        text = msg.text
        if "Content Security Policy" in text or "Trusted Type" in text or "Refused to" in text:
            self.problems.append(f"policy violation: {text}")

    def login(self, name: str, password: str = PASSWORD, *, then: str = "/console") -> None:
        self.page.goto(self.base + then)
        self.page.wait_for_url(re.compile(r"/console/login\?"))
        self.page.fill("#username", name)
        self.page.fill("#password", password)
        self.page.click("#submit")
        self.page.wait_for_url(self.base + then)

    def check(self) -> None:
        assert self.problems == []


@pytest.fixture(scope="module")
def accounts(live_server: LiveServer) -> dict[str, str]:
    """Two mediators and an editor (who may not work on cases), made with the real CLI."""
    made = {"mediator": "mara", "other": "petar", "editor": "edi"}
    add_user(live_server, made["mediator"], "mediator")
    add_user(live_server, made["other"], "mediator")
    add_user(live_server, made["editor"], "editor")
    return made


@pytest.fixture
def console(phone: BrowserContext, live_server: LiveServer) -> Console:
    return Console(phone.new_page(), live_server.url)


@pytest.fixture
def person(chromium: Browser, live_server: LiveServer) -> Iterator[ChatPage]:
    """The web chat page in a second, separate phone browser (the person in trouble)."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        yield ChatPage(context.new_page(), live_server.url)
    finally:
        context.close()


WIDER = """(w) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 0.5)
  .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def no_overflow(page: Page, width: int) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width, page.evaluate(WIDER, width)
    for el in page.locator("button:visible, a.btn:visible, textarea:visible, select:visible").all():
        box = el.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (el.evaluate("e => e.outerHTML"), box)


# -- tests without a browser ------------------------------------------------------------------------------


def _page(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def test_pages_have_no_inline_code_and_no_external_resources() -> None:
    for name in PAGES:
        html = _page(name)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"{name}: inline script"
        assert "<style" not in html and " style=" not in html, f"{name}: inline style"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{name}: inline event handler"
        assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", html), f"{name}: external resource"
        for src in re.findall(r"""<(?:script|link)[^>]*\s(?:src|href)="(/[^"]*)\"""", html):
            assert src.startswith("/console/static/"), (name, src)
            assert (STATIC / src.removeprefix("/console/static/")).is_file(), (name, src)


def test_scripts_never_insert_html() -> None:
    for path in STATIC.glob("*.js"):
        code = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, f"{path.name} uses {sink}"


def test_pages_and_files_are_served_with_the_security_headers(live_server: LiveServer) -> None:
    for path in ("/console", "/console/login", "/console/cases/12", "/console/reports", "/console/static/console.js"):
        with urllib.request.urlopen(live_server.url + path, timeout=10) as res:
            assert res.status == 200, path
            policy = res.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, policy
            assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
            assert "require-trusted-types-for 'script'" in policy, policy
            assert res.headers["X-Content-Type-Options"] == "nosniff"
            assert res.headers["Referrer-Policy"] == "no-referrer"
            assert "no-store" in res.headers["Cache-Control"]
    with urllib.request.urlopen(live_server.url + "/console/static/console.css", timeout=10) as res:
        assert res.headers["Content-Type"].startswith("text/css")
    for path in ("/console/static/nope.js", "/console/static/..%2Fpages.py", "/console/static/pages.py"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(live_server.url + path, timeout=10)
        assert e.value.code == 404, path


# -- the takeover, end to end -------------------------------------------------------------------------------


@pytest.mark.browser
def test_live_case_claim_reply_and_close(
    console: Console, person: ChatPage, live_server: LiveServer, accounts: dict[str, str]
) -> None:
    page = console.page
    # a wrong password is refused with a clear message
    page.goto(live_server.url + "/console")
    page.wait_for_url(re.compile(r"/console/login\?"))
    page.fill("#username", accounts["mediator"])
    page.fill("#password", "not the password")
    page.click("#submit")
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").text_content()
    console.login(accounts["mediator"])
    page.wait_for_selector("#live[data-state='on']")
    page.evaluate("window.__sameDocument = true")
    urgent_before = page.locator("#list .card[data-priority='urgent']").count()

    # the person asks for help on the web chat
    person.open()
    person.tap("English")
    person.say(URGENT)

    # ... and the case appears in the queue without a reload, with the alert and the count in the title
    card = page.locator("#list .card[data-priority='urgent']").first
    page.wait_for_function(
        "(n) => document.querySelectorAll(\"#list .card[data-priority='urgent']\").length > n", arg=urgent_before
    )
    assert page.evaluate("window.__sameDocument") is True, "the queue reloaded the page"
    page.wait_for_selector("#alert:not([hidden])")
    case_id = card.get_attribute("data-id")
    assert case_id and case_id in (page.locator("#alert").text_content() or "")
    assert re.match(r"^\(\d+\) ", page.title()), page.title()
    card_text = card.text_content() or ""
    assert "Взети документи" in card_text or "Documents taken" in card_text, card_text
    assert "Уеб чат" in card_text or "Web chat" in card_text, card_text
    page.screenshot(path=str(QUEUE_SHOT))

    # claim it: the case page with the transcript
    person_bots = len(person.bot_texts())
    card.locator("[data-claim]").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{case_id}")
    page.wait_for_selector("#reply:not([disabled])")
    page.evaluate("window.__sameDocument = true")
    assert URGENT in page.locator("#transcript .m.person .body").all_text_contents()
    assert page.locator("#claim").is_hidden()
    assert accounts["mediator"] in (page.locator("#facts").text_content() or "")

    # the person is told that a person took over (a bot notice the chat page fetches by itself)
    person.page.wait_for_function(
        "(n) => document.querySelectorAll('#log .msg.bot').length > n", arg=person_bots, timeout=20_000
    )
    assert TEXTS["handoff_started"]["en"] in person.bot_texts()[person_bots:]

    # a canned reply goes into the box; the mediator's reply reaches the person's page
    page.locator("#canned summary").click()
    page.wait_for_selector("#cannedlist button.pick")
    # the person chose English, so the English canned replies are offered first
    assert page.locator("#cannedlist .langs [aria-pressed='true']").get_attribute("lang") == "en"
    page.locator("#cannedlist button.pick").first.click()
    assert page.locator("#reply").input_value().strip()
    words = "Hello, I am Mara, a mediator. Are you safe right now?"
    page.fill("#reply", words)
    page.click("#send")
    page.wait_for_function(
        "(w) => [...document.querySelectorAll('#transcript .m.mediator .body')].some(e => e.textContent === w)",
        arg=words,
    )
    assert page.locator("#reply").input_value() == ""
    person.page.wait_for_function(
        "(w) => [...document.querySelectorAll('#log .msg.med .text')].some(e => e.textContent === w)",
        arg=words,
        timeout=20_000,
    )
    assert person.page.locator("#log .msg.med .who").first.text_content() == "Mediator"
    # a reload of the person's page shows it once (kept for the tab; the cursor is not reset)
    person.page.reload()
    person.page.wait_for_selector("#log .msg.med")
    person.page.wait_for_timeout(1_500)  # a poll or two
    assert person.page.locator("#log .msg.med .text").all_text_contents() == [words]

    # the person answers (the bot stays silent); the console shows it live
    answer = "yes, I am hiding in the bathroom"
    person.box.fill(answer)
    person.box.press("Enter")
    page.wait_for_function(
        "(w) => [...document.querySelectorAll('#transcript .m.person .body')].some(e => e.textContent === w)",
        arg=answer,
    )
    assert page.evaluate("window.__sameDocument") is True, "the case page reloaded"

    # a private note
    page.fill("#note-text", "Called the hotline together with her.")
    page.click("#addnote")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#notes .body')].some(e => e.textContent.includes('hotline together'))"
    )
    page.locator("#transcript .m.mediator").last.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(CASE_SHOT))
    page.screenshot(path=str(CASE_SHOT.with_name("console_case_full.png")), full_page=True)

    # close with an outcome (an outcome is required)
    page.click("#close")
    page.wait_for_selector("#error:not([hidden])")
    page.select_option("#outcome", "referred_hotline")
    page.click("#close")
    page.wait_for_selector(".badge.status.closed")
    assert page.locator("#reply").is_disabled()
    # ... and the person is told the bot is back
    person.page.wait_for_function(
        "(w) => [...document.querySelectorAll('#log .msg.bot .text')].some(e => e.textContent === w)",
        arg=TEXTS["handoff_ended"]["en"],
        timeout=20_000,
    )
    page.goto(live_server.url + "/console#closed")
    page.wait_for_selector(f"#list .card[data-id='{case_id}']")
    console.check()
    person.check()


@pytest.mark.browser
def test_person_text_is_shown_as_text_in_the_transcript(
    console: Console, live_server: LiveServer, accounts: dict[str, str]
) -> None:
    hostile = (
        'help they took my passport <script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> '
        '<b id="bold">bold</b> & "quotes"'
    )
    chat_say(live_server, "hostile-session-0001", hostile)
    api = ApiClient(live_server.url)
    api.login(accounts["other"])
    mine = [c for c in api.cases("queued") if c.get("channel") == "web"]
    assert mine, "the hostile message opened no case"
    case_id = max(int(c["id"]) for c in mine)

    # signing in from a case link comes back to the case
    console.login(accounts["other"], then=f"/console/cases/{case_id}")
    page = console.page
    page.wait_for_selector("#transcript .m.person")
    assert hostile in page.locator("#transcript .m.person .body").all_text_contents()
    assert page.locator("#transcript img, #transcript script, #bold").count() == 0
    assert page.evaluate("window.__xss") is None
    console.check()


@pytest.mark.browser
def test_a_case_taken_meanwhile_says_so(console: Console, live_server: LiveServer, accounts: dict[str, str]) -> None:
    chat_say(live_server, "taken-session-00001", URGENT)
    page = console.page
    # no live updates on this tab, so its queue still offers the claim when someone else has taken it
    page.route("**/api/console/events", lambda route: route.abort())
    console.login(accounts["mediator"])
    page.wait_for_selector("#list .card [data-claim]")
    case_id = page.locator("#list .card").first.get_attribute("data-id")
    other = ApiClient(live_server.url)
    other.login(accounts["other"])
    assert other.call("POST", f"/api/console/cases/{case_id}/claim", {}).status == 200
    page.locator(f"#list .card[data-id='{case_id}'] [data-claim]").click()
    problem = page.locator(f"#list .card[data-id='{case_id}'] .problem")
    problem.wait_for()
    assert "друг медиатор" in (problem.text_content() or "") or "Another mediator" in (problem.text_content() or "")
    assert page.url == live_server.url + "/console"
    console.check()


@pytest.mark.browser
def test_wrong_role_and_no_session(console: Console, live_server: LiveServer, accounts: dict[str, str]) -> None:
    page = console.page
    console.login(accounts["editor"])
    page.wait_for_selector("#error:not([hidden])")
    assert "права" in (page.locator("#error").text_content() or "")  # "not allowed", in Bulgarian
    # signing out ends the session: the console sends you back to the login page
    page.click("#logout")
    page.wait_for_url(re.compile(r"/console/login\?why=out"))
    page.goto(live_server.url + "/console/cases/1")
    page.wait_for_url(re.compile(r"/console/login\?next=%2Fconsole%2Fcases%2F1"))
    console.check()


@pytest.mark.browser
def test_console_fits_a_small_phone(console: Console, live_server: LiveServer, accounts: dict[str, str]) -> None:
    width = 360
    chat_say(live_server, "narrow-session-0001", URGENT + " " + "x" * 300)
    page = console.page
    page.set_viewport_size({"width": width, "height": 640})
    console.login(accounts["mediator"])
    page.wait_for_selector("#list .card")
    no_overflow(page, width)
    page.locator("#tab-closed").click()
    page.wait_for_selector("#list[aria-busy='false']", state="attached")
    no_overflow(page, width)
    page.locator("#tab-queued").click()
    page.locator("#list .card .title a").first.click()
    page.wait_for_selector("#transcript .m")
    no_overflow(page, width)
    for name in ("#claim", "#logout", "#sound"):
        box = page.locator(name).bounding_box()
        assert box is not None and box["height"] >= 44, (name, box)
    console.check()


@pytest.mark.browser
def test_delivery_failures_and_a_closed_reply_window_are_shown(
    console: Console, live_server: LiveServer, accounts: dict[str, str]
) -> None:
    """The web chat never fails to deliver, so the page's answer is edited on the way: as a Messenger case
    past its 24 hours would come back (a failed reply with its reason, the reply window closed)."""
    chat_say(live_server, "failing-session-001", URGENT)
    api = ApiClient(live_server.url)
    api.login(accounts["mediator"])
    case_id = max(int(c["id"]) for c in api.cases("queued"))
    assert api.call("POST", f"/api/console/cases/{case_id}/claim", {}).status == 200
    why = "outside Messenger's 24-hour window <b>x</b>"

    def as_messenger(route: Route) -> None:
        res = route.fetch()
        data = res.json()
        data["case"].update(channel="messenger", reply_window_open=False)
        data["messages"].append(
            {
                "id": 10**9,
                "direction": "mediator",
                "from": "mediator",
                "kind": "text",
                "text": "Are you safe?",
                "at": data["case"]["created_at"],
                "delivery_status": "failed",
                "delivery_error": why,
            }
        )
        route.fulfill(response=res, json=data)

    console.page.route(re.compile(rf"/api/console/cases/{case_id}$"), as_messenger)
    console.login(accounts["mediator"], then=f"/console/cases/{case_id}")
    page = console.page
    failed = page.locator("#transcript .m.mediator.failed")
    failed.wait_for()
    assert why in (failed.locator(".delivery.failed").text_content() or "")
    assert failed.locator(".delivery b").count() == 0  # the reason is text too
    assert page.locator("#windowwarn").is_visible()
    assert "Messenger" in (page.locator("#facts").text_content() or "")
    console.check()
    # The page keeps polling the case: a poll caught by the handler while the context closes raised
    # "Response has been disposed" into the next test's setup (seen on a loaded machine).
    page.unroute_all(behavior="ignoreErrors")


@pytest.mark.browser
def test_release_hands_the_case_back_to_the_bot(
    console: Console, live_server: LiveServer, accounts: dict[str, str]
) -> None:
    session = "release-session-001"
    chat_say(live_server, session, URGENT)
    api = ApiClient(live_server.url)
    api.login(accounts["other"])
    case_id = max(int(c["id"]) for c in api.cases("queued"))  # the newest: this person's
    console.login(accounts["other"])
    page = console.page
    page.locator(f"#list .card[data-id='{case_id}'] [data-claim]").click()
    page.wait_for_url(f"{live_server.url}/console/cases/{case_id}")
    page.locator("#release").click()
    page.wait_for_selector(".badge.status.released")
    assert page.locator("#reply").is_disabled()
    assert page.locator("#p-finish").is_hidden()
    assert page.locator("#replyhint").is_visible()
    # the bot answers the person again
    assert chat_say(live_server, session, "hello")["replies"]
    page.goto(live_server.url + "/console#closed")
    page.wait_for_selector(f"#list .card[data-id='{case_id}']")
    console.check()


@pytest.mark.browser
def test_case_view_shows_what_opened_it_and_keeps_the_reply_box_in_reach(
    console: Console, live_server: LiveServer, accounts: dict[str, str]
) -> None:
    session = "why-it-opened-0001"
    chat_say(live_server, session, URGENT)
    chat_say(live_server, session, "yes")  # can write safely
    chat_say(live_server, session, "Germany, Munich")  # where
    chat_say(live_server, session, "no")  # nobody else in danger
    api = ApiClient(live_server.url)
    api.login(accounts["mediator"])
    mine = [c for c in api.cases("queued") if "answer:where=DE" in c["signals"]]
    assert mine, api.cases("queued")
    case = mine[0]
    assert {"answer:can_write_safely=yes", "answer:others_in_danger=no"} <= set(case["signals"])

    page = console.page
    page.set_viewport_size(PHONE)
    console.login(accounts["mediator"], then=f"/console/cases/{case['id']}")
    page.wait_for_selector("#transcript .m")
    page.locator("#claim").click()
    page.wait_for_selector("#reply:not([disabled])")
    # what opened the case is the first thing in the summary, in words a mediator reads
    first_label = page.locator("#facts dt").first.text_content()
    assert first_label in ("Защо е отворен", "Why it opened"), first_label
    why = page.locator("#facts dd").first.text_content() or ""
    assert ("Къде е" in why or "Where they are" in why) and "DE" in why, why
    # the reply box is on the screen without scrolling past the bot's messages
    box = page.locator("#reply").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    page.screenshot(path=str(CASE_SHOT.with_name("console_case_phone.png")))
    console.check()
