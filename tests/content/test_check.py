"""check_content: the real content is clean; each class of error is found in a broken copy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from content import check as check_module
from content import default_content_dir
from content.check import (
    CheckReport,
    check_content,
    known_phones,
    main,
    phone_digits,
    phone_variants,
    phones_in_text,
    valid_url,
)
from content.schema import phone_problem
from nlu.types import INTENTS
from tests.content.conftest import FACTS_MD, Edit

TODAY = date(2026, 11, 21)  # the day the real content was checked
Change = Callable[[Any], None]


def run(directory: Path, **kwargs: Any) -> CheckReport:
    kwargs.setdefault("today", TODAY)
    return check_content(directory, **kwargs)


def question(d: dict[str, Any], qid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in d["questions"] if q["id"] == qid)
    return found


def test_real_content_checks_clean() -> None:
    facts = FACTS_MD if FACTS_MD.is_file() else None
    report = check_content(default_content_dir(), facts_md=facts)
    print(f"\ncontent check: {len(report.errors)} errors, {len(report.warnings)} warnings (facts: {facts})")
    assert report.errors == []
    assert report.ok


def test_real_content_checks_clean_on_its_checked_day() -> None:
    report = run(default_content_dir())
    assert report.errors == []
    assert not any("checked 2026-11-21" in w for w in report.warnings)


def test_unbroken_copy_is_clean(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: None)  # a YAML round trip alone changes nothing
    assert run(data_copy).errors == []


# --- missing language ------------------------------------------------------------------------------


def _drop(lang: str, *path: str | int) -> Change:
    def change(d: Any) -> None:
        for step in path:
            d = d[step]
        del d[lang]

    return change


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        ("texts.yml", _drop("ru", "greeting"), "texts.yml: greeting: missing ru"),  # starred UI text
        ("texts.yml", _drop("bg", "ask_country"), "texts.yml: ask_country: missing bg"),
        ("answers.yml", _drop("en", "work_legally", "text"), "answers.yml: work_legally.text: missing en"),
        (
            "answers.yml",
            _drop("ru", "migrants_in_bulgaria", "text"),
            "answers.yml: migrants_in_bulgaria.text: missing ru",
        ),
        (
            "countries/BG.yml",
            _drop("ru", "sections", "asylum", "text"),
            "countries/BG.yml: sections.asylum.text: missing ru",
        ),
        ("countries/BG.yml", _drop("ru", "services", 1, "name"), "countries/BG.yml: services[1].name: missing ru"),
        (
            "countries/DE.yml",
            _drop("en", "sections", "advice", "text"),
            "countries/DE.yml: sections.advice.text: missing en",
        ),
        ("countries/DE.yml", _drop("bg", "contacts", 0, "note"), "countries/DE.yml: contacts[0].note: missing bg"),
        ("topics.yml", _drop("en", "secure_job", "checklist", 0), "topics.yml: secure_job.checklist[0]: missing en"),
        ("hotlines_bg.yml", _drop("bg", 1, "name"), "hotlines_bg.yml: [1].name: missing bg"),
    ],
)
def test_missing_language(data_copy: Path, edit: Edit, file: str, change: Change, expected: str) -> None:
    edit(file, change)
    assert run(data_copy).errors == [expected]


def test_missing_language_in_jobcheck_and_empty_text(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        del question(d, "fee")["meaning"]["bg"]
        d["verdicts"]["red"]["en"] = "   "

    edit("jobcheck.yml", change)
    assert run(data_copy).errors == [
        "jobcheck.yml: questions[fee].meaning: missing bg",
        "jobcheck.yml: verdicts.red: missing en",
    ]


def test_russian_is_optional_outside_the_marked_texts(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", _drop("ru", "hotlines_intro"))
    edit("answers.yml", _drop("ru", "human_mediator", "text"))
    assert run(data_copy).errors == []


# --- missing country field ----------------------------------------------------------------------------


def test_missing_country_section(data_copy: Path, edit: Edit) -> None:
    edit("countries/DE.yml", lambda d: d["sections"].pop("minimum_wage"))
    assert run(data_copy).errors == ["countries/DE.yml: sections.minimum_wage: missing section"]


def test_missing_bg_and_eu_sections(data_copy: Path, edit: Edit) -> None:
    edit("countries/BG.yml", lambda d: d["sections"].pop("legal_aid"))
    edit("countries/EU.yml", lambda d: d["sections"].pop("work_rules"))
    assert run(data_copy).errors == [
        "countries/BG.yml: sections.legal_aid: missing section",
        "countries/EU.yml: sections.work_rules: missing section",
    ]


def test_country_without_contacts(data_copy: Path, edit: Edit) -> None:
    edit("countries/NL.yml", lambda d: d.update(contacts=[]))
    edit("countries/BG.yml", lambda d: d.pop("services"))
    assert run(data_copy).errors == ["countries/BG.yml: services: no contact", "countries/NL.yml: contacts: no contact"]


def test_missing_country_file(data_copy: Path) -> None:
    (data_copy / "countries" / "AT.yml").unlink()
    errors = run(data_copy).errors
    assert errors == ["countries/AT.yml: -: file not found (a country with content must have a card)"]


def test_verified_minimum_wage_needs_amount_and_year(data_copy: Path, edit: Edit) -> None:
    edit("countries/FR.yml", lambda d: d["sections"]["minimum_wage"].pop("year"))
    assert run(data_copy).errors == [
        "countries/FR.yml: sections.minimum_wage.year: missing (a verified minimum wage has amount and year)"
    ]


# --- facts without source / checked --------------------------------------------------------------------


def test_fact_without_source_or_checked(data_copy: Path, edit: Edit) -> None:
    edit("countries/DE.yml", lambda d: d["sections"]["registration"].pop("source"))
    edit("hotlines_bg.yml", lambda d: d[0].pop("checked"))
    edit("answers.yml", lambda d: d["hotline"].pop("source"))
    edit("jobcheck.yml", lambda d: question(d, "debt").pop("checked"))
    assert run(data_copy).errors == [
        "answers.yml: hotline.source: missing (every fact needs a source link)",
        "countries/DE.yml: sections.registration.source: missing (every fact needs a source link)",
        "hotlines_bg.yml: [0].checked: missing (the date the fact was checked)",
        "jobcheck.yml: questions[debt].checked: missing (the date the fact was checked)",
    ]


def test_unverified_section_needs_no_source(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        d["sections"]["advice"] = {
            "status": "unverified",
            "text": {"bg": "Попитайте медиатор.", "en": "Ask a mediator."},
        }

    edit("countries/GB.yml", change)
    assert run(data_copy).errors == []


def test_an_unknown_key_is_an_error_naming_it(data_copy: Path, edit: Edit) -> None:
    edit("answers.yml", lambda d: d["hotline"].update(sources="https://www.a21.org/"))
    assert run(data_copy).errors == ["answers.yml: hotline.sources: unknown key"]


# --- intents without an answer ---------------------------------------------------------------------------


def test_informational_intent_without_answer(data_copy: Path, edit: Edit) -> None:
    edit("answers.yml", lambda d: d.pop("health_social"))
    assert run(data_copy).errors == ["answers.yml: health_social: intent health_social has no answer"]


def test_conversational_intent_without_text(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: d.pop("deny_no_context"))
    assert run(data_copy).errors == [
        "texts.yml: deny_no_context: missing text (listed in the content schema)",
        "texts.yml: deny_no_context: intent deny has no answer (text deny_no_context missing)",
    ]


def test_new_nlu_intent_without_answer_path(data_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check_module, "INTENTS", (*INTENTS, "weather"))
    assert run(data_copy).errors == [
        "nlu/types.py: weather: intent has no answer path in content (answers.yml or texts.yml)"
    ]


def test_every_nlu_intent_is_known_to_the_checker() -> None:
    known = set(check_module.INFORMATIONAL_INTENTS) | set(check_module.CONVERSATIONAL_INTENTS)
    assert set(INTENTS) == known


# --- phone numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "what"),
    [
        ("112 or 110", "is not a phone number"),
        ("+49 30 +201", "is not a phone number"),
        ("12", "has 2 digits"),
        ("+49 30 201 0922 0000 0000 0000", "has 23 digits"),
        ("tel. 0800 20 100", "is not a phone number"),
    ],
)
def test_malformed_phone(data_copy: Path, edit: Edit, phone: str, what: str) -> None:
    edit("countries/IT.yml", lambda d: d["contacts"][1].update(phone=phone))
    errors = run(data_copy).errors
    assert len(errors) == 1
    assert errors[0].startswith(f"countries/IT.yml: contacts[1].phone: {phone!r} {what}")


def test_phone_outside_a_phone_field(data_copy: Path, edit: Edit) -> None:
    def change(d: list[dict[str, Any]]) -> None:
        d[1]["tel"] = d[1].pop("phone")

    edit("hotlines_bg.yml", change)
    assert run(data_copy).errors == ["hotlines_bg.yml: [1].tel: phone numbers go only in a field named phone"]


@pytest.mark.parametrize(
    ("file", "path", "lang", "sentence", "number"),
    [
        ("answers.yml", ("hotline", "text"), "bg", " Обадете се на 0800 20 100.", "0800 20 100"),
        ("texts.yml", ("urgent_intro",), "en", " Call 112 now.", "112"),
        ("countries/DE.yml", ("sections", "advice", "text"), "en", " Phone: +49 30 201 0922.", "+49 30 201 0922"),
        ("topics.yml", ("good_education", "story"), "bg", " Линията 116 111 помага.", "116 111"),
        ("jobcheck.yml", ("verdicts", "red"), "en", " Call (+359) 2-948-2404.", "+359) 2-948-2404"),
    ],
)
def test_phone_in_free_text(
    data_copy: Path, edit: Edit, file: str, path: tuple[str, ...], lang: str, sentence: str, number: str
) -> None:
    def change(d: Any) -> None:
        for step in path:
            d = d[step]
        d[lang] += sentence

    edit(file, change)
    key = ".".join(path)
    assert run(data_copy).errors == [
        f"{file}: {key}.{lang}: phone number {number!r} in free text (put it in a phone field)"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "от 09:00 до 17:00",
        "€1,823.03/month gross",
        "от 01.01.2026 г.",
        "Сайт: https://080020100.bg/content/bulgarian/gjqnh4",
        "Имейл: office@antitraffic.government.bg",
        "Annex 19, 10 000 euro, 2026-11-21",
    ],
)
def test_no_false_phone_in_text(text: str) -> None:
    assert phones_in_text(text) == []


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("112", True),
        ("0800 20 100", True),
        ("+359 2 948 24 04", True),
        ("(02) 81-81-122", True),
        ("00 800 6 7 8 9 10 11", True),
    ],
)
def test_well_formed_phones(phone: str, ok: bool) -> None:
    assert (phone_problem(phone) is None) is ok


# --- links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        (
            "countries/DE.yml",
            lambda d: d["sections"]["registration"].update(source="www.schwanewede.de/buergerservice"),
            "countries/DE.yml: sections.registration.source: 'www.schwanewede.de/buergerservice' is not a link",
        ),
        (
            "hotlines_bg.yml",
            lambda d: d[2].update(url="htps://www.mfa.bg/bg/embassyinfo"),
            "hotlines_bg.yml: [2].url: 'htps://www.mfa.bg/bg/embassyinfo' is not a link",
        ),
        (
            "answers.yml",
            lambda d: d["work_legally"].update(source="https://ec.europa.eu/social/main.jsp?catId=462 &langId=en"),
            "answers.yml: work_legally.source: 'https://ec.europa.eu/social/main.jsp?catId=462 &langId=en' is not a link",
        ),
        (
            "answers.yml",
            lambda d: d["job_offer_check"]["text"].update(en="Check it in the register: https:/www.az.government.bg"),
            "answers.yml: job_offer_check.text.en: 'https:/www.az.government.bg' is not a link",
        ),
    ],
)
def test_malformed_url(data_copy: Path, edit: Edit, file: str, change: Change, expected: str) -> None:
    edit(file, change)
    errors = run(data_copy).errors
    assert len(errors) == 1
    assert errors[0].startswith(expected)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.az.government.bg/intermediaries/", True),
        ("http://integration.iom.bg/bg/пребиваване", True),
        ("http://www.Modernslaveryhelpline.org", True),
        ("https//x.org", False),
        ("ftp://x.org/file", False),
        ("https://localhost/", False),
        ("https://", False),
        ("https://x.org:99999/", False),
    ],
)
def test_valid_url(url: str, ok: bool) -> None:
    assert valid_url(url) is ok


# --- texts: placeholders, schema keys, buttons -----------------------------------------------------------


def test_placeholders_differ_between_languages(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: d["too_long"].update(en="Please write shorter (up to {max} characters)."))
    assert run(data_copy).errors == [
        "texts.yml: too_long: placeholders differ between languages: bg {limit}, en {max}, ru {limit}",
        "texts.yml: too_long: placeholder {max} is not filled by the engine",
        "texts.yml: too_long: en lacks the placeholder {limit}",
    ]


def test_placeholders_of_engine_added_texts(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: d.update(step={"bg": "Въпрос {n} от {count}", "en": "Question {n} of {count}"}))
    assert run(data_copy).errors == []
    edit("texts.yml", lambda d: d.update(step={"bg": "Въпрос {n} от {count}", "en": "Question {n}"}))
    assert run(data_copy).errors == ["texts.yml: step: placeholders differ between languages: bg {count,n}, en {n}"]


def test_missing_text_key(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: d.pop("card_sources_note"))
    assert run(data_copy).errors == ["texts.yml: card_sources_note: missing text (listed in the content schema)"]


def test_button_title_too_long(data_copy: Path, edit: Edit) -> None:
    edit("texts.yml", lambda d: d["menu_work"].update(en="Work legally and safely abroad"))
    assert run(data_copy).errors == ["texts.yml: menu_work: en is 30 characters (at most 20)"]


# --- warnings: stale facts, old sources ------------------------------------------------------------------


def test_stale_fact_warning(data_copy: Path, edit: Edit) -> None:
    edit("countries/DE.yml", lambda d: d["sections"]["registration"].update(checked=date(2026, 1, 5)))
    report = run(data_copy)
    assert report.errors == []
    assert (
        "countries/DE.yml: sections.registration.checked: checked 2026-01-05 is 320 days ago (over 180)"
        in report.warnings
    )
    assert sum("is 320 days ago" in w for w in report.warnings) == 1
    assert not any("days ago" in w for w in run(data_copy, stale_after_days=365).warnings)


def test_everything_goes_stale_with_time() -> None:
    report = run(default_content_dir(), today=date(2027, 6, 1))
    assert report.errors == []
    stale = [w for w in report.warnings if "checked 2026-11-21 is 192 days ago (over 180)" in w]
    assert len(stale) > 50
    assert "answers.yml: work_legally.checked: checked 2026-11-21 is 192 days ago (over 180)" in stale


def test_old_source_date_warning(data_copy: Path, edit: Edit) -> None:
    edit("countries/NL.yml", lambda d: d["sections"]["registration"].update(source_date="2023-10"))
    edit("countries/DE.yml", lambda d: d["sections"]["registration"].update(source_date="2023-11"))
    warnings = run(data_copy).warnings
    assert (
        "countries/NL.yml: sections.registration.source_date: source dated 2023-10 is over 3 years old; re-check it"
        in warnings
    )
    assert not any(w.startswith("countries/DE.yml: sections.registration.source_date") for w in warnings)


# --- the fact sheet ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not FACTS_MD.is_file(), reason="shared/facts/FACTS.md not available")
def test_invented_phone_is_not_in_the_fact_sheet(data_copy: Path, edit: Edit) -> None:
    edit("countries/DE.yml", lambda d: d["contacts"][1].update(phone="+49 30 999 9999"))
    assert run(data_copy, facts_md=FACTS_MD).errors == [
        "countries/DE.yml: contacts[1].phone: +49 30 999 9999 is not in FACTS.md (never invent a number)"
    ]


def test_fact_sheet_national_and_international_forms(data_copy: Path, tmp_path: Path) -> None:
    facts = tmp_path / "FACTS.md"
    facts.write_text(
        "| Emergency | **112** |\n| A21 | +359 800 20 100 |\n| MFA | 02 948 24 04 / 02 971 38 56 |\n", encoding="utf-8"
    )
    errors = run(data_copy, facts_md=facts).errors
    assert errors, "a fact sheet with three numbers cannot hold all of them"
    assert all(e.endswith("is not in FACTS.md (never invent a number)") for e in errors)
    joined = "\n".join(errors)
    for known in (": 112 is", ": 0800 20 100 is", ": +359 2 948 24 04 is", ": +359 2 971 38 56 is"):
        assert known not in joined
    assert "+49 30 201 0922" in joined


def test_phone_equivalence_helpers() -> None:
    assert phone_digits("00 800 6 7 8 9 10 11") == "80067891011"
    assert phone_variants(phone_digits("+359 2 807 80 50")) & phone_variants(phone_digits("02 807 80 50"))
    assert not phone_variants(phone_digits("+359 2 807 80 50")) & phone_variants(phone_digits("02 807 80 51"))
    known = known_phones("Tel. **02 807 80 50** (+359 2 807 80 50); free: **0800 1 86 76**")
    assert phone_variants(phone_digits("+359 2 807 80 50")) & known
    assert phone_variants(phone_digits("0800 1 86 76")) & known


# --- report and command line ---------------------------------------------------------------------------


def test_broken_yaml_is_reported_and_other_checks_still_run(data_copy: Path, edit: Edit) -> None:
    (data_copy / "topics.yml").write_text("secure_job:\n  title: [unclosed\n", encoding="utf-8")
    edit("answers.yml", lambda d: d.pop("hotline"))
    errors = run(data_copy).errors
    assert errors[-1].startswith("topics.yml: -: not valid YAML")
    assert "answers.yml: hotline: intent hotline has no answer" in errors


def test_command_line(data_copy: Path, edit: Edit, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(data_copy)]) == 0
    edit("texts.yml", _drop("en", "greeting"))
    assert main([str(data_copy)]) == 1
    out = capsys.readouterr().out
    assert "ERROR texts.yml: greeting: missing en" in out
    assert out.rstrip().endswith("warning(s)")
