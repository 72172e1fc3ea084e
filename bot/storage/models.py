"""Tables (SQLAlchemy 2 declarative). Only bot.storage touches these; callers get frozen records.

Times are timezone-aware UTC everywhere (`UtcDateTime`): PostgreSQL keeps `timestamptz`, SQLite
keeps naive UTC text in one fixed format, so comparisons in SQL order correctly on both.
The schema itself is created by the Alembic migrations in bot/storage/migrations, never by
`create_all`; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

DIRECTIONS = ("in", "out", "mediator")
KINDS = ("text", "payload", "image", "audio", "video", "file", "sticker", "location", "other")
DELIVERY_STATUSES = ("sent", "delivered", "seen", "failed")
CASE_STATUSES = ("queued", "assigned", "closed", "released")
OPEN_STATUSES = ("queued", "assigned")
PRIORITIES = ("urgent", "high", "normal")
# received: taken in, not yet answered; answered: the answer is stored and being sent; done: sent (or
# nothing to send); limited: recorded but over the person's rate limit; failed: given up after retries.
INBOX_STATUSES = ("received", "answered", "done", "limited", "failed")
INBOX_PENDING = ("received", "answered")

OPEN_CASE_WHERE = "status IN ('queued', 'assigned')"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: storage times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY on SQLite, bigint elsewhere
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    __tablename__ = "people"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    platform_id_enc: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Conversation(Base):
    __tablename__ = "conversations"

    person_key: Mapped[str] = mapped_column(String(64), ForeignKey("people.key", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        Index("ix_cases_person_key", "person_key"),
        Index("ix_cases_status_created_at", "status", "created_at"),
        # At most one open case per person, guaranteed by the database (partial unique index).
        Index(
            "uq_cases_one_open_per_person",
            "person_key",
            unique=True,
            sqlite_where=text(OPEN_CASE_WHERE),
            postgresql_where=text(OPEN_CASE_WHERE),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    person_key: Mapped[str] = mapped_column(String(64), ForeignKey("people.key", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    signals: Mapped[list[str]] = mapped_column(JsonDoc)
    country: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assignee: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(f"delivery_status IS NULL OR {_in('delivery_status', DELIVERY_STATUSES)}", name="delivery"),
        Index("ix_messages_person_key_created_at", "person_key", "created_at"),
        Index("ix_messages_case_id", "case_id"),
        Index("ix_messages_created_at", "created_at"),
        Index("ix_messages_platform_message_id", "platform_message_id"),  # delivery receipts find their message
        {"sqlite_autoincrement": True},  # ids are never reused after an erasure
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    person_key: Mapped[str] = mapped_column(String(64), ForeignKey("people.key", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(Id, ForeignKey("cases.id", ondelete="SET NULL"))
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_error: Mapped[str | None] = mapped_column(Text)


class CaseEvent(Base):
    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_id", "case_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(Id, ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InboxItem(Base):
    """One webhook event taken in: the durable dedup record (unique channel + platform key) and, until it is
    answered and sent, the event itself (Fernet-encrypted: it holds the raw platform id and the text)."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "key"),
        CheckConstraint(_in("status", INBOX_STATUSES), name="status"),
        Index("ix_inbox_status_updated_at", "status", "updated_at"),
        Index("ix_inbox_received_at", "received_at"),
        Index("ix_inbox_person_key_status", "person_key", "status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    person_key: Mapped[str | None] = mapped_column(String(64))  # whose event (pseudonymous), for ordering
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
