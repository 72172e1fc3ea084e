"""Localized fallback, Content.text formatting and Content.country lookup."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from content import Content, ContentError, CountryCard, Fact, Localized
from tests.content.conftest import ROOT


def make_content(**texts: Localized) -> Content:
    eu = CountryCard(code="EU", name=Localized({"bg": "ЕС", "en": "EU"}), sections={}, contacts=())
    de = CountryCard(code="DE", name=Localized({"bg": "Германия", "en": "Germany"}), sections={}, contacts=())
    gb = CountryCard(
        code="GB", name=Localized({"bg": "Великобритания", "en": "United Kingdom"}), sections={}, contacts=()
    )
    return Content(
        texts=texts,
        answers={},
        topics={},
        countries={"EU": eu, "DE": de, "GB": gb},
        hotlines_bg=(),
        jobcheck=(),
        verdicts={},
    )


@pytest.mark.parametrize(
    ("values", "lang", "expected"),
    [
        ({"bg": "Здравейте", "en": "Hello", "ru": "Привет"}, "ru", "Привет"),
        ({"bg": "Здравейте", "en": "Hello"}, "ru", "Здравейте"),  # no ru: Bulgarian
        ({"bg": "Здравейте", "en": "Hello"}, "bg-latn", "Здравейте"),  # NLU's Latin-script Bulgarian
        ({"bg": "Здравейте", "en": "Hello"}, "en", "Hello"),
        ({"en": "Hello", "ru": "Привет"}, "bg", "Hello"),  # no bg: English
        ({"ru": "Привет", "de": "Hallo"}, "bg", "Привет"),  # neither: the first one
        ({"bg": "", "en": "Hello"}, "bg", "Hello"),  # an empty text counts as missing
    ],
)
def test_localized_fallback(values: dict[str, str], lang: str, expected: str) -> None:
    assert Localized(values).get(lang) == expected


def test_localized_is_immutable_and_hashable() -> None:
    source = {"bg": "а", "en": "a"}
    loc = Localized(source)
    source["bg"] = "changed"
    assert loc.get("bg") == "а"
    assert hash(loc) == hash(Localized({"en": "a", "bg": "а"}))
    fact = Fact("advice", loc, "verified", "https://x.org", date(2026, 11, 21), None)
    assert fact.verified and fact.amount is None and fact.year is None


def test_text_formats_placeholders_per_language() -> None:
    content = make_content(
        too_long=Localized(
            {
                "bg": "До {limit} знака.",
                "en": "Up to {limit} characters.",
                "ru": "До {limit} знаков.",
            }
        )
    )
    assert content.text("too_long", "bg", limit=500) == "До 500 знака."
    assert content.text("too_long", "en", limit=500) == "Up to 500 characters."
    assert content.text("too_long", "ru", limit=500, unused="x") == "До 500 знаков."
    assert content.text("too_long", "fr", limit=7) == "До 7 знака."  # unknown language: Bulgarian


def test_text_falls_back_to_bulgarian_then_english() -> None:
    content = make_content(
        hotlines_intro=Localized({"bg": "Телефони за помощ.", "en": "Help lines."}),
        english_only=Localized({"en": "Only English"}),
    )
    assert content.text("hotlines_intro", "ru") == "Телефони за помощ."
    assert content.text("english_only", "ru") == "Only English"


def test_text_leaves_other_braces_alone() -> None:
    content = make_content(odd=Localized({"bg": "{ x } {0} {a.b} {name}", "en": "{name}"}))
    assert content.text("odd", "bg", name="Ана") == "{ x } {0} {a.b} Ана"


def test_text_unknown_key_raises_naming_file_and_key() -> None:
    with pytest.raises(ContentError, match=r"texts\.yml: no_such_text: unknown text key"):
        make_content().text("no_such_text", "bg")


def test_text_missing_value_raises() -> None:
    content = make_content(mediator_case_opened=Localized({"bg": "Медиатор ще ви пише {when}.", "en": "{when}"}))
    with pytest.raises(ContentError, match=r"mediator_case_opened.*\{when\}"):
        content.text("mediator_case_opened", "bg")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        (" GB ", "GB"),
        ("UK", "GB"),
        ("PL", "EU"),  # EU member without a full card: the general EU card
        ("NO", "EU"),  # EEA
        ("EU", "EU"),
        ("US", None),
        ("", None),
        (None, None),
    ],
)
def test_country_lookup(code: str | None, expected: str | None) -> None:
    card = make_content().country(code)
    assert (card.code if card else None) == expected


def test_content_imports_no_web_framework_or_platform_sdk() -> None:
    code = (
        "import sys, content, content.check\n"
        "banned = ('aiohttp', 'telegram', 'viberbot', 'sqlalchemy', 'redis', 'sklearn', 'bot', 'dialogues')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
