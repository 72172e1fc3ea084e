"""People in danger first: the safety question, the third-party path, the urgent conversation,
numbers by where the person is, "not understood" that is still safe, countries we have no rules for."""

from __future__ import annotations

from typing import Any

import pytest

from content import Content
from dialogues.engine import Engine
from dialogues.types import Event, OpenCase
from nlu.types import NluResult
from tests.dialogues.conftest import Convo

SITUATION_CENTRE = "+359 2 948 24 04"


def nlu_result(text: str, **fields: Any) -> NluResult:
    values: dict[str, Any] = {
        "intent": "out_of_scope",
        "confidence": 0.4,
        "country": None,
        "risk": "none",
        "language": "en",
    }
    values.update(fields)
    return NluResult(text=text, **values)


async def say_parsed(convo: Convo, result: NluResult) -> None:
    """Send a message whose NLU result the test chooses (the NLU's own tests cover the parsing)."""
    res = convo.engine.step(convo.state, result, Event("text", text=result.text), convo.ctx)
    convo._keep(res.state, res.replies, res.effects)


def cases(convo: Convo) -> list[OpenCase]:
    return [e for e in convo.effects if isinstance(e, OpenCase)]


async def test_uncertain_risk_asks_one_safety_question_before_guessing(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("my boss keeps my passport for safety", ask_safety=True, intent="work_legally"))
    assert convo.text == content.text("safety_question", "en")
    assert convo.payloads == ["safety:safe", "safety:no", "safety:other"]
    assert not cases(convo)


async def test_safety_no_starts_the_urgent_flow(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await say_parsed(convo, nlu_result("ne znam", ask_safety=True, language="bg-latn"))
    await convo.tap("safety:no")
    assert convo.last[0].text.startswith(content.text("urgent_intro", "bg"))
    assert [c.priority for c in cases(convo)] == ["urgent"]
    assert "answer:not_safe" in cases(convo)[0].signals


async def test_safety_typed_no_is_the_same_as_the_button(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("hmm", ask_safety=True))
    await say_parsed(convo, nlu_result("no", intent="deny", confidence=0.9))
    assert cases(convo) and cases(convo)[0].priority == "urgent"


async def test_safe_answers_what_was_asked(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("work papers", ask_safety=True, intent="work_legally"))
    await convo.tap("safety:safe")
    assert content.text("safety_ok", "en") in convo.text
    assert content.text("fallback_once", "en") not in convo.text
    assert len(convo.text) > len(content.text("safety_ok", "en")) + 20  # the answer follows
    assert not cases(convo)


async def test_someone_else_takes_the_third_party_path(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await say_parsed(convo, nlu_result("sestra mi", ask_safety=True, country="IT", language="bg-latn"))
    await convo.tap("safety:other")
    assert "112" in convo.text and SITUATION_CENTRE in convo.text
    assert "800 290 290" in convo.text  # Italy's anti-trafficking line
    assert "0800 20 100" not in convo.text
    (case,) = cases(convo)
    assert "third_party" in case.signals and case.country == "IT" and case.reason == "third_party"


async def test_third_party_signal_tells_the_relative_what_to_do_from_where_they_are(
    convo: Convo, content: Content
) -> None:
    await convo.start("en")
    text = "my brother is in England, his boss took his passport and he does not answer"
    await say_parsed(
        convo, nlu_result(text, risk="urgent", signals=("third_party", "document_retention"), country="GB")
    )
    assert "999" in convo.text and SITUATION_CENTRE in convo.text
    assert "08000 121 700" in convo.text  # the UK's Modern Slavery Helpline
    assert content.text("urgent_q_safe", "en") not in convo.text  # the relative is not the one in danger
    (case,) = cases(convo)
    assert case.priority == "urgent" and "third_party" in case.signals and case.country == "GB"


async def test_third_party_without_a_country_asks_where_the_person_is(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("my daughter went silent", risk="elevated", signals=("third_party",)))
    assert content.text("third_party_ask_country", "en") in convo.text
    await convo.say("Spain")
    assert "900 10 50 90" in convo.text and SITUATION_CENTRE in convo.text
    assert cases(convo)[-1].country == "ES"


async def test_urgent_from_the_uk_shows_999_and_no_bulgarian_freephone(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(
        convo,
        nlu_result(
            "I am in London they took my passport", risk="urgent", signals=("document_retention",), country="GB"
        ),
    )
    first = convo.last[0].text
    assert "999" in first and SITUATION_CENTRE in first
    assert "0800 20 100" not in first and "0800 1 86 76" not in first  # Bulgarian freephone: not from the UK
    assert len([line for line in first.splitlines() if line.startswith("☎")]) <= 3


async def test_urgent_is_a_short_conversation_whose_answers_reach_the_case(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("help they lock us in", risk="urgent", signals=("confinement",)))
    assert content.text("urgent_q_safe", "en") in convo.text
    await convo.tap("urgent:safe_yes")
    assert content.text("urgent_q_where", "en") in convo.text
    await convo.say("in Germany, near Munich")
    assert content.text("urgent_q_others", "en") in convo.text
    assert "116 016" in convo.text  # now that we know: Germany's line
    await convo.say("yes")
    signals = [s for c in cases(convo) for s in c.signals]
    assert "answer:can_write_safely=yes" in signals
    assert "answer:where=DE" in signals
    assert "answer:others_in_danger=yes" in signals
    assert all(c.priority == "urgent" for c in cases(convo))


async def test_cannot_write_safely_stops_the_questions(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("help", risk="urgent", signals=("help",)))
    await convo.tap("urgent:safe_no")
    assert convo.text == content.text("urgent_cannot_write", "en")
    assert not convo.payloads


async def test_what_now_and_where_is_the_mediator_after_an_urgent_message(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await say_parsed(convo, nlu_result("pomosht", risk="urgent", signals=("help",), language="bg-latn"))
    await convo.tap("urgent:safe_no")
    convo.ctx = type(convo.ctx)(now=convo.ctx.now, has_open_case=True)
    await convo.say("kakvo da pravq sega?")
    when = content.text("when_soon", "bg")
    assert content.text("urgent_next_step", "bg", when=when, number="112") in convo.text
    await convo.say("kade e mediatora?")
    assert content.text("mediator_already", "bg", when=when) in convo.text


@pytest.mark.parametrize("lang", ["bg", "en", "ru"])
async def test_every_not_understood_reply_offers_a_person_and_help_now(convo: Convo, lang: str) -> None:
    await convo.start(lang)
    await convo.say("qwpeoiru zxmcnv")
    assert "menu:mediator" in convo.payloads and "help_now" in convo.payloads
    await convo.say("zzzz xxxx")
    assert convo.payloads == ["mediator:yes", "mediator:no", "help_now"]
    await convo.tap("mediator:yes")
    assert cases(convo)


@pytest.mark.parametrize("code", ["US", "CA", "CH", "AE", "TR", "IL", "RU", "AU"])
async def test_countries_without_rules_get_an_honest_answer(convo: Convo, content: Content, code: str) -> None:
    await convo.start("bg")
    await say_parsed(convo, nlu_result("mога ли да работя там", intent="work_legally", country=code, language="bg"))
    assert "още нямаме правилата за тази държава" in convo.text
    assert SITUATION_CENTRE in convo.text and "mfa.bg/bg/embassyinfo" in convo.text
    assert "ЕС" not in convo.text.split(":")[0]  # no EU free-movement answer for them


async def test_norway_is_in_the_eea_and_gets_the_eu_rules(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await say_parsed(convo, nlu_result("work in norway", intent="work_legally", country="NO"))
    assert "do not have this country's rules" not in convo.text


async def test_the_engine_never_labels_a_foreign_freephone_number_as_bulgarian(content: Content) -> None:
    engine = Engine(content)
    for code in ("GB", "NL", "DE"):
        convo = Convo(engine, None)  # type: ignore[arg-type]
        await convo.tap("/start")
        await convo.tap("lang:en")
        convo.state["where"] = code
        await convo.tap("menu:hotlines")
        assert content.text("only_from_bg", "en") not in convo.text, code


async def test_a_case_carries_the_job_offer_flags_that_led_to_it(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.tap("menu:offer")
    for q in content.jobcheck:
        await convo.tap("jobcheck:yes" if q.warning_answer else "jobcheck:no")  # every answer a warning sign
    assert "mediator:yes" in convo.payloads
    await convo.tap("mediator:yes")
    (case,) = cases(convo)
    assert case.priority == "high"
    assert {f"jobcheck:{q.id}" for q in content.jobcheck} <= set(case.signals)
