"""Issue 9 "Done when": on a 390x844 phone, the first reply to the most common questions fits one screen
(in bg, bg-latn, en, ru); an urgent message from a person in the UK shows 999; a number that works only
inside Bulgaria is never offered to a person abroad without saying so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.browser.chatpage import ChatPage
from tests.browser.conftest import PHONE, ROOT

TEXTS = yaml.safe_load((ROOT / "content" / "data" / "texts.yml").read_text(encoding="utf-8"))
SHOT = Path("/tmp/phone_first_screen.png")
# The 20 most common questions (5 in each way people write), as the dev set and the campaign show them.
COMMON: dict[str, tuple[str, list[str]]] = {
    "bg": (
        "Български",
        [
            "Как да работя законно в Германия?",
            "Каква е минималната заплата в Холандия?",
            "Трябва ли да се регистрирам в Испания?",
            "Какво е трафик на хора?",
            "Телефони за помощ",
        ],
    ),
    "bg-latn": (
        "Български",
        [
            "kak da rabotq v anglia",
            "kolko e minimalnata zaplata v germaniq",
            "predlagat mi rabota v italiq, da q li priema",
            "kak da se registriram v avstriq",
            "evropeiska zdravna karta",
        ],
    ),
    "en": (
        "English",
        [
            "How do I register in Belgium?",
            "What is the minimum wage in France?",
            "How do I work legally abroad?",
            "Can I talk to a person?",
            "What is the difference between trafficking and smuggling?",
        ],
    ),
    "ru": (
        "Русский",
        [
            "Как получить вид на жительство в Болгарии?",
            "Как попросить убежище в Болгарии?",
            "Минимальная зарплата в Германии",
            "Как работать законно в Греции?",
            "Телефоны помощи",
        ],
    ),
}
BG_ONLY = re.compile(r"0800 20 100|0800 1 86 76|0700 17 670|0700 18 250")
LABELS = [TEXTS["only_from_bg"][lang] for lang in ("bg", "en", "ru")]

# The first new bot message and the buttons right under it: its height on the screen.
FIRST_REPLY_HEIGHT = """(before) => {
  const bots = document.querySelectorAll('#log .msg.bot');
  const first = bots[before];
  let bottom = first.getBoundingClientRect().bottom;
  const next = first.nextElementSibling;
  if (next && next.classList.contains('chips')) bottom = next.getBoundingClientRect().bottom;
  return [bottom - first.getBoundingClientRect().top, document.getElementById('scroller').clientHeight];
}"""


def labelled(text: str) -> bool:
    """Every line with a Bulgaria-only number says so."""
    return all(any(label in line for label in LABELS) for line in text.splitlines() if BG_ONLY.search(line))


@pytest.mark.browser
@pytest.mark.parametrize("way", list(COMMON))
def test_first_reply_to_common_questions_fits_one_phone_screen(chat: ChatPage, way: str) -> None:
    chat.page.set_viewport_size(PHONE)
    language, questions = COMMON[way]
    chat.open()
    chat.tap(language)
    for question in questions:
        before = len(chat.bot_texts())
        replies = chat.say(question)
        assert replies, question
        height, screen = chat.page.evaluate(FIRST_REPLY_HEIGHT, before)
        assert height <= screen, f"{question!r}: first reply is {height:.0f}px, the screen shows {screen}px"
        assert all(len(r) <= 900 for r in replies), question
        assert labelled("\n".join(replies)), question
    chat.page.screenshot(path=str(SHOT.with_name(f"phone_first_screen_{way}.png")))
    chat.check()


@pytest.mark.browser
def test_urgent_message_from_the_uk_shows_999_and_labels_bulgarian_numbers(chat: ChatPage) -> None:
    chat.page.set_viewport_size(PHONE)
    chat.open()
    chat.tap("English")
    replies = chat.say("I am in London, they took my passport and lock me in")
    first = replies[0]
    assert "999" in first
    assert chat.page.locator('#log a[href="tel:999"]').count() >= 1
    assert not BG_ONLY.search(first)  # nothing first that does not work from the UK
    more = chat.tap(TEXTS["btn_yes"]["en"])  # can write safely: where are you? (already known: the UK)
    assert more and labelled("\n".join(chat.bot_texts()))
    chat.check()


@pytest.mark.browser
def test_help_lines_for_a_person_abroad_never_offer_a_bulgaria_only_number_unlabelled(chat: ChatPage) -> None:
    chat.page.set_viewport_size(PHONE)
    chat.open()
    chat.tap("Български")
    replies = chat.say("kakvi sa telefonite za pomosht")
    assert labelled("\n".join(replies))
    replies = chat.tap("Германия", exact=False)  # "3. Германия": the group is numbered
    text = "\n".join(replies)
    assert "112" in text and not BG_ONLY.search(text)
    replies = chat.tap(TEXTS["btn_more_numbers"]["bg"])
    assert labelled("\n".join(replies))
    chat.check()


@pytest.mark.browser
def test_a_relative_writing_in_russian_gets_what_to_do_from_where_they_are_with_whole_numbers(
    chat: ChatPage,
) -> None:
    # Described, not named: the sister went silent. The third-party path answers in Russian, and every
    # number is one whole tap-to-call link (a link on "800" of "800 290 290" would dial a wrong number).
    chat.page.set_viewport_size(PHONE)
    chat.open()
    chat.tap("Русский")
    replies = chat.say("моя сестра в Италии уже 5 дней не берёт трубку, мне страшно")
    text = "\n".join(replies)
    assert "112" in text and "+359 2 948 24 04" in text and "800 290 290" in text
    assert chat.page.locator('#log a[href="tel:800290290"]').count() == 1
    assert chat.page.locator('#log a[href="tel:800"]').count() == 0
    assert chat.page.locator('#log a[href="tel:+35929482404"]').count() >= 1
    chat.check()
