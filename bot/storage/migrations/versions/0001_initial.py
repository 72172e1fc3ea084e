"""Initial schema: people, conversations, cases, messages, case_events.

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names are final (op.f): the naming convention of bot.storage.models must not rename them.
# Frozen copies of the values at this revision: later model changes must not change this migration.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
OPEN_CASE_WHERE = "status IN ('queued', 'assigned')"


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("platform_id_enc", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        _ts("created_at"),
        _ts("last_seen_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_people")),
    )
    op.create_table(
        "conversations",
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(
            ["person_key"], ["people.key"], name=op.f("fk_conversations_person_key_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_key", name=op.f("pk_conversations")),
    )
    op.create_table(
        "cases",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("signals", JSON_DOC, nullable=False),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        _ts("closed_at", nullable=True),
        sa.CheckConstraint("status IN ('queued', 'assigned', 'closed', 'released')", name=op.f("ck_cases_status")),
        sa.CheckConstraint("priority IN ('urgent', 'high', 'normal')", name=op.f("ck_cases_priority")),
        sa.ForeignKeyConstraint(
            ["person_key"], ["people.key"], name=op.f("fk_cases_person_key_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_cases_person_key"), "cases", ["person_key"])
    op.create_index(op.f("ix_cases_status_created_at"), "cases", ["status", "created_at"])
    op.create_index(
        op.f("uq_cases_one_open_per_person"),
        "cases",
        ["person_key"],
        unique=True,
        sqlite_where=sa.text(OPEN_CASE_WHERE),
        postgresql_where=sa.text(OPEN_CASE_WHERE),
    )
    op.create_table(
        "messages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(64), nullable=False),
        sa.Column("case_id", ID, nullable=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("platform_message_id", sa.String(128), nullable=True),
        _ts("created_at"),
        sa.Column("delivery_status", sa.String(16), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out', 'mediator')", name=op.f("ck_messages_direction")),
        sa.CheckConstraint(
            "kind IN ('text', 'payload', 'image', 'audio', 'video', 'file', 'sticker', 'location', 'other')",
            name=op.f("ck_messages_kind"),
        ),
        sa.CheckConstraint(
            "delivery_status IS NULL OR delivery_status IN ('sent', 'delivered', 'seen', 'failed')",
            name=op.f("ck_messages_delivery"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_messages_case_id_cases"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["person_key"], ["people.key"], name=op.f("fk_messages_person_key_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_messages_person_key_created_at"), "messages", ["person_key", "created_at"])
    op.create_index(op.f("ix_messages_case_id"), "messages", ["case_id"])
    op.create_index(op.f("ix_messages_created_at"), "messages", ["created_at"])
    op.create_table(
        "case_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_case_events_case_id"), "case_events", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("messages")
    op.drop_table("cases")
    op.drop_table("conversations")
    op.drop_table("people")
