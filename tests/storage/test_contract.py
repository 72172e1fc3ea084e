"""The repositories' contracts, each test run on SQLite and on PostgreSQL (the `store` fixture).

Every test talks to one repository through its Protocol (`store.people`, `store.inbox`, ...), the way
its callers do, so another implementation of that Protocol can be held to the same behaviour.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage.accounts import Accounts, DuplicateUser
from bot.storage.audit import AuditLog
from bot.storage.cases import CASE_ACTIONS, CASE_TRANSITIONS, Cases
from bot.storage.conversations import Conversations
from bot.storage.errors import InboxMoved, UnknownCase, UnknownPerson
from bot.storage.inbox_repo import Inbox
from bot.storage.messages import Messages
from bot.storage.people import People
from bot.storage.records import Delivery, InboxMark, TurnWrite
from bot.storage.store import Store
from tests.storage.conftest import Backend

# -- People ---------------------------------------------------------------------------------------


async def test_people_one_key_per_channel_and_platform_id(store: Store) -> None:
    people: People = store.people
    first = await people.person("telegram", "42", language="bg")
    again = await people.person("telegram", "42", language="en")
    other = await people.person("viber", "42")
    assert first.key == again.key == people.key_for("telegram", "42")
    assert again.language == "bg"  # the first language stays
    assert other.key != first.key
    assert await people.platform_id(first.key) == "42"
    assert await people.get_person(first.key) == first
    assert await people.get_person("nobody") is None and await people.platform_id("nobody") is None


async def test_people_erasure_leaves_nothing_of_the_person(store: Store, backend: Backend) -> None:
    people: People = store.people
    gone = await people.person("telegram", "1")
    kept = await people.person("telegram", "2")
    for p in (gone, kept):
        await store.conversations.record_turn(
            TurnWrite("telegram", "1" if p is gone else "2", incoming=("text", "hi zq", None), state={"s": 1})
        )
        await store.cases.open_case(p.key, priority="high", signals=["x"], country=None, channel="telegram")
    await people.erase_person(gone.key)
    assert await people.get_person(gone.key) is None
    assert await store.messages.transcript(gone.key) == []
    assert await store.conversations.load_state(gone.key) == ({}, 0)
    assert [c.person_key for c in await store.cases.list_cases()] == [kept.key]
    assert len(await store.messages.transcript(kept.key)) == 1
    assert (await backend.count_rows())["people"] == 1


# -- Conversations --------------------------------------------------------------------------------


async def test_conversations_state_is_saved_optimistically(store: Store) -> None:
    conv: Conversations = store.conversations
    key = store.key_for("telegram", "7")
    assert (await conv.turn_context(key)).version == 0
    saved = await conv.record_turn(TurnWrite("telegram", "7", state={"step": 1}, version=0))
    assert not saved.stale
    assert await conv.load_state(key) == ({"step": 1}, 1)
    assert not (await conv.record_turn(TurnWrite("telegram", "7", state={"step": 2}, version=1))).stale
    late = await conv.record_turn(TurnWrite("telegram", "7", state={"step": 9}, version=1))
    assert late.stale  # someone saved version 2 in between: not overwritten
    context = await conv.turn_context(key)
    assert (context.state, context.version, context.case) == ({"step": 2}, 2, None)


async def test_conversations_turn_writes_messages_in_order_and_deliveries_never_go_back(store: Store) -> None:
    conv: Conversations = store.conversations
    saved = await conv.record_turn(
        TurnWrite("telegram", "8", incoming=("text", "hello", "m1"), outgoing=("one", "two", "three"))
    )
    key = store.key_for("telegram", "8")
    transcript = await store.messages.transcript(key)
    assert [(m.direction, m.text) for m in transcript] == [
        ("in", "hello"),
        ("out", "one"),
        ("out", "two"),
        ("out", "three"),
    ]
    assert saved.out_ids == tuple(m.id for m in transcript[1:])
    first, second, third = saved.out_ids
    await conv.record_deliveries([Delivery(first, "sent", "p1"), Delivery(second, "failed", error="timeout")])
    await store.messages.set_delivery(first, "seen")
    await conv.record_deliveries([Delivery(first, "sent")])  # late: seen stays
    by_id = {m.id: m for m in await store.messages.transcript(key)}
    assert by_id[first].delivery_status == "seen" and by_id[first].platform_message_id == "p1"
    assert by_id[second].delivery_status == "failed" and by_id[second].delivery_error == "timeout"
    assert await store.messages.undelivered(saved.out_ids) == {third}


# -- Inbox ----------------------------------------------------------------------------------------


async def test_inbox_once_in_order_and_answered_once(store: Store) -> None:
    inbox: Inbox = store.inbox
    key = store.key_for("telegram", "9")
    a, b = await inbox.inbox_add(
        "telegram", [("u1", "message", "first", "received", key), ("u2", "message", "second", "received", key)]
    )
    assert a is not None and b is not None
    assert await inbox.inbox_add("telegram", [("u1", "message", "again", "received", key)]) == [None]
    head, more, context = await inbox.inbox_next(key)
    assert head is not None and head.id == a and head.body == "first" and more and context.version == 0
    await store.conversations.record_turn(
        TurnWrite("telegram", "9", incoming=("text", "first", None), inbox=InboxMark(a, answer=None))
    )
    with pytest.raises(InboxMoved):  # the same event cannot be answered twice
        await store.conversations.record_turn(TurnWrite("telegram", "9", inbox=InboxMark(a, answer=None)))
    head, more, _ = await inbox.inbox_next(key)
    assert head is not None and head.id == b and not more
    assert await inbox.inbox_retry(b) == 1 and await inbox.inbox_retry(b) == 2
    await inbox.inbox_finish(b, "failed")
    assert await inbox.inbox_retry(b) is None
    count, aside = await inbox.inbox_set_aside()
    assert count == 1 and aside[0].id == b and aside[0].body is None
    assert (await inbox.inbox_next(key))[0] is None  # set aside: the person's next event goes on


async def test_inbox_pending_people_and_prune(store: Store, backend: Backend) -> None:
    inbox: Inbox = store.inbox
    (waiting,) = await inbox.inbox_add("viber", [("t1", "message", "{}", "received", "pk-1")])
    (finished,) = await inbox.inbox_add("viber", [("t2", "message", None, "done", None)])
    later = backend.clock() + timedelta(seconds=1)
    assert [r.id for r in await inbox.inbox_pending(later)] == [waiting]
    assert await inbox.inbox_people(later) == [("viber", "pk-1")]
    assert await inbox.prune_inbox(later) == 1  # the finished one; its key may be taken in again
    assert (await inbox.inbox_add("viber", [("t2", "message", None, "done", None)]))[0] is not None
    assert finished is not None and waiting is not None


# -- Messages -------------------------------------------------------------------------------------


async def test_messages_are_checked_and_filed_under_cases(store: Store) -> None:
    messages: Messages = store.messages
    me = await store.people.person("web", "a")
    other = await store.people.person("web", "b")
    case, _ = await store.cases.open_case(me.key, priority="normal", signals=[], country=None, channel="web")
    with pytest.raises(ValueError):
        await messages.add_message(me.key, "sideways", "text", "x")
    with pytest.raises(ValueError):
        await messages.add_message(other.key, "in", "text", "x", case_id=case.id)
    with pytest.raises(UnknownCase):
        await messages.add_message(me.key, "in", "text", "x", case_id=999_999)
    with pytest.raises(UnknownPerson):
        await messages.add_message("nobody", "in", "text", "x")
    mid = await messages.add_message(me.key, "mediator", "text", "we are here", case_id=case.id)
    assert [m.id for m in await messages.messages_for_case(case.id)] == [mid]
    assert await messages.messages_for_case(999_999) == []
    assert await messages.set_delivery(mid, "delivered") and not await messages.set_delivery(mid, "sent")


async def test_messages_receipts_by_platform_id_and_retention(store: Store, backend: Backend) -> None:
    messages: Messages = store.messages
    saved = await store.conversations.record_turn(TurnWrite("viber", "c", outgoing=("reply",)))
    await store.conversations.record_deliveries([Delivery(saved.out_ids[0], "sent", "vp-1")])
    assert await messages.set_delivery_by_platform_id("viber", "vp-1", "delivered", platform_id="c")
    assert not await messages.set_delivery_by_platform_id("viber", "vp-1", "sent")  # never backwards
    assert not await messages.set_delivery_by_platform_id("telegram", "vp-1", "seen")  # another channel
    backend.clock.now = backend.clock() + timedelta(days=40)
    assert await messages.prune_messages(30) == 1
    assert [m.text for m in await messages.transcript(store.key_for("viber", "c"))] == [None]


# -- Cases ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", CASE_ACTIONS)
@pytest.mark.parametrize("status", ["queued", "assigned"])
async def test_cases_move_only_by_the_transition_table(store: Store, status: str, action: str) -> None:
    cases: Cases = store.cases
    person = await store.people.person("web", f"{status}-{action}")
    case, created = await cases.open_case(person.key, priority="normal", signals=[], country=None, channel="web")
    assert created and case.status == "queued"
    if status == "assigned":
        assert await cases.move_case(case.id, "claim", "mara") is not None
    moved = await cases.move_case(case.id, action, "mara", outcome="advice_given")
    expected = CASE_TRANSITIONS.get((status, action))
    assert (None if moved is None else moved.status) == expected
    final = await cases.get_case(case.id)
    assert final is not None and final.status == (expected or status)
    if moved is not None and not moved.is_open:  # a final case moves no more
        for again in CASE_ACTIONS:
            assert await cases.move_case(case.id, again, "mara", outcome="other") is None
        assert (await cases.case_events(case.id))[-1].kind == moved.status


async def test_cases_one_open_case_merges_signals_and_priority(store: Store) -> None:
    cases: Cases = store.cases
    person = await store.people.person("web", "m")
    first, created = await cases.open_case(person.key, priority="normal", signals=["a"], country=None, channel="web")
    merged, again = await cases.open_case(
        person.key, priority="urgent", signals=["a", "b"], country="BG", channel="web"
    )
    assert created and not again and merged.id == first.id
    assert (merged.priority, merged.signals, merged.country) == ("urgent", ("a", "b"), "BG")
    assert [e.kind for e in await cases.case_events(first.id)] == ["opened", "priority_raised"]
    other = await store.people.person("web", "n")
    await cases.open_case(other.key, priority="high", signals=[], country=None, channel="web")
    assert [c.priority for c in await cases.list_cases("queued")] == ["urgent", "high"]
    assert await cases.add_case_event(first.id, "realerted", "system", {"waited_minutes": 5}) > 0
    with pytest.raises(UnknownCase):
        await cases.add_case_event(999_999, "realerted", "system")


# -- Accounts -------------------------------------------------------------------------------------


async def test_accounts_users_and_sessions(store: Store, backend: Backend) -> None:
    accounts: Accounts = store.accounts
    user = await accounts.add_user("mara", "mediator", "hash-1")
    with pytest.raises(DuplicateUser):
        await accounts.add_user("mara", "admin", "hash-2")
    with pytest.raises(ValueError):
        await accounts.add_user("ivo", "king", "hash")
    assert await accounts.credentials("mara") == (user, "hash-1")
    await accounts.set_password_hash(user.id, "hash-3")
    assert (await accounts.credentials("mara") or (None, ""))[1] == "hash-3"
    now = backend.clock()
    await accounts.create_session("t1", user.id, "csrf", now + timedelta(hours=1))
    await accounts.create_session("t2", user.id, "csrf", now + timedelta(seconds=1))
    session = await accounts.get_session("t1")
    assert session is not None and session.user == user
    backend.clock.now = now + timedelta(minutes=1)
    assert await accounts.get_session("t2") is None  # expired
    assert await accounts.purge_sessions() == 1
    assert await accounts.set_disabled("mara", True)
    assert await accounts.get_session("t1") is None  # a disabled account's sessions end at once
    assert not await accounts.set_disabled("nobody", True)
    assert [u.disabled for u in await accounts.list_users()] == [True]


# -- Audit log ------------------------------------------------------------------------------------


async def test_audit_log_appends_in_order_and_filters_by_case(store: Store) -> None:
    audits: AuditLog = store.audits
    person = await store.people.person("web", "z")
    case, _ = await store.cases.open_case(person.key, priority="normal", signals=[], country=None, channel="web")
    await audits.audit("admin", "export", ip="10.0.0.1", detail={"rows": 3})
    await audits.audit("mara", "claim", case_id=case.id)
    await audits.audit("mara", "close", case_id=case.id)
    assert [(r.actor, r.action) for r in await audits.audit_log()] == [
        ("admin", "export"),
        ("mara", "claim"),
        ("mara", "close"),
    ]
    assert [r.action for r in await audits.audit_log(case_id=case.id)] == ["claim", "close"]
    assert [r.action for r in await audits.audit_log(limit=1)] == ["close"]
    assert (await audits.audit_log())[0].detail == {"rows": 3}
