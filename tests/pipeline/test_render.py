"""Fitting channel-neutral replies to a platform's capabilities (pure functions)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import Capabilities
from bot.channels.render import PAYLOAD_BUDGET, fit, shorten, split_text
from content import Content, default_content_dir, load_content
from dialogues.engine import Engine
from dialogues.types import Button, Context, Event, Reply

CAPS = Capabilities(
    text_limit=100, max_buttons=3, button_title_limit=10, payload_limit_bytes=64, reply_window=None, silent_send=True
)


def caps(**changes: Any) -> Capabilities:
    values = {**CAPS.__dict__, **changes}
    return Capabilities(**values)


def test_short_replies_pass_unchanged() -> None:
    reply = Reply("Hello", (Button("Yes", "a:yes"), Button("No", "a:no")), sensitive=True)
    assert fit([reply], CAPS) == [(reply,)]


def test_buttons_beyond_the_limit_become_a_numbered_list_with_the_engines_numbers() -> None:
    first = Reply("Pick", (Button("More", "privacy_more"),))
    menu = Reply("Menu", tuple(Button(f"{i}. Item {i}", f"menu:{i}") for i in range(1, 6)))
    out = fit([first, menu], CAPS)
    assert out[0] == (first,)
    (fitted,) = out[1]
    # Typed numbers count the turn's buttons across replies: "More" is 1, the menu starts at 2.
    assert fitted.text == "Menu\n\n5. Item 4\n6. Item 5"
    assert [b.payload for b in fitted.buttons] == ["menu:1", "menu:2", "menu:3"]
    assert [b.title for b in fitted.buttons] == ["1. Item 1", "2. Item 2", "3. Item 3"]


def test_no_buttons_at_all_means_every_button_is_a_numbered_line() -> None:
    (parts,) = fit(
        [Reply("Choose", (Button("Български", "lang:bg"), Button("English", "lang:en")))], caps(max_buttons=0)
    )
    assert parts == (Reply("Choose\n\n1. Български\n2. English"),)


def test_only_the_last_twelve_buttons_of_a_turn_can_be_typed() -> None:
    many = Reply("x", tuple(Button(f"B{i}", f"p:{i}") for i in range(14)))
    (parts,) = fit([many], caps(max_buttons=0, text_limit=1000))
    lines = parts[0].text.splitlines()[2:]
    assert lines[:2] == ["• B0", "• B1"] and lines[2] == "1. B2" and lines[-1] == "12. B13"


def test_titles_are_shortened_and_long_payloads_go_to_the_list() -> None:
    reply = Reply("t", (Button("A rather long button title", "ok"), Button("Long", "x" * 80)))
    (parts,) = fit([reply], CAPS)
    assert [b.title for b in parts[0].buttons] == ["A rather…"]
    assert parts[0].text == "t\n\n2. Long"
    assert shorten("abcdefghijkl", 5) == "abcd…" and shorten("short", 5) == "short"


def test_long_text_splits_at_paragraphs_then_lines_then_words_and_buttons_go_last() -> None:
    para = "word " * 15  # 75 characters
    reply = Reply(f"{para}\n\n{para}\n\n{'line one' * 3}\n{'line two' * 3}", (Button("OK", "ok"),), sensitive=True)
    parts = fit([reply], CAPS)[0]
    assert all(len(p.text) <= 100 for p in parts)
    assert [bool(p.buttons) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert all(p.sensitive for p in parts)
    assert parts[0].text == para.strip()
    assert " ".join(p.text for p in parts).split() == reply.text.split()  # nothing lost or reordered


@pytest.mark.parametrize("limit", [1, 7, 50, 4096])
def test_split_text_never_exceeds_the_limit_and_keeps_every_word(limit: int) -> None:
    text = "Първи абзац с думи.\n\nВтори абзац,\nс нов ред и " + "дълга" * 30 + " дума.\n\n\nКрай"
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(default_content_dir())


def test_every_payload_the_engine_can_show_fits_the_budget(content: Content) -> None:
    """Walk the conversation through every button it offers: each payload is under PAYLOAD_BUDGET bytes
    (Telegram allows 64), so no platform needs a payload mapping table."""
    engine = Engine(content)
    ctx = Context(now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    seen: set[str] = set()
    queue: deque[tuple[dict[str, Any], str]] = deque(({}, p) for p in ("/start", "lang:bg", "lang:en", "lang:ru"))
    steps = 0
    while queue and steps < 5000:
        state, payload = queue.popleft()
        steps += 1
        result = engine.step(state, None, Event("payload", payload=payload), ctx)
        for reply in result.replies:
            for button in reply.buttons:
                if button.payload not in seen:
                    seen.add(button.payload)
                    queue.append((dict(result.state), button.payload))
    assert len(seen) > 30, "the walk should reach the menus, countries, topics and checks"
    too_long = [p for p in seen if len(p.encode()) >= PAYLOAD_BUDGET]
    assert too_long == []
