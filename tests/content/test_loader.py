"""load_content: the real content loads into the typed model; malformed content raises ContentError."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from content import (
    FULL_COUNTRIES,
    Content,
    ContentError,
    default_content_dir,
    load_content,
)
from content.loader import build_content, parse_yaml
from tests.content.conftest import Edit


@pytest.fixture(scope="module")
def real() -> Content:
    return load_content(default_content_dir())


def test_default_dir_is_the_packaged_data_folder() -> None:
    path = default_content_dir()
    assert path.name == "data" and path.parent.name == "content"
    assert (path / "texts.yml").is_file()


def test_real_content_loads(real: Content) -> None:
    for code in (*FULL_COUNTRIES, "BG", "EU"):
        assert real.country(code) is not None, code
    for code in FULL_COUNTRIES:
        card = real.countries[code]
        assert set(card.sections) >= {
            "registration",
            "work_numbers",
            "minimum_wage",
            "advice",
            "work_rules",
            "trafficking",
        }
        assert card.contacts, code
        assert card.name.get("en")
    assert real.countries["BG"].services
    assert {"green", "amber", "red"} <= set(real.verdicts)
    assert 6 <= len(real.jobcheck) <= 8
    assert set(real.topics) == {
        "secure_job",
        "good_salary",
        "trusted_person",
        "good_education",
        "trafficking_vs_smuggling",
    }
    assert all(3 <= len(t.checklist) <= 6 for t in real.topics.values())
    assert "work_legally" in real.answers


def test_real_content_types(real: Content) -> None:
    de = real.countries["DE"]
    wage = de.sections["minimum_wage"]
    assert wage.status == "verified" and wage.year == 2026 and wage.amounts and wage.amounts[0].currency == "EUR"
    assert isinstance(wage.checked, date) and wage.source and wage.source.startswith("http")
    unverified = de.sections["work_numbers"]
    assert unverified.status == "unverified" and unverified.source is None
    assert all(isinstance(c.phone, str) for c in de.contacts)
    urgent = [c.phone for c in real.urgent_hotlines]
    assert "112" in urgent and "0800 20 100" in urgent
    assert all(c.urgent for c in real.urgent_hotlines)
    # BG.yml has a localized address; the model keeps the Bulgarian form
    addresses = [s.address for s in real.countries["BG"].services if s.address]
    assert addresses and all(isinstance(a, str) for a in addresses)
    assert real.text("greeting", "ru")


def test_real_texts_with_placeholders_format(real: Content) -> None:
    assert "30" in real.text("privacy_more", "bg", retention_days=30)
    assert "Germany" in real.text("country_general", "en", country="Germany")
    assert "8" in real.text("jobcheck_intro", "en", count=8)


def test_real_jobcheck_red_if(real: Content) -> None:
    by_id = {q.id: q for q in real.jobcheck}
    assert by_id["fee"].warning_answer is True  # red_if: yes
    assert by_id["contract_language"].warning_answer is False  # red_if: no
    assert by_id["fee"].is_flag(answer_yes=True)
    assert by_id["contract_language"].is_flag(answer_yes=False)
    assert {q.weight for q in real.jobcheck} <= {"red", "amber"}


JOBCHECK = """
questions:
  - id: fee
    text: {{bg: "Искаха ли пари?", en: "Did they ask for money?"}}
    red_if: {red_if}
    weight: red
    meaning: {{bg: "Не плащайте.", en: "Do not pay."}}
    source: https://nrm.bg/x
    checked: {checked}
verdicts:
  green: {{bg: "добре", en: "fine"}}
  amber: {{bg: "внимание", en: "careful"}}
  red: {{bg: "опасно", en: "danger"}}
"""


def build_jobcheck(red_if: str, checked: str = "2026-11-21") -> tuple[Content, list[str]]:
    problems: list[str] = []
    raw: dict[str, Any] = {"jobcheck.yml": parse_yaml(JOBCHECK.format(red_if=red_if, checked=checked))}
    return build_content(raw, problems), problems


@pytest.mark.parametrize(
    ("red_if", "warning_answer"),
    [
        ("yes", True),  # PyYAML: bool True
        ("no", False),  # PyYAML: bool False
        ("true", True),
        ("false", False),
        ('"yes"', True),  # quoted: str
        ('"no"', False),
        ("'Yes'", True),
        ('"NO"', False),
    ],
)
def test_red_if_yes_no_bool_or_str(red_if: str, warning_answer: bool) -> None:
    content, problems = build_jobcheck(red_if)
    assert problems == []
    assert content.jobcheck[0].warning_answer is warning_answer


@pytest.mark.parametrize("red_if", ['"maybe"', "1", "~"])
def test_red_if_other_values_are_problems(red_if: str) -> None:
    content, problems = build_jobcheck(red_if)
    assert content.jobcheck == ()
    assert any(p.startswith("jobcheck.yml: questions[fee].red_if:") for p in problems)


def test_checked_as_string_or_date_is_normalised() -> None:
    as_date, problems = build_jobcheck("yes", checked="2026-11-21")
    as_str, problems2 = build_jobcheck("yes", checked='"2026-11-21"')
    assert problems == problems2 == []
    assert as_date.jobcheck[0].checked == as_str.jobcheck[0].checked == date(2026, 11, 21)
    _, bad = build_jobcheck("yes", checked='"21.11.2026"')
    assert bad == ["jobcheck.yml: questions[fee].checked: '21.11.2026' is not an ISO date (YYYY-MM-DD)"]


def test_source_date_forms_are_normalised_to_text(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        d["sections"]["registration"]["source_date"] = date(2024, 5, 1)  # unquoted ISO date in YAML
        d["sections"]["advice"]["source_date"] = 2025  # unquoted year

    edit("countries/DE.yml", change)
    de = load_content(data_copy).countries["DE"]
    assert de.sections["registration"].source_date == "2024-05-01"
    assert de.sections["advice"].source_date == "2025"


def test_malformed_yaml_raises_content_error_naming_the_file(data_copy: Path) -> None:
    (data_copy / "topics.yml").write_text("secure_job:\n  title: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"topics\.yml: -: not valid YAML"):
        load_content(data_copy)


def test_duplicate_key_is_malformed(data_copy: Path) -> None:
    path = data_copy / "texts.yml"
    path.write_text(path.read_text(encoding="utf-8") + '\ngreeting:\n  bg: "x"\n  en: "x"\n', encoding="utf-8")
    with pytest.raises(ContentError, match=r"texts\.yml.*duplicate key 'greeting'"):
        load_content(data_copy)


def test_unquoted_phone_is_malformed(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        d["contacts"][1]["phone"] = 1109  # phone: 1109 (YAML gives an int; 0... would be read as octal)

    edit("countries/GR.yml", change)
    with pytest.raises(ContentError) as info:
        load_content(data_copy)
    assert "countries/GR.yml: contacts[1].phone: a phone number must be a quoted text" in str(info.value)


def test_shape_problems_are_all_listed(data_copy: Path, edit: Edit) -> None:
    def change_de(d: dict[str, Any]) -> None:
        d["code"] = "XX"

    def change_texts(d: dict[str, Any]) -> None:
        d["greeting"] = "just a string"

    def change_jobcheck(d: dict[str, Any]) -> None:
        d["questions"][0]["weight"] = "orange"

    edit("countries/DE.yml", change_de)
    edit("texts.yml", change_texts)
    edit("jobcheck.yml", change_jobcheck)
    with pytest.raises(ContentError) as info:
        load_content(data_copy)
    problems = info.value.problems
    assert "texts.yml: greeting: must be a mapping of languages to texts, like {bg: ..., en: ...}" in problems
    assert "jobcheck.yml: questions[fee].weight: 'orange' must be red or amber" in problems
    assert "countries/DE.yml: code: 'XX' must be the file's name (DE)" in problems
    assert str(info.value).startswith("3 content problems:")


def test_unverified_section_with_source_is_malformed(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        d["sections"]["work_numbers"]["source"] = "https://example.org/"

    edit("countries/DE.yml", change)
    with pytest.raises(ContentError, match=r"countries/DE\.yml: sections\.work_numbers: an unverified section"):
        load_content(data_copy)


def test_missing_file_is_malformed(data_copy: Path) -> None:
    (data_copy / "answers.yml").unlink()
    with pytest.raises(ContentError, match=r"answers\.yml: -: file not found"):
        load_content(data_copy)


def test_an_unknown_key_is_refused_naming_it(data_copy: Path, edit: Edit) -> None:
    edit("countries/DE.yml", lambda d: d["sections"]["advice"].update(sorce="https://www.bmas.de/"))  # a typo
    edit("jobcheck.yml", lambda d: d["questions"][0].update(hint={"bg": "x", "en": "x"}))
    with pytest.raises(ContentError) as info:
        load_content(data_copy)
    assert info.value.problems == (
        "jobcheck.yml: questions[fee].hint: unknown key",
        "countries/DE.yml: sections.advice.sorce: unknown key",
    )


def test_a_wrong_type_is_named_with_file_and_key(data_copy: Path, edit: Edit) -> None:
    def change(d: dict[str, Any]) -> None:
        d["sections"]["minimum_wage"]["amount"][0]["value"] = "13.90"  # a number in quotes
        d["sections"]["minimum_wage"]["year"] = "next"
        d["contacts"][0]["urgent"] = "yes"
        d["contacts"][1]["kind"] = 5

    edit("countries/DE.yml", change)
    with pytest.raises(ContentError) as info:
        load_content(data_copy)
    assert set(info.value.problems) == {
        "countries/DE.yml: sections.minimum_wage.amount[0].value: must be a number",
        "countries/DE.yml: sections.minimum_wage.year: 'next' is not a year",
        "countries/DE.yml: contacts[0].urgent: 'yes' must be true or false",
        "countries/DE.yml: contacts[1].kind: must be a text (quote it)",
    }


def test_a_malformed_phone_is_a_shape_problem(data_copy: Path, edit: Edit) -> None:
    edit("hotlines_bg.yml", lambda d: d[1].update(phone="0800 20 100 or 112"))
    with pytest.raises(ContentError, match=r"hotlines_bg\.yml: \[1\]\.phone: '0800 20 100 or 112' is not a phone"):
        load_content(data_copy)
