"""Tables of the staff studio: the published content items, their history, drafts and the imported YAML.

The published content is `content_items` (one row per item, see content/items.py for the ids); every
version an item ever had is a row of `content_history` (the content at version N is, per item, its
newest history row at or below N); `content_drafts` holds an editor's unpublished change (and a second
editor's approval when it touches a phone number); `content_files` keeps each YAML file's text as it
was imported, so `sigurno content export` writes unchanged files byte for byte. Created by migration 0006.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, Id, JsonDoc, UtcDateTime

ITEM_ID_MAX = 200


class ContentItem(Base):
    __tablename__ = "content_items"

    id: Mapped[str] = mapped_column(String(ITEM_ID_MAX), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    file: Mapped[str] = mapped_column(String(128))
    path: Mapped[list[Any]] = mapped_column(JsonDoc)
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[Any] = mapped_column(JsonDoc)
    version: Mapped[int] = mapped_column(Integer)  # the content version that last changed it
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class ContentHistory(Base):
    """One published state of one item. `data` None: the item was removed (by an import)."""

    __tablename__ = "content_history"
    __table_args__ = (
        Index("ix_content_history_item_id_version", "item_id", "version"),
        Index("ix_content_history_version", "version"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_MAX))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    file: Mapped[str] = mapped_column(String(128))
    path: Mapped[list[Any]] = mapped_column(JsonDoc)
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[Any | None] = mapped_column(JsonDoc, nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # import | publish | rollback
    author: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ContentDraft(Base):
    __tablename__ = "content_drafts"

    item_id: Mapped[str] = mapped_column(String(ITEM_ID_MAX), primary_key=True)
    data: Mapped[Any] = mapped_column(JsonDoc)
    base_version: Mapped[int] = mapped_column(Integer)  # the item's version the draft was made from
    author: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    needs_approval: Mapped[bool] = mapped_column(Boolean, server_default=false())  # it adds or changes a phone
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ContentFile(Base):
    __tablename__ = "content_files"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    seed: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
