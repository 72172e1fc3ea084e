"""Typed, immutable content: what the dialogue engine reads (see notes/content_schema.md).

Nothing here knows about YAML, channels or storage; `content.loader` builds these objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

LANGUAGES: tuple[str, ...] = ("bg", "en", "ru")
FULL_COUNTRIES: tuple[str, ...] = ("DE", "GB", "NL", "FR", "ES", "BE", "IT", "AT", "GR", "CY")

# EU member states plus the EEA (IS, LI, NO) and Switzerland: free movement applies, so a
# country without a full card gets the general EU card (code "EU").
EU_EEA_COUNTRIES: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        "IS", "LI", "NO", "CH",
    }
)  # fmt: skip
_COUNTRY_ALIASES: Mapping[str, str] = MappingProxyType({"UK": "GB", "EL": "GR"})

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ContentError(ValueError):
    """Malformed or missing content. The message names the file and the key ("file: key: problem").

    `problems` holds every problem found when several were collected at once.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = problems or (message,)


@dataclass(frozen=True)
class Localized:
    """One text in several languages: {bg, en, ru?}."""

    values: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    def get(self, lang: str) -> str:
        """The text in `lang`, else Bulgarian, else English, else the first language given."""
        for candidate in (lang, "bg", "en"):
            text = self.values.get(candidate)
            if text:
                return text
        for text in self.values.values():
            if text:
                return text
        return ""

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))


@dataclass(frozen=True)
class Amount:
    """A sum of money per unit (hour, day, month, year), written by Babel in each language."""

    value: float
    currency: str  # ISO 4217: EUR, GBP
    per: str  # hour | day | month | year
    note: Localized | None = None


@dataclass(frozen=True)
class Fact:
    """One section of a country card. `status: unverified` facts have no source (text says whom to ask)."""

    key: str
    text: Localized
    status: str  # "verified" | "unverified"
    source: str | None
    checked: date | None
    source_date: str | None
    amount: str | None = None
    year: int | None = None
    amounts: tuple[Amount, ...] = ()  # the structured form of `amount`, shown per language

    @property
    def verified(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True)
class Contact:
    """A phone line, embassy, office or service. `urgent` ones go into the urgent safety message."""

    kind: str
    name: Localized
    phone: str | None
    note: Localized | None
    url: str | None
    address: str | None
    source: str | None
    checked: date | None
    urgent: bool = False
    source_date: str | None = None


@dataclass(frozen=True)
class CountryCard:
    code: str
    name: Localized
    sections: Mapping[str, Fact]
    contacts: tuple[Contact, ...]
    services: tuple[Contact, ...] = ()  # BG.yml: services for migrants in Bulgaria


@dataclass(frozen=True)
class Topic:
    """A campaign question: short answer, "what to check" list, anonymised story."""

    key: str
    title: Localized
    answer: Localized
    checklist: tuple[Localized, ...]
    story: Localized


@dataclass(frozen=True)
class Answer:
    """The general answer to one intent (answers.yml)."""

    key: str
    text: Localized
    source: str | None
    checked: date | None
    source_date: str | None = None


@dataclass(frozen=True)
class JobQuestion:
    """One yes/no question of the job-offer check.

    `warning_answer` is True when "yes" is the warning sign (red_if: yes), False when "no" is.
    """

    id: str
    text: Localized
    warning_answer: bool
    weight: str  # "red" | "amber"
    meaning: Localized
    source: str | None
    checked: date | None

    def is_flag(self, answer_yes: bool) -> bool:
        """Whether this answer is the warning sign."""
        return answer_yes == self.warning_answer


@dataclass(frozen=True)
class Content:
    texts: Mapping[str, Localized]
    answers: Mapping[str, Answer]
    topics: Mapping[str, Topic]
    countries: Mapping[str, CountryCard]
    hotlines_bg: tuple[Contact, ...]
    jobcheck: tuple[JobQuestion, ...]
    verdicts: Mapping[str, Localized]
    urgent_hotlines: tuple[Contact, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "urgent_hotlines", tuple(c for c in self.hotlines_bg if c.urgent))

    def text(self, key: str, lang: str, **values: object) -> str:
        """A UI text in `lang` (falling back to bg, en) with its {placeholders} filled from `values`.

        Raises ContentError for an unknown key or a placeholder without a value. Only `{name}`
        placeholders are replaced; any other brace is left as it is.
        """
        localized = self.texts.get(key)
        if localized is None:
            raise ContentError(f"texts.yml: {key}: unknown text key")
        template = localized.get(lang)

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise ContentError(f"texts.yml: {key}: no value given for placeholder {{{name}}}")
            return str(values[name])

        return PLACEHOLDER.sub(fill, template)

    def country(self, code: str | None) -> CountryCard | None:
        """The card for an ISO 3166-1 alpha-2 code (case-insensitive; UK and EL accepted).

        A country with its own card (the full ones, BG) gets it; any other EU/EEA country (or
        "EU") gets the general EU card, code "EU"; anything else, or None, gives None.
        """
        if not code:
            return None
        cc = code.strip().upper()
        cc = _COUNTRY_ALIASES.get(cc, cc)
        card = self.countries.get(cc)
        if card is not None:
            return card
        if cc in EU_EEA_COUNTRIES:
            return self.countries.get("EU")
        return None
