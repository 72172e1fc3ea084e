"""The storage contract, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.storage.crypto import person_key
from bot.storage.migrations import current_revision, downgrade, head_revision, upgrade
from bot.storage.models import Base, Case, Person
from bot.storage.store import Store, StoreError, TurnWrite, UnknownCase, UnknownPerson
from tests import peek

from .conftest import USER_KEY_SECRET, Backend

RAW_ID = "tg-4815162342-raw"
T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


# -- people and pseudonymous keys -------------------------------------------------------------------


async def test_person_keys_are_stable_and_pseudonymous(store: Store) -> None:
    first = await store.person("telegram", RAW_ID, "bg")
    again = await store.person("telegram", RAW_ID)
    other_channel = await store.person("viber", RAW_ID)

    assert first.key == again.key == person_key(USER_KEY_SECRET, "telegram", RAW_ID)
    assert re.fullmatch(r"[0-9a-f]{32}", first.key)
    assert other_channel.key != first.key
    for key in (first.key, other_channel.key):
        assert RAW_ID not in key and "4815162342" not in key
    assert (first.channel, again.language) == ("telegram", "bg")
    assert await store.platform_id(first.key) == RAW_ID
    assert await store.platform_id("0" * 32) is None


async def test_raw_platform_id_is_never_stored_in_plain_text(store: Store, backend: Backend) -> None:
    person = await store.person("viber", RAW_ID, "en")
    await store.add_message(person.key, "in", "text", "hello")
    await store.record_turn(TurnWrite("viber", RAW_ID, state={"step": "menu"}, version=0))
    await store.open_case(person.key, priority="high", signals=["distress"], country="DE", channel="viber")

    dump = await backend.raw_dump()
    assert person.key.encode() in dump  # the dump really holds the data
    assert RAW_ID.encode() not in dump
    assert b"4815162342" not in dump
    assert RAW_ID.encode("utf-16-le") not in dump
    assert await store.platform_id(person.key) == RAW_ID


async def test_language_and_last_seen(store: Store, backend: Backend) -> None:
    backend.clock.now = T0
    p = await store.person("messenger", "psid-1")
    assert p.language is None
    assert (await store.person("messenger", "psid-1", "ru")).language == "ru"  # filled when unknown
    assert (await store.person("messenger", "psid-1", "en")).language == "ru"  # not overwritten

    backend.clock.now = T0 + timedelta(hours=5)
    await store.person("messenger", "psid-1")
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(Person.created_at, Person.last_seen_at).where(Person.key == p.key))).one()
    assert row.created_at == T0
    assert row.last_seen_at == T0 + timedelta(hours=5)
    assert row.last_seen_at.tzinfo == UTC


# -- conversation state -------------------------------------------------------------------------------


async def test_state_round_trip_and_stale_save(store: Store) -> None:
    key = (await store.person("telegram", "1")).key
    assert await store.load_state(key) == ({}, 0)

    async def save(state: dict[str, Any], version: int) -> bool:
        """A turn's state write; True when it was saved, False when stale (someone saved in between)."""
        return not (await store.record_turn(TurnWrite("telegram", "1", state=state, version=version))).stale

    state = {"step": "country", "country": "DE", "history": ["hi", "работа"], "n": 3, "ok": True, "x": None}
    assert await save(state, 0)
    assert await store.load_state(key) == (state, 1)
    assert not await save({"step": "other"}, 0)  # someone else already created it
    assert await save({"step": "two"}, 1)
    assert not await save({"step": "late"}, 1)  # loaded version 1, but 2 is stored
    assert await store.load_state(key) == ({"step": "two"}, 2)


async def test_concurrent_state_saves_let_exactly_one_win(store: Store) -> None:
    key = (await store.person("telegram", "1")).key
    await store.record_turn(TurnWrite("telegram", "1", state={"n": 0}, version=0))
    results = await asyncio.gather(
        *(store.record_turn(TurnWrite("telegram", "1", state={"n": i}, version=1)) for i in range(10))
    )
    assert [i for i, r in enumerate(results) if not r.stale] == [(await store.load_state(key))[0]["n"]]
    assert (await store.load_state(key))[1] == 2


# -- messages -----------------------------------------------------------------------------------------


async def test_messages_transcript_and_delivery(store: Store) -> None:
    key = (await store.person("viber", "v1")).key
    ids = [await store.add_message(key, "in" if i % 2 else "out", "text", f"m{i}") for i in range(5)]
    sticker = await store.add_message(key, "in", "sticker", platform_message_id="tok-9")

    full = await store.transcript(key)
    assert [m.id for m in full] == [*ids, sticker]
    assert [m.text for m in full] == ["m0", "m1", "m2", "m3", "m4", None]
    assert full[-1].kind == "sticker" and full[-1].platform_message_id == "tok-9"
    assert all(m.created_at.tzinfo == UTC for m in full)
    assert [m.text for m in await store.transcript(key, limit=2)] == ["m4", None]  # the last two, oldest first

    out = ids[0]
    assert await store.set_delivery(out, "sent")
    assert await store.set_delivery(out, "seen")
    assert not await store.set_delivery(out, "delivered")  # a late receipt never downgrades
    assert (await store.transcript(key))[0].delivery_status == "seen"
    assert await store.set_delivery(ids[2], "failed", "403 blocked by user")
    failed = (await store.transcript(key))[2]
    assert (failed.delivery_status, failed.delivery_error) == ("failed", "403 blocked by user")
    assert await store.set_delivery(ids[2], "delivered")
    delivered = (await store.transcript(key))[2]
    assert (delivered.delivery_status, delivered.delivery_error) == ("delivered", None)
    assert not await store.set_delivery(999_999, "seen")

    with pytest.raises(UnknownPerson):
        await store.add_message("d" * 32, "in", "text", "x")
    with pytest.raises(ValueError):
        await store.add_message(key, "sideways", "text", "x")
    with pytest.raises(UnknownCase):
        await store.add_message(key, "out", "text", "x", case_id=424242)


async def test_messages_for_case(store: Store, backend: Backend) -> None:
    a = (await store.person("telegram", "a")).key
    b = (await store.person("telegram", "b")).key
    backend.clock.now = T0
    await store.add_message(a, "in", "text", "before the case")
    backend.clock.now = T0 + timedelta(minutes=1)
    case, _ = await store.open_case(a, priority="urgent", signals=["violence"], country=None, channel="telegram")
    backend.clock.now = T0 + timedelta(minutes=2)
    await store.add_message(a, "out", "text", "bot: a mediator will write")
    await store.add_message(b, "in", "text", "someone else")
    await store.add_message(a, "mediator", "text", "mediator: hello", case_id=case.id)
    backend.clock.now = T0 + timedelta(minutes=3)
    await store.move_case(case.id, "close", "mira", outcome="referred")
    backend.clock.now = T0 + timedelta(minutes=4)
    await store.add_message(a, "in", "text", "after the case")

    texts = [m.text for m in await store.messages_for_case(case.id)]
    assert texts == ["bot: a mediator will write", "mediator: hello"]
    assert await store.messages_for_case(987654) == []
    with pytest.raises(ValueError):
        await store.add_message(b, "out", "text", "x", case_id=case.id)  # not b's case


# -- cases --------------------------------------------------------------------------------------------


async def test_one_open_case_per_person(store: Store, backend: Backend) -> None:
    key = (await store.person("telegram", "1")).key
    case, created = await store.open_case(
        key, priority="normal", signals=["no_contract"], country="DE", channel="telegram"
    )
    assert created and case.status == "queued" and case.is_open
    assert (case.priority, case.signals, case.country, case.channel) == ("normal", ("no_contract",), "DE", "telegram")
    again, created_again = await store.open_case(key, priority="normal", signals=[], country=None, channel="telegram")
    assert not created_again and again.id == case.id
    assert await peek.open_case_of(store, key) == again

    # the database itself refuses a second open case
    now = datetime.now(UTC)
    values = dict(person_key=key, status="queued", priority="normal", signals=[], channel="telegram")
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(insert(Case).values(**values, created_at=now, updated_at=now))

    closed = await store.move_case(case.id, "close", "mira", outcome="resolved")
    assert closed is not None and closed.status == "closed" and closed.outcome == "resolved"
    assert closed.closed_at is not None and not closed.is_open
    assert await peek.open_case_of(store, key) is None
    new, created_new = await store.open_case(key, priority="high", signals=[], country=None, channel="telegram")
    assert created_new and new.id != case.id
    assert [c.id for c in await store.list_cases()] == [new.id, case.id]

    with pytest.raises(UnknownPerson):
        await store.open_case("c" * 32, priority="high", signals=[], country=None, channel="telegram")


async def test_twenty_concurrent_open_case_calls_make_one_case(store: Store) -> None:
    key = (await store.person("viber", "rush")).key
    results = await asyncio.gather(
        *(
            store.open_case(
                key, priority="urgent" if i == 7 else "high", signals=[f"s{i % 3}"], country="NL", channel="viber"
            )
            for i in range(20)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({case.id for case, _ in results}) == 1
    open_cases = [c for c in await store.list_cases() if c.person_key == key]
    assert len(open_cases) == 1
    final = open_cases[0]
    assert final.status == "queued" and final.priority == "urgent"
    assert sorted(final.signals) == ["s0", "s1", "s2"]
    kinds = [e.kind for e in await store.case_events(final.id)]
    assert kinds.count("opened") == 1


async def test_concurrent_open_case_from_two_processes(backend: Backend) -> None:
    one = await backend.open()
    two = await backend.open(migrate=False)
    key = (await one.person("telegram", "two-processes")).key
    results = await asyncio.gather(
        *(
            (one if i % 2 else two).open_case(
                key, priority="normal", signals=["distress"], country=None, channel="telegram"
            )
            for i in range(20)
        )
    )
    assert sum(created for _, created in results) == 1
    assert len({case.id for case, _ in results}) == 1
    assert len(await two.list_cases("queued")) == 1


async def test_priority_is_raised_never_lowered_and_signals_merge(store: Store) -> None:
    key = (await store.person("telegram", "1")).key
    case, _ = await store.open_case(key, priority="normal", signals=["no_contract"], country=None, channel="telegram")
    same, _ = await store.open_case(key, priority="normal", signals=["no_contract"], country=None, channel="telegram")
    assert same == case  # nothing new: nothing written

    raised, created = await store.open_case(
        key, priority="urgent", signals=["violence", "no_contract"], country="DE", channel="telegram"
    )
    assert not created and raised.id == case.id
    assert raised.priority == "urgent" and raised.signals == ("no_contract", "violence") and raised.country == "DE"
    assert raised.updated_at >= case.updated_at

    kept, _ = await store.open_case(key, priority="high", signals=["threats"], country="AT", channel="telegram")
    assert kept.priority == "urgent" and kept.signals == ("no_contract", "violence", "threats")
    assert kept.country == "DE"  # an open case keeps its country

    events = await store.case_events(case.id)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", "bot"),
        ("priority_raised", "bot"),
        ("signals_added", "bot"),
    ]
    assert events[1].data == {"from": "normal", "to": "urgent", "signals": ["violence"]}
    assert events[2].data == {"signals": ["threats"]}


async def test_case_lifecycle_events_and_queue_order(store: Store, backend: Backend) -> None:
    keys = [(await store.person("telegram", str(i))).key for i in range(4)]
    backend.clock.now = T0
    normal, _ = await store.open_case(keys[0], priority="normal", signals=[], country=None, channel="telegram")
    backend.clock.now = T0 + timedelta(minutes=1)
    urgent_late, _ = await store.open_case(keys[1], priority="urgent", signals=[], country=None, channel="telegram")
    backend.clock.now = T0 + timedelta(minutes=2)
    high, _ = await store.open_case(keys[2], priority="high", signals=[], country=None, channel="telegram")
    backend.clock.now = T0 - timedelta(minutes=1)
    urgent_early, _ = await store.open_case(keys[3], priority="urgent", signals=[], country=None, channel="telegram")
    assert [c.id for c in await store.list_cases()] == [urgent_early.id, urgent_late.id, high.id, normal.id]

    backend.clock.now = T0 + timedelta(minutes=5)
    claimed = await store.move_case(high.id, "claim", "mira")
    assert claimed is not None and (claimed.status, claimed.assignee) == ("assigned", "mira")
    assert await store.move_case(high.id, "claim", "ivan") is None  # one mediator wins
    await store.add_case_event(high.id, "note", "mira", {"text": "called back"})
    released = await store.move_case(high.id, "release", "system", reason="idle")
    assert released is not None and released.status == "released" and released.closed_at is not None
    assert await store.move_case(high.id, "close", "mira", outcome="late") is None  # no longer open

    assert [c.id for c in await store.list_cases("queued")] == [urgent_early.id, urgent_late.id, normal.id]
    assert [c.id for c in await store.list_cases("released")] == [high.id]
    events = await store.case_events(high.id)
    assert [(e.kind, e.actor) for e in events] == [
        ("opened", "bot"),
        ("assigned", "mira"),
        ("note", "mira"),
        ("released", "system"),
    ]
    assert events[2].data == {"text": "called back"} and events[3].data == {"reason": "idle"}
    assert all(e.created_at.tzinfo == UTC for e in events)
    assert await store.get_case(high.id) == released
    assert await store.get_case(123456) is None
    with pytest.raises(UnknownCase):
        await store.add_case_event(123456, "note", "mira")


# -- privacy: erasure and retention ----------------------------------------------------------------


async def test_erase_person_removes_everything(store: Store, backend: Backend) -> None:
    secret_text = "my passport was taken by Zdravko"
    victim = await store.person("telegram", RAW_ID, "bg")
    other = await store.person("telegram", "someone-else")
    await store.record_turn(TurnWrite("telegram", RAW_ID, state={"step": "handoff"}, version=0))
    await store.record_turn(TurnWrite("telegram", "someone-else", state={"step": "menu"}, version=0))
    await store.add_message(victim.key, "in", "text", secret_text)
    case, _ = await store.open_case(
        victim.key, priority="urgent", signals=["document_retention"], country="DE", channel="telegram"
    )
    await store.move_case(case.id, "claim", "mira")
    await store.add_message(victim.key, "mediator", "text", "we can help", case_id=case.id)
    await store.add_case_event(case.id, "note", "mira", {"text": "passport"})
    await store.add_message(other.key, "in", "text", "hello")
    assert len(await store.transcript(victim.key)) == 2

    await store.erase_person(victim.key)

    assert await store.platform_id(victim.key) is None
    assert await store.load_state(victim.key) == ({}, 0)
    assert await store.transcript(victim.key) == []
    assert await store.get_case(case.id) is None
    assert await store.case_events(case.id) == []
    assert await backend.count_rows() == {"people": 1, "conversations": 1, "messages": 1, "cases": 0, "case_events": 0}
    dump = await backend.raw_dump()
    assert victim.key.encode() not in dump
    assert secret_text.encode() not in dump
    assert b"Zdravko" not in dump
    # the other person is untouched
    assert await store.load_state(other.key) == ({"step": "menu"}, 1)
    assert [m.text for m in await store.transcript(other.key)] == ["hello"]
    await store.erase_person(victim.key)  # erasing again is harmless


async def test_prune_blanks_text_after_retention(store: Store, backend: Backend) -> None:
    day = timedelta(days=1)
    clock = backend.clock
    keys = {
        name: (await store.person("viber", name)).key
        for name in ("closed_long_ago", "closed_lately", "no_case", "open", "new_case")
    }

    async def say(name: str, at: datetime, text: str) -> int:
        clock.now = at
        return await store.add_message(keys[name], "in", "text", text)

    async def case(name: str, opened: datetime, closed: datetime | None) -> int:
        clock.now = opened
        c, _ = await store.open_case(keys[name], priority="high", signals=[], country=None, channel="viber")
        if closed is not None:
            clock.now = closed
            assert await store.move_case(c.id, "close", "mira", outcome="resolved") is not None
        return c.id

    # A: a case closed 98 days before "now" -> its messages go
    await case("closed_long_ago", T0, T0 + 2 * day)
    await say("closed_long_ago", T0 + day, "msg-A1-zq")
    # B: old messages, but the case closed 50 days ago -> kept until 90 days after closing
    await case("closed_lately", T0, T0 + 50 * day)
    await say("closed_lately", T0 + day, "msg-B1-zq")
    # C: no case: old message goes, recent one stays
    await say("no_case", T0, "msg-C-old-zq")
    await say("no_case", T0 + 95 * day, "msg-C-new-zq")
    # D: an open case keeps everything
    await case("open", T0, None)
    await say("open", T0 + day, "msg-D1-zq")
    # E: an old closed case (its text goes) and a new open case (stays)
    await case("new_case", T0, T0 + 3 * day)
    await say("new_case", T0 + 2 * day, "msg-E-old-zq")
    await case("new_case", T0 + 99 * day, None)
    await say("new_case", T0 + 99 * day, "msg-E-new-zq")

    now = T0 + 100 * day
    assert await store.prune_messages(90, now=now) == 3
    texts = {name: [m.text for m in await store.transcript(key)] for name, key in keys.items()}
    assert texts == {
        "closed_long_ago": [None],
        "closed_lately": ["msg-B1-zq"],
        "no_case": [None, "msg-C-new-zq"],
        "open": ["msg-D1-zq"],
        "new_case": [None, "msg-E-new-zq"],
    }
    assert await store.prune_messages(90, now=now) == 0  # nothing left to prune
    assert len(await store.transcript(keys["no_case"])) == 2  # rows stay, text goes
    clock.now = now
    assert await store.prune_messages(1) == 2  # the clock's "now" by default: B1 and C-new (D1, E-new: open cases)
    dump = await backend.raw_dump()
    for gone in (b"msg-A1-zq", b"msg-C-old-zq", b"msg-E-old-zq", b"msg-B1-zq", b"msg-C-new-zq"):
        assert gone not in dump or backend.name == "postgres"  # SQLite: scrubbed from the file and the WAL
    with pytest.raises(ValueError):
        await store.prune_messages(-1)


# -- migrations ----------------------------------------------------------------------------------------


def _schema_diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata))


async def test_migrations_twice_are_a_no_op_and_match_the_models(backend: Backend) -> None:
    store = await backend.open()
    key = (await store.person("telegram", "1")).key
    await store.add_message(key, "in", "text", "survives")

    await upgrade(backend.url, schema=backend.schema)
    await upgrade(store.engine, schema=backend.schema)
    second = await backend.open()  # migrate=True again

    assert await current_revision(store.engine) == head_revision()
    assert [m.text for m in await second.transcript(key)] == ["survives"]
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_schema_diff) == []
        versions = (await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one()
    assert versions == 1


async def test_downgrade_to_base_and_up_again(backend: Backend) -> None:
    store = await backend.open()
    await downgrade(store.engine, "base", schema=backend.schema)
    assert await current_revision(store.engine) is None
    await upgrade(store.engine, schema=backend.schema)
    assert (await store.person("telegram", "1")).channel == "telegram"


async def test_open_without_migrations_needs_a_migrated_database(backend: Backend) -> None:
    with pytest.raises(StoreError, match="migrate=True"):
        await backend.open(migrate=False)


async def test_times_are_utc_aware_even_from_other_zones(store: Store, backend: Backend) -> None:
    sofia = datetime(2025, 6, 1, 12, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Sofia"))
    backend.clock.now = sofia
    key = (await store.person("telegram", "1")).key
    case, _ = await store.open_case(key, priority="normal", signals=[], country=None, channel="telegram")
    assert case.created_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert case.created_at.tzinfo == UTC
    backend.clock.now = datetime(2025, 6, 1, 12, 0)  # naive: refused
    with pytest.raises(ValueError):
        await store.add_message(key, "in", "text", "x")
