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
    ],
)
def test_country_forms(text: str, code: str) -> None:
    assert country(text) == code


@pytest.mark.parametrize(
    "text", ["данните ми", "bremenna li moga da rabotq", "английски език", "i am roma", "kak si", "здравей"]
)
def test_words_that_are_not_countries(text: str) -> None:
    assert country(text) is None


def test_destination_wins_over_home() -> None:
    assert country("bulgarian embassy in spain") == "ES"
