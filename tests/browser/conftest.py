"""Browser tests of the web chat: a real `sigurno serve` and Debian's Chromium driven by Playwright.

Every test marked `browser` is skipped, with the reason, when /usr/bin/chromium or the Python package
playwright is missing (`scripts/ensure-chromium.sh` installs Chromium on Debian as root).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet

from tests.browser.chatpage import ChatPage

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 30.0
PHONE: ViewportSize = {"width": 390, "height": 844}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (run scripts/ensure-chromium.sh as root, or apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_browser()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"browser test: {reason}")
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(skip)


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    database_url: str
    user_key_secret: bytes
    data_key: bytes
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as res:
            return bool(res.status == 200 and res.read().strip() == b"ok")
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, nlu_model_path: Path) -> Iterator[LiveServer]:
    """`sigurno serve` on a free port with its own SQLite file and secrets; stopped at the end."""
    folder = tmp_path_factory.mktemp("webchat")
    port = _free_port()
    database_url = f"sqlite+aiosqlite:///{folder / 'sigurno.db'}"
    user_key_secret = b"browser-tests-user-key-secret-0123456789"
    data_key = Fernet.generate_key()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGURNO_")}
    env.update(
        SIGURNO_DATABASE_URL=database_url,
        SIGURNO_NLU_MODEL=str(nlu_model_path),
        SIGURNO_USER_KEY_SECRET=user_key_secret.decode(),
        SIGURNO_DATA_KEY=data_key.decode(),
        SIGURNO_CONSOLE__ARGON2_PROFILE="CHEAPEST",  # tests only: production parameters are tested once
        PYTHONUNBUFFERED="1",
    )
    server = LiveServer(f"http://127.0.0.1:{port}", database_url, user_key_secret, data_key, folder / "server.log")
    with server.log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(server.url):
            if proc.poll() is not None:
                pytest.fail(f"sigurno serve exited with {proc.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"sigurno serve did not answer /healthz within {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
                )
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh phone-sized browser (empty localStorage) for one test."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="bg-BG")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def chat(phone: BrowserContext, live_server: LiveServer) -> ChatPage:
    """The chat page in a fresh phone browser; fails on JavaScript errors and dialogs (see ChatPage.check)."""
    return ChatPage(phone.new_page(), live_server.url)
