"""The staff studio's rules, shared by the console API and the command line.

- `content_from(items)`: the typed Content the bot answers with, built from database items by the same
  loader that reads the YAML (`load_content_version` is what bot/live.py's Follower calls on a publish).
- `check_items(items)`: the `content check` errors of content made of these items (blocks a publish).
- `phones_changed(old, new)`: whether a draft adds or changes a phone number (four eyes).
- `stale_facts(items, today, days)`: facts by age, with the date that matters (a wage with `year: 2026`
  is due on 1 January 2027 and shows from December).
- `preview(content, item, lang, channel)`: the messages a channel would get, built by the bot's own
  engine, `bot.channels.render.fit` and each channel's payload code.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import aiohttp

from bot.channels import render
from bot.channels.messenger import MessengerChannel
from bot.channels.telegram import TelegramChannel, message_bodies
from bot.channels.viber import ViberChannel
from bot.storage.content_repo import ContentRepo
from content import Content, ContentError
from content.check import check_raw
from content.export import file_text
from content.items import FACT_KINDS, Item, flatten, texts_of, unflatten
from content.loader import build_content, read_tree
from dialogues.engine import Engine
from dialogues.types import Context, Event, Reply
from nlu.types import NluResult

CHANNELS = ("viber", "messenger", "telegram", "web")
DUE_SOON_DAYS = 31  # a fact whose date that matters is this close shows as stale


def content_from(items: Sequence[Item]) -> Content:
    problems: list[str] = []
    content = build_content(unflatten(items), problems)
    if problems:
        raise ContentError(f"{len(problems)} content problems: {problems[0]}", tuple(problems))
    return content


def check_items(items: Sequence[Item], today: date | None = None) -> list[str]:
    return check_raw(unflatten(items), today=today).errors


def loader(repo: ContentRepo) -> Any:
    """`follower.follow(CONTENT, live_content, loader(repo))`: builds the content of a published version."""

    async def load_content_version(version: int) -> Content:
        return content_from(await repo.state_at(version))

    return load_content_version


async def import_folder(repo: ContentRepo, directory: Path, author: str, *, first: bool) -> int:
    """Import content/data (or another folder) into the database; see ContentRepo.import_items."""
    raw, problems = read_tree(directory)
    if problems:
        raise ContentError(f"{len(problems)} content problems: {problems[0]}", tuple(problems))
    content_from(flatten(raw))  # refuse a folder the bot could not load
    seeds = {name: (directory / name).read_text(encoding="utf-8") for name in raw}
    return await repo.import_items(flatten(raw), seeds, author, first=first)


async def export_folder(repo: ContentRepo, directory: Path) -> list[str]:
    """Write the published content as YAML files under `directory`; the files written."""
    tree = unflatten([p.item for p in await repo.items()])
    seeds = await repo.seeds()
    written = []
    for name in sorted(tree):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file_text(seeds.get(name), tree[name]), encoding="utf-8")
        written.append(name)
    return written


def _phones(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in ([str(v)] if k == "phone" and v is not None else _phones(v))]
    if isinstance(value, list):
        return [p for v in value for p in _phones(v)]
    return []


def phones_changed(old: Any, new: Any) -> bool:
    return _phones(old) != _phones(new)


# --- stale facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleFact:
    id: str
    kind: str
    checked: date | None
    age_days: int | None
    due: date | None  # the date the fact is known to change (1 January after its `year`)
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "checked": self.checked.isoformat() if self.checked else None,
            "age_days": self.age_days,
            "due": self.due.isoformat() if self.due else None,
            "reason": self.reason,
        }


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def fact_dates(item: Item, today: date) -> tuple[date | None, int | None, date | None]:
    data = item.data if isinstance(item.data, dict) else {}
    checked = _date(data.get("checked"))
    year = data.get("year")
    due = date(year + 1, 1, 1) if isinstance(year, int) and not isinstance(year, bool) else None
    return checked, (today - checked).days if checked else None, due


def stale_facts(items: Iterable[Item], today: date, days: int, *, all_facts: bool = False) -> list[StaleFact]:
    """Facts (answers, sections, contacts, job-check questions) checked more than `days` ago, due to change
    within DUE_SOON_DAYS (or overdue), or never checked; with `all_facts`, every fact. Most urgent first."""
    out = []
    for item in items:
        if item.kind not in FACT_KINDS or not isinstance(item.data, dict):
            continue
        if item.data.get("status") == "unverified":
            continue
        checked, age, due = fact_dates(item, today)
        reasons = []
        if due is not None and (due - today).days <= DUE_SOON_DAYS:
            reasons.append(f"changes on {due.isoformat()}" if due > today else f"changed on {due.isoformat()}")
        if age is None:
            if item.data.get("source"):
                reasons.append("no checked date")
        elif age > days:
            reasons.append(f"checked {age} days ago")
        if reasons or all_facts:
            out.append(StaleFact(item.id, item.kind, checked, age, due, "; ".join(reasons)))

    def urgency(f: StaleFact) -> tuple[int, int]:
        due_in = (f.due - today).days if f.due else 10**6
        return (min(due_in, days - (f.age_days if f.age_days is not None else 10**6)), -(f.age_days or 0))

    return sorted(out, key=urgency)


# --- preview -------------------------------------------------------------------------------------


def _replies(content: Content, item: Item, lang: str) -> tuple[Reply, ...]:
    """What the bot says where this item shows, from the bot's own engine (the item's text alone otherwise)."""
    parts = item.id.split("/")
    state: dict[str, Any] = {"started": True, "lang": lang, "misses": 0}
    event: Event | None = None
    nlu: NluResult | None = None
    if item.kind == "answer":
        event, nlu = Event("text", text="…"), NluResult("…", parts[1], 1.0, None, "none", language=cast(Any, lang))
    elif item.kind == "section":
        event = Event("payload", payload=f"sec:{parts[1]}:{parts[3]}")
    elif item.kind in ("country_name", "contact", "service") and parts[0] == "countries":
        event = Event("payload", payload=f"country:{parts[1]}")
    elif item.kind == "contact":
        state["where"] = "BG"
        event = Event("payload", payload="menu:hotlines")
    elif item.kind == "topic":
        event = Event("payload", payload=f"topic:{parts[1]}")
    if event is not None:
        ctx = Context(now=datetime.now(UTC))
        result = Engine(content).step(state, nlu, event, ctx)
        if result.replies:
            return result.replies
    texts = texts_of(item)
    text = texts.get(lang) or texts.get("bg") or next(iter(texts.values()), "")
    return (Reply(text=text),)


def _reply_json(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "buttons": [b.title for b in reply.buttons]}


_NO_SESSION = cast(aiohttp.ClientSession, None)  # the payload builders never send


def preview(content: Content, item: Item, lang: str, channel: str) -> dict[str, Any]:
    """{"channel", "messages": [{"text", "buttons": [title ...]}], "payloads": [what the platform gets]}."""
    replies = _replies(content, item, lang)
    if channel == "web":
        from bot.web.app import reply_json  # here: bot.web.app imports the wiring, which imports this module

        # the web chat gets the replies as they are (bot/web/app.py reply_json)
        return {"channel": channel, "messages": [_reply_json(r) for r in replies], "payloads": [reply_json(replies)]}
    payloads: list[dict[str, Any]]
    if channel == "viber":
        viber = ViberChannel("preview", "http://127.0.0.1", _NO_SESSION)
        parts = [p for group in render.fit(replies, viber.capabilities) for p in group]
        payloads = [body for p in parts for body in viber.messages(p)]
        shown = [
            {"text": b.get("text", ""),
             "buttons": [html.unescape(k["Text"]) for k in (b.get("keyboard") or {}).get("Buttons", [])]}
            for b in payloads
        ]  # fmt: skip
    elif channel == "messenger":
        messenger = MessengerChannel("preview", "preview", "preview", "http://127.0.0.1", _NO_SESSION)
        parts = [p for group in render.fit(replies, messenger.capabilities) for p in group]
        payloads = [body for p in parts for body in messenger.build_messages("PERSON", p)]
        shown = [
            {
                "text": b["message"].get("text", ""),
                "buttons": [q["title"] for q in b["message"].get("quick_replies", [])],
            }
            for b in payloads
        ]
    elif channel == "telegram":
        parts = [p for group in render.fit(replies, TelegramChannel.capabilities) for p in group]
        payloads = [body for p in parts for body in message_bodies(0, p)]
        shown = [
            {"text": b["text"],
             "buttons": [k["text"] for row in (b.get("reply_markup") or {}).get("inline_keyboard", []) for k in row]}
            for b in payloads
        ]  # fmt: skip
    else:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    return {"channel": channel, "messages": shown, "payloads": payloads}
