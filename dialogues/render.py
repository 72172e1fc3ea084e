"""Turns content (contacts, card sections, topics) into plain reply text in one language."""

from __future__ import annotations

import re
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_currency

from content import Contact, Content, CountryCard, Fact, Topic
from content.model import Amount

DAY_KEYS = ("day_mon", "day_tue", "day_wed", "day_thu", "day_fri", "day_sat", "day_sun")


def source_line(content: Content, lang: str, url: str | None, checked: date | None) -> str:
    if not url:
        return ""
    when = checked_date(lang, checked) if checked else "?"
    return content.text("source_line", lang, url=url, date=when)


def contact_lines(content: Content, lang: str, contact: Contact, *, with_source: bool = True) -> str:
    head = contact.name.get(lang)
    if contact.phone:
        head += f": {contact.phone}"
    lines = [head]
    if contact.note:
        lines.append(contact.note.get(lang))
    if contact.url and not contact.phone:
        lines.append(contact.url)
    if contact.address and not contact.phone:
        lines.append(contact.address)
    if with_source:
        src = source_line(content, lang, contact.source, contact.checked)
        if src:
            lines.append(src)
    return "\n".join(lines)


def contacts_block(content: Content, lang: str, contacts: tuple[Contact, ...], *, with_source: bool = True) -> str:
    return "\n\n".join(contact_lines(content, lang, c, with_source=with_source) for c in contacts)


def fact_block(content: Content, lang: str, fact: Fact, title_key: str | None = None) -> str:
    parts = []
    if title_key:
        parts.append(content.text(title_key, lang).rstrip(":") + ":")
    text = fact.text.get(lang)
    if fact.amount and fact.status == "verified":
        text = f"{fact.amount} ({fact.year})\n{text}" if fact.year else f"{fact.amount}\n{text}"
    parts.append(text)
    src = source_line(content, lang, fact.source, fact.checked)
    if src:
        parts.append(src)
    return "\n".join(parts)


_SECTION_TITLES = {
    "registration": "registration_title",
    "work_numbers": "work_numbers_title",
    "minimum_wage": "minimum_wage_title",
    "advice": "advice_intro",
}


def section(content: Content, lang: str, card: CountryCard, key: str) -> str | None:
    fact = card.sections.get(key)
    if fact is None:
        return None
    return fact_block(content, lang, fact, _SECTION_TITLES.get(key))


def topic_text(content: Content, lang: str, topic: Topic) -> str:
    lines = [topic.title.get(lang), "", topic.answer.get(lang)]
    if topic.checklist:
        lines.append("")
        lines.extend(f"• {item.get(lang)}" for item in topic.checklist)
    return "\n".join(lines)


def when_phrase(content: Content, lang: str, now: datetime, next_shift: datetime | None, on_shift: bool) -> str:
    if on_shift or next_shift is None:
        return content.text("when_soon", lang)
    days = (next_shift.date() - now.date()).days
    if days <= 0:
        day = content.text("day_today", lang)
    elif days == 1:
        day = content.text("day_tomorrow", lang)
    else:
        day = content.text(DAY_KEYS[next_shift.weekday()], lang)
    return content.text("when_at", lang, day=day, time=next_shift.strftime("%H:%M"))


def phone_line(content: Content, lang: str, contact: Contact, *, note: bool = True) -> str:
    """One number on one or two short lines: who answers and the number, then when and what it costs.

    A Bulgarian domestic number (0800, 0700 ...) says "from Bulgaria only": it does not work from abroad.
    """
    head = f"☎ {contact.phone} – {contact.name.get(lang)}"
    if contact.phone and contact.phone.startswith("0") and contact in content.hotlines_bg:
        head += f" ({content.text('only_from_bg', lang)})"
    if note and contact.note:
        return f"{head}\n{contact.note.get(lang)}"
    return head


def phone_block(content: Content, lang: str, contacts: tuple[Contact, ...], *, note: bool = True) -> str:
    return "\n".join(phone_line(content, lang, c, note=note) for c in contacts)


# ---- one screen first (issue 9 point 1) ---------------------------------------------------------

FIRST_SCREEN = 350  # the first message of an answer: what a 390x844 phone shows with its buttons
PAGE_MAX = 900  # no message anywhere is longer than this


def pages(text: str, first: int = FIRST_SCREEN, rest: int = PAGE_MAX) -> list[str]:
    """Cut a text into a short first screen and further pages, between sentences (else between words)."""
    units: list[tuple[str, str]] = []  # (what joins it to the text before, a sentence)
    sep = ""
    for line in text.strip().splitlines():
        if not line.strip():
            sep = "\n\n"
            continue
        for i, sentence in enumerate(re.split(r"(?<=[.!?…])\s+", line.strip())):
            units.append((" " if i else (sep or "\n"), sentence))
        sep = ""
    out: list[str] = []
    current = ""
    for joiner, unit in units:
        limit = first if not out else rest
        candidate = f"{current}{joiner}{unit}" if current else unit
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            out.append(current)
            current = ""
            limit = rest
        while len(unit) > limit:  # one sentence longer than a page: cut between words
            cut = unit.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            out.append(unit[:cut])
            unit = unit[cut:].strip()
            limit = rest
        current = unit
    if current:
        out.append(current)
    return out


def checked_date(lang: str, checked: date) -> str:
    """A checked date as the language writes it (Babel/CLDR), e.g. 21 ноември 2026 г. / 21 November 2026."""
    return format_date(checked, format="long", locale=lang)


def section_text(content: Content, lang: str, card: CountryCard, key: str) -> str | None:
    """One card section without its source (the source is one tap away)."""
    fact = card.sections.get(key)
    if fact is None:
        return None
    text = fact.text.get(lang)
    shown = amounts_text(content, lang, fact.amounts) if fact.amounts else fact.amount
    if shown and fact.status == "verified":
        text = f"{shown} ({fact.year})\n{text}" if fact.year else f"{shown}\n{text}"
    return text


def amount_text(content: Content, lang: str, amount: Amount) -> str:
    """13,90 € на час / €13.90 an hour: the sum by Babel (CLDR), the unit and note in the language."""
    money = format_currency(amount.value, amount.currency, locale=lang)
    text = f"{money} {content.text(f'per_{amount.per}', lang)}"
    return f"{text} ({amount.note.get(lang)})" if amount.note else text


def amounts_text(content: Content, lang: str, amounts: tuple[Amount, ...]) -> str:
    return "; ".join(amount_text(content, lang, a) for a in amounts)
