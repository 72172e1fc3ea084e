"""Reading the report tables (written only by bot.storage.report_tally) and counting outside a turn.

`ReportsRepo(store)` shares the store's engine and transactions. Everything it returns is a count: no
key, no marker, no text ever leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.storage.models import INBOX_PENDING, Case, InboxItem
from bot.storage.report_models import ReportCount, ReportPerson
from bot.storage.report_tally import add_counts, report_day
from bot.storage.store import Store, redact_errors

Group = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class CountRow:
    day: str
    channel: str
    metric: str
    dimension: str
    value: int


@dataclass(frozen=True, slots=True)
class OpsFigures:
    """What /metrics reads from the database at each scrape."""

    queued: dict[str, int]  # priority -> cases waiting
    oldest_queued_at: datetime | None
    inbox_pending: int
    inbox_failed: int


@redact_errors
class ReportsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def counts(self, first: str, last: str) -> list[CountRow]:
        """Every count row of the days first..last (YYYY-MM-DD, inclusive)."""
        stmt = (
            select(ReportCount.day, ReportCount.channel, ReportCount.metric, ReportCount.dimension, ReportCount.value)
            .where(ReportCount.day >= first, ReportCount.day <= last)
            .order_by(ReportCount.day, ReportCount.channel, ReportCount.metric, ReportCount.dimension)
        )

        def run(conn: Connection) -> list[CountRow]:
            return [CountRow(r[0], r[1], r[2], r[3], int(r[4])) for r in conn.execute(stmt)]

        return await self._store._run(run, write=False)

    async def people(self, first: str, last: str, group: Group) -> list[tuple[str, str, int]]:
        """Distinct people per (period, channel) over the days first..last: (period start, channel, count).
        A period cut by the range keeps its own start as its name and counts only its days inside the range."""
        period = {"day": ReportPerson.day, "week": ReportPerson.week, "month": ReportPerson.month}[group]
        stmt = (
            select(period, ReportPerson.channel, func.count(func.distinct(ReportPerson.marker)))
            .where(ReportPerson.day >= first, ReportPerson.day <= last)
            .group_by(period, ReportPerson.channel)
            .order_by(period, ReportPerson.channel)
        )

        def run(conn: Connection) -> list[tuple[str, str, int]]:
            rows = conn.execute(stmt)
            return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

        return await self._store._run(run, write=False)

    async def people_total(self, first: str, last: str) -> dict[str, int]:
        """Distinct people per channel over the whole range (a person is known per channel)."""
        stmt = (
            select(ReportPerson.channel, func.count(func.distinct(ReportPerson.marker)))
            .where(ReportPerson.day >= first, ReportPerson.day <= last)
            .group_by(ReportPerson.channel)
        )

        def run(conn: Connection) -> dict[str, int]:
            return {str(r[0]): int(r[1]) for r in conn.execute(stmt)}

        return await self._store._run(run, write=False)

    async def count(self, channel: str, metric: str, dimension: str = "") -> None:
        """+1 today outside a conversation turn (a reply that failed to deliver)."""
        day = report_day(self._store._now())
        await self._store._run(lambda conn: add_counts(conn, day, channel, [(metric, dimension)]), write=True)

    async def ops_figures(self) -> OpsFigures:
        """The queue by priority, the oldest waiting case's opening time, the unfinished and set-aside inbox rows."""
        queued = select(Case.priority, func.count(), func.min(Case.created_at)).where(Case.status == "queued")
        inbox = select(
            func.count().filter(InboxItem.status.in_(INBOX_PENDING)), func.count().filter(InboxItem.status == "failed")
        )

        def run(conn: Connection) -> OpsFigures:
            rows = conn.execute(queued.group_by(Case.priority)).all()
            pending, failed = conn.execute(inbox).one()
            oldest = min((r[2] for r in rows if r[2] is not None), default=None)
            return OpsFigures({str(r[0]): int(r[1]) for r in rows}, oldest, int(pending or 0), int(failed or 0))

        return await self._store._run(run, write=False)
