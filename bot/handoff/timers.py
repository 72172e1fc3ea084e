"""Handoff timers, checked every few seconds by a background task of the app:

- an unclaimed urgent case older than mediators.urgent_realert_minutes alerts the mediators again (case
  event, live event, Telegram when configured) every that many minutes, and the first time also tells the
  person what to do meanwhile (texts.yml realert_person);
- an assigned case with no mediator message for mediators.idle_release_minutes goes back to the bot
  (released, reason "idle"; the person gets handoff_ended);
- expired console sessions are deleted; once an hour, message text and notes past privacy.retention_days
  (after their case closed) are removed, and review items (what the bot did not understand) older than that.

With several bot processes (Redis configured) one process runs each tick: the tick's time slot is claimed
with coordination.first_seen (SET NX in Redis). Every step is also safe to repeat: a re-alert looks at the
last re-alert event, and a release only moves a case that is still assigned to the same mediator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.coordination import Coordination
from bot.handoff.cases import CaseService, TransitionError
from bot.handoff.notify import Notifier
from bot.handoff.relay import Relay
from bot.settings import MediatorSettings
from bot.storage.console_repo import ConsoleRepo
from bot.storage.review_repo import ReviewRepo
from bot.storage.store import Store, UnknownCase

log = logging.getLogger(__name__)

TICK_CHANNEL = "handoff-timers"
PRUNE_EVERY = timedelta(hours=1)


@dataclass
class TickReport:
    realerted: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    pruned: int = 0  # message texts blanked, notes and review items deleted past retention


class Timers:
    def __init__(
        self,
        store: Store,
        repo: ConsoleRepo,
        cases: CaseService,
        relay: Relay,
        notifier: Notifier,
        mediators: MediatorSettings,
        coordination: Coordination,
        interval: float,
        retention_days: int = 90,
    ) -> None:
        self.store, self.repo, self.cases, self.relay, self.notifier = store, repo, cases, relay, notifier
        self.mediators, self.coordination, self.interval = mediators, coordination, interval
        self.retention_days = retention_days
        self._pruned_at: datetime | None = None

    async def tick(self) -> TickReport:
        report = TickReport()
        now = self.repo.now()
        realert = timedelta(minutes=self.mediators.urgent_realert_minutes)
        for case in await self.store.list_cases("queued"):
            if case.priority != "urgent" or now - case.created_at < realert:
                continue
            last = await self.repo.last_event(case.id, ("realerted",))
            if last is not None and now - last < realert:
                continue
            waited = int((now - case.created_at).total_seconds() // 60)
            try:
                await self.store.add_case_event(case.id, "realerted", "system", {"waited_minutes": waited})
            except UnknownCase:
                continue  # erased meanwhile
            report.realerted.append(case.id)
            await self.notifier.realert(case, waited)
            current = await self.store.get_case(case.id)
            if last is None and current is not None and current.status == "queued":
                with contextlib.suppress(LookupError):  # the person was erased meanwhile
                    await self.relay.notice(case.person_key, "realert_person", case.id)
        idle = timedelta(minutes=self.mediators.idle_release_minutes)
        for case in await self.store.list_cases("assigned"):
            active = max(
                t
                for t in (
                    case.updated_at,
                    await self.repo.last_event(case.id, ("assigned",)),
                    await self.repo.last_mediator_message(case.id),
                )
                if t is not None
            )
            if now - active < idle:
                continue
            try:
                await self.cases.release(case.id, "system", assignee=case.assignee, reason="idle")
            except (TransitionError, UnknownCase):
                continue  # the mediator acted (or the case moved) meanwhile
            report.released.append(case.id)
        await self.repo.purge_sessions()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            report.pruned = await self.store.prune_messages(self.retention_days, now=now)
            report.pruned += await self.repo.prune_notes(self.retention_days, now=now)
            report.pruned += await ReviewRepo(self.store).prune(self.retention_days, now=now)
        return report

    async def run(self) -> None:
        """Tick forever (cancel to stop); with Redis, only the process that claims a time slot runs it."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                slot = str(int(time.time() // self.interval))
                if await self.coordination.first_seen(TICK_CHANNEL, slot, self.interval * 4):
                    report = await self.tick()
                    if report.realerted or report.released:
                        log.info("timers: re-alerted %s, released %s", report.realerted, report.released)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handoff timers tick failed")
