"""Checks on bot/static/chat.html that need no browser."""

from __future__ import annotations

import base64
import hashlib
import re

from tests.browser.conftest import ROOT

PAGE = ROOT / "bot" / "static" / "chat.html"


def _html() -> str:
    return PAGE.read_text(encoding="utf-8")


def _one_block(tag: str) -> str:
    blocks: list[str] = re.findall(rf"<{tag}>(.*?)</{tag}>", _html(), flags=re.S)
    assert len(blocks) == 1, f"expected exactly one inline <{tag}> block"
    return blocks[0]


def test_content_security_policy_hashes_match_the_inline_style_and_script() -> None:
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', _html())
    assert policy, "the page must carry its Content-Security-Policy"
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        digest = base64.b64encode(hashlib.sha256(_one_block(tag).encode("utf-8")).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy.group(1), (
            f"the inline {tag} changed: set {directive} 'sha256-{digest}' in the page's Content-Security-Policy"
        )


def test_no_external_resources_and_no_html_insertion() -> None:
    html = _html()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no external resources"
    script = _one_block("script")
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_title_and_header_are_neutral() -> None:
    html = _html()
    title = re.search(r"<title>(.*?)</title>", html, flags=re.S)
    header = re.search(r"<header>(.*?)</header>", html, flags=re.S)
    assert title and title.group(1) == "Sigurno"
    assert header
    visible = (title.group(1) + header.group(1)).lower()
    for word in ("traffick", "трафик", "торговл", "exploit", "passport", "паспорт"):
        assert word not in visible
