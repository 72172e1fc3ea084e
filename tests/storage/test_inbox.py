"""The webhook inbox, one-transaction turns and delivery records, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.storage import engine as engine_module
from bot.storage.engine import make_engine
from bot.storage.store import Delivery, InboxMark, InboxMoved, Store, TurnWrite
from tests import peek
from tests.storage.conftest import Backend

LATER = datetime.now(UTC) + timedelta(days=1)


async def _add(
    store: Store, channel: str, items: list[tuple[str, str, str | None, str, str | None]]
) -> list[int | None]:
    return await store.inbox_add(channel, items)


async def test_inbox_takes_each_key_once_and_keeps_the_body_encrypted(store: Store, backend: Backend) -> None:
    secret_text = "they took my passport zq"
    ids = await _add(
        store,
        "viber",
        [
            ("tok-1", "message", f'{{"text": "{secret_text}"}}', "received", "pk1"),
            ("tok-2", "subscribed", None, "done", None),
        ],
    )
    assert all(isinstance(i, int) for i in ids)
    again = await _add(
        store, "viber", [("tok-1", "message", "{}", "received", "pk1"), ("tok-3", "message", None, "received", None)]
    )
    assert again[0] is None and isinstance(again[1], int)
    assert (await _add(store, "telegram", [("tok-1", "message", None, "received", None)]))[0] is not None  # per channel
    assert ids[0] is not None
    rec = await peek.inbox_row(store, ids[0])
    assert rec is not None and rec.status == "received" and rec.body and secret_text in rec.body
    assert secret_text.encode() not in await backend.raw_dump()
    await store.inbox_finish(ids[0], "done")
    rec = await peek.inbox_row(store, ids[0])
    assert rec is not None and rec.status == "done" and rec.body is None


async def test_concurrent_take_in_of_one_key_lets_one_through(store: Store) -> None:
    results = await asyncio.gather(
        *(store.inbox_add("telegram", [("77", "message", None, "received", None)]) for _ in range(10))
    )
    assert sum(r[0] is not None for r in results) == 1


async def test_next_pending_retry_set_aside_and_prune(store: Store, backend: Backend) -> None:
    a, b, c = await _add(
        store,
        "telegram",
        [
            ("1", "message", "{}", "received", "pk"),
            ("2", "message", "{}", "received", "pk"),
            ("3", "message", "{}", "received", "other"),
        ],
    )
    assert a is not None and b is not None and c is not None
    assert [r.id for r in await store.inbox_pending(LATER)] == [a, b, c]
    assert await store.inbox_pending(datetime.now(UTC) - timedelta(hours=1)) == []
    first, more, context = await store.inbox_next("pk")
    assert first is not None and first.id == a and (await store.inbox_next("nobody"))[0] is None
    assert more and context.version == 0 and context.case is None
    assert await store.inbox_people(LATER) == [("telegram", "pk"), ("telegram", "other")]
    (later,) = await store.inbox_add("telegram", [("4", "message", "{}", "received", "pk")])
    (alone,) = await store.inbox_add("telegram", [("5", "message", "{}", "received", "nobody-before")])
    assert later is not None and alone is not None
    await store.inbox_finish(later, "done")
    assert await store.inbox_retry(a) == 1 and await store.inbox_retry(a) == 2
    await store.inbox_finish(a, "failed")  # set aside: the person's next event is next
    assert await store.inbox_retry(a) is None
    nxt, more, _ = await store.inbox_next("pk")
    assert not more
    assert nxt is not None and nxt.id == b
    count, aside = await store.inbox_set_aside()
    assert count == 1 and [(r.id, r.status, r.attempts, r.body) for r in aside] == [(a, "failed", 2, None)]
    assert await store.prune_inbox(LATER) == 2  # only finished rows go
    assert [r.id for r in await store.inbox_pending(LATER)] == [b, c, alone]


async def test_a_turn_is_one_write_and_a_stale_state_keeps_the_messages(store: Store) -> None:
    (inbox_id,) = await _add(store, "telegram", [("9", "message", "{}", "received", None)])
    assert inbox_id is not None
    saved = await store.record_turn(
        TurnWrite(
            "telegram",
            "555",
            incoming=("text", "hello", "9"),
            state={"lang": "en"},
            version=0,
            outgoing=("one", "two"),
            inbox=InboxMark(inbox_id, "the answer"),
        )
    )
    assert len(saved.out_ids) == 2 and not saved.stale
    key = store.key_for("telegram", "555")
    ctx = await store.turn_context(key)
    assert ctx.state == {"lang": "en"} and ctx.version == 1 and ctx.case is None
    rec = await peek.inbox_row(store, inbox_id)
    assert rec is not None and rec.status == "answered" and rec.body is not None
    assert json.loads(rec.body) == {"answer": "the answer", "message_ids": list(saved.out_ids)}
    # The row is no longer waiting: a second turn for it is refused whole (nothing of it is written).
    with pytest.raises(InboxMoved):
        await store.record_turn(
            TurnWrite("telegram", "555", incoming=("text", "twice", "9"), inbox=InboxMark(inbox_id, None))
        )
    assert await store.platform_id(key) == "555"
    stale = await store.record_turn(
        TurnWrite("telegram", "555", incoming=("text", "again", None), state={"x": 1}, version=0)
    )
    assert stale.stale
    assert [m.text for m in await store.transcript(key)] == ["hello", "one", "two", "again"]
    assert (await store.turn_context(key)).state == {"lang": "en"}


async def test_deliveries_and_receipts_by_platform_id(store: Store) -> None:
    saved = await store.record_turn(TurnWrite("viber", "v-user", outgoing=("a", "b", "c")))
    a, b, c = saved.out_ids
    (inbox_id,) = await _add(store, "viber", [("k", "message", "{}", "answered", None)])
    assert await store.undelivered(saved.out_ids) == {a, b, c}
    await store.record_deliveries([Delivery(a, "sent", "5001")])
    await store.record_deliveries(
        [Delivery(b, "failed", None, "Viber send_message: HTTP 500"), Delivery(c, "sent", "5003")], inbox_id=inbox_id
    )
    assert await store.undelivered(saved.out_ids) == set()
    rec = await peek.inbox_row(store, inbox_id or 0)
    assert rec is not None and rec.status == "done"
    assert await store.set_delivery_by_platform_id("viber", "5001", "seen", platform_id="v-user")
    assert not await store.set_delivery_by_platform_id("viber", "5001", "delivered", platform_id="v-user")  # never back
    assert await store.set_delivery_by_platform_id("viber", "5003", "delivered")  # no user in the receipt
    assert not await store.set_delivery_by_platform_id("viber", "5003", "seen", platform_id="someone-else")
    assert not await store.set_delivery_by_platform_id("telegram", "5003", "seen")  # another channel's ids
    out = await store.transcript(store.key_for("viber", "v-user"))
    assert [(m.delivery_status, m.platform_message_id, m.delivery_error) for m in out] == [
        ("seen", "5001", None),
        ("failed", None, "Viber send_message: HTTP 500"),
        ("delivered", "5003", None),
    ]


async def test_erasure_unlinks_the_persons_inbox_rows(store: Store, backend: Backend) -> None:
    key = (await store.person("telegram", "42")).key
    done, pending = await _add(
        store,
        "telegram",
        [("1", "message", "old body zq", "received", key), ("2", "message", "new body", "received", key)],
    )
    assert done is not None and pending is not None
    await store.inbox_finish(done, "done")
    await store.erase_person(key)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT person_key FROM inbox ORDER BY id"))).all()
    assert [r[0] for r in rows] == [None, key]  # the unfinished one is still answered in the person's order
    rec = await peek.inbox_row(store, pending)
    assert rec is not None and rec.body == "new body"  # still to be answered (the erasure's own confirmation)


async def test_a_dropped_idle_connection_is_replaced_before_use(
    store: Store, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend.name != "postgres":
        pytest.skip("PostgreSQL: SQLite has no server connection to lose")
    async with store.engine.connect() as conn:  # the one pooled connection
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    other = make_engine(backend.url, poolclass=NullPool)
    try:
        async with other.connect() as conn:  # the server drops it, as a restart would
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
    await asyncio.sleep(0.1)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    assert (await store.turn_context("pk")).version == 0
    await store.record_turn(TurnWrite("telegram", "1", incoming=("text", "after the drop", None)))


async def test_statement_parameters_never_reach_error_messages(store: Store) -> None:
    secret = "my passport was taken zq"
    with pytest.raises(Exception) as caught:
        await store.record_turn(TurnWrite("telegram", "1", incoming=("text", secret, None), in_case_id=999_999))
    assert secret not in str(caught.value)
