"""Timers: re-alert of an unclaimed urgent case (and the person told what to do meanwhile); idle release."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.handoff.bus import ConsoleEvent
from bot.handoff.timers import TICK_CHANNEL

from .conftest import Rig

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


async def test_an_unclaimed_urgent_case_realerts_and_the_person_is_told_once(rig: Rig) -> None:
    realert = rig.settings.mediators.urgent_realert_minutes
    rig.clock.now = T0
    key, urgent = await rig.person_with_case()
    await rig.person_with_case(priority="high")
    sub = rig.handoff.bus.subscribe()

    rig.clock.now = T0 + (realert - 1) * MIN
    assert (await rig.handoff.timers.tick()).realerted == []

    rig.clock.now = T0 + realert * MIN
    assert (await rig.handoff.timers.tick()).realerted == [urgent]  # not the high one
    event = await asyncio.wait_for(sub.get(), 5)
    assert event == ConsoleEvent("case_updated", urgent, "urgent", "DE", "web", "queued", None, "realert")
    told = [p.text for p in await rig.repo.pushed_after(key, 0)]
    assert told == [rig.handoff.content.text("realert_person", "en")]

    rig.clock.now = T0 + (realert + 1) * MIN  # not again within the period
    assert (await rig.handoff.timers.tick()).realerted == []
    rig.clock.now = T0 + 2 * realert * MIN  # again for the mediators, but the person is not told twice
    assert (await rig.handoff.timers.tick()).realerted == [urgent]
    assert len(await rig.repo.pushed_after(key, 0)) == 1
    events = [(e.kind, e.actor) for e in await rig.store.case_events(urgent)]
    assert events == [("opened", "bot"), ("realerted", "system"), ("realerted", "system")]

    await rig.handoff.cases.claim(urgent, "mira")  # a claimed case is never re-alerted
    rig.clock.now = T0 + 5 * realert * MIN
    assert (await rig.handoff.timers.tick()).realerted == []
    sub.close()


async def test_an_idle_assigned_case_goes_back_to_the_bot(rig: Rig) -> None:
    idle = rig.settings.mediators.idle_release_minutes
    rig.clock.now = T0
    key, case_id = await rig.person_with_case()
    await rig.handoff.cases.claim(case_id, "mira")
    rig.clock.now = T0 + (idle - 5) * MIN
    await rig.handoff.relay.to_person(key, "I am here", case_id=case_id)  # the mediator wrote: activity

    rig.clock.now = T0 + (idle + 1) * MIN  # idle counts from the mediator's last message
    assert (await rig.handoff.timers.tick()).released == []
    rig.clock.now = T0 + (2 * idle - 5) * MIN
    assert (await rig.handoff.timers.tick()).released == [case_id]

    case = await rig.store.get_case(case_id)
    assert case is not None and case.status == "released"
    released = [e for e in await rig.store.case_events(case_id) if e.kind == "released"]
    assert [(e.actor, e.data) for e in released] == [("system", {"reason": "idle"})]
    texts = [p.text for p in await rig.repo.pushed_after(key, 0)]
    assert texts[-1] == rig.handoff.content.text("handoff_ended", "en")


async def test_with_several_processes_one_runs_each_tick(rig_factory: object) -> None:
    """The tick's time slot is claimed through coordination (SET NX in Redis): one process wins it."""
    first: Rig = await rig_factory()  # type: ignore[operator]
    second: Rig = await rig_factory()  # type: ignore[operator]
    slot = f"test-{datetime.now(UTC).timestamp()}"
    won = [await r.coordination.first_seen(TICK_CHANNEL, slot, 30) for r in (first, second)]
    if first.setup == "redis-postgres":
        assert won == [True, False]
    else:
        assert won == [True, True]  # memory: each process is alone (the embedded default runs one)


async def test_the_background_task_runs_ticks(rig: Rig) -> None:
    rig.clock.now = T0
    _, case_id = await rig.person_with_case()
    rig.clock.now = T0 + rig.settings.mediators.urgent_realert_minutes * MIN
    timers = rig.handoff.timers
    timers.interval = 0.05
    task = asyncio.create_task(timers.run())
    try:
        for _ in range(100):
            if any(e.kind == "realerted" for e in await rig.store.case_events(case_id)):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the timers never ran")
    finally:
        task.cancel()


async def test_text_and_notes_past_retention_are_removed(rig: Rig) -> None:
    days = rig.settings.privacy.retention_days
    rig.clock.now = T0
    key, case_id = await rig.person_with_case()
    await rig.handoff.cases.claim(case_id, "mira")
    await rig.repo.add_note(case_id, "mira", "lives above the bakery")
    await rig.handoff.cases.close(case_id, "mira", "advice_given", assignee="mira")
    rig.clock.now = T0 + timedelta(days=days - 1)
    assert (await rig.handoff.timers.tick()).pruned == 0
    assert [n.text for n in await rig.repo.notes(case_id)] == ["lives above the bakery"]
    rig.handoff.timers._pruned_at = None  # as if an hour had passed
    rig.clock.now = T0 + timedelta(days=days + 1)
    assert (await rig.handoff.timers.tick()).pruned >= 2  # the note and the person's message
    assert await rig.repo.notes(case_id) == []
    assert all(m.text is None for m in await rig.store.transcript(key))
