"""Reads only the tests need: they look at rows the bot never reads back this way."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.inbox_repo import INBOX_COLUMNS, InboxRepo
from bot.storage.models import OPEN_STATUSES, Case, InboxItem
from bot.storage.records import CaseRec, InboxRec, case_record
from bot.storage.store import Store


async def inbox_row(store: Store, inbox_id: int) -> InboxRec | None:
    """One inbox row, its body decrypted."""
    assert isinstance(store.inbox, InboxRepo)
    async with store.db.tx() as conn:
        row = (await conn.execute(select(*INBOX_COLUMNS).where(InboxItem.id == inbox_id))).first()
    return None if row is None else store.inbox.record(row)


async def open_case_of(store: Store, person_key: str) -> CaseRec | None:
    """The person's open case, if any."""
    async with store.db.tx() as conn:
        row = (
            await conn.execute(
                select(*Case.__table__.c).where(Case.person_key == person_key, Case.status.in_(OPEN_STATUSES))
            )
        ).first()
    return None if row is None else case_record(row)
