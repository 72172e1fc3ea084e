"""What one conversation turn adds to the reports, built from what the turn knew (never its text).

The dispatcher calls `turn_tally` once per turn and passes the result with the turn's write
(TurnWrite.tally), so the counts are written in the turn's own transaction.
"""

from __future__ import annotations

import re

from bot.storage.report_tally import Tally
from dialogues.types import Event, Noted
from nlu.types import NluResult

# Menu taps that ask for a topic, counted like the intent a typed question would have had.
MENU_TOPICS = {
    "menu:work": "work_legally",
    "menu:country": "residence_rules",
    "menu:offer": "job_offer_check",
    "menu:trafficking": "trafficking_info",
    "menu:hotlines": "hotline",
    "menu:mediator": "human_mediator",
    "help_now": "emergency",
}
# Button payloads that name a country: country:DE (country rules), where:GB (help lines), tp_country:NL.
_COUNTRY_PAYLOAD = re.compile(r"^(?:country|where|tp_country):([A-Za-z]{2})$")
LANGUAGES = ("bg", "en", "ru")


def turn_tally(
    channel: str,
    kind: str,
    *,
    new: bool,
    event: Event,
    nlu: NluResult | None = None,
    noted: Noted | None = None,
    state: dict[str, object] | None = None,
    opened: str | None = None,
    reached: bool = True,
) -> Tally:
    """The counts of one turn: the message (by kind), a new person, the conversation's language, the intent
    and country asked about, risk and signals, job-check result, safety question, not understood, and
    the priority of a case it opened."""
    counts: list[tuple[str, str]] = [("messages", kind)]
    if new:
        counts.append(("new_people", ""))
    lang = (state or {}).get("lang") or (state or {}).get("seen_lang")
    if lang in LANGUAGES:
        counts.append(("language", str(lang)))
    elif nlu is not None and nlu.language != "unknown":
        counts.append(("language", "bg" if nlu.language == "bg-latn" else nlu.language))
    if nlu is not None:
        counts.append(("intent", nlu.intent))
        counts.append(("risk", nlu.risk))
        counts.extend(("signal", s) for s in nlu.signals)
        if nlu.country:
            counts.append(("country", nlu.country))
    elif event.kind == "payload":
        topic = MENU_TOPICS.get(event.payload)
        if topic is not None:
            counts.append(("intent", topic))
        m = _COUNTRY_PAYLOAD.match(event.payload)
        if m:
            counts.append(("country", m.group(1).upper()))
    if noted is not None:
        if noted.fallback:
            counts.append(("fallback", ""))
        if noted.job_check:
            counts.append(("job_check", noted.job_check))
        if noted.safety_asked:
            counts.append(("safety_question", "asked"))
    if opened is not None:
        counts.append(("case_opened", opened))
    return Tally(channel, tuple(counts), reached)
