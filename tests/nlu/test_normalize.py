"""Latin-script Bulgarian reaches the classifier as Cyrillic; English stays readable."""

import pytest

from nlu.normalize import normalize


@pytest.mark.parametrize(
    ("text", "cyrillic"),
    [
        ("iskam da rabotq v germaniq", "искам да работя в германия"),
        ("iskam da rabotya v germania", "искам да работя в германия"),
        ("6te ni vzemat dokumentite", "ще ни вземат документите"),
        ("shte ni vzemat dokumentite", "ще ни вземат документите"),
        ("4e", "че"),
        ("v kyshtata", "в къщата"),
        ("ka6ta", "каща"),
        ("moqta jena", "моята жена"),
        ("moyata zhena", "моята жена"),
        ("obeshtavat", "обещават"),
        ("nqmam pari", "нямам пари"),
        ("na ulicata", "на улицата"),
    ],
)
def test_latin_bulgarian_becomes_cyrillic(text: str, cyrillic: str) -> None:
    n = normalize(text)
    assert n.language == "bg-latn"
    assert n.text == cyrillic


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("they took our passports", "en"),
        ("what is the weather in Sofia", "en"),
        ("Здравей, ще ми вземат паспорта", "bg"),
        ("где учить болгарский язык в Софии", "ru"),
        ("nomer na politsiata, shefa me bie", "bg-latn"),
        ("dobro utro", "bg-latn"),
    ],
)
def test_language_guess(text: str, lang: str) -> None:
    assert normalize(text).language == lang


def test_english_is_not_transliterated() -> None:
    assert normalize("They LOCK us in").text == "they lock us in"


def test_amounts_survive_cleaning() -> None:
    assert "3000" in normalize("obeshtavat 3000 evro").text


def test_homoglyphs_inside_cyrillic_words_are_folded() -> None:
    assert normalize("пaспорт").text == "паспорт"  # Latin "a" typed inside a Cyrillic word


@pytest.mark.parametrize("junk", ["", "   ", "\x00\x01\x02", "😀😀😀", "\ufeff"])
def test_junk_gives_no_tokens_and_no_error(junk: str) -> None:
    assert normalize(junk).tokens == ()


def test_long_text_is_cut() -> None:
    assert len(normalize("a" * 200_000).lower) <= 1000
