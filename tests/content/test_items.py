"""Content as items (content/items.py) and back to YAML (content/export.py): one id per answer, section,
contact ...; the items rebuild the same content; an unchanged export is the repository's YAML byte for
byte; an edit changes only the lines it touches."""

from __future__ import annotations

import difflib
from typing import Any

from content.check import check_content, check_raw
from content.export import file_text
from content.items import Item, flatten, json_safe, problems_of, texts_of, unflatten, with_texts
from content.loader import build_content, default_content_dir, parse_yaml, read_tree

DATA = default_content_dir()


def repo_items() -> tuple[dict[str, Any], list[Item]]:
    raw, problems = read_tree(DATA)
    assert problems == []
    return raw, flatten(raw)


def test_every_item_has_a_stable_id_from_its_place() -> None:
    _, items = repo_items()
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    for expected in (
        "answers/work_legally",
        "countries/DE/sections/minimum_wage",
        "countries/DE/contacts/0",
        "countries/BG/services/0",
        "hotlines_bg/0",
        "jobcheck/questions/0",
        "jobcheck/verdicts/red",
        "texts/greeting",
        "topics/secure_job",
        "canned/replies/0",
    ):
        assert expected in ids, expected
    kinds = {i.id: i.kind for i in items}
    assert kinds["countries/DE/sections/minimum_wage"] == "section" and kinds["hotlines_bg/0"] == "contact"


def test_items_rebuild_the_same_content_and_the_same_check() -> None:
    raw, items = repo_items()
    again = unflatten(items)
    assert again == json_safe(raw)
    assert build_content(again, []) == build_content(raw, [])
    assert check_raw(again).errors == check_content(DATA).errors == []


def test_an_unchanged_export_is_the_repository_yaml_byte_for_byte() -> None:
    raw, items = repo_items()
    tree = unflatten(items)
    for name in raw:
        seed = (DATA / name).read_text(encoding="utf-8")
        assert file_text(seed, tree[name]) == seed, name


def test_an_edit_changes_only_its_own_lines_and_keeps_the_style() -> None:
    _, items = repo_items()
    edited = []
    for item in items:
        if item.id == "countries/DE/sections/minimum_wage":
            data = with_texts(item, {"bg": "Нов текст за заплатата."})
            data["checked"] = "2026-12-04"
            item = item.model_copy(update={"data": data})
        edited.append(item)
    seed = (DATA / "countries/DE.yml").read_text(encoding="utf-8")
    out = file_text(seed, unflatten(edited)["countries/DE.yml"])
    changed = [
        line for line in difflib.unified_diff(seed.splitlines(), out.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]  # fmt: skip
    assert len(changed) == 4, changed
    assert '+      bg: "Нов текст за заплатата."' in changed  # quoted like the text it replaced
    assert "+    checked: 2026-12-04" in changed  # a date, not a quoted string
    reparsed = flatten({"countries/DE.yml": parse_yaml(out)})  # the edited file reads back as the edited item
    assert texts_of(next(i for i in reparsed if i.id == "countries/DE/sections/minimum_wage"))["bg"] == (
        "Нов текст за заплатата."
    )


def test_an_item_is_validated_by_the_schema_of_its_kind() -> None:
    _, items = repo_items()
    by_id = {i.id: i for i in items}
    question = by_id["jobcheck/questions/0"]
    assert problems_of(question) == []
    broken = question.model_copy(update={"data": {**question.data, "weight": "orange", "tip": "x"}})
    assert problems_of(broken) == [
        "jobcheck.yml: questions[fee].weight: 'orange' must be red or amber",
        "jobcheck.yml: questions[fee].tip: unknown key",
    ]
    text = by_id["texts/greeting"]
    assert problems_of(text.model_copy(update={"data": "Здравейте"})) == [
        "texts.yml: greeting: must be a mapping of languages to texts, like {bg: ..., en: ...}"
    ]
