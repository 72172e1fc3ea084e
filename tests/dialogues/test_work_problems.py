"""Issue 9 point 5: unpaid wages, bad conditions, debts get steps, then the mediator offer."""

from __future__ import annotations

import pytest

from content import Content
from tests.dialogues.conftest import Convo


async def test_unpaid_wages_in_the_netherlands_get_steps_not_the_health_card(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("rabotq v holandiq i shefa ne mi plashta ot 2 meseca")
    assert content.text("work_problem_evidence", "bg") in convo.text
    assert "+31 70 333 5678" in convo.text  # the Dutch Labour Authority, from abroad too
    assert "0700 17 670" in convo.text and content.text("only_from_bg", "bg") in convo.text  # the GLI, labelled
    assert content.text("ask_country", "bg") not in convo.text  # the Netherlands was named
    assert convo.payloads[-2:] == ["mediator:yes", "mediator:no"]
    await convo.say("da")
    assert content.text("mediator_case_opened", "bg", when=content.text("when_soon", "bg")) in convo.text


@pytest.mark.parametrize(("text", "lang"), [("мне не платили зарплату", "ru"), ("my employer has not paid me", "en")])
async def test_unpaid_wages_without_a_country(convo: Convo, content: Content, text: str, lang: str) -> None:
    await convo.start(lang)
    await convo.say(text)
    assert content.text("work_problem_evidence", lang) in convo.text
    assert "menu:country" in convo.payloads
    if "safety:safe" in convo.payloads:  # the NLU doubts they may leave: the safety question follows the steps
        await convo.tap("safety:safe")
    assert "mediator:yes" in convo.payloads


async def test_germany_points_to_free_advice(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.say("I work in Germany and they have not paid my wages")
    assert "sec:DE:advice" in convo.payloads
