"""Issue 12's cases as a person would notice them: danger however it is written, and where it is."""

from __future__ import annotations

import pytest

from nlu.pipeline import Nlu
from nlu.riskmodel import pieces

STORY = (
    "Здравейте, пиша ви от Германия. Дойдохме с автобус преди два месеца, пътят беше дълъг, "
    "спряхме в Сърбия и в Унгария, валеше през цялото време. Работата е в една ферма, берем ябълки, "
    "после круши, понякога товарим щайги. Храната е горе-долу, спим по шестима в една стая, но "
    "хората са добри, има и българи от Сливен и от Пазарджик. Вечер гледаме телевизия и говорим "
    "с децата по телефона, когато има интернет. Шефът е строг, но засега всичко е наред с колегите. "
    "Мислех да питам за данъците, как се подава декларация и дали ще ми върнат нещо за децата. "
) * 3 + "Но от вчера шефът ни взе паспортите и каза, че няма да ни пусне, докато не върнем дълга."


async def test_danger_in_the_last_line_of_a_long_story_is_caught(nlu: Nlu) -> None:
    assert len(STORY) > 1500
    assert len(pieces(STORY)) > 3
    r = await nlu.parse(STORY)
    assert r.risk == "urgent" and r.intent == "emergency"
    assert "document_retention" in r.signals


@pytest.mark.parametrize(
    "text",
    [
        "sestra mi e v italiq i ne mi vdiga telefona ve4e 5 dni, strah me e",
        "сестра ми е в италия и не ми вдига телефона вече 5 дни, страх ме е",
        "my sister is in Italy and has not answered her phone for 5 days, I am scared",
        "моя сестра в Италии уже 5 дней не берёт трубку, мне страшно",
    ],
)
async def test_a_relative_who_went_silent_is_caught_in_every_script(nlu: Nlu, text: str) -> None:
    r = await nlu.parse(text)
    assert r.risk == "urgent" or r.ask_safety
    assert "third_party" in r.signals
    assert r.country == "IT"


@pytest.mark.parametrize(("text", "lang"), [("pomosh", "bg-latn"), ("pasport", "bg-latn"), ("gladni sme", "bg-latn")])
async def test_one_or_two_latin_bulgarian_words_are_read_as_bulgarian(nlu: Nlu, text: str, lang: str) -> None:
    r = await nlu.parse(text)
    assert r.language == lang
    assert r.intent != "out_of_scope"


async def test_russian_is_told_from_bulgarian(nlu: Nlu) -> None:
    ru = await nlu.parse("Забрали паспорт, не выпускают")
    bg = await nlu.parse("Взеха ми паспорта и не ме пускат")
    assert (ru.language, bg.language) == ("ru", "bg")
    assert ru.risk == bg.risk == "urgent"


async def test_gibberish_has_no_language(nlu: Nlu) -> None:
    assert (await nlu.parse("xkcdq wrtz plmk")).language == "unknown"


@pytest.mark.parametrize(
    ("text", "country"),
    [("germaniq", "DE"), ("Italy?", "IT"), ("Германия", "DE"), ("a v holandiq?", "NL"), ("what about Spain", "ES")],
)
async def test_a_bare_country_name_asks_about_that_country(nlu: Nlu, text: str, country: str) -> None:
    r = await nlu.parse(text)
    assert (r.intent, r.country) == ("residence_rules", country)


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("moje li da rabotq v amerika", "US"),
        ("rabota v dubai za shofyor", "AE"),
        ("искам да работя в Канада", "CA"),
        ("работа в Швейцария", "CH"),
        ("kak se pravi anmeldung v berlin", "DE"),
        ("kak se vadi meldezettel", "AT"),
        ("how do I get a BSN number", "NL"),
        ("how long does settled status take", "GB"),
        ("где находится Государственное агентство по делам беженцев", "BG"),
    ],
)
async def test_destinations_outside_the_eu_and_implied_countries_get_their_code(
    nlu: Nlu, text: str, country: str
) -> None:
    assert (await nlu.parse(text)).country == country


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Работодатель в Бургасе не платит мне уже два месяца, я иностранец", "BG"),  # a migrant there
        ("Сколько ждать решение по убежищу", "BG"),  # a migrant's question is about Bulgaria
        ("anti trafficking hotline Bulgaria", None),  # home is not a destination
        ("kakvo 6te e vremeto utre v sliven", None),
        ("Do you have a good Italian cuisine recipe?", None),
    ],
)
async def test_bulgaria_is_the_country_only_for_people_living_there_as_migrants(
    nlu: Nlu, text: str, country: str | None
) -> None:
    assert (await nlu.parse(text)).country == country


async def test_the_classifiers_emergency_is_never_thrown_away(nlu: Nlu) -> None:
    # A message the classifier reads as emergency is urgent or asks, never "not understood".
    r = await nlu.parse("moля ви помогнете ми нещо става тук")
    assert r.intent != "out_of_scope"
    assert r.risk == "urgent" or r.ask_safety


@pytest.mark.parametrize(
    "text",
    [
        "where do I renew my passport in Munich",
        "which number is the ambulance in Italy",
        "my cousin was scared before the trip but arrived fine",
        "заключиха ми профила във фейсбук, как да го отключа",
    ],
)
async def test_harmless_messages_with_scary_words_are_not_urgent(nlu: Nlu, text: str) -> None:
    assert (await nlu.parse(text)).risk != "urgent"
