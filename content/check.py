"""`content check`: the quality gate for content/data (see notes/content_schema.md, PRODUCT.md §5).

Errors (publishing must stop): a missing language, text key, topic, country section or contact; a
fact without source or checked date; a malformed phone number or link; a phone number in free text
(numbers live only in fields named `phone`); an intent of the NLU contract without an answer;
placeholders that differ between languages or that the engine does not fill, or a drafting mark left in
(TODO, TBD, XXX, [...]); with a fact sheet,
a phone number the fact sheet does not hold. Warnings: facts checked too long ago, old sources,
and smaller style issues.

Every message reads "file: key: what is wrong". Run: python -m content.check [DIR] [--facts FACTS.md]
"""

from __future__ import annotations

import argparse
import calendar
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from content import schema
from content.loader import default_content_dir, read_tree
from content.model import FULL_COUNTRIES, PLACEHOLDER
from content.schema import COUNTRIES_DIR, Documents
from nlu.types import INTENTS

# --- the schema, as the checker sees it ----------------------------------------------------------

BUTTON_MAX = 20
TEXT_MAX = 1500
SOURCE_MAX_YEARS = 3

# UI texts marked * in the schema: a Russian speaker needs them to reach the migrant topics.
STARRED_TEXTS: frozenset[str] = frozenset(
    {
        "greeting", "privacy_short", "privacy_more", "choose_language", "menu_title",
        "menu_work", "menu_country", "menu_offer", "menu_trafficking", "menu_hotlines", "menu_mediator",
        "menu_help_now", "btn_yes", "btn_no", "btn_more", "btn_menu", "btn_other_country", "btn_mediator",
        "fallback_once", "fallback_twice", "nontext", "urgent_intro", "urgent_case_in_hours",
        "urgent_case_off_hours", "mediator_offer", "mediator_case_opened", "mediator_declined",
        "mediator_already", "goodbye", "greet_again", "thanks_reply", "out_of_scope", "affirm_no_context",
        "deny_no_context", "privacy_delete_confirm", "privacy_deleted", "privacy_delete_cancelled",
        "too_long", "handoff_started", "handoff_ended",
    }
)  # fmt: skip
OTHER_TEXTS: frozenset[str] = frozenset(
    {
        "ask_country", "country_general", "jobcheck_intro", "jobcheck_green", "jobcheck_amber",
        "jobcheck_red", "jobcheck_flags_found", "hotlines_intro", "embassy_intro", "advice_intro",
        "registration_title", "work_numbers_title", "minimum_wage_title", "card_sources_note",
        "country_pick_prompt",
    }
)  # fmt: skip
SCHEMA_TEXTS: frozenset[str] = STARRED_TEXTS | OTHER_TEXTS
# The placeholders the engine fills in the schema's UI texts; the other schema texts have none.
TEXT_PLACEHOLDERS: Mapping[str, frozenset[str]] = {
    "privacy_more": frozenset({"retention_days"}),
    "country_general": frozenset({"country"}),
    "urgent_case_in_hours": frozenset({"when"}),
    "urgent_case_off_hours": frozenset({"when"}),
    "mediator_case_opened": frozenset({"when"}),
    "mediator_already": frozenset({"when"}),
    "too_long": frozenset({"limit"}),
    "jobcheck_intro": frozenset({"count"}),
}
# Texts that must not give the topic away on a shared phone.
DISCREET_TEXTS = ("greeting", "privacy_short", "choose_language")
REVEALING = re.compile(r"трафик|traffick|торгов\w* людьми|експлоат|exploit|насилие|violence", re.I)

INFORMATIONAL_INTENTS: tuple[str, ...] = (
    "work_legally", "residence_rules", "wages_costs", "trafficking_info", "hotline", "education_family",
    "health_social", "migrants_in_bulgaria", "data_privacy", "human_mediator", "job_offer_check",
)  # fmt: skip
CONVERSATIONAL_INTENTS: Mapping[str, tuple[str, ...]] = {
    "greet": ("greeting", "greet_again"),
    "goodbye": ("goodbye",),
    "menu": ("menu_title",),
    "affirm": ("affirm_no_context",),
    "deny": ("deny_no_context",),
    "out_of_scope": ("out_of_scope",),
    "emergency": ("urgent_intro",),
}
# Answers about our own service, not facts: no source needed.
ANSWERS_WITHOUT_FACTS = frozenset({"data_privacy", "human_mediator"})
RU_ANSWERS = frozenset({"migrants_in_bulgaria"})

TOPICS = ("secure_job", "good_salary", "trusted_person", "good_education", "trafficking_vs_smuggling")
CHECKLIST_RANGE = (3, 6)
JOBCHECK_IDS = (
    "fee", "contract_language", "employer_known", "agency_registered", "documents_kept",
    "pay_too_high", "debt", "pressure_secret",
)  # fmt: skip
JOBCHECK_RANGE = (6, 8)
VERDICTS = ("green", "amber", "red")
URGENT_NUMBERS = {"112": "112", "080020100": "0800 20 100"}

FULL_SECTIONS = ("registration", "work_numbers", "minimum_wage", "advice", "work_rules", "trafficking")
# Sections a card may have besides the required ones (each one screen behind its button).
OPTIONAL_SECTIONS = ("eta", "seasonal", "posted", "ehic")
BG_SECTIONS = ("residence", "asylum", "work", "legal_aid")
EU_SECTIONS = ("registration", "work_rules", "work_numbers", "minimum_wage", "advice")
CONTACT_KINDS = frozenset(
    {
        "hotline", "embassy", "consulate", "emergency", "labour", "advice", "police",
        "refugees", "migration", "legal_aid", "integration", "unhcr",
    }
)  # fmt: skip

# Keys whose values are not free text (no phone/URL scan of their contents).
NOT_FREE_TEXT = frozenset({"phone", "url", "source", "source_date", "checked", "code", "kind", "id", "status"})

# --- phone numbers and links ---------------------------------------------------------------------

# Drafting marks that must never reach a person: TODO, TBD, FIXME, XXX, "lorem ipsum", [...].
LEFT_IN = re.compile(r"\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum|\[\s*(?:\.\.\.|…)\s*\]", re.IGNORECASE)

# In free text: '+' or '0' followed by 6+ digits (short separators allowed), or 112 / 116xxx.
PHONE_IN_TEXT = re.compile(r"(?<![\w.,/:+])(?:\+|0)(?:[ \-()/.]{0,2}\d){6,}")
SHORT_IN_TEXT = re.compile(r"(?<![\w+])(?:112|116[ \-]?\d{3})(?!\d)")
URL_IN_TEXT = re.compile(r"\bhttps?:\S*", re.I)
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DATE_IN_TEXT = re.compile(r"\b(?:0?[1-9]|[12]\d|3[01])([./])(?:0?[1-9]|1[0-2])\1(?:\d{4}|\d{2})\b")
DOMAIN_IN_TEXT = re.compile(r"\b(?:[\w-]+\.)+[a-z]{2,}(?:/\S*)?", re.I)
HOST = re.compile(r"^(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$")
MARKUP = re.compile(r"<[a-z/][^>]*>|\*\*|__|\[[^\]]+\]\([^)]+\)", re.I)
# Country codes of the destinations and Bulgaria: the same number may be written with one or nationally.
CALLING_CODES = ("359", "357", "49", "44", "31", "33", "34", "32", "39", "43", "30")


def valid_url(url: str) -> bool:
    """An absolute http(s) link with a plausible host name and no spaces."""
    if not url or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not url.lower().startswith(f"{parts.scheme.lower()}://"):
        return False
    host = parts.hostname or ""
    return bool(HOST.match(host))


def phones_in_text(text: str) -> list[str]:
    """Phone-like runs in free text (links, e-mails, domain names and dates like 01.01.2026 are skipped)."""
    for pattern in (URL_IN_TEXT, EMAIL_IN_TEXT, DOMAIN_IN_TEXT, DATE_IN_TEXT):
        text = pattern.sub(" ", text)
    found = [m.group(0).strip() for m in PHONE_IN_TEXT.finditer(text)]
    found += [m.group(0) for m in SHORT_IN_TEXT.finditer(text)]
    return found


def phone_digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[2:] if digits.startswith("00") else digits


def phone_variants(digits: str) -> set[str]:
    """The same number written nationally (0...), without the trunk 0, or with a country code."""
    out = {digits}
    for cc in CALLING_CODES:
        if digits.startswith(cc) and len(digits) > len(cc):
            rest = digits[len(cc) :]
            out |= {rest, "0" + rest}
    if digits.startswith("0") and len(digits) > 1:
        out.add(digits[1:])
    return out


def known_phones(text: str) -> set[str]:
    """Every number written in a text (e.g. FACTS.md), in all its equivalent forms."""
    known: set[str] = set()
    for m in re.finditer(r"\+?\d[\d \-()/]*\d", text):
        run = m.group(0)
        for piece in {run, *re.split(r"[/()]", run)}:
            digits = phone_digits(piece)
            if len(digits) >= 3:
                known |= phone_variants(digits)
    return known


# --- dates ---------------------------------------------------------------------------------------


def _source_date_end(value: str | None) -> date | None:
    """The last day a source_date (YYYY, YYYY-MM or YYYY-MM-DD, as the schema keeps it) can stand for."""
    parts = [int(p) for p in value.split("-")] if value else []
    try:
        if len(parts) == 1:
            return date(parts[0], 12, 31)
        if len(parts) == 2:
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
        return date(parts[0], parts[1], parts[2]) if parts else None
    except ValueError:
        return None


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


# --- the report ----------------------------------------------------------------------------------


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self) -> str:
        lines = [f"ERROR {e}" for e in self.errors] + [f"warning {w}" for w in self.warnings]
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def check_content(
    directory: Path,
    *,
    stale_after_days: int = 180,
    today: date | None = None,
    facts_md: Path | None = None,
) -> CheckReport:
    """Check a content folder. Errors block publishing; warnings list what is getting old."""
    raw, problems = read_tree(directory)
    return check_raw(raw, problems, stale_after_days=stale_after_days, today=today, facts_md=facts_md)


def check_raw(
    raw: Mapping[str, Any],
    problems: Sequence[str] = (),
    *,
    stale_after_days: int = 180,
    today: date | None = None,
    facts_md: Path | None = None,
) -> CheckReport:
    """Check parsed content (the files of a folder, or the items of the database put back together)."""
    found = list(problems)
    docs = schema.validate_tree(raw, found)  # shape and type problems, as load_content would raise them
    checker = _Checker(docs, today or date.today(), stale_after_days)
    checker.errors.extend(found)
    checker.run()
    if facts_md is not None:
        checker.check_against_facts(facts_md)
    return CheckReport(errors=_unique(checker.errors), warnings=_unique(checker.warnings))


def _unique(items: list[str]) -> list[str]:
    """Without repeats, grouped by file (stable: within a file, in the order found)."""
    return sorted(dict.fromkeys(items), key=lambda message: message.split(": ", 1)[0])


def _join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


class _Checker:
    def __init__(self, docs: Documents, today: date, stale_after_days: int) -> None:
        self.docs = docs
        self.today = today
        self.stale_after_days = stale_after_days
        self.source_cutoff = _years_before(today, SOURCE_MAX_YEARS)
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.phones: list[tuple[str, str, str]] = []  # (file, key, number) of every phone field

    def err(self, file: str, key: str, what: str) -> None:
        self.errors.append(f"{file}: {key or '-'}: {what}")

    def warn(self, file: str, key: str, what: str) -> None:
        self.warnings.append(f"{file}: {key or '-'}: {what}")

    def run(self) -> None:
        d = self.docs
        files: list[tuple[str, object]] = [("texts.yml", d.texts), ("answers.yml", d.answers), ("topics.yml", d.topics)]
        files += [("hotlines_bg.yml", d.hotlines), ("jobcheck.yml", d.jobcheck), ("canned.yml", d.canned)]
        for file, doc in [*files, *d.countries.items()]:
            self.scan(file, doc, "", "")
        self.texts()
        self.answers()
        self.intents()
        self.topics()
        self.jobcheck()
        self.hotlines()
        self.countries()
        self.canned()

    # --- everywhere: phone fields, links, numbers in free text ----------------------------------

    def scan(self, file: str, node: object, key: str, name: str) -> None:
        if isinstance(node, BaseModel):
            for field_name in type(node).model_fields:
                self.scan(file, getattr(node, field_name), _join(key, field_name), field_name)
        elif isinstance(node, Mapping):
            for k, v in node.items():
                self.scan(file, v, _join(key, str(k)), str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self.scan(file, v, _join(key, f"[{i}]"), name)
        elif not isinstance(node, str):
            return
        elif name == "phone":
            self.phones.append((file, key, node))  # its format is the schema's
        elif name in ("url", "source"):
            if not valid_url(node):
                self.err(file, key, f"{node!r} is not a link (must be http(s)://host/...)")
        elif name not in NOT_FREE_TEXT:
            for number in phones_in_text(node):
                self.err(file, key, f"phone number {number!r} in free text (put it in a phone field)")
            for m in URL_IN_TEXT.finditer(node):
                url = m.group(0).rstrip(".,;:!?)»“”\"'")
                if not valid_url(url):
                    self.err(file, key, f"{url!r} is not a link (must be http(s)://host/...)")
            if MARKUP.search(node):
                self.warn(file, key, "looks like Markdown or HTML; texts are plain")

    # --- localized texts and facts --------------------------------------------------------------

    def loc(
        self,
        file: str,
        key: str,
        value: Mapping[str, str] | None,
        *,
        ru: bool = False,
        placeholders: frozenset[str] | None = None,
        max_len: int = TEXT_MAX,
        max_error: bool = False,
    ) -> None:
        """A localized text: required languages, the same placeholders in each, length."""
        if value is None:
            return
        for lang in ("bg", "en", "ru") if ru else ("bg", "en"):
            if lang not in value:
                self.err(file, key, f"missing {lang}")
        found = {lang: frozenset(PLACEHOLDER.findall(text)) for lang, text in value.items()}
        for lang, text in value.items():
            if len(text) > max_len:
                what = f"{lang} is {len(text)} characters (at most {max_len})"
                if max_error:
                    self.err(file, key, what)
                else:
                    self.warn(file, key, what)
        if len(set(found.values())) > 1:
            shown = ", ".join(f"{lang} {{{','.join(sorted(p))}}}" for lang, p in found.items())
            self.err(file, key, f"placeholders differ between languages: {shown}")
        used = frozenset().union(*found.values()) if found else frozenset()
        for lang, text in value.items():
            mark = LEFT_IN.search(text)
            if mark is not None:
                self.err(file, key, f"{lang}: a placeholder was left in ({mark.group(0)!r})")
        if placeholders is None:
            if used and file != "texts.yml":
                self.err(
                    file, key, f"placeholder {sorted(used)} left in: the engine fills placeholders only in texts.yml"
                )
            return
        for name in sorted(used - placeholders):
            self.err(file, key, f"placeholder {{{name}}} is not filled by the engine")
        for lang, names in found.items():
            for name in sorted(placeholders - names):
                self.err(file, key, f"{lang} lacks the placeholder {{{name}}}")

    def dated(self, file: str, key: str, fact: schema.Fact, *, required: bool) -> None:
        """source + checked of a fact: present (when required), and not too old."""
        if required and not fact.source:
            self.err(file, _join(key, "source"), "missing (every fact needs a source link)")
        if required and fact.checked is None:
            self.err(file, _join(key, "checked"), "missing (the date the fact was checked)")
        if fact.checked is not None:
            age = (self.today - fact.checked).days
            if age > self.stale_after_days:
                what = f"checked {fact.checked} is {age} days ago (over {self.stale_after_days})"
                self.warn(file, _join(key, "checked"), what)
            elif age < 0:
                self.warn(file, _join(key, "checked"), f"checked {fact.checked} is in the future")
        end = _source_date_end(fact.source_date)
        if end is not None and end < self.source_cutoff:
            what = f"source dated {fact.source_date} is over {SOURCE_MAX_YEARS} years old; re-check it"
            self.warn(file, _join(key, "source_date"), what)

    def contact(self, file: str, key: str, c: schema.Contact, *, ru: bool) -> None:
        self.loc(file, _join(key, "name"), c.name, ru=ru)
        self.loc(file, _join(key, "note"), c.note, ru=ru)
        if isinstance(c.address, dict):
            self.loc(file, _join(key, "address"), c.address, ru=ru)
        if c.kind not in CONTACT_KINDS:
            self.warn(file, _join(key, "kind"), f"unknown kind {c.kind!r}")
        if not (c.phone or c.url or c.address):
            self.warn(file, key, "has no phone, url or address")
        self.dated(file, key, c, required=True)

    # --- files ----------------------------------------------------------------------------------

    def texts(self) -> None:
        file, texts = "texts.yml", self.docs.texts
        if texts is None:
            return
        for key in sorted(SCHEMA_TEXTS - set(texts)):
            self.err(file, key, "missing text (listed in the content schema)")
        for key, value in texts.items():
            button = key.startswith(("menu_", "btn_")) and key != "menu_title"
            self.loc(
                file,
                key,
                value,
                ru=key in STARRED_TEXTS,
                # schema texts: exactly the placeholders the engine fills; texts the engine added: its own
                placeholders=TEXT_PLACEHOLDERS.get(key, frozenset()) if key in SCHEMA_TEXTS else None,
                max_len=BUTTON_MAX if button else TEXT_MAX,
                max_error=button,
            )
            if key in DISCREET_TEXTS:
                for lang, text in value.items():
                    if REVEALING.search(text):
                        self.warn(file, _join(key, lang), "may reveal the topic on a shared phone")

    def canned(self) -> None:
        """canned.yml (optional): the mediators' replies, each with a unique key, a title and a text in bg and en."""
        file, canned = "canned.yml", self.docs.canned
        if canned is None:
            return
        seen: set[str] = set()
        for i, reply in enumerate(canned.replies):
            key = f"replies[{i}]"
            if not reply.key or reply.key in seen:
                self.err(file, key, "needs a unique 'key'")
            seen.add(reply.key)
            self.loc(file, _join(key, "title"), reply.title, max_len=BUTTON_MAX, max_error=True)
            self.loc(file, _join(key, "text"), reply.text)

    def answers(self) -> None:
        file = "answers.yml"
        for key, answer in (self.docs.answers or {}).items():
            self.loc(file, _join(key, "text"), answer.text, ru=key in RU_ANSWERS)
            self.dated(file, key, answer, required=key not in ANSWERS_WITHOUT_FACTS)

    def intents(self) -> None:
        answers, texts = self.docs.answers, self.docs.texts
        for intent in INTENTS:
            if intent in INFORMATIONAL_INTENTS:
                if answers is not None and intent not in answers:
                    self.err("answers.yml", intent, f"intent {intent} has no answer")
            elif intent in CONVERSATIONAL_INTENTS:
                for key in CONVERSATIONAL_INTENTS[intent]:
                    if texts is not None and key not in texts:
                        self.err("texts.yml", key, f"intent {intent} has no answer (text {key} missing)")
            else:
                self.err("nlu/types.py", intent, "intent has no answer path in content (answers.yml or texts.yml)")

    def topics(self) -> None:
        file, topics = "topics.yml", self.docs.topics
        if topics is None:
            return
        for key in TOPICS:
            if key not in topics:
                self.err(file, key, "missing campaign topic")
        for key, topic in topics.items():
            for part in ("title", "answer", "story"):
                self.loc(file, _join(key, part), getattr(topic, part))
            for i, item in enumerate(topic.checklist):
                self.loc(file, _join(key, f"checklist[{i}]"), item)
            low, high = CHECKLIST_RANGE
            if not low <= len(topic.checklist) <= high:
                self.warn(
                    file, _join(key, "checklist"), f"{len(topic.checklist)} items (the schema asks for {low}-{high})"
                )

    def jobcheck(self) -> None:
        file, data = "jobcheck.yml", self.docs.jobcheck
        if data is None:
            return
        low, high = JOBCHECK_RANGE
        if not low <= len(data.questions) <= high:
            self.err(file, "questions", f"{len(data.questions)} questions (the check has {low}-{high})")
        ids: list[str] = []
        for q in data.questions:
            key = f"questions[{q.id}]"
            if q.id in ids:
                self.err(file, key, "duplicate question id")
            ids.append(q.id)
            self.loc(file, _join(key, "text"), q.text)
            self.loc(file, _join(key, "meaning"), q.meaning)
            self.dated(file, key, q, required=True)
        for qid in JOBCHECK_IDS:
            if qid not in ids:
                self.warn(file, f"questions[{qid}]", "schema question missing")
        for verdict in VERDICTS:
            if verdict not in data.verdicts:
                self.err(file, f"verdicts.{verdict}", "missing")
        for k, value in data.verdicts.items():
            self.loc(file, f"verdicts.{k}", value)

    def hotlines(self) -> None:
        file, entries = "hotlines_bg.yml", self.docs.hotlines
        if entries is None:
            return
        if not entries:
            self.err(file, "-", "no hotlines")
        urgent: set[str] = set()
        for i, c in enumerate(entries):
            self.contact(file, f"[{i}]", c, ru=False)
            if c.urgent and c.phone:
                urgent.add(phone_digits(c.phone))
        if entries and not urgent:
            self.err(file, "-", "no contact is marked urgent: true (the urgent safety message needs them)")
        for digits, shown in URGENT_NUMBERS.items():
            if urgent and digits not in urgent:
                self.warn(file, "-", f"{shown} is not marked urgent: true")

    def countries(self) -> None:
        present = {Path(n).stem for n in self.docs.present if n.startswith(f"{COUNTRIES_DIR}/")}
        for code in (*FULL_COUNTRIES, "BG", "EU"):
            if code not in present:
                self.err(f"{COUNTRIES_DIR}/{code}.yml", "-", "file not found (a country with content must have a card)")
        for file, card in sorted(self.docs.countries.items()):
            code = card.code
            ru = code == "BG"
            required: tuple[str, ...]
            self.loc(file, "name", card.name, ru=ru)
            if code == "BG":
                required, contacts = BG_SECTIONS, ("services", card.services)
            elif code == "EU":
                required, contacts = EU_SECTIONS, ("contacts", card.contacts)
            else:
                required, contacts = FULL_SECTIONS, ("contacts", card.contacts)
                if code not in FULL_COUNTRIES:
                    self.warn(file, "code", f"{code} has a card but is not in FULL_COUNTRIES")
            for name in required:
                if name not in card.sections:
                    self.err(file, f"sections.{name}", "missing section")
            for name, section in card.sections.items():
                self.section(file, name, section, ru=ru, known=name in required or name in OPTIONAL_SECTIONS)
            if not contacts[1]:
                self.err(file, contacts[0], "no contact")
            for part, entries in (("contacts", card.contacts), ("services", card.services)):
                for i, c in enumerate(entries):
                    self.contact(file, f"{part}[{i}]", c, ru=ru)

    def section(self, file: str, name: str, s: schema.Section, *, ru: bool, known: bool) -> None:
        key = f"sections.{name}"
        if not known:
            self.warn(file, key, "section not in the schema (not shown)")
        self.loc(file, _join(key, "text"), s.text, ru=ru)
        verified = s.status == "verified"
        self.dated(file, key, s, required=verified)
        if verified and name == "minimum_wage":
            for field_name in ("amount", "year"):
                if getattr(s, field_name) in (None, "", []):
                    self.err(file, _join(key, field_name), "missing (a verified minimum wage has amount and year)")

    # --- the fact sheet -------------------------------------------------------------------------

    def check_against_facts(self, facts_md: Path) -> None:
        try:
            known = known_phones(facts_md.read_text(encoding="utf-8"))
        except OSError as exc:
            self.err(str(facts_md), "-", f"cannot read the fact sheet: {exc.strerror or exc}")
            return
        for file, key, number in self.phones:
            digits = phone_digits(number)
            if len(digits) >= 3 and not phone_variants(digits) & known:
                self.err(file, key, f"{number} is not in {facts_md.name} (never invent a number)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m content.check", description="Check Sigurno's content.")
    parser.add_argument("directory", nargs="?", type=Path, default=default_content_dir())
    parser.add_argument("--facts", type=Path, default=None, help="FACTS.md: every phone number must be in it")
    parser.add_argument("--stale-after-days", type=int, default=180)
    args = parser.parse_args(argv)
    report = check_content(args.directory, stale_after_days=args.stale_after_days, facts_md=args.facts)
    print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
