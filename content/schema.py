"""The content schema: one pydantic model per YAML document of content/data (notes/content_schema.md).

The loader, the checker, the import and the studio's drafts all validate through these models, so the
shape of content is written down once. Every problem comes back as "file: key: what is wrong", all of a
file's problems at once (`validate_tree` for parsed files, `validate_part` for one item of the studio).
Shape and types live here (unknown keys, a text that is not a mapping of languages, a malformed phone
number or date ...); completeness and quality (required languages and sections, sources, links, numbers
in free text, staleness) are `content.check`'s, written over these models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

COUNTRIES_DIR = "countries"
LANG_KEY = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})?$")
SOURCE_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
PHONE_FORMAT = re.compile(r"^\+?[\d \-()]+$")
PHONE_DIGITS = (3, 20)
# Keys that would hold a number outside a field named `phone` (the engine shows only `phone` fields).
PHONE_LIKE_KEYS = frozenset({"phones", "tel", "telephone", "mobile", "fax", "number", "phone_number", "gsm"})


def _fail(what: str) -> NoReturn:
    raise PydanticCustomError("content", "{what}", {"what": what})


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


def phone_problem(value: str) -> str | None:
    """Why `value` is not a well-formed phone number, or None when it is."""
    if not PHONE_FORMAT.match(value) or "+" in value[1:]:
        return f"{value!r} is not a phone number (digits, spaces, a leading +, hyphens, parentheses)"
    n = sum(ch.isdigit() for ch in value)
    if not PHONE_DIGITS[0] <= n <= PHONE_DIGITS[1]:
        return f"{value!r} has {n} digits (a phone number has {PHONE_DIGITS[0]}-{PHONE_DIGITS[1]})"
    return None


# --- field types -----------------------------------------------------------------------------------


def _text(value: object) -> dict[str, str]:
    """{bg: ..., en: ...}; blank languages are left out (the checker then says which one is missing)."""
    if not isinstance(value, Mapping) or not value:
        _fail("must be a mapping of languages to texts, like {bg: ..., en: ...}")
    out: dict[str, str] = {}
    bad: list[str] = []
    for lang, text in value.items():
        if isinstance(lang, str) and lang.lower() in PHONE_LIKE_KEYS:
            bad.append(f"{lang}: phone numbers go only in a field named phone")
        elif not isinstance(lang, str) or not LANG_KEY.match(lang):
            bad.append(f"{lang!r} is not a language code")
        elif not isinstance(text, str):
            bad.append(f"{lang}: must be a text (quote it)")
        elif text.strip():
            out[lang] = text
    if bad:
        _fail("; ".join(bad))
    if not out:
        _fail("has no text in any language")
    return out


def _date(value: object) -> date:
    parsed = as_date(value)
    if parsed is None:
        _fail(f"{value!r} is not an ISO date (YYYY-MM-DD)")
    return parsed


def _source_date(value: object) -> str:
    if isinstance(value, date | datetime):
        return _date(value).isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not SOURCE_DATE.match(value.strip()):
        _fail(f"{value!r} is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")
    return value.strip()


def _phone(value: object) -> str:
    if not isinstance(value, str):
        _fail('a phone number must be a quoted text, e.g. phone: "0800 20 100"')
    problem = phone_problem(value.strip())
    if problem:
        _fail(problem)
    return value.strip()


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "no", "false"):
        return value.strip().lower() in ("yes", "true")
    _fail(f"{value!r} must be yes or no")


def _year(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    _fail(f"{value!r} is not a year")


def _currency(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", value):
        _fail("must be an ISO 4217 code like EUR")
    return value


Text = Annotated[dict[str, str], BeforeValidator(_text)]
Plain = Annotated[str, StringConstraints(strip_whitespace=True)]
Checked = Annotated[date, BeforeValidator(_date)]
SourceDate = Annotated[str, BeforeValidator(_source_date)]
Phone = Annotated[str, BeforeValidator(_phone)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fact(Model):
    """What every fact carries: where it comes from and when it was checked."""

    source: Plain | None = None
    checked: Checked | None = None
    source_date: SourceDate | None = None


class Answer(Fact):
    text: Text


class Topic(Model):
    title: Text
    answer: Text
    checklist: list[Text] = Field(min_length=1)
    story: Text


class Amount(Model):
    value: Annotated[float, Strict()]
    currency: Annotated[str, AfterValidator(_currency)]
    per: Literal["hour", "day", "month", "year"]
    note: Text | None = None


class Section(Fact):
    """A section of a country card; `status: unverified` ones say whom to ask and have no source."""

    text: Text
    status: Literal["verified", "unverified"] = "verified"
    # a list of sums (shown per language by Babel), or a plain text shown as it is
    amount: (
        Annotated[
            Annotated[list[Amount], Tag("list")]
            | Annotated[str, BeforeValidator(lambda v: str(v) if type(v) in (int, float) else v), Tag("text")],
            Discriminator(lambda v: "list" if isinstance(v, list) else "text"),
        ]
        | None
    ) = None
    year: Annotated[int, BeforeValidator(_year)] | None = None

    @model_validator(mode="after")
    def _unverified_has_no_source(self) -> Section:
        if self.status == "unverified" and self.source:
            _fail("an unverified section has no source (verify it, or remove the source)")
        return self


class Contact(Fact):
    """A phone line, embassy, office or service; `urgent` ones go into the urgent safety message."""

    kind: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    name: Text
    phone: Phone | None = None
    note: Text | None = None
    url: Plain | None = None
    address: (
        Annotated[
            Annotated[Text, Tag("mapping")] | Annotated[Plain, Tag("text")],
            Discriminator(lambda v: "mapping" if isinstance(v, Mapping) else "text"),
        ]
        | None
    ) = None
    urgent: Annotated[bool, Strict()] = False


class Country(Model):
    code: Plain
    name: Text
    sections: dict[str, Section]
    contacts: list[Contact] = []
    services: list[Contact] = []  # BG.yml: services for migrants in Bulgaria


class Question(Fact):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    text: Text
    red_if: Annotated[bool, BeforeValidator(_yes_no)]  # True: "yes" is the warning sign
    weight: Literal["red", "amber"]
    meaning: Text


class JobCheck(Model):
    questions: list[Question]
    verdicts: dict[str, Text]


class CannedReply(Model):
    key: Plain
    title: Text
    text: Text


class Canned(Model):
    replies: list[CannedReply] = Field(min_length=1)


# --- documents ---------------------------------------------------------------------------------------

T = TypeVar("T")
TEXTS = TypeAdapter(dict[str, Text])
ANSWERS = TypeAdapter(dict[str, Answer])
TOPICS = TypeAdapter(dict[str, Topic])
HOTLINES = TypeAdapter(list[Contact])
JOBCHECK = TypeAdapter(JobCheck)
CANNED = TypeAdapter(Canned)
COUNTRY = TypeAdapter(Country)

# The model of one item of the studio, by its kind (content/items.py); a "field" item is checked with its file.
PARTS: Mapping[str, TypeAdapter[Any]] = {
    "text": TypeAdapter(Text),
    "verdict": TypeAdapter(Text),
    "country_name": TypeAdapter(Text),
    "answer": TypeAdapter(Answer),
    "topic": TypeAdapter(Topic),
    "contact": TypeAdapter(Contact),
    "service": TypeAdapter(Contact),
    "section": TypeAdapter(Section),
    "question": TypeAdapter(Question),
    "canned": TypeAdapter(CannedReply),
}


@dataclass
class Documents:
    """The valid documents of a content folder (a file with a problem is None, or left out of countries)."""

    present: frozenset[str] = frozenset()  # every file read, valid or not
    texts: dict[str, dict[str, str]] | None = None
    answers: dict[str, Answer] | None = None
    topics: dict[str, Topic] | None = None
    hotlines: list[Contact] | None = None
    jobcheck: JobCheck | None = None
    canned: Canned | None = None
    countries: dict[str, Country] = field(default_factory=dict)  # by file name, e.g. countries/DE.yml


def validate_tree(raw: Mapping[str, Any], problems: list[str]) -> Documents:
    """Validate parsed content files (file name -> YAML value); appends every problem to `problems`."""

    def doc(file: str, adapter: TypeAdapter[T]) -> T | None:
        return _validate(file, raw[file], adapter, problems) if file in raw else None

    docs = Documents(
        present=frozenset(raw),
        texts=doc("texts.yml", TEXTS),
        answers=doc("answers.yml", ANSWERS),
        topics=doc("topics.yml", TOPICS),
        hotlines=doc("hotlines_bg.yml", HOTLINES),
        jobcheck=doc("jobcheck.yml", JOBCHECK),
        canned=doc("canned.yml", CANNED),
    )
    for file in sorted(n for n in raw if n.startswith(f"{COUNTRIES_DIR}/")):
        country = doc(file, COUNTRY)
        stem = Path(file).stem
        if country is not None and country.code != stem:
            problems.append(f"{file}: code: {country.code!r} must be the file's name ({stem})")
        elif country is not None:
            docs.countries[file] = country
    return docs


def validate_part(kind: str, file: str, path: Sequence[str | int], data: Any) -> list[str]:
    """The problems of one item's value (a draft) against the model of its kind; [] for a kind without one."""
    adapter = PARTS.get(kind)
    problems: list[str] = []
    if adapter is not None:
        _validate(file, data, adapter, problems, tuple(path))
    return problems


def _validate(
    file: str, data: Any, adapter: TypeAdapter[T], problems: list[str], prefix: tuple[str | int, ...] = ()
) -> T | None:
    try:
        return adapter.validate_python(data)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            problems.append(f"{file}: {_key(prefix, err['loc'], data, err['type']) or '-'}: {_what(err)}")
        return None


def _key(prefix: tuple[str | int, ...], loc: tuple[str | int, ...], data: Any, kind: str) -> str:
    """The key an editor knows ("contacts[1].phone", "questions[fee].weight") for an error's location.

    Walks the data along the location, so the tags pydantic adds for a choice of types are left out.
    """
    steps: list[tuple[str | int, Any]] = [(p, data if i == len(prefix) - 1 else None) for i, p in enumerate(prefix)]
    node: Any = data
    for i, p in enumerate(loc):
        found = isinstance(node, Mapping) and p in node
        found |= isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node)
        if found:
            node = node[p]
        elif not (kind == "missing" and i == len(loc) - 1):
            continue  # a tag of pydantic's, not a key of ours
        steps.append((p, node))
    key, parent = "", ""
    for p, here in steps:
        if isinstance(p, int):
            name = here.get("id") if parent == "questions" and isinstance(here, Mapping) else None
            key += f"[{name if isinstance(name, str) and name else p}]"
        else:
            key = f"{key}.{p}" if key else str(p)
        parent = str(p)
    return key


def _what(err: Any) -> str:
    """pydantic's error in the checker's words."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "content":
        return str(ctx.get("what", err["msg"]))
    if kind == "extra_forbidden":
        name = str(err["loc"][-1]).lower()
        return "phone numbers go only in a field named phone" if name in PHONE_LIKE_KEYS else "unknown key"
    if kind == "literal_error":
        return f"{value!r} must be {str(ctx.get('expected', '')).replace(chr(39), '')}"
    words = {
        "missing": "missing",
        "dict_type": "must be a mapping",
        "model_type": "must be a mapping",
        "list_type": "must be a list",
        "string_type": "must be a text (quote it)",
        "too_short": "must not be empty",
        "string_too_short": "must not be empty",
        "float_type": "must be a number",
        "bool_type": f"{value!r} must be true or false",
    }
    return words.get(kind, str(err["msg"]))
