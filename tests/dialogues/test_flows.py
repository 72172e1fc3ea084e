"""Every flow of the conversation design, without any channel, in bg-latn, bg and en."""

from __future__ import annotations

import pytest

from content import Content
from dialogues.types import Context, EraseData, OpenCase
from tests.dialogues.conftest import ON_SHIFT, Convo, flat

MENU_PAYLOADS = [
    "menu:work",
    "menu:country",
    "menu:offer",
    "menu:trafficking",
    "menu:hotlines",
    "menu:mediator",
    "help_now",
]


async def test_first_contact_is_neutral_and_offers_privacy_and_languages(convo: Convo, content: Content) -> None:
    await convo.say("zdr")
    first = convo.last[0].text.lower()
    for word in ("трафик", "trafficking", "експлоатация", "exploitation"):
        assert word not in first  # a shared phone must not show the topic
    assert content.text("privacy_short", "bg") in convo.last[0].text
    assert convo.payloads == ["privacy_more", "lang:bg", "lang:en", "lang:ru"]
    await convo.tap("privacy_more")
    assert "90" in convo.text
    await convo.tap("lang:en")
    assert convo.text == content.text("menu_title", "en")
    assert convo.payloads == MENU_PAYLOADS


async def test_typing_a_number_picks_the_menu_item(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("3")
    assert content.text("jobcheck_intro", "bg", count=8) in convo.text
    assert convo.payloads == ["jobcheck:yes", "jobcheck:no"]


async def test_language_can_be_typed(convo: Convo, content: Content) -> None:
    await convo.tap("/start")
    await convo.say("english")
    assert convo.text == content.text("menu_title", "en")


@pytest.mark.parametrize(
    ("text", "lang", "must_contain"),
    [
        ("kak da rabotq legalno v chujbina", "bg", "ЕС"),
        ("how do I work legally abroad", "en", "EU"),
        ("какво е трафик на хора", "bg", "трафик"),
        ("what is smuggling", "en", "traffick"),
        ("kakvi sa telefonite za pomosht", "bg", "0800 20 100"),
        ("helpline numbers please", "en", "0800 20 100"),
        ("училище за децата в чужбина", "bg", ""),
        ("evropeiska zdravna karta", "bg", ""),
        ("do I have health insurance if I work in Spain", "en", ""),
        ("how do I apply for asylum in Bulgaria", "en", ""),
        ("каква е добрата заплата", "bg", ""),
    ],
)
async def test_every_topic_gets_an_answer(
    convo: Convo, content: Content, text: str, lang: str, must_contain: str
) -> None:
    await convo.start(lang)
    await convo.say(text)
    assert convo.last, text
    assert content.text("fallback_once", lang) not in convo.text
    assert must_contain.lower() in convo.text.lower()


async def test_country_is_remembered_across_turns(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("kak da se registriram v holandiq")
    nl = content.country("NL")
    assert nl is not None
    assert flat(nl.sections["registration"].text.get("bg")) in await convo.read_more()
    await convo.say("a kolko e minimalnata zaplata tam")
    assert flat(nl.sections["minimum_wage"].text.get("bg")) in await convo.read_more()


async def test_unknown_country_is_asked_with_buttons(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.say("do I have to register my address")
    assert content.text("ask_country", "en") in convo.text
    assert "country:DE" in convo.payloads and "country:other" in convo.payloads
    await convo.tap("country:DE")
    de = content.country("DE")
    assert de is not None
    assert flat(de.sections["registration"].text.get("en")) in await convo.read_more()
    await convo.tap("src:s:DE:registration")  # the source is one tap away
    assert convo.text.startswith("Source: https://")


async def test_a_typed_country_answers_the_question(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("kak da se registriram")
    await convo.say("ispaniq")
    es = content.country("ES")
    assert es is not None
    assert flat(es.sections["registration"].text.get("bg")) in await convo.read_more()


@pytest.mark.parametrize("code", ["DE", "GB", "NL", "FR", "ES", "BE", "IT", "AT", "GR", "CY"])
async def test_full_country_card(convo: Convo, content: Content, code: str) -> None:
    await convo.start("en")
    await convo.tap("menu:country")
    await convo.tap(f"country:{code}")
    card = content.country(code)
    assert card is not None
    # one screen: a short overview with buttons for the sections, not every section at once
    assert len(convo.last) == 1 and len(convo.text) <= 350 + 60
    assert card.name.get("en").upper() in convo.text
    for key, fact in card.sections.items():
        await convo.tap(f"sec:{code}:{key}")
        assert flat(fact.text.get("en")) in await convo.read_more(), key
    # the help lines for a person there: the country's emergency number and its own line
    convo.state["where"] = code
    await convo.tap("menu:hotlines")
    emergency = next(c for c in card.contacts if c.kind == "emergency")
    assert emergency.phone and emergency.phone in convo.text


async def test_other_eu_country_gets_the_general_answer(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("registraciq v polsha")
    eu = content.country("EU")
    assert eu is not None
    assert flat(eu.sections["registration"].text.get("bg")) in await convo.read_more()


async def test_job_offer_check_green(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.tap("menu:offer")
    for q in content.jobcheck:
        await convo.tap("jobcheck:no" if q.warning_answer else "jobcheck:yes")
    assert content.text("jobcheck_green", "en") in convo.text
    assert not convo.effects


async def test_job_offer_check_red_gives_hotline_and_mediator(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.tap("menu:offer")
    answers = [
        "yes"
        if q.id == "fee" and q.warning_answer
        else "no"
        if q.id == "fee"
        else ("no" if q.warning_answer else "yes")
        for q in content.jobcheck
    ]
    for a in answers:
        await convo.tap(f"jobcheck:{a}")
    assert content.text("jobcheck_red", "bg") in convo.text
    fee = next(q for q in content.jobcheck if q.id == "fee")
    assert fee.meaning.get("bg") in convo.text
    assert "0800 20 100" in convo.text
    assert "mediator:yes" in convo.payloads
    await convo.tap("mediator:yes")
    assert any(isinstance(e, OpenCase) for e in convo.effects)


async def test_job_offer_check_amber(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.tap("menu:offer")
    amber = next(q for q in content.jobcheck if q.weight == "amber")
    for q in content.jobcheck:
        warn = q.id == amber.id
        yes = q.warning_answer if warn else not q.warning_answer
        await convo.tap("jobcheck:yes" if yes else "jobcheck:no")
    assert content.text("jobcheck_amber", "en") in convo.text


async def test_job_offer_answers_can_be_typed(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.tap("menu:offer")
    await convo.say("ne")
    assert content.text("jobcheck_progress", "bg", n=2, count=8) in convo.text


async def test_red_flags_in_a_described_offer(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("predlagat mi rabota v anglia, iskat 300 evro za dokumentite i nqma dogovor")
    assert content.text("jobcheck_flags_found", "bg") in convo.text
    fee = next(q for q in content.jobcheck if q.id == "fee")
    assert fee.meaning.get("bg") in convo.text
    assert "mediator:yes" in convo.payloads


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("vzeha ni pasportite i ne ni puskat", "bg"),
        ("бият ни и не ни плащат", "bg"),
        ("they lock us in at night", "en"),
    ],
)
async def test_urgent_at_any_point(convo: Convo, content: Content, text: str, lang: str) -> None:
    await convo.start(lang)
    await convo.tap("menu:offer")  # in the middle of the questionnaire
    await convo.say(text)
    assert convo.last[0].text.startswith(content.text("urgent_intro", lang))
    assert "112" in convo.text and "+359 2 948 24 04" in convo.text
    # Where the person is is not known yet: the Bulgarian freephone line says it works only from Bulgaria.
    for line in convo.text.splitlines():
        if "0800" in line:
            assert content.text("only_from_bg", lang) in line
    assert all(r.sensitive for r in convo.last)
    cases = [e for e in convo.effects if isinstance(e, OpenCase)]
    assert cases and cases[0].priority == "urgent" and cases[0].signals
    assert "jobcheck" not in convo.state


async def test_urgent_gives_the_hotline_of_the_known_country(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("v germaniq sam i me biqt")
    de = content.country("DE")
    assert de is not None
    hotlines = [c.phone for c in de.contacts if c.kind in ("hotline", "trafficking") and c.phone]
    assert hotlines and hotlines[0] in convo.text
    assert "0800 20 100" not in convo.text  # a Bulgarian freephone number does not work from Germany
    case = next(e for e in convo.effects if isinstance(e, OpenCase))
    assert case.country == "DE"


async def test_urgent_off_shift_says_when_and_whom_to_call(nlu: object, content: Content, convo: Convo) -> None:
    convo.ctx = Context(now=ON_SHIFT, mediators_on_shift=False, next_shift=ON_SHIFT.replace(day=24, hour=9))
    await convo.start("en")
    await convo.say("help they took my passport")
    assert (
        content.text("urgent_case_off_hours", "en", when=content.text("when_at", "en", day="tomorrow", time="09:00"))
        in convo.text
    )


async def test_help_now_button(convo: Convo) -> None:
    await convo.start("en")
    await convo.tap("help_now")
    assert "112" in convo.text
    assert not convo.effects  # one confirmation before a case opens
    assert convo.payloads == ["help:yes", "help:no"]
    await convo.tap("help:yes")
    assert any(isinstance(e, OpenCase) and e.priority == "urgent" for e in convo.effects)


async def test_elevated_risk_offers_a_mediator_and_yes_opens_a_case(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("ne ni plashtat zaplatite ot 2 meseca")
    assert content.text("work_problem_evidence", "bg") in convo.text
    if content.text("safety_question", "bg") in convo.text:  # the NLU doubts they may leave: asked first
        await convo.say("da")  # "yes, I am safe"
    assert content.text("mediator_offer", "bg") in convo.text
    await convo.say("da")
    case = next(e for e in convo.effects if isinstance(e, OpenCase))
    assert case.priority in ("normal", "high")
    assert content.text("mediator_case_opened", "bg", when=content.text("when_soon", "bg")) in convo.text


async def test_talk_to_a_person(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.say("can I talk to a real person")
    assert "mediator:yes" in convo.payloads
    await convo.tap("mediator:no")
    assert content.text("mediator_declined", "en") in convo.text
    assert not convo.effects
    convo.ctx = Context(now=ON_SHIFT, has_open_case=True)
    await convo.say("connect me to someone please")
    assert content.text("mediator_already", "en", when=content.text("when_soon", "en")) in convo.text


async def test_fallback_after_two_misunderstood_messages(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("asdkjh qwe")
    assert content.text("fallback_once", "bg") in convo.text
    await convo.say("zzzz xxxx")
    assert content.text("fallback_twice", "bg") in convo.text
    assert convo.payloads == ["mediator:yes", "mediator:no", "help_now"]


async def test_an_understood_message_resets_the_fallback(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("asdkjh qwe")
    await convo.say("menu")
    await convo.say("zzzz xxxx")
    assert content.text("fallback_once", "bg") in convo.text


@pytest.mark.parametrize("media", ["image", "audio", "sticker", "location", "file"])
async def test_non_text_is_acknowledged(convo: Convo, content: Content, media: str) -> None:
    await convo.start("en")
    await convo.send_media(media)
    assert convo.text == content.text("nontext", "en")


async def test_what_do_you_keep(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.say("what do you do with my data")
    answer = content.answers["data_privacy"].text.get("en")
    assert answer in convo.text


async def test_delete_my_data_needs_confirmation(convo: Convo, content: Content) -> None:
    await convo.start("bg")
    await convo.say("iztriite moite danni")
    assert content.text("privacy_delete_confirm", "bg") in convo.text
    await convo.tap("delete:no")
    assert not convo.effects
    await convo.say("изтрийте всичко за мен")
    await convo.say("да")
    assert any(isinstance(e, EraseData) for e in convo.effects)
    assert content.text("privacy_deleted", "bg") in convo.text
    assert convo.state.get("lang") is None


async def test_russian_for_migrants_in_bulgaria(convo: Convo, content: Content) -> None:
    await convo.start("ru")
    await convo.say("как получить вид на жительство в Болгарии")
    assert flat(content.answers["migrants_in_bulgaria"].text.get("ru")) in await convo.read_more()


async def test_unknown_payload_is_handled(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.tap("nonsense:thing")
    assert content.text("fallback_once", "en") in convo.text


async def test_topics_have_answer_checklist_and_story(convo: Convo, content: Content) -> None:
    await convo.start("en")
    for key, topic in content.topics.items():
        await convo.tap(f"topic:{key}")
        text = await convo.read_more()
        assert flat(topic.answer.get("en")) in text
        assert flat(topic.story.get("en")) in text
        assert all(flat(item.get("en")) in text for item in topic.checklist)


async def test_state_is_json(convo: Convo) -> None:
    import json

    await convo.start("bg")
    await convo.tap("menu:offer")
    await convo.say("da")
    assert json.loads(json.dumps(convo.state)) == convo.state


async def test_one_numbered_group_per_turn_and_typed_numbers_pick_from_it(convo: Convo, content: Content) -> None:
    await convo.tap("/start")
    assert [len(r.buttons) for r in convo.last] == [1, 3]  # "More", then the languages
    await convo.say("2")  # the second button of the last group: English, not "More"
    assert convo.text == content.text("menu_title", "en")
    numbered = [b.title for r in convo.last for b in r.buttons if b.title.split(".", 1)[0].isdigit()]
    assert numbered and numbered[0].startswith("1. ")
    await convo.say("qwpeoiru zxmcnv")  # not understood: its buttons are the group now
    groups = [r for r in convo.last if r.buttons]
    assert len(groups) == 1
    await convo.say("2")
    assert convo.state.get("awaiting") == "help"  # the second button was "I need help now"


async def test_missing_facts_are_one_tap_away(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.say("do I have health insurance if I work in Spain")
    await convo.tap("sec:EU:ehic")
    assert "15 days" in convo.text and "Never pay" in convo.text
    await convo.tap("sec:GB:eta")
    assert "£16" in convo.text and "does not allow you to work" in convo.text
    await convo.tap("sec:GB:seasonal")
    assert "approved scheme operator" in convo.text
    await convo.tap("sec:EU:posted")
    assert "A1" in convo.text
    await convo.say("school for my children abroad")
    assert "child_line" in convo.payloads
    await convo.tap("child_line")
    assert "116 111" in convo.text


async def test_every_card_section_is_reachable_from_the_overview(convo: Convo, content: Content) -> None:
    await convo.start("en")
    await convo.tap("menu:country")
    await convo.tap("country:GB")
    seen: set[str] = set()
    for _ in range(10):
        nxt = [p for p in convo.payloads if p.startswith("sec:GB:") and p not in seen]
        if not nxt:
            break
        seen.add(nxt[0])
        await convo.tap(nxt[0])
    gb = content.country("GB")
    assert gb is not None
    assert {f"sec:GB:{k}" for k in gb.sections} - {"sec:GB:work_rules"} <= seen


@pytest.mark.parametrize(
    ("lang", "code", "expected"),
    [
        ("bg", "DE", "13,90 € на час (бруто)"),
        ("en", "DE", "€13.90 an hour (gross)"),
        ("ru", "DE", "13,90 € в час (брутто)"),
        ("bg", "CY", "1 088,00 € на месец"),
        ("en", "GB", "£12.71 an hour"),
    ],
)
async def test_amounts_are_written_as_each_language_writes_them(
    convo: Convo, content: Content, lang: str, code: str, expected: str
) -> None:
    await convo.start(lang)
    await convo.tap(f"sec:{code}:minimum_wage")
    text = convo.text.replace("\u00a0", " ").replace("\u202f", " ")
    assert expected in text
    if lang != "en":
        assert "/month" not in text and "/h" not in text


async def test_gibberish_never_switches_the_language(convo: Convo, content: Content) -> None:
    await convo.tap("/start")
    await convo.say("zdravei")  # Bulgarian, no language chosen
    await convo.say("asdkj")  # detected as English, not understood
    assert content.text("fallback_once", "bg") in convo.text
