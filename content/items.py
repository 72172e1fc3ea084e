"""Content as editable items: every answer, section, contact, text ... with a stable id from its place.

`flatten(raw)` cuts the parsed content folder (`content.loader.read_tree`) into items; `unflatten(items)`
puts them back into the same tree, so the loader (`build_content`) and the checker (`check_raw`) read
content from the database exactly as they read the YAML files. An item's id is its file (without
`.yml`) and its path inside the file:

    answers/work_legally                  texts/greeting             topics/secure_job
    countries/DE/name                     countries/DE/sections/minimum_wage
    countries/DE/contacts/0               countries/BG/services/2    hotlines_bg/0
    jobcheck/questions/3                  jobcheck/verdicts/red      canned/replies/1

Item data is the YAML value made JSON-safe (dates as ISO strings): what the database stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from content.loader import Raw
from content.schema import COUNTRIES_DIR, validate_part

# Mappings (and lists) under these keys are cut into one item per entry; everything else is one item.
CONTAINERS = frozenset({"questions", "verdicts", "replies", "sections", "contacts", "services"})
PathPart = str | int

Kind = Literal[
    "text", "answer", "topic", "contact", "service", "section", "country_name", "question", "verdict", "canned", "field"
]


class Item(BaseModel):
    """One editable piece of content: where it lives in the YAML and its value."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Kind
    file: str  # relative to the content folder, e.g. countries/DE.yml
    path: tuple[PathPart, ...]  # inside the file
    data: Any  # JSON-safe


def json_safe(value: Any) -> Any:
    """Dates as ISO strings, mappings with string keys: the form the database keeps."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def item_id(file: str, path: Iterable[PathPart]) -> str:
    return "/".join([file.removesuffix(".yml").removesuffix(".yaml"), *(str(p) for p in path)])


def _kind(file: str, path: tuple[PathPart, ...]) -> Kind:
    top = file.split("/", 1)[0].removesuffix(".yml")
    if top == COUNTRIES_DIR:
        if path[0] == "sections":
            return "section"
        if path[0] == "contacts":
            return "contact"
        if path[0] == "services":
            return "service"
        return "country_name" if path == ("name",) else "field"
    if top == "jobcheck":
        return "question" if path[0] == "questions" else "verdict" if path[0] == "verdicts" else "field"
    if top == "canned":
        return "canned" if path[0] == "replies" else "field"
    return {"texts": "text", "answers": "answer", "topics": "topic", "hotlines_bg": "contact"}.get(top, "field")  # type: ignore[return-value]


def flatten(raw: Raw) -> list[Item]:
    """Every item of the parsed content folder, in file order then document order."""
    out: list[Item] = []

    def walk(file: str, node: Any, path: tuple[PathPart, ...], split: bool) -> None:
        entries: list[tuple[PathPart, Any]] = []
        if split and isinstance(node, Mapping) and node:
            entries = [(str(k), v) for k, v in node.items()]
        elif split and isinstance(node, list) and node:
            entries = list(enumerate(node))
        if not entries:
            out.append(Item(id=item_id(file, path), kind=_kind(file, path), file=file, path=path, data=json_safe(node)))
            return
        for key, value in entries:
            walk(file, value, (*path, key), isinstance(key, str) and key in CONTAINERS and len(path) == 0)

    for file in sorted(raw, key=_file_order):
        tree = raw[file]
        if isinstance(tree, Mapping) and tree:
            for key, value in tree.items():
                walk(file, value, (str(key),), str(key) in CONTAINERS)
        elif isinstance(tree, list) and tree:
            for i, value in enumerate(tree):
                walk(file, value, (i,), False)
    return out


def _file_order(name: str) -> tuple[int, str]:
    return (1 if name.startswith(f"{COUNTRIES_DIR}/") else 0, name)


def unflatten(items: Iterable[Item]) -> Raw:
    """The parsed content folder again: items in their order, each set at its path in its file."""
    raw: Raw = {}
    for item in items:
        if not item.path:
            raw[item.file] = item.data
            continue
        if item.file not in raw:
            raw[item.file] = [] if isinstance(item.path[0], int) else {}
        node = raw[item.file]
        for here, nxt in zip(item.path, item.path[1:], strict=False):
            node = _child(node, here, [] if isinstance(nxt, int) else {})
        _set(node, item.path[-1], item.data)
    return raw


def _child(node: Any, key: PathPart, empty: Any) -> Any:
    if isinstance(node, list):
        assert isinstance(key, int)
        while len(node) <= key:
            node.append(None)
        if node[key] is None:
            node[key] = empty
        return node[key]
    return node.setdefault(key, empty)


def _set(node: Any, key: PathPart, value: Any) -> None:
    if isinstance(node, list):
        assert isinstance(key, int)
        while len(node) <= key:
            node.append(None)
    node[key] = value


# --- what an editor edits ------------------------------------------------------------------------

# The one localized field an item's "texts" stand for (None: the item itself is a localized text).
MAIN_TEXT: Mapping[str, str | None] = {
    "text": None,
    "verdict": None,
    "country_name": None,
    "answer": "text",
    "section": "text",
    "question": "text",
    "canned": "text",
    "topic": "answer",
    "contact": "name",
    "service": "name",
}
FACT_KINDS = frozenset({"answer", "section", "question", "contact", "service"})  # carry source and checked


def texts_of(item: Item) -> dict[str, str]:
    """The item's main text per language ({} for items without one, e.g. a country code)."""
    if item.kind not in MAIN_TEXT:
        return {}
    field = MAIN_TEXT[item.kind]
    value = item.data if field is None else (item.data or {}).get(field) if isinstance(item.data, dict) else None
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def with_texts(item: Item, texts: Mapping[str, str]) -> Any:
    """The item's data with its main text's languages replaced (an empty text removes that language)."""
    field = MAIN_TEXT.get(item.kind, "")
    if field == "":
        raise ValueError(f"a {item.kind} item has no text to edit")
    data = json_safe(item.data)
    current = data if field is None else (data.get(field) if isinstance(data, dict) else None)
    merged = dict(current) if isinstance(current, dict) else {}
    for lang, text in texts.items():
        if text.strip():
            merged[lang] = text
        else:
            merged.pop(lang, None)
    if field is None:
        return merged
    data[field] = merged
    return data


def problems_of(item: Item) -> list[str]:
    """What the content schema finds wrong with an item's value (a draft), each "file: key: problem"."""
    return validate_part(item.kind, item.file, item.path, item.data)
