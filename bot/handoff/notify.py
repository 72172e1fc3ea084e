"""Telling mediators: always in the console (live events), and optionally in a Telegram chat for mediators.

The Telegram message has no personal data, only what a mediator needs to open the console:
"New urgent case #12 (DE, viber) — open the console". It is sent in the background (a slow Telegram
never delays the person's answer) and a failure is logged without the URL (the token is in it).
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

from bot.handoff.bus import Bus, ConsoleEvent
from bot.storage.store import CaseRec

log = logging.getLogger(__name__)


def _where(case: CaseRec) -> str:
    return f"{case.country or '??'}, {case.channel}"


class MediatorTelegram:
    """sendMessage to one chat with the bot's token; the api_url is the root (https://api.telegram.org)."""

    def __init__(self, token: str, chat_id: str, api_url: str, session: aiohttp.ClientSession) -> None:
        self._token, self.chat_id, self.api_url, self._session = token, chat_id, api_url.rstrip("/"), session

    async def send(self, text: str) -> bool:
        url = f"{self.api_url}/bot{self._token}/sendMessage"
        try:
            async with self._session.post(
                url, json={"chat_id": self.chat_id, "text": text}, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                if resp.status != 200:
                    log.warning("mediator Telegram notification refused (HTTP %s)", resp.status)
                    return False
                return True
        except (aiohttp.ClientError, TimeoutError) as e:
            log.warning("mediator Telegram notification failed (%s)", type(e).__name__)
            return False


class Notifier:
    def __init__(self, bus: Bus, telegram: MediatorTelegram | None = None) -> None:
        self.bus = bus
        self.telegram = telegram
        self._tasks: set[asyncio.Task[bool]] = set()

    async def _publish(self, event: ConsoleEvent) -> None:
        try:
            await self.bus.publish(event)
        except Exception:  # live updates are a convenience: the database is the record
            log.exception("console event not published")

    def _telegram(self, text: str) -> None:
        if self.telegram is None:
            return
        task = asyncio.create_task(self.telegram.send(text))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def case_opened(self, case: CaseRec, *, raised: bool = False) -> None:
        await self._publish(
            ConsoleEvent(
                "case_updated" if raised else "case_opened",
                case.id,
                case.priority,
                case.country,
                case.channel,
                case.status,
                case.assignee,
                "raised" if raised else "opened",
            )
        )
        if case.priority == "urgent" and case.status == "queued":
            if raised:
                self._telegram(f"Case #{case.id} ({_where(case)}) is now urgent — open the console")
            else:
                self._telegram(f"New urgent case #{case.id} ({_where(case)}) — open the console")

    async def case_updated(self, case: CaseRec, change: str) -> None:
        await self._publish(
            ConsoleEvent(
                "case_updated",
                case.id,
                case.priority,
                case.country,
                case.channel,
                case.status,
                case.assignee,
                change,
            )
        )

    async def realert(self, case: CaseRec, waited_minutes: int) -> None:
        await self.case_updated(case, "realert")
        self._telegram(f"Urgent case #{case.id} ({_where(case)}) waits for {waited_minutes} min — open the console")

    async def erased(self, case_id: int) -> None:
        await self._publish(ConsoleEvent("case_updated", case_id, status="erased", change="erased"))

    async def message(self, case: CaseRec, direction: str) -> None:
        await self._publish(
            ConsoleEvent(
                "message", case.id, case.priority, case.country, case.channel, case.status, case.assignee, direction
            )
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
