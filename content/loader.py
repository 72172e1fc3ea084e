"""Reads content/data/*.yml into the typed model (content.model).

Each file is validated by its model in `content.schema` (shape and types: unknown keys, a text that is
not a mapping of languages, a malformed date or phone number ...); `load_content` raises ContentError
listing every problem. The valid documents are then mapped onto the immutable dataclasses the engine
reads. Completeness and quality (every language present, every section, sources, links, staleness)
are the job of `content.check`, which reuses `read_tree` and `content.schema.validate_tree`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from content import schema
from content.model import (
    Amount,
    Answer,
    Contact,
    Content,
    ContentError,
    CountryCard,
    Fact,
    JobQuestion,
    Localized,
    Topic,
)
from content.schema import COUNTRIES_DIR

TOP_FILES: tuple[str, ...] = ("texts.yml", "answers.yml", "topics.yml", "hotlines_bg.yml", "jobcheck.yml")
OPTIONAL_FILES: tuple[str, ...] = ("canned.yml",)  # read (and checked) when present: the mediators' canned replies

Raw = dict[str, Any]  # file name relative to the content folder (posix) -> parsed YAML


def default_content_dir() -> Path:
    """The packaged content/data folder."""
    return Path(__file__).resolve().parent / "data"

    return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML would keep the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, str | int | float | bool | date) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        if isinstance(key, str | int | float | bool | date):
            seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe


def read_tree(directory: Path) -> tuple[Raw, list[str]]:
    """Parse every content file. Returns the parsed files and the problems (missing file, bad YAML)."""
    raw: Raw = {}
    problems: list[str] = []
    if not directory.is_dir():
        return raw, [f"{directory}: -: content folder not found"]
    names = list(TOP_FILES) + [n for n in OPTIONAL_FILES if (directory / n).is_file()]
    countries = directory / COUNTRIES_DIR
    if countries.is_dir():
        names += sorted(f"{COUNTRIES_DIR}/{p.name}" for p in countries.iterdir() if p.suffix in (".yml", ".yaml"))
    else:
        problems.append(f"{COUNTRIES_DIR}/: -: folder not found")
    for name in names:
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: -: file not found")
            continue
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: -: not valid YAML: {' '.join(str(exc).split())}")
            continue
        if data is None:
            problems.append(f"{name}: -: file is empty")
            continue
        raw[name] = data
    return raw, problems


def load_content(directory: Path) -> Content:
    """Load and type the content folder; raises ContentError naming file and key on malformed content."""
    raw, problems = read_tree(directory)
    content = build_content(raw, problems)
    if problems:
        head = problems[0] if len(problems) == 1 else f"{len(problems)} content problems:\n" + "\n".join(problems)
        raise ContentError(head, tuple(problems))
    return content


def build_content(raw: Raw, problems: list[str]) -> Content:
    """Type the parsed files, appending their problems to `problems`; a file with a problem is left out."""
    docs = schema.validate_tree(raw, problems)
    countries = [_country(c) for c in docs.countries.values()]
    jobcheck = docs.jobcheck
    return Content(
        texts={k: Localized(v) for k, v in (docs.texts or {}).items()},
        answers={
            k: Answer(k, Localized(a.text), a.source or None, a.checked, a.source_date)
            for k, a in (docs.answers or {}).items()
        },
        topics={
            k: Topic(k, Localized(t.title), Localized(t.answer), tuple(map(Localized, t.checklist)), Localized(t.story))
            for k, t in (docs.topics or {}).items()
        },
        countries={c.code: c for c in countries},
        hotlines_bg=tuple(map(_contact, docs.hotlines or ())),
        jobcheck=tuple(
            JobQuestion(q.id, Localized(q.text), q.red_if, q.weight, Localized(q.meaning), q.source or None, q.checked)
            for q in (jobcheck.questions if jobcheck else ())
        ),
        verdicts={k: Localized(v) for k, v in (jobcheck.verdicts if jobcheck else {}).items()},
    )


def _localized(text: dict[str, str] | None) -> Localized | None:
    return None if text is None else Localized(text)


def _contact(c: schema.Contact) -> Contact:
    # A localized address: the model holds one string, the Bulgarian form (as on signs).
    address = Localized(c.address).get("bg") if isinstance(c.address, dict) else c.address
    return Contact(
        kind=c.kind,
        name=Localized(c.name),
        phone=c.phone,
        note=_localized(c.note),
        url=c.url or None,
        address=address or None,
        source=c.source or None,
        checked=c.checked,
        urgent=c.urgent,
        source_date=c.source_date,
    )


def _fact(key: str, s: schema.Section) -> Fact:
    amounts = () if s.amount is None or isinstance(s.amount, str) else s.amount
    return Fact(
        key=key,
        text=Localized(s.text),
        status=s.status,
        source=s.source or None,
        checked=s.checked,
        source_date=s.source_date,
        amount=s.amount if isinstance(s.amount, str) else None,
        year=s.year,
        amounts=tuple(Amount(a.value, a.currency, a.per, _localized(a.note)) for a in amounts),
    )


def _country(c: schema.Country) -> CountryCard:
    return CountryCard(
        code=c.code,
        name=Localized(c.name),
        sections={k: _fact(k, s) for k, s in c.sections.items()},
        contacts=tuple(map(_contact, c.contacts)),
        services=tuple(map(_contact, c.services)),
    )
