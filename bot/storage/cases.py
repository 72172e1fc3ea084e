"""Cases and their history. Every move of a case goes through CASE_TRANSITIONS in `move_case` (one
conditional update with its case event); bot.handoff.cases explains the moves to people.

At most one open case per person is guaranteed by a partial unique index, so concurrent `open_case`
calls from several processes still end with one case.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.database import Database
from bot.storage.errors import StoreError, UnknownCase, UnknownPerson, redact_errors
from bot.storage.models import CASE_STATUSES, OPEN_STATUSES, PRIORITIES, Case, CaseEvent, Person
from bot.storage.records import CaseEventRec, CaseRec, case_record, check_name, event_record, one_of
from bot.storage.report_tally import case_moved

# The case lifecycle, the one table every move of a case goes through (bot.handoff.cases explains it to
# people; the console, the timers and the tests move cases only through move_case):
#   queued --claim--> assigned --close--> closed
#      |                  \--release--> released   (back to the bot)
#      \--close--> closed
CASE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("queued", "claim"): "assigned",
    ("queued", "close"): "closed",
    ("assigned", "close"): "closed",
    ("assigned", "release"): "released",
}
CASE_ACTIONS = ("claim", "release", "close")
CASE_EVENT = {"claim": "assigned", "close": "closed", "release": "released"}  # the case event a move writes
ANY: Any = object()  # move_case(assignee=ANY): whoever the case is assigned to
PRIORITY_RANK: dict[str, int] = {"normal": 0, "high": 1, "urgent": 2}
OPEN_CASE_ATTEMPTS = 8
CASE_COLUMNS = tuple(Case.__table__.c)


class Cases(Protocol):
    async def open_case(
        self,
        person_key: str,
        *,
        priority: str,
        signals: Iterable[str],
        country: str | None,
        channel: str,
        actor: str = "bot",
    ) -> tuple[CaseRec, bool]: ...
    async def get_case(self, case_id: int) -> CaseRec | None: ...
    async def list_cases(self, status: str | None = None) -> list[CaseRec]: ...
    async def add_case_event(self, case_id: int, kind: str, actor: str, data: dict[str, Any] | None = None) -> int: ...
    async def case_events(self, case_id: int) -> list[CaseEventRec]: ...
    async def move_case(
        self,
        case_id: int,
        action: str,
        actor: str,
        *,
        from_status: str | None = None,
        assignee: object = ANY,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> CaseRec | None: ...


async def _add_event(
    conn: AsyncConnection, case_id: int, kind: str, actor: str, data: dict[str, Any] | None, now: datetime
) -> int:
    event_id = await conn.scalar(
        insert(CaseEvent)
        .values(case_id=case_id, kind=kind, actor=actor, data=data or {}, created_at=now)
        .returning(CaseEvent.id)
    )
    return int(cast(int, event_id))


@redact_errors
class CaseRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_case(
        self,
        person_key: str,
        *,
        priority: str,
        signals: Iterable[str],
        country: str | None,
        channel: str,
        actor: str = "bot",
    ) -> tuple[CaseRec, bool]:
        """Open a queued case, or return the person's open one: (case, created).

        An open case gets the higher priority (event 'priority_raised') and the new signals
        (event 'signals_added' when the priority stays). Safe under concurrency: the database allows
        one open case per person, and a loser of the race re-reads and merges into the winner's case.
        """
        one_of(priority, PRIORITIES, "priority")
        check_name(channel, "channel", 32)
        check_name(actor, "actor")
        if country is not None:
            check_name(country, "country", 8)
        wanted = list(dict.fromkeys(signals))
        for attempt in range(OPEN_CASE_ATTEMPTS):
            now = self._db.now()
            try:
                async with self._db.tx(write=True) as conn:
                    if attempt and await conn.scalar(select(Person.key).where(Person.key == person_key)) is None:
                        raise UnknownPerson(person_key)
                    row = (
                        await conn.execute(
                            select(*CASE_COLUMNS)
                            .where(Case.person_key == person_key, Case.status.in_(OPEN_STATUSES))
                            .with_for_update()
                        )
                    ).first()
                    if row is None:
                        created = (
                            await conn.execute(
                                insert(Case)
                                .values(
                                    person_key=person_key,
                                    status="queued",
                                    priority=priority,
                                    signals=wanted,
                                    country=country,
                                    channel=channel,
                                    created_at=now,
                                    updated_at=now,
                                )
                                .returning(*CASE_COLUMNS)
                            )
                        ).one()
                        data = {"priority": priority, "signals": wanted, "country": country, "channel": channel}
                        await _add_event(conn, created.id, "opened", actor, data, now)
                        return case_record(created), True
                    return await self._merge(conn, case_record(row), priority, wanted, country, actor, now), False
            except IntegrityError:
                continue  # another transaction opened the case first (or the person is unknown): re-read
        raise StoreError(f"open_case did not settle after {OPEN_CASE_ATTEMPTS} attempts")

    async def _merge(
        self,
        conn: AsyncConnection,
        current: CaseRec,
        priority: str,
        wanted: list[str],
        country: str | None,
        actor: str,
        now: datetime,
    ) -> CaseRec:
        added = [s for s in wanted if s not in current.signals]
        raised = PRIORITY_RANK[priority] > PRIORITY_RANK[current.priority]
        fill_country = current.country is None and country is not None
        if not (added or raised or fill_country):
            return current
        values: dict[str, Any] = {"updated_at": now, "signals": [*current.signals, *added]}
        if raised:
            values["priority"] = priority
        if fill_country:
            values["country"] = country
        row = (
            await conn.execute(update(Case).where(Case.id == current.id).values(**values).returning(*CASE_COLUMNS))
        ).one()
        if raised:
            data: dict[str, Any] = {"from": current.priority, "to": priority, "signals": added}
            await _add_event(conn, current.id, "priority_raised", actor, data, now)
        elif added:
            await _add_event(conn, current.id, "signals_added", actor, {"signals": added}, now)
        return case_record(row)

    async def get_case(self, case_id: int) -> CaseRec | None:
        async with self._db.tx() as conn:
            row = (await conn.execute(select(*CASE_COLUMNS).where(Case.id == case_id))).first()
        return None if row is None else case_record(row)

    async def list_cases(self, status: str | None = None) -> list[CaseRec]:
        """Cases (all, or those with `status`): urgent first, then high, then normal; oldest first within."""
        stmt = select(*CASE_COLUMNS)
        if status is not None:
            one_of(status, CASE_STATUSES, "status")
            stmt = stmt.where(Case.status == status)
        rank = case((Case.priority == "urgent", 0), (Case.priority == "high", 1), else_=2)
        async with self._db.tx() as conn:
            rows = (await conn.execute(stmt.order_by(rank, Case.created_at, Case.id))).all()
        return [case_record(r) for r in rows]

    async def add_case_event(self, case_id: int, kind: str, actor: str, data: dict[str, Any] | None = None) -> int:
        """Append to the case's history; returns the event id."""
        check_name(kind, "kind")
        check_name(actor, "actor")
        try:
            async with self._db.tx(write=True) as conn:
                return await _add_event(conn, case_id, kind, actor, data, self._db.now())
        except IntegrityError as e:
            raise UnknownCase(case_id) from e

    async def case_events(self, case_id: int) -> list[CaseEventRec]:
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(*CaseEvent.__table__.c)
                    .where(CaseEvent.case_id == case_id)
                    .order_by(CaseEvent.created_at, CaseEvent.id)
                )
            ).all()
        return [event_record(r) for r in rows]

    async def move_case(
        self,
        case_id: int,
        action: str,
        actor: str,
        *,
        from_status: str | None = None,
        assignee: object = ANY,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> CaseRec | None:
        """Move a case by CASE_TRANSITIONS, with its case event, in one conditional update: claim (the actor
        becomes the assignee), close (with `outcome`) or release (with an optional `reason`).

        Only from `from_status` when given (the status as the caller saw it), else from any status the
        action leaves; only while the assignee is `assignee` unless ANY. None when the case was not in
        such a state (someone else moved it first): two processes racing cannot both win."""
        if action not in CASE_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(CASE_ACTIONS)}")
        check_name(actor, "actor")
        sources = tuple(s for (s, a) in CASE_TRANSITIONS if a == action and from_status in (None, s))
        if not sources:
            return None
        (target,) = {CASE_TRANSITIONS[(s, action)] for s in sources}
        now = self._db.now()
        values: dict[str, Any] = {"status": target, "updated_at": now}
        data: dict[str, Any] = {}
        if action == "claim":
            values["assignee"] = actor
        elif action == "close":
            if not outcome:
                raise ValueError("closing a case needs an outcome")
            check_name(outcome, "outcome")
            values |= {"outcome": outcome, "closed_at": now}
            data = {"outcome": outcome} | ({"from": from_status} if from_status else {})
        else:
            values["closed_at"] = now
            data = {"reason": reason}
        conditions: list[Any] = [Case.id == case_id, Case.status.in_(sources)]
        if assignee is not ANY:
            conditions.append(Case.assignee.is_(None) if assignee is None else Case.assignee == assignee)
        async with self._db.tx(write=True) as conn:
            row = (
                await conn.execute(update(Case).where(*conditions).values(**values).returning(*CASE_COLUMNS))
            ).first()
            if row is None:
                return None
            await _add_event(conn, case_id, CASE_EVENT[action], actor, data, now)
            moved = case_record(row)
            await conn.run_sync(lambda c: case_moved(c, moved.channel, action, moved.created_at, outcome, now))
        return moved
