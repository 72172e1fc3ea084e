"""Tables of the review side (migration 0007; what each holds: bot/storage/review_repo.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, Id, JsonDoc, UtcDateTime, _in

ITEM_STATUSES = ("open", "labelled", "dismissed")
JOB_STATUSES = ("training", "ready", "failed", "refused", "published")
RISKS = ("none", "elevated", "urgent")
MAX_TEXT = 1000  # a review item keeps the first 1000 characters (the intent is read from the head too)
MAX_LISTED = 200


class ReviewItem(Base):
    __tablename__ = "review_items"
    __table_args__ = (
        CheckConstraint(_in("status", ITEM_STATUSES), name="status"),
        Index("ix_review_items_status_id", "status", "id"),
        Index("ix_review_items_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)  # masked: no phone numbers, e-mail addresses or long digit runs
    nlu: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # intent, confidence, country, risk, ask_safety, reasons
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NluExample(Base):
    __tablename__ = "nlu_examples"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    risk: Mapped[str | None] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NluModelRow(Base):
    __tablename__ = "nlu_models"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_nlu_models_published_version", "published_version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)  # the job number
    status: Mapped[str] = mapped_column(String(16))
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    examples: Mapped[int] = mapped_column(Integer)  # labelled examples from the database in this training
    base_hash: Mapped[str] = mapped_column(String(32))  # nlu/data + nlu/risk_data it was trained on
    live_version: Mapped[int] = mapped_column(Integer)  # the live model it was scored against
    scores: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {"candidate": {...}, "live": {...}}
    error: Mapped[str | None] = mapped_column(String(300))
    model: Mapped[bytes | None] = mapped_column(LargeBinary)  # joblib bytes; dropped once no longer needed
    published_version: Mapped[int | None] = mapped_column(Integer)
    published_by: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
