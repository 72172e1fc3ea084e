"""The review queue's intake: which messages the bot did not understand, masked before they are stored.

`note(nlu, before, after)` hears each text turn (the Dispatcher's `review` hook) and returns what to queue,
which the turn writes in its own transaction (bot/storage/conversations.py). A message is queued when
the NLU found no topic (out_of_scope), was unsure (confidence below LOW_CONFIDENCE), asked the safety
question, or the dialogue fell back ("I did not understand"). Only the masked text and what the NLU
said are stored: no person key, no channel, no case, so an item can never lead back to a person.
"""

from __future__ import annotations

import re
from typing import Any

from bot.storage.records import ReviewNote
from nlu.types import NluResult

LOW_CONFIDENCE = 0.5

# An e-mail address; a phone number (7+ digits with spaces, dots, dashes, brackets, an optional +);
# any other run of 5+ digits (ids, card and account numbers, codes). Order matters: e-mail first.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]{0,2}\d){6,}")
_DIGITS = re.compile(r"\d{5,}")


def mask(text: str) -> str:
    """Phone numbers, e-mail addresses and digit runs of 5 or more replaced by a marker."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _DIGITS.sub("[number]", text)


def reasons(nlu: NluResult, fell_back: bool) -> list[str]:
    """Why this message belongs in the review queue (empty: it does not)."""
    why = []
    if nlu.intent == "out_of_scope":
        why.append("out_of_scope")
    elif nlu.confidence < LOW_CONFIDENCE:
        why.append("low_confidence")
    if nlu.ask_safety:
        why.append("ask_safety")
    if fell_back:
        why.append("fallback")
    return why


def fell_back(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Did the dialogue answer "I did not understand"? It counts misses in the state: one more, or the
    count reset because the second miss in a row offered a mediator."""
    was, now = int(before.get("misses") or 0), int(after.get("misses") or 0)
    return now > was or (was >= 1 and now == 0 and after.get("awaiting") == "mediator" and bool(after.get("offered")))


def note(nlu: NluResult, before: dict[str, Any], after: dict[str, Any]) -> ReviewNote | None:
    """What of this text turn goes into the review queue: its masked text and what the NLU said, or None."""
    why = reasons(nlu, fell_back(before, after))
    if not why or not nlu.text.strip():
        return None
    said = {
        "intent": nlu.intent,
        "confidence": round(nlu.confidence, 3),
        "country": nlu.country,
        "risk": nlu.risk,
        "ask_safety": nlu.ask_safety,
        "language": nlu.language,
        "reasons": why,
    }
    return ReviewNote(mask(nlu.text), said)
