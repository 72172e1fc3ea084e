"""Messages: what people wrote and what the bot and mediators sent, their delivery outcomes, and retention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from bot.storage.crypto import person_key
from bot.storage.database import Database
from bot.storage.errors import UnknownCase, UnknownPerson, redact_errors
from bot.storage.models import DELIVERY_STATUSES, DIRECTIONS, KINDS, OPEN_STATUSES, Case, Message, Person
from bot.storage.records import MessageRec, check_name, message_record, one_of

# A delivery status may replace only these (receipts arrive late and out of order: never downgrade).
DELIVERY_REPLACES: dict[str, tuple[str, ...]] = {
    "sent": ("sent", "failed"),
    "failed": ("sent", "failed"),
    "delivered": ("sent", "failed", "delivered"),
    "seen": ("sent", "failed", "delivered", "seen"),
}
CASE_COLUMNS = tuple(Case.__table__.c)
MESSAGE_COLUMNS = tuple(Message.__table__.c)


class Messages(Protocol):
    async def add_message(
        self,
        person_key: str,
        direction: str,
        kind: str,
        text: str | None = None,
        *,
        case_id: int | None = None,
        platform_message_id: str | None = None,
    ) -> int: ...
    async def set_delivery(self, message_id: int, status: str, error: str | None = None) -> bool: ...
    async def set_delivery_by_platform_id(
        self, channel: str, platform_message_id: str, status: str, error: str | None = None, *, platform_id: str = ""
    ) -> bool: ...
    async def undelivered(self, message_ids: Iterable[int]) -> set[int]: ...
    async def transcript(self, person_key: str, limit: int = 200) -> list[MessageRec]: ...
    async def messages_for_case(self, case_id: int) -> list[MessageRec]: ...
    async def prune_messages(self, retention_days: int, now: datetime | None = None) -> int: ...


@redact_errors
class MessageRepo:
    def __init__(self, db: Database, user_key_secret: bytes) -> None:
        self._db, self._secret = db, user_key_secret

    async def add_message(
        self,
        person_key: str,
        direction: str,
        kind: str,
        text: str | None = None,
        *,
        case_id: int | None = None,
        platform_message_id: str | None = None,
    ) -> int:
        """Store one message; returns its id. `case_id` must be a case of the same person.

        direction: in | out | mediator; kind: text | payload | image | audio | video | file | sticker |
        location | other (anything else raises ValueError).
        """
        one_of(direction, DIRECTIONS, "direction")
        one_of(kind, KINDS, "kind")
        if platform_message_id is not None:
            check_name(platform_message_id, "platform_message_id", 128)
        now = self._db.now()
        try:
            async with self._db.tx(write=True) as conn:
                if case_id is not None:
                    owner = await conn.scalar(select(Case.person_key).where(Case.id == case_id))
                    if owner is None:
                        raise UnknownCase(case_id)
                    if owner != person_key:
                        raise ValueError("case_id belongs to another person")
                message_id = await conn.scalar(
                    insert(Message)
                    .values(
                        person_key=person_key,
                        case_id=case_id,
                        direction=direction,
                        kind=kind,
                        text=text,
                        platform_message_id=platform_message_id,
                        created_at=now,
                    )
                    .returning(Message.id)
                )
        except IntegrityError as e:
            raise UnknownPerson(person_key) from e
        return int(cast(int, message_id))

    async def set_delivery(self, message_id: int, status: str, error: str | None = None) -> bool:
        """Record a delivery outcome; returns False when the message is gone or already further along
        (a late 'delivered' never replaces 'seen'). `error` is kept only with 'failed'."""
        one_of(status, DELIVERY_STATUSES, "delivery status")
        async with self._db.tx(write=True) as conn:
            row = (
                await conn.execute(
                    update(Message)
                    .where(
                        Message.id == message_id,
                        or_(Message.delivery_status.is_(None), Message.delivery_status.in_(DELIVERY_REPLACES[status])),
                    )
                    .values(delivery_status=status, delivery_error=error if status == "failed" else None)
                    .returning(Message.id)
                )
            ).first()
        return row is not None

    async def set_delivery_by_platform_id(
        self, channel: str, platform_message_id: str, status: str, error: str | None = None, *, platform_id: str = ""
    ) -> bool:
        """A platform's receipt (delivered / seen / failed) for a message we sent, found by its platform id
        (within the person's messages when the receipt names them). False when no such message is waiting
        for it (unknown id, or already further along)."""
        one_of(status, DELIVERY_STATUSES, "delivery status")
        check_name(platform_message_id, "platform_message_id", 128)
        if platform_id:
            whose: Any = Message.person_key == person_key(self._secret, channel, platform_id)
        else:
            whose = Message.person_key.in_(select(Person.key).where(Person.channel == channel).scalar_subquery())
        async with self._db.tx(write=True) as conn:
            row = (
                await conn.execute(
                    update(Message)
                    .where(
                        Message.platform_message_id == platform_message_id,
                        Message.direction.in_(("out", "mediator")),
                        whose,
                        or_(Message.delivery_status.is_(None), Message.delivery_status.in_(DELIVERY_REPLACES[status])),
                    )
                    .values(
                        delivery_status=status,
                        delivery_error=(error or "")[:500] or None if status == "failed" else None,
                    )
                    .returning(Message.id)
                )
            ).first()
        return row is not None

    async def undelivered(self, message_ids: Iterable[int]) -> set[int]:
        """Which of these messages have no delivery outcome yet (to resume sending after a restart)."""
        ids = list(message_ids)
        if not ids:
            return set()
        async with self._db.tx() as conn:
            rows = await conn.execute(select(Message.id).where(Message.id.in_(ids), Message.delivery_status.is_(None)))
            return {int(r[0]) for r in rows}

    async def transcript(self, person_key: str, limit: int = 200) -> list[MessageRec]:
        """The person's last `limit` messages, oldest first."""
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(*MESSAGE_COLUMNS)
                    .where(Message.person_key == person_key)
                    .order_by(Message.created_at.desc(), Message.id.desc())
                    .limit(limit)
                )
            ).all()
        return [message_record(r) for r in reversed(rows)]

    async def messages_for_case(self, case_id: int) -> list[MessageRec]:
        """The messages of the case's person from the case's opening (to its closing), and any message
        filed under the case; oldest first. [] for an unknown case."""
        async with self._db.tx() as conn:
            c = (await conn.execute(select(*CASE_COLUMNS).where(Case.id == case_id))).first()
            if c is None:
                return []
            window = and_(Message.person_key == c.person_key, Message.created_at >= c.created_at)
            if c.closed_at is not None:
                window = and_(window, Message.created_at <= c.closed_at)
            rows = (
                await conn.execute(
                    select(*MESSAGE_COLUMNS)
                    .where(or_(window, Message.case_id == case_id))
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
        return [message_record(r) for r in rows]

    async def prune_messages(self, retention_days: int, now: datetime | None = None) -> int:
        """Blank the text of messages past retention; returns how many were blanked.

        Blanked: messages of a case closed (or released) more than `retention_days` ago, and messages
        older than that of a person who has no open case and no case closed within that time.
        """
        if retention_days < 0:
            raise ValueError("retention_days must not be negative")
        cutoff = (now or self._db.now()) - timedelta(days=retention_days)
        old = aliased(Case)
        belongs_to_old = exists().where(
            old.closed_at.is_not(None),
            old.closed_at < cutoff,
            or_(
                old.id == Message.case_id,
                and_(
                    old.person_key == Message.person_key,
                    old.created_at <= Message.created_at,
                    Message.created_at <= old.closed_at,
                ),
            ),
        )
        live = aliased(Case)
        has_live_case = exists().where(
            live.person_key == Message.person_key, or_(live.status.in_(OPEN_STATUSES), live.closed_at >= cutoff)
        )
        stmt = (
            update(Message)
            .where(
                Message.text.is_not(None),
                or_(belongs_to_old, and_(Message.created_at < cutoff, ~has_live_case)),
            )
            .values(text=None)
        )
        async with self._db.tx(write=True) as conn:
            count = (await conn.execute(stmt)).rowcount
        if count:
            await self._db.scrub()
        return int(count)
