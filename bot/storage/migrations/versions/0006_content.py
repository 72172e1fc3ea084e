"""Staff studio: content_items, content_history, content_drafts, content_files.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the values at this revision.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ITEM_ID = 200


def _ts(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "content_items",
        sa.Column("id", sa.String(ITEM_ID), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file", sa.String(128), nullable=False),
        sa.Column("path", JSON_DOC, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
    )
    op.create_table(
        "content_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(ITEM_ID), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("file", sa.String(128), nullable=False),
        sa.Column("path", JSON_DOC, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data", JSON_DOC, nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_history")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_content_history_item_id_version", "content_history", ["item_id", "version"])
    op.create_index("ix_content_history_version", "content_history", ["version"])
    op.create_table(
        "content_drafts",
        sa.Column("item_id", sa.String(ITEM_ID), nullable=False),
        sa.Column("data", JSON_DOC, nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        _ts("updated_at"),
        sa.Column("needs_approval", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("approved_by", sa.String(64), nullable=True),
        _ts("approved_at", nullable=True),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_content_drafts")),
    )
    op.create_table(
        "content_files",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("seed", sa.Text(), nullable=False),
        _ts("imported_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_content_files")),
    )


def downgrade() -> None:
    op.drop_table("content_files")
    op.drop_table("content_drafts")
    op.drop_index("ix_content_history_version", table_name="content_history")
    op.drop_index("ix_content_history_item_id_version", table_name="content_history")
    op.drop_table("content_history")
    op.drop_table("content_items")
