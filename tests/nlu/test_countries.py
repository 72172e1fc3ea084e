"""Country names in any script, spelling or declined form become ISO codes."""

import pytest

from nlu.countries import extract_countries, pick_country
from nlu.normalize import normalize


def country(text: str) -> str | None:
    return pick_country(extract_countries(normalize(text)))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Германия", "DE"),
        ("v germaniq", "DE"),
        ("germania", "DE"),
        ("in Deutschland", "DE"),
        ("rabota v nemsko", "DE"),
        ("в Германията", "DE"),
        ("Мюнхен", "DE"),
        ("Англия", "GB"),
        ("anglia", "GB"),
        ("the UK", "GB"),
        ("London", "GB"),
        ("v londona", "GB"),
        ("Холандия", "NL"),
        ("holandiq", "NL"),
        ("the Netherlands", "NL"),
        ("Ротердам", "NL"),
        ("ispaniq", "ES"),
        ("España", "ES"),
        ("frenciq", "FR"),
        ("Франция", "FR"),
        ("belgiq", "BE"),
        ("italia", "IT"),
        ("Милано", "IT"),
        ("avstriq", "AT"),
        ("Виена", "AT"),
        ("gyrciq", "GR"),
        ("gurciq", "GR"),
        ("Гърция", "GR"),
        ("kipar", "CY"),
        ("Лимасол", "CY"),
        ("Швейцария", "CH"),
        ("в Болгарии", "BG"),
        ("Polsha", "PL"),
        ("Norway", "NO"),
        ("Зарплата в Греции на сборе оливок?", "GR"),
        ("Сколько стоит снять комнату в Праге?", "CZ"),
        ("работа в Дубае", "AE"),
        ("ispanska ferma tursi hora", "ES"),
        ("a Dutch agency wants 250 euros", "NL"),
        ("Германците плащат ли детски", "DE"),
        ("Do I need a PPS number to start work?", "IE"),
        ("carte vitale lost, what now?", "FR"),
        ("pesel kakvo e", "PL"),
        ("dogovora mi e samo na nemski", "DE"),
    ],
)
def test_country_forms(text: str, code: str) -> None:
    assert country(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "данните ми",
        "iztrii moite danni",
        "bremenna li moga da rabotq",
        "английски език",
        "курсы немецкого языка",
        "i am roma",
        "kak si",
        "здравей",
        "Търся полска работа около Враца",
        "v lom na polskata rabota kolko plashtat",
        "Франц е шефът ми",
        "Могу ли я с мужем поехать",
        "does my bulgarian health insurance work abroad",
    ],
)
def test_words_that_are_not_countries(text: str) -> None:
    assert country(text) is None


def test_destination_wins_over_home() -> None:
    assert country("bulgarian embassy in spain") == "ES"


def test_where_someone_comes_from_is_not_where_they_go() -> None:
    assert country("Из Польши в Германию переезжать, нужна новая регистрация?") == "DE"
    assert country("Я из Украины, живу в Варне") == "BG"
    assert country("jena mi e ot ukraina moje li da raboti tuk v bulgariq") == "BG"
    # Named alone, "from X" is where the person is now.
    assert country("мога ли да се обадя на 0800 от Германия") == "DE"
    assert country("sled kato se vurna ot germaniq moga li da vzema bezrabotni") == "DE"
