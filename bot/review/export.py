"""Labelled examples as training data files: Rasa NLU YAML for intents, our risk_data YAML for risk levels.

`write_examples(examples, data_dir)` writes `data_dir/review_labelled.yml` (intents, the country word
annotated as a Rasa entity where the text names it) and, for examples with a risk level,
`risk_dir_for(data_dir)/review_labelled.yml`. It serves `sigurno nlu export [DIR]` (into nlu/data, to
commit with the next release) and the candidate model's training folder. Examples already in the other
files of `data_dir` (same text, same intent) are left out, so an export followed by a training does not
count them twice. The test sets (tests/data) are never a target, nor a source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings
from nlu.backends.builtin import risk_dir_for
from nlu.trainingdata import load_examples, load_synonyms

FILE_NAME = "review_labelled.yml"


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str
    country: str | None = None
    risk: str | None = None


class ExportRefused(ValueError):
    pass


def one_line(text: str) -> str:
    """A list item of a YAML block: one line, no leading '- ' confusion, no annotation-like brackets."""
    flat = " ".join(text.split())
    return re.sub(r"\](?=[({])", "] ", flat)  # "[x](y)" would read as an entity annotation


def _annotate(text: str, country: str | None, names: dict[str, list[str]]) -> str:
    if not country:
        return text
    for name in sorted(names.get(country, []), key=len, reverse=True):
        m = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE)
        if m and "[" not in m.group(0):
            value = json.dumps({"entity": "country", "value": country}, ensure_ascii=False)
            return f"{text[: m.start()]}[{m.group(0)}]{value}{text[m.end() :]}"
    return text


def _block(lines: list[str]) -> str:
    return "".join(f"    - {line}\n" for line in lines)


def write_examples(examples: Sequence[Labelled], data_dir: Path) -> tuple[int, int]:
    """Write the labelled examples beside the training data in `data_dir`; (intent, risk) examples written."""
    if "tests" in data_dir.resolve().parts:
        raise ExportRefused(f"{data_dir} is under tests/: the test sets are never training data")
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FILE_NAME
    others = [f for f in sorted(data_dir.glob("*.yml")) if f.name != FILE_NAME]
    known = {(e.text.strip().lower(), e.intent) for f in others for e in load_examples(f)}
    countries = data_dir / "countries.yml"
    names = load_synonyms(countries) if countries.is_file() else {}
    by_intent: dict[str, list[str]] = {}
    by_risk: dict[str, list[str]] = {}
    for e in examples:
        text = one_line(e.text)
        if not text or (text.lower(), e.intent) in known:
            continue
        by_intent.setdefault(e.intent, []).append(_annotate(text, e.country, names))
        if e.risk:
            by_risk.setdefault(e.risk, []).append(text)
    head = "# Labelled in the console's review page (what the bot did not understand); masked person text.\n"
    out = ['version: "3.1"\n', head, "nlu:\n"]
    for intent, lines in sorted(by_intent.items()):
        out += [f"- intent: {intent}\n", "  examples: |\n", _block(lines)]
    if not by_intent:
        out[-1] = "nlu: []\n"
    target.write_text("".join(out), encoding="utf-8")
    risk_dir = risk_dir_for(data_dir)
    risk_dir.mkdir(parents=True, exist_ok=True)
    risk = ['version: "1"\n', head, "risk:\n"]
    for level, lines in sorted(by_risk.items()):
        risk += [f"- level: {level}\n", "  examples: |\n", _block(lines)]
    if not by_risk:
        risk[-1] = "risk: []\n"
    (risk_dir / FILE_NAME).write_text("".join(risk), encoding="utf-8")
    return sum(map(len, by_intent.values())), sum(map(len, by_risk.values()))


async def export_from_database(settings: Settings, data_dir: Path) -> tuple[int, int]:
    """`sigurno nlu export [DIR]`: every labelled example in the database, written into `data_dir`."""
    from bot.storage.review_repo import ReviewRepo
    from bot.storage.store import Store
    from bot.wiring import secrets_for

    user_secret, data_key = secrets_for(settings)
    store = await Store.open(settings.storage.database_url, user_secret, data_key, schema=settings.storage.schema)
    try:
        examples = await ReviewRepo(store).examples()
    finally:
        await store.close()
    return write_examples([Labelled(e.text, e.intent, e.country, e.risk) for e in examples], data_dir)
