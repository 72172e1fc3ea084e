"""The inbox: webhook events taken in durably before the 200, answered once and in order per person.

The unique key (channel, platform key) decides what is a redelivery. Bodies are stored encrypted and
dropped once the event is finished; an event that keeps failing is set aside ('failed') for admins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Row, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.storage.conversations import ConversationRepo
from bot.storage.crypto import IdCipher
from bot.storage.database import Database
from bot.storage.errors import redact_errors
from bot.storage.models import INBOX_PENDING, INBOX_STATUSES, InboxItem
from bot.storage.records import InboxRec, InboxStatus, TurnContext, check_name, one_of

INBOX_COLUMNS = tuple(InboxItem.__table__.c)


class Inbox(Protocol):
    async def inbox_add(
        self, channel: str, items: Sequence[tuple[str, str, str | None, str, str | None]]
    ) -> list[int | None]: ...
    async def inbox_next(self, person_key: str) -> tuple[InboxRec | None, bool, TurnContext]: ...
    async def inbox_pending(self, updated_before: datetime, limit: int = 500) -> list[InboxRec]: ...
    async def inbox_people(self, updated_before: datetime, limit: int = 500) -> list[tuple[str, str]]: ...
    async def inbox_set_aside(self, limit: int = 100) -> tuple[int, list[InboxRec]]: ...
    async def inbox_retry(self, inbox_id: int) -> int | None: ...
    async def inbox_finish(self, inbox_id: int, status: InboxStatus) -> None: ...
    async def prune_inbox(self, received_before: datetime) -> int: ...


@redact_errors
class InboxRepo:
    def __init__(self, db: Database, cipher: IdCipher, conversations: ConversationRepo) -> None:
        self._db, self._cipher, self._conversations = db, cipher, conversations
        ins = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        self._add = db.statement(
            ins(InboxItem)
            .values(
                channel=bindparam("b_channel"),
                key=bindparam("b_key"),
                kind=bindparam("b_kind"),
                person_key=bindparam("b_pk"),
                status=bindparam("b_status"),
                attempts=0,
                body_enc=bindparam("b_body"),
                received_at=bindparam("b_now"),
                updated_at=bindparam("b_now"),
            )
            .on_conflict_do_nothing(index_elements=[InboxItem.channel, InboxItem.key])
            .returning(InboxItem.id)
        )
        self._next = db.statement(
            select(*INBOX_COLUMNS)
            .where(InboxItem.person_key == bindparam("b_pk"), or_(*(InboxItem.status == s for s in INBOX_PENDING)))
            .order_by(InboxItem.id)
            .limit(2)
        )

    def record(self, row: Row[Any] | Mapping[str, Any]) -> InboxRec:
        m = row._mapping if isinstance(row, Row) else row
        body = m["body_enc"]
        return InboxRec(
            id=m["id"],
            channel=m["channel"],
            key=m["key"],
            kind=m["kind"],
            person_key=m["person_key"],
            status=cast(InboxStatus, m["status"]),
            attempts=m["attempts"],
            body=None if body is None else self._cipher.decrypt(bytes(body)),
            received_at=m["received_at"],
            updated_at=m["updated_at"],
        )

    async def inbox_add(
        self, channel: str, items: Sequence[tuple[str, str, str | None, str, str | None]]
    ) -> list[int | None]:
        """Take in webhook events: items are (platform key, kind, body, status, person key); the body is
        stored encrypted. Returns each new row's id, or None where (channel, key) was taken in before: the
        unique key decides what is a redelivery, in one transaction for the whole body (taken in whole
        or not at all)."""
        check_name(channel, "channel", 32)
        now = self._db.now()
        rows = []
        for key, kind, body, status, whose in items:
            check_name(key, "inbox key", 128)
            one_of(status, INBOX_STATUSES, "inbox status")
            rows.append(
                {
                    "b_channel": channel,
                    "b_key": key,
                    "b_kind": kind[:32],
                    "b_pk": whose,
                    "b_status": status,
                    "b_body": None if body is None else self._cipher.encrypt(body),
                    "b_now": now,
                }
            )

        def run(conn: Connection) -> list[int | None]:
            ids = (self._add.scalar(conn, row) for row in rows)
            return [None if i is None else int(i) for i in ids]

        return await self._db.run(run, write=True)

    async def inbox_next(self, person_key: str) -> tuple[InboxRec | None, bool, TurnContext]:
        """The person's oldest unfinished event (received, or answered and not fully sent) if any, whether
        more are waiting after it, and what a turn reads (open case, conversation state): one read."""

        def run(conn: Connection) -> tuple[InboxRec | None, bool, TurnContext]:
            rows = self._next.rows(conn, {"b_pk": person_key})
            rec = self.record(rows[0]) if rows else None
            return rec, len(rows) > 1, self._conversations.read_context(conn, person_key)

        return await self._db.run(run, write=False)

    async def inbox_pending(self, updated_before: datetime, limit: int = 500) -> list[InboxRec]:
        """Unfinished events (received or answered) not touched since `updated_before`, oldest first."""
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(*INBOX_COLUMNS)
                    .where(InboxItem.status.in_(INBOX_PENDING), InboxItem.updated_at < updated_before)
                    .order_by(InboxItem.id)
                    .limit(limit)
                )
            ).all()
        return [self.record(r) for r in rows]

    async def inbox_people(self, updated_before: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(channel, person key) of the people with unfinished events not touched since `updated_before`."""
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(InboxItem.channel, InboxItem.person_key)
                    .where(
                        InboxItem.status.in_(INBOX_PENDING),
                        InboxItem.updated_at < updated_before,
                        InboxItem.person_key.is_not(None),
                    )
                    .group_by(InboxItem.channel, InboxItem.person_key)
                    .order_by(func.min(InboxItem.id))
                    .limit(limit)
                )
            ).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    async def inbox_set_aside(self, limit: int = 100) -> tuple[int, list[InboxRec]]:
        """Events set aside after failing again and again ('failed'): how many, and the newest `limit` of
        them without their bodies (for admins: what and when, never whose or what it said)."""
        async with self._db.tx() as conn:
            count = await conn.scalar(select(func.count()).where(InboxItem.status == "failed"))
            rows = (
                await conn.execute(
                    select(*INBOX_COLUMNS)
                    .where(InboxItem.status == "failed")
                    .order_by(InboxItem.id.desc())
                    .limit(limit)
                )
            ).all()
        return int(count or 0), [dataclasses.replace(self.record(r), body=None) for r in rows]

    async def inbox_retry(self, inbox_id: int) -> int | None:
        """Count one more attempt at an unfinished event; its attempts so far, or None when it is finished."""
        async with self._db.tx(write=True) as conn:
            return cast(
                int | None,
                await conn.scalar(
                    update(InboxItem)
                    .where(InboxItem.id == inbox_id, InboxItem.status.in_(INBOX_PENDING))
                    .values(attempts=InboxItem.attempts + 1, updated_at=self._db.now())
                    .returning(InboxItem.attempts)
                ),
            )

    async def inbox_finish(self, inbox_id: int, status: InboxStatus) -> None:
        """done / limited: the stored event is dropped (only the dedup key stays). failed: set aside; the
        event stays (encrypted) until the dedup record is pruned, and the person's next event goes on."""
        one_of(status, INBOX_STATUSES, "inbox status")
        values: dict[str, Any] = {"status": status, "updated_at": self._db.now()}
        if status != "failed":
            values["body_enc"] = None
        async with self._db.tx(write=True) as conn:
            await conn.execute(update(InboxItem).where(InboxItem.id == inbox_id).values(**values))

    async def prune_inbox(self, received_before: datetime) -> int:
        """Forget finished events taken in before `received_before` (their dedup keys go too)."""
        async with self._db.tx(write=True) as conn:
            result = await conn.execute(
                delete(InboxItem).where(InboxItem.received_at < received_before, InboxItem.status.not_in(INBOX_PENDING))
            )
        return int(result.rowcount)
