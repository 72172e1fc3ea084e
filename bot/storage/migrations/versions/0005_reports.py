"""Reports: report_counts (tidy daily counts) and report_people (per-day markers of who was reached).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_counts",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("dimension", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "metric", "dimension", name=op.f("pk_report_counts")),
    )
    op.create_table(
        "report_people",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("marker", sa.String(32), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("month", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel", "marker", name=op.f("pk_report_people")),
    )
    op.create_index(op.f("ix_report_people_marker"), "report_people", ["marker"])


def downgrade() -> None:
    op.drop_table("report_people")
    op.drop_table("report_counts")
