"""The case state machine, and the case service on both setups (memory + SQLite, Redis + PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from bot.handoff.bus import ConsoleEvent
from bot.handoff.cases import (
    ACTIONS,
    OUTCOMES,
    TRANSITIONS,
    AlreadyTaken,
    InvalidTransition,
    NotYours,
    TransitionError,
    next_status,
)
from bot.storage.models import CASE_STATUSES
from bot.storage.store import ANY, UnknownCase

from .conftest import Rig

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)

# -- the transition table ----------------------------------------------------------------------------


def test_the_allowed_transitions_are_exactly_these() -> None:
    assert TRANSITIONS == {
        ("queued", "claim"): "assigned",
        ("queued", "close"): "closed",
        ("assigned", "close"): "closed",
        ("assigned", "release"): "released",
    }


@pytest.mark.parametrize(("status", "action"), list(itertools.product(CASE_STATUSES, ACTIONS)))
def test_every_other_transition_is_a_clear_error(status: str, action: str) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) == TRANSITIONS[status, action]
        return
    with pytest.raises(TransitionError) as err:
        next_status(status, action)
    if (status, action) == ("assigned", "claim"):
        assert isinstance(err.value, AlreadyTaken) and str(err.value) == "already taken"
    else:
        assert isinstance(err.value, InvalidTransition)
        assert f"cannot {action} a {status} case" in str(err.value)


def test_an_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        next_status("queued", "reopen")


# -- the service ------------------------------------------------------------------------------------


async def pushed_texts(rig: Rig, key: str) -> list[tuple[str, str | None]]:
    return [(p.direction, p.text) for p in await rig.repo.pushed_after(key, 0)]


async def test_claim_release_close_with_events_and_notices(rig: Rig) -> None:
    sub = rig.handoff.bus.subscribe()
    rig.clock.now = T0
    key, case_id = await rig.person_with_case()

    rig.clock.now = T0 + timedelta(minutes=3)
    claimed = await rig.handoff.cases.claim(case_id, "mira")
    assert (claimed.status, claimed.assignee) == ("assigned", "mira")

    rig.clock.now = T0 + timedelta(minutes=9)
    released = await rig.handoff.cases.release(case_id, "mira", assignee="mira", reason="mediator")
    assert released.status == "released" and released.closed_at == T0 + timedelta(minutes=9)

    events = [(e.kind, e.actor, e.created_at) for e in await rig.store.case_events(case_id)]
    assert events == [
        ("opened", "bot", T0),
        ("assigned", "mira", T0 + timedelta(minutes=3)),
        ("released", "mira", T0 + timedelta(minutes=9)),
    ]
    # The person was told, in their language, when a person took over and when the bot was back.
    content = rig.handoff.content
    assert await pushed_texts(rig, key) == [
        ("out", content.text("handoff_started", "en")),
        ("out", content.text("handoff_ended", "en")),
    ]
    # Live events, with no personal data.
    got = [await asyncio.wait_for(sub.get(), 5) for _ in range(2)]
    assert got == [
        ConsoleEvent("case_updated", case_id, "urgent", "DE", "web", "assigned", "mira", "claimed"),
        ConsoleEvent("case_updated", case_id, "urgent", "DE", "web", "released", "mira", "released"),
    ]
    assert key not in repr(got)

    # A released case is final; the person's next case is a new one.
    with pytest.raises(InvalidTransition, match="cannot claim a released case"):
        await rig.handoff.cases.claim(case_id, "mira")
    second, created = await rig.store.open_case(key, priority="high", signals=[], country=None, channel="web")
    assert created and second.id != case_id
    closed = await rig.handoff.cases.close(second.id, "admin", "false_alarm")  # queued -> closed
    assert (closed.status, closed.outcome) == ("closed", "false_alarm")
    # closed from the queue: the person had no mediator, so no "mediator has left" notice
    assert len(await pushed_texts(rig, key)) == 2
    sub.close()


async def test_invalid_moves_are_clear_errors(rig: Rig) -> None:
    key, case_id = await rig.person_with_case()
    with pytest.raises(InvalidTransition, match=r"cannot release a queued case \(a queued case can be: claim, close\)"):
        await rig.handoff.cases.release(case_id, "mira")
    await rig.handoff.cases.claim(case_id, "mira")
    with pytest.raises(AlreadyTaken):
        await rig.handoff.cases.claim(case_id, "zoya")
    with pytest.raises(NotYours):
        await rig.handoff.cases.release(case_id, "zoya", assignee="zoya")
    with pytest.raises(NotYours):
        await rig.handoff.cases.close(case_id, "zoya", "other", assignee="zoya")
    with pytest.raises(ValueError, match="outcome must be one of"):
        await rig.handoff.cases.close(case_id, "mira", "solved-it")
    closed = await rig.handoff.cases.close(case_id, "mira", "referred_hotline", assignee="mira")
    assert closed.outcome == "referred_hotline"
    with pytest.raises(InvalidTransition, match="a closed case is final"):
        await rig.handoff.cases.close(case_id, "mira", "other")
    with pytest.raises(UnknownCase):
        await rig.handoff.cases.claim(987654, "mira")
    assert [e.kind for e in await rig.store.case_events(case_id)] == ["opened", "assigned", "closed"]
    ended = rig.handoff.content.text("handoff_ended", "en")
    assert (await pushed_texts(rig, key))[-1] == ("out", ended)
    assert set(OUTCOMES) >= {"referred_hotline", "referred_police", "referred_embassy", "advice_given", "no_contact"}


async def test_concurrent_claims_let_exactly_one_mediator_win(rig: Rig) -> None:
    _, case_id = await rig.person_with_case()
    names = [f"m{i}" for i in range(12)]
    results = await asyncio.gather(*(rig.handoff.cases.claim(case_id, n) for n in names), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(e, AlreadyTaken) for e in losers), losers
    case = await rig.store.get_case(case_id)
    assert case is not None and case.assignee == winners[0].assignee
    assert [e.kind for e in await rig.store.case_events(case_id)].count("assigned") == 1


async def test_two_store_instances_claim_exactly_once(rig_factory: object) -> None:
    """Two bot processes on one database (and Redis): a case opened on one is claimable on either, once."""
    first: Rig = await rig_factory()  # type: ignore[operator]
    second: Rig = await rig_factory()  # type: ignore[operator]
    if first.setup == "memory-sqlite":
        pytest.skip("one process per SQLite file; several processes need PostgreSQL + Redis")
    sub = second.handoff.bus.subscribe()
    person = await first.store.person("telegram", "tg-1001", "bg")
    case, _ = await first.store.open_case(person.key, priority="urgent", signals=[], country="NL", channel="telegram")
    await first.handoff.notifier.case_opened(case)
    event = await asyncio.wait_for(sub.get(), 5)  # published by the first, seen by the second
    assert event == ConsoleEvent("case_opened", case.id, "urgent", "NL", "telegram", "queued", None, "opened")
    results = await asyncio.gather(
        first.handoff.cases.claim(case.id, "mira"),
        second.handoff.cases.claim(case.id, "zoya"),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AlreadyTaken", "CaseRec"]
    sub.close()


async def test_a_move_on_a_stale_view_never_undoes_someone_elses(rig: Rig) -> None:
    """Moves match the case as the caller saw it (status and assignee): if it changed hands meanwhile, the
    move matches nothing (and the caller gets a 409), instead of undoing the other mediator's work."""
    _, case_id = await rig.person_with_case()
    await rig.handoff.cases.claim(case_id, "mira")
    as_zoya_saw_it = await rig.store.move_case(case_id, "release", "zoya", from_status="assigned", assignee="zoya")
    assert as_zoya_saw_it is None
    case = await rig.store.get_case(case_id)
    assert case is not None and (case.status, case.assignee) == ("assigned", "mira")
    anyone = await rig.store.move_case(case_id, "release", "x", from_status="assigned", assignee=ANY)
    assert anyone is not None and anyone.status == "released"


async def test_erasure_takes_the_notes_and_keeps_the_audit_rows(rig: Rig) -> None:
    key, case_id = await rig.person_with_case()
    await rig.handoff.cases.claim(case_id, "mira")
    await rig.repo.add_note(case_id, "mira", "her brother is in Sliven")
    await rig.repo.audit("mira", "claim", case_id=case_id)
    await rig.store.erase_person(key)
    assert await rig.repo.notes(case_id) == []
    assert await rig.store.get_case(case_id) is None
    assert [(a.action, a.case_id) for a in await rig.repo.audit_log(case_id=case_id)] == [("claim", case_id)]
