"""Reads content/data/*.yml into the typed model (content.model).

The loader checks shape and types (a text is a mapping of languages, a date is a date, a phone is a
quoted string ...) and raises ContentError listing every such problem. Completeness and quality
(every language present, every section, sources, phone formats, staleness) are the job of
`content.check`, which reuses `read_tree` and `build_content` from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from content.model import (
    Amount,
    Answer,
    Contact,
    Content,
    ContentError,
    CountryCard,
    Fact,
    JobQuestion,
    Localized,
    Topic,
)

TOP_FILES: tuple[str, ...] = ("texts.yml", "answers.yml", "topics.yml", "hotlines_bg.yml", "jobcheck.yml")
OPTIONAL_FILES: tuple[str, ...] = ("canned.yml",)  # read (and checked) when present: the mediators' canned replies
COUNTRIES_DIR = "countries"
FACT_STATUSES = ("verified", "unverified")
WEIGHTS = ("red", "amber")
AMOUNT_UNITS = ("hour", "day", "month", "year")
LANG_KEY = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})?$")
SOURCE_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")

Raw = dict[str, Any]  # file name relative to the content folder (posix) -> parsed YAML


def default_content_dir() -> Path:
    """The packaged content/data folder."""
    return Path(__file__).resolve().parent / "data"


def as_date(value: object) -> date | None:
    """A YAML date, datetime or ISO string as a date; None when it is none of those."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML would keep the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str | int | float | bool | date) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        if isinstance(key, str | int | float | bool | date):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe


def read_tree(directory: Path) -> tuple[Raw, list[str]]:
    """Parse every content file. Returns the parsed files and the problems (missing file, bad YAML)."""
    raw: Raw = {}
    problems: list[str] = []
    if not directory.is_dir():
        return raw, [f"{directory}: -: content folder not found"]
    names = list(TOP_FILES) + [n for n in OPTIONAL_FILES if (directory / n).is_file()]
    countries = directory / COUNTRIES_DIR
    if countries.is_dir():
        names += sorted(f"{COUNTRIES_DIR}/{p.name}" for p in countries.iterdir() if p.suffix in (".yml", ".yaml"))
    else:
        problems.append(f"{COUNTRIES_DIR}/: -: folder not found")
    for name in names:
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: -: file not found")
            continue
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: -: not valid YAML: {' '.join(str(exc).split())}")
            continue
        if data is None:
            problems.append(f"{name}: -: file is empty")
            continue
        raw[name] = data
    return raw, problems


def load_content(directory: Path) -> Content:
    """Load and type the content folder; raises ContentError naming file and key on malformed content."""
    raw, problems = read_tree(directory)
    content = build_content(raw, problems)
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} content problems:\n" + "\n".join(problems)
        raise ContentError(head, tuple(problems))
    return content


def build_content(raw: Raw, problems: list[str]) -> Content:
    """Type the parsed files, appending shape problems to `problems`; bad parts are left out."""
    b = _Builder(problems)
    texts = b.localized_map(raw.get("texts.yml"), "texts.yml")
    answers = b.answers(raw.get("answers.yml"), "answers.yml")
    topics = b.topics(raw.get("topics.yml"), "topics.yml")
    hotlines = b.contacts(raw.get("hotlines_bg.yml"), "hotlines_bg.yml", "", required="hotlines_bg.yml" in raw)
    questions, verdicts = b.jobcheck(raw.get("jobcheck.yml"), "jobcheck.yml")
    countries: dict[str, CountryCard] = {}
    for name in sorted(n for n in raw if n.startswith(f"{COUNTRIES_DIR}/")):
        card = b.country(raw[name], name)
        if card is not None:
            countries[card.code] = card
    return Content(
        texts=texts,
        answers=answers,
        topics=topics,
        countries=countries,
        hotlines_bg=hotlines,
        jobcheck=questions,
        verdicts=verdicts,
    )


def _join(prefix: str, key: str) -> str:
    if not prefix:
        return key
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


class _Builder:
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def bad(self, file: str, key: str, what: str) -> None:
        self.problems.append(f"{file}: {key or '-'}: {what}")

    # --- scalars -------------------------------------------------------------------------------

    def localized(self, value: object, file: str, key: str) -> Localized | None:
        if not isinstance(value, Mapping) or not value:
            self.bad(file, key, "must be a mapping of languages to texts, like {bg: ..., en: ...}")
            return None
        values: dict[str, str] = {}
        for lang, text in value.items():
            if not isinstance(lang, str) or not LANG_KEY.match(lang):
                self.bad(file, key, f"{lang!r} is not a language code")
            elif not isinstance(text, str):
                self.bad(file, _join(key, lang), "must be a text (quote it)")
            elif text.strip():
                values[lang] = text
        if not values:
            self.bad(file, key, "has no text in any language")
            return None
        return Localized(values)

    def opt_str(self, value: object, file: str, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(file, key, "must be a text (quote it)")
            return None
        return value.strip() or None

    def date(self, value: object, file: str, key: str) -> date | None:
        if value is None:
            return None
        parsed = as_date(value)
        if parsed is not None:
            return parsed
        self.bad(file, key, f"{value!r} is not an ISO date (YYYY-MM-DD)")
        return None

    def source_date(self, value: object, file: str, key: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and SOURCE_DATE.match(value.strip()):
            return value.strip()
        self.bad(file, key, f"{value!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")
        return None

    def phone(self, value: object, file: str, key: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(file, key, 'a phone number must be a quoted text, e.g. phone: "0800 20 100"')
            return None
        return value.strip() or None

    def mapping(self, value: object, file: str, key: str) -> Mapping[Any, Any] | None:
        if not isinstance(value, Mapping):
            self.bad(file, key, "must be a mapping")
            return None
        return value

    # --- records -------------------------------------------------------------------------------

    def localized_map(self, value: object, file: str) -> dict[str, Localized]:
        out: dict[str, Localized] = {}
        if value is None:
            return out
        m = self.mapping(value, file, "")
        for k, v in (m or {}).items():
            loc = self.localized(v, file, str(k))
            if loc is not None:
                out[str(k)] = loc
        return out

    def answers(self, value: object, file: str) -> dict[str, Answer]:
        out: dict[str, Answer] = {}
        if value is None:
            return out
        for k, v in (self.mapping(value, file, "") or {}).items():
            key = str(k)
            entry = self.mapping(v, file, key)
            if entry is None:
                continue
            text = self.localized(entry.get("text"), file, _join(key, "text"))
            if text is None:
                continue
            out[key] = Answer(
                key=key,
                text=text,
                source=self.opt_str(entry.get("source"), file, _join(key, "source")),
                checked=self.date(entry.get("checked"), file, _join(key, "checked")),
                source_date=self.source_date(entry.get("source_date"), file, _join(key, "source_date")),
            )
        return out

    def topics(self, value: object, file: str) -> dict[str, Topic]:
        out: dict[str, Topic] = {}
        if value is None:
            return out
        for k, v in (self.mapping(value, file, "") or {}).items():
            key = str(k)
            entry = self.mapping(v, file, key)
            if entry is None:
                continue
            title = self.localized(entry.get("title"), file, _join(key, "title"))
            answer = self.localized(entry.get("answer"), file, _join(key, "answer"))
            story = self.localized(entry.get("story"), file, _join(key, "story"))
            raw_list = entry.get("checklist")
            checklist: list[Localized] = []
            if not isinstance(raw_list, list) or not raw_list:
                self.bad(file, _join(key, "checklist"), "must be a list of texts")
            else:
                for i, item in enumerate(raw_list):
                    loc = self.localized(item, file, _join(key, f"checklist[{i}]"))
                    if loc is not None:
                        checklist.append(loc)
            if title is None or answer is None or story is None:
                continue
            out[key] = Topic(key=key, title=title, answer=answer, checklist=tuple(checklist), story=story)
        return out

    def fact(self, value: object, file: str, key: str, name: str) -> Fact | None:
        entry = self.mapping(value, file, key)
        if entry is None:
            return None
        text = self.localized(entry.get("text"), file, _join(key, "text"))
        status = entry.get("status", "verified")
        if status not in FACT_STATUSES:
            self.bad(file, _join(key, "status"), f"{status!r} must be verified or unverified")
            return None
        source = self.opt_str(entry.get("source"), file, _join(key, "source"))
        if status == "unverified" and source is not None:
            self.bad(file, key, "an unverified section has no source (verify it, or remove the source)")
        year_raw = entry.get("year")
        year: int | None = None
        if year_raw is not None:
            if isinstance(year_raw, int) and not isinstance(year_raw, bool):
                year = year_raw
            elif isinstance(year_raw, str) and year_raw.strip().isdigit():
                year = int(year_raw)
            else:
                self.bad(file, _join(key, "year"), f"{year_raw!r} is not a year")
        amount_raw = entry.get("amount")
        amounts: tuple[Amount, ...] = ()
        amount: str | None = None
        if isinstance(amount_raw, list):
            amounts = self.amounts(amount_raw, file, _join(key, "amount"))
        elif isinstance(amount_raw, int | float) and not isinstance(amount_raw, bool):
            amount = str(amount_raw)
        else:
            amount = self.opt_str(amount_raw, file, _join(key, "amount"))
        checked = self.date(entry.get("checked"), file, _join(key, "checked"))
        source_date = self.source_date(entry.get("source_date"), file, _join(key, "source_date"))
        if text is None:
            return None
        return Fact(
            key=name,
            text=text,
            status=str(status),
            source=source if status == "verified" else None,
            checked=checked,
            source_date=source_date,
            amount=amount,
            year=year,
            amounts=amounts,
        )

    def amounts(self, value: list[Any], file: str, key: str) -> tuple[Amount, ...]:
        """amount: [{value: 13.90, currency: EUR, per: hour, note: {bg, en, ru}}, ...]"""
        out: list[Amount] = []
        for i, item in enumerate(value):
            where = _join(key, f"[{i}]")
            if not isinstance(item, Mapping):
                self.bad(file, where, "must be a mapping {value, currency, per, note}")
                continue
            number, currency, per = item.get("value"), item.get("currency"), item.get("per")
            if not isinstance(number, int | float) or isinstance(number, bool):
                self.bad(file, _join(where, "value"), "must be a number")
                continue
            if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
                self.bad(file, _join(where, "currency"), "must be an ISO 4217 code like EUR")
                continue
            if per not in AMOUNT_UNITS:
                self.bad(file, _join(where, "per"), f"must be one of {', '.join(AMOUNT_UNITS)}")
                continue
            note = self.localized(item["note"], file, _join(where, "note")) if "note" in item else None
            out.append(Amount(float(number), currency, str(per), note))
        return tuple(out)

    def contact(self, value: object, file: str, key: str) -> Contact | None:
        entry = self.mapping(value, file, key)
        if entry is None:
            return None
        kind = entry.get("kind")
        if not isinstance(kind, str) or not kind.strip():
            self.bad(file, _join(key, "kind"), "missing (hotline, embassy, emergency ...)")
        name = self.localized(entry.get("name"), file, _join(key, "name"))
        note_raw = entry.get("note")
        note = None if note_raw is None else self.localized(note_raw, file, _join(key, "note"))
        address_raw = entry.get("address")
        address: str | None
        if isinstance(address_raw, Mapping):
            # A localized address: the model holds one string; take the Bulgarian form (as on signs).
            loc = self.localized(address_raw, file, _join(key, "address"))
            address = loc.get("bg") if loc else None
        else:
            address = self.opt_str(address_raw, file, _join(key, "address"))
        urgent = entry.get("urgent", False)
        if not isinstance(urgent, bool):
            self.bad(file, _join(key, "urgent"), f"{urgent!r} must be true or false")
            urgent = False
        phone = self.phone(entry.get("phone"), file, _join(key, "phone"))
        url = self.opt_str(entry.get("url"), file, _join(key, "url"))
        source = self.opt_str(entry.get("source"), file, _join(key, "source"))
        checked = self.date(entry.get("checked"), file, _join(key, "checked"))
        source_date = self.source_date(entry.get("source_date"), file, _join(key, "source_date"))
        if not isinstance(kind, str) or name is None:
            return None
        return Contact(
            kind=kind.strip(),
            name=name,
            phone=phone,
            note=note,
            url=url,
            address=address,
            source=source,
            checked=checked,
            urgent=urgent,
            source_date=source_date,
        )

    def contacts(self, value: object, file: str, key: str, *, required: bool = False) -> tuple[Contact, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list):
            self.bad(file, key, "must be a list of contacts")
            return ()
        out = []
        for i, item in enumerate(value):
            c = self.contact(item, file, _join(key, f"[{i}]"))
            if c is not None:
                out.append(c)
        return tuple(out)

    def country(self, value: object, file: str) -> CountryCard | None:
        data = self.mapping(value, file, "")
        if data is None:
            return None
        stem = Path(file).stem
        code = data.get("code")
        if not isinstance(code, str) or code != stem:
            self.bad(file, "code", f"{code!r} must be the file's name ({stem})")
            return None
        name = self.localized(data.get("name"), file, "name")
        sections: dict[str, Fact] = {}
        raw_sections = data.get("sections")
        if raw_sections is None:
            self.bad(file, "sections", "missing")
        else:
            for k, v in (self.mapping(raw_sections, file, "sections") or {}).items():
                f = self.fact(v, file, f"sections.{k}", str(k))
                if f is not None:
                    sections[str(k)] = f
        contacts = self.contacts(data.get("contacts"), file, "contacts")
        services = self.contacts(data.get("services"), file, "services")
        if name is None:
            return None
        return CountryCard(code=code, name=name, sections=sections, contacts=contacts, services=services)

    def red_if(self, value: object, file: str, key: str) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("yes", "true", "no", "false"):
            return value.strip().lower() in ("yes", "true")
        self.bad(file, key, f"{value!r} must be yes or no")
        return None

    def jobcheck(self, value: object, file: str) -> tuple[tuple[JobQuestion, ...], dict[str, Localized]]:
        if value is None:
            return (), {}
        data = self.mapping(value, file, "")
        if data is None:
            return (), {}
        questions: list[JobQuestion] = []
        raw_questions = data.get("questions")
        if not isinstance(raw_questions, list):
            self.bad(file, "questions", "must be a list of questions")
            raw_questions = []
        for i, item in enumerate(raw_questions):
            entry = self.mapping(item, file, f"questions[{i}]")
            if entry is None:
                continue
            qid = entry.get("id")
            key = f"questions[{qid if isinstance(qid, str) and qid else i}]"
            if not isinstance(qid, str) or not qid:
                self.bad(file, _join(key, "id"), "missing")
            text = self.localized(entry.get("text"), file, _join(key, "text"))
            meaning = self.localized(entry.get("meaning"), file, _join(key, "meaning"))
            warning = self.red_if(entry.get("red_if"), file, _join(key, "red_if"))
            weight = entry.get("weight")
            if weight not in WEIGHTS:
                self.bad(file, _join(key, "weight"), f"{weight!r} must be red or amber")
            source = self.opt_str(entry.get("source"), file, _join(key, "source"))
            checked = self.date(entry.get("checked"), file, _join(key, "checked"))
            if not isinstance(qid, str) or not qid or text is None or meaning is None or warning is None:
                continue
            if weight not in WEIGHTS:
                continue
            questions.append(
                JobQuestion(
                    id=qid,
                    text=text,
                    warning_answer=warning,
                    weight=str(weight),
                    meaning=meaning,
                    source=source,
                    checked=checked,
                )
            )
        verdicts: dict[str, Localized] = {}
        raw_verdicts = data.get("verdicts")
        if raw_verdicts is None:
            self.bad(file, "verdicts", "missing")
        else:
            for k, v in (self.mapping(raw_verdicts, file, "verdicts") or {}).items():
                loc = self.localized(v, file, f"verdicts.{k}")
                if loc is not None:
                    verdicts[str(k)] = loc
        return tuple(questions), verdicts
