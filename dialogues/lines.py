"""Which phone numbers to show, by where the person is (issue 9 point 2).

First at most three: that country's emergency number (999 in the UK, 112 elsewhere in the EU), its
trafficking or help line, and a Bulgarian number that works from abroad (+359: the Foreign Ministry's
Situation Centre). A Bulgarian number that starts with 0 (0800 freephone, 0700) works only from a
Bulgarian network: it is offered first only to people in Bulgaria, and labelled wherever it shows.
"""

from __future__ import annotations

from content import FULL_COUNTRIES, Contact, Content
from content.model import EU_EEA_COUNTRIES

# Where we have no rules of our own: everything outside the EU/EEA, and Switzerland (free movement
# applies there only by agreement, and we have no checked rules for it). The UK has a full card.
NO_RULES_EXCEPTIONS = frozenset({"GB", "BG", "EU"})


def has_no_rules(code: str | None) -> bool:
    """A known country we have no rules for: outside the EU/EEA (the UK excepted), or Switzerland."""
    if not code:
        return False
    code = code.upper()
    if code in NO_RULES_EXCEPTIONS or code in FULL_COUNTRIES:
        return False
    return code == "CH" or code not in EU_EEA_COUNTRIES


def works_only_in_bulgaria(contact: Contact) -> bool:
    """A Bulgarian domestic number (0800, 0700 ...; from the national list): not from abroad."""
    return bool(contact.phone) and str(contact.phone).startswith("0")


def situation_centre(c: Content) -> Contact | None:
    """The Foreign Ministry's 24-hour Situation Centre: the first +359 consulate line of the national list."""
    for contact in c.hotlines_bg:
        if contact.kind == "consulate" and (contact.phone or "").startswith("+359"):
            return contact
    return None


def emergency(c: Content, where: str | None) -> Contact | None:
    """The emergency number where the person is: the card's (999 in the UK), else 112 in the EU/EEA."""
    card = c.country(where) if where else None
    if card is not None and card.code not in ("BG",):
        for contact in card.contacts:
            if contact.kind == "emergency" and contact.phone:
                return contact
    if where and has_no_rules(where):
        return None  # we have no checked emergency number there: the text says "the local emergency number"
    for contact in c.hotlines_bg:
        if contact.kind == "emergency" and contact.phone:
            return contact
    return None


def local_line(c: Content, where: str | None) -> Contact | None:
    """That country's trafficking or help line (the first phone line of its card)."""
    if not where or where.upper() not in FULL_COUNTRIES:
        return None
    card = c.country(where)
    if card is None:
        return None
    for kinds in (("trafficking",), ("hotline",), ("labour", "police")):
        for contact in card.contacts:
            if contact.kind in kinds and contact.phone:
                return contact
    return None


def first_lines(c: Content, where: str | None) -> tuple[Contact, ...]:
    """At most three numbers that work where the person is (unknown place: assume abroad)."""
    if where and where.upper() == "BG":
        urgent = [x for x in c.hotlines_bg if x.urgent and x.phone]
        animus = [x for x in c.hotlines_bg if x.kind == "hotline" and works_only_in_bulgaria(x) and x not in urgent]
        picked = [x for x in urgent if x.kind != "consulate"] + animus
        return tuple(picked[:3])
    picked_opt = [emergency(c, where), local_line(c, where), situation_centre(c)]
    picked = [x for x in picked_opt if x is not None]
    if where is None:
        # Perhaps in Bulgaria: the national line, labelled "from Bulgaria only".
        a21 = next((x for x in c.hotlines_bg if x.urgent and works_only_in_bulgaria(x)), None)
        if a21 is not None:
            picked.append(a21)
    return tuple(picked[:3])


def more_lines(c: Content, where: str | None) -> tuple[Contact, ...]:
    """The rest: that country's other lines, then the Bulgarian ones (domestic ones labelled)."""
    shown = set(first_lines(c, where))
    card = c.country(where) if where and where.upper() in FULL_COUNTRIES else None
    local = [x for x in card.contacts if x.phone and x.kind != "embassy"] if card else []
    embassy = [x for x in card.contacts if x.phone and x.kind == "embassy"][:1] if card else []
    national = [x for x in c.hotlines_bg if x.phone]
    return tuple(x for x in (*local, *embassy, *national) if x not in shown)
