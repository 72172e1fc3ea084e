"""What the bot did not understand: review items, labelled NLU examples, trained NLU models.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the values at this revision.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def UtcDateTime() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("nlu", JsonDoc, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'labelled', 'dismissed')", name=op.f("ck_review_items_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_items")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_review_items_status_id", "review_items", ["status", "id"])
    op.create_index("ix_review_items_created_at", "review_items", ["created_at"])
    op.create_table(
        "nlu_examples",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("risk", sa.String(16), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_examples")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "nlu_models",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("base_hash", sa.String(32), nullable=False),
        sa.Column("live_version", sa.Integer(), nullable=False),
        sa.Column("scores", JsonDoc, nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("published_by", sa.String(64), nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('training', 'ready', 'failed', 'refused', 'published')", name=op.f("ck_nlu_models_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_models")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_nlu_models_published_version", "nlu_models", ["published_version"])


def downgrade() -> None:
    op.drop_index("ix_nlu_models_published_version", table_name="nlu_models")
    op.drop_table("nlu_models")
    op.drop_table("nlu_examples")
    op.drop_index("ix_review_items_created_at", table_name="review_items")
    op.drop_index("ix_review_items_status_id", table_name="review_items")
    op.drop_table("review_items")
