"""Fit channel-neutral replies to a platform's Capabilities. Pure functions: no I/O, no state.

- Buttons beyond `max_buttons` (all of them when it is 0) become a numbered list under the text. The
  numbers are the ones the dialogue engine understands when typed: it keeps the payloads of the
  last 12 buttons of a turn, across all its replies, and maps "n" to the n-th of them.
- A button whose payload is longer than `payload_limit_bytes` goes to the numbered list as well (typing
  its number works everywhere and needs no mapping table shared between processes). Our payloads are
  far shorter than every platform's limit (at most PAYLOAD_BUDGET bytes; a test walks the engine to
  hold that), so this is a safety net, not a path in use.
- Button titles are shortened to `button_title_limit` characters.
- Text longer than `text_limit` is split at paragraph breaks, else line breaks, else spaces (a word
  longer than the limit is cut); buttons go only on the last part.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from bot.channels.base import Capabilities
from dialogues.types import Button, Reply

log = logging.getLogger(__name__)

TYPED_NUMBERS = 12  # the engine remembers the last 12 buttons of a turn (dialogues.engine _Turn.result)
PAYLOAD_BUDGET = 32  # bytes: what our payloads stay under (Telegram's callback_data allows 64)
_LEADING_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.)]\s*")
_SEPARATORS = ("\n\n", "\n", " ")


def shorten(title: str, limit: int) -> str:
    """`title` within `limit` characters, cut at a word when one ends late enough, with an ellipsis."""
    title = title.strip()
    if len(title) <= limit:
        return title
    if limit <= 1:
        return title[:limit]
    head = title[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,.;:-") + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Split into parts of at most `limit` characters: at paragraphs, then lines, then words, then anywhere."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if len(text) <= limit:
        return [text]
    return [p for p in _split(text, limit, 0) if p]


def _split(text: str, limit: int, level: int) -> list[str]:
    if len(text) <= limit:
        return [text]
    if level >= len(_SEPARATORS):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    sep = _SEPARATORS[level]
    chunks: list[str] = []
    current = ""
    for piece in text.split(sep):
        piece = piece.strip() if sep != " " else piece
        if not piece:
            continue
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
            current = ""
        if len(piece) <= limit:
            current = piece
        else:
            smaller = _split(piece, limit, level + 1)
            chunks.extend(smaller[:-1])
            current = smaller[-1]
    if current:
        chunks.append(current)
    return chunks


def fit(replies: Sequence[Reply], caps: Capabilities) -> list[tuple[Reply, ...]]:
    """The messages to send for one turn's replies: for each reply, its parts in order (at least one)."""
    total = sum(len(r.buttons) for r in replies)
    first_typed = max(0, total - TYPED_NUMBERS)  # buttons before this index cannot be picked by number
    index = 0
    out: list[tuple[Reply, ...]] = []
    for reply in replies:
        kept: list[Button] = []
        listed: list[str] = []
        for button in reply.buttons:
            number = index - first_typed + 1 if index >= first_typed else None
            index += 1
            too_long = len(button.payload.encode()) > caps.payload_limit_bytes
            if too_long:
                log.warning("a button payload is longer than this channel allows: shown as a numbered line")
            if not too_long and len(kept) < caps.max_buttons:
                kept.append(Button(shorten(button.title, caps.button_title_limit), button.payload))
                continue
            title = _LEADING_NUMBER.sub("", button.title).strip() or button.title.strip()
            listed.append(f"{number}. {title}" if number is not None else f"• {title}")
        text = reply.text.strip()
        if listed:
            text = f"{text}\n\n" + "\n".join(listed) if text else "\n".join(listed)
        parts = split_text(text, caps.text_limit) if text else [""]
        fitted = [replace(reply, text=part, buttons=()) for part in parts]
        fitted[-1] = replace(fitted[-1], buttons=tuple(kept))
        out.append(tuple(fitted))
    return out
