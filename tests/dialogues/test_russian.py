"""Issue 9 point 4: Russian done properly for migrants in Bulgaria."""

from __future__ import annotations

from content import Content
from tests.dialogues.conftest import Convo, flat


async def test_the_russian_menu_is_the_migrants_menu(convo: Convo, content: Content) -> None:
    await convo.start("ru")
    assert convo.text == content.text("menu_title", "ru")
    assert convo.payloads[:4] == ["sec:BG:residence", "sec:BG:asylum", "sec:BG:work", "sec:BG:legal_aid"]
    assert "menu:work" not in convo.payloads  # the EU-citizen topics only on request
    await convo.tap("menu:eu")
    assert "menu:work" in convo.payloads


async def test_every_migrant_answer_is_in_russian(convo: Convo, content: Content) -> None:
    await convo.start("ru")
    bg = content.country("BG")
    assert bg is not None
    for key, fact in bg.sections.items():
        await convo.tap(f"sec:BG:{key}")
        assert flat(fact.text.values["ru"]) in await convo.read_more(), key
    await convo.tap("svc:BG")
    assert bg.services[0].name.values["ru"] in convo.text
    await convo.tap("where:BG")
    assert "112" in convo.text and "Экстренный" in convo.text


async def test_the_job_offer_check_is_in_russian(convo: Convo, content: Content) -> None:
    await convo.start("ru")
    await convo.tap("menu:offer")
    assert content.jobcheck[0].text.values["ru"] in convo.text
    for q in content.jobcheck:
        await convo.tap("jobcheck:yes" if q.warning_answer else "jobcheck:no")
    assert content.verdicts["red"].values["ru"] in convo.text


async def test_the_chosen_language_sticks(convo: Convo, content: Content) -> None:
    await convo.start("ru")
    await convo.say("меню")
    assert convo.text == content.text("menu_title", "ru")
    await convo.say("asylum")
    assert "Убежище" in convo.text or "убежищ" in convo.text.lower()
