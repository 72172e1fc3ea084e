"""The console's repository: notes, pushed messages and the console's queries on messages and cases.

Accounts and sessions are bot.storage.accounts, the audit log bot.storage.audit; a ConsoleRepo offers
their methods too (`repo.add_user`, `repo.audit`), bound to the store's repositories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.accounts import MAX_NAME, DuplicateUser, SessionRec, UserRec
from bot.storage.audit import AuditRec
from bot.storage.console_models import CaseNote, PushedMessage
from bot.storage.errors import UnknownCase, redact_errors
from bot.storage.models import Case, CaseEvent, Message
from bot.storage.records import check_name
from bot.storage.store import Store

__all__ = ["AuditRec", "ConsoleRepo", "DuplicateUser", "NoteRec", "PushedRec", "SessionRec", "UserRec"]
MAX_NOTE = 4000


@dataclass(frozen=True, slots=True)
class NoteRec:
    id: int
    case_id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PushedRec:
    id: int  # the message id: the web chat's cursor
    direction: str  # "mediator" or "out" (a bot notice)
    text: str | None
    created_at: datetime


@redact_errors
class ConsoleRepo:
    """`ConsoleRepo(store)`: shares the store's database; accounts and audit are the store's repositories."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._db = store.db
        accounts, audits = store.accounts, store.audits
        self.add_user = accounts.add_user
        self.credentials = accounts.credentials
        self.get_user = accounts.get_user
        self.list_users = accounts.list_users
        self.set_password_hash = accounts.set_password_hash
        self.set_disabled = accounts.set_disabled
        self.create_session = accounts.create_session
        self.get_session = accounts.get_session
        self.delete_session = accounts.delete_session
        self.purge_sessions = accounts.purge_sessions
        self.audit = audits.audit
        self.audit_log = audits.audit_log

    def now(self) -> datetime:
        return self._db.now()

    # -- notes ----------------------------------------------------------------------------------

    async def add_note(self, case_id: int, author: str, text: str) -> NoteRec:
        """A private note, with a 'note' case event (which does not repeat the text)."""
        check_name(author, "author", MAX_NAME)
        if not text.strip() or len(text) > MAX_NOTE:
            raise ValueError(f"a note must be 1 to {MAX_NOTE} characters")
        now = self._db.now()
        try:
            async with self._db.tx(write=True) as conn:
                note_id = await conn.scalar(
                    insert(CaseNote)
                    .values(case_id=case_id, author=author, text=text, created_at=now)
                    .returning(CaseNote.id)
                )
                await conn.execute(
                    insert(CaseEvent).values(
                        case_id=case_id, kind="note", actor=author, data={"note_id": note_id}, created_at=now
                    )
                )
        except IntegrityError as e:
            raise UnknownCase(case_id) from e
        return NoteRec(int(cast(int, note_id)), case_id, author, text, now)

    async def prune_notes(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete the notes of cases closed (or released) more than `retention_days` ago; how many went."""
        cutoff = (now or self._db.now()) - timedelta(days=retention_days)
        old_cases = select(Case.id).where(Case.closed_at.is_not(None), Case.closed_at < cutoff).scalar_subquery()
        async with self._db.tx(write=True) as conn:
            result = await conn.execute(delete(CaseNote).where(CaseNote.case_id.in_(old_cases)))
        return int(result.rowcount)

    async def notes(self, case_id: int) -> list[NoteRec]:
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(*CaseNote.__table__.c).where(CaseNote.case_id == case_id).order_by(CaseNote.id)
                )
            ).all()
        return [NoteRec(r.id, r.case_id, r.author, r.text, r.created_at) for r in rows]

    # -- messages -------------------------------------------------------------------------------

    async def attach_trigger(self, case_id: int, person_key: str) -> int | None:
        """File the person's newest inbound message that has no case under `case_id` (the message that
        opened the case: the caller holds the conversation lock). Returns its id, or None."""
        async with self._db.tx(write=True) as conn:
            newest = await conn.scalar(
                select(func.max(Message.id)).where(Message.person_key == person_key, Message.direction == "in")
            )
            if newest is None:
                return None
            done = await conn.scalar(
                update(Message)
                .where(Message.id == newest, Message.case_id.is_(None))
                .values(case_id=case_id)
                .returning(Message.id)
            )
        return None if done is None else int(done)

    async def add_pushed(self, person_key: str, direction: str, text: str, case_id: int | None, *, push: bool) -> int:
        """Store an outgoing message (a mediator's reply, or a bot notice); with `push`, also queue it for the
        web chat page (GET /api/chat/updates). Returns the message id."""
        message_id = await self._store.add_message(person_key, direction, "text", text, case_id=case_id)
        if push:
            async with self._db.tx(write=True) as conn:
                await conn.execute(insert(PushedMessage).values(message_id=message_id, person_key=person_key))
        return message_id

    async def pushed_after(self, person_key: str, after: int, limit: int = 100) -> list[PushedRec]:
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(Message.id, Message.direction, Message.text, Message.created_at)
                    .join(PushedMessage, PushedMessage.message_id == Message.id)
                    .where(PushedMessage.person_key == person_key, PushedMessage.message_id > after)
                    .order_by(PushedMessage.message_id)
                    .limit(limit)
                )
            ).all()
        return [PushedRec(int(r.id), r.direction, r.text, r.created_at) for r in rows]

    async def last_pushed_id(self, person_key: str) -> int:
        async with self._db.tx() as conn:
            value = await conn.scalar(
                select(func.max(PushedMessage.message_id)).where(PushedMessage.person_key == person_key)
            )
        return int(value or 0)

    async def set_platform_message_id(self, message_id: int, platform_message_id: str) -> None:
        async with self._db.tx(write=True) as conn:
            await conn.execute(
                update(Message).where(Message.id == message_id).values(platform_message_id=platform_message_id[:128])
            )

    async def last_inbound(self, person_keys: Iterable[str]) -> dict[str, datetime]:
        """When each person last wrote (the reply window of Messenger counts from then)."""
        keys = list(set(person_keys))
        if not keys:
            return {}
        async with self._db.tx() as conn:
            rows = (
                await conn.execute(
                    select(Message.person_key, func.max(Message.created_at))
                    .where(Message.person_key.in_(keys), Message.direction == "in")
                    .group_by(Message.person_key)
                )
            ).all()
        return {r[0]: r[1] for r in rows}

    async def last_message(self, person_keys: Iterable[str]) -> dict[str, tuple[datetime, str]]:
        """Each person's newest message: (time, direction)."""
        keys = list(set(person_keys))
        if not keys:
            return {}
        async with self._db.tx() as conn:
            newest = (
                select(Message.person_key, func.max(Message.id).label("mid"))
                .where(Message.person_key.in_(keys))
                .group_by(Message.person_key)
                .subquery()
            )
            rows = (
                await conn.execute(
                    select(Message.person_key, Message.created_at, Message.direction).join(
                        newest, newest.c.mid == Message.id
                    )
                )
            ).all()
        return {r[0]: (r[1], r[2]) for r in rows}

    async def last_mediator_message(self, case_id: int) -> datetime | None:
        async with self._db.tx() as conn:
            c = (await conn.execute(select(Case.person_key, Case.created_at).where(Case.id == case_id))).first()
            if c is None:
                return None
            value = await conn.scalar(
                select(func.max(Message.created_at)).where(
                    Message.person_key == c.person_key,
                    Message.direction == "mediator",
                    Message.created_at >= c.created_at,
                )
            )
        return value

    async def last_event(self, case_id: int, kinds: Iterable[str]) -> datetime | None:
        async with self._db.tx() as conn:
            value = await conn.scalar(
                select(func.max(CaseEvent.created_at)).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind.in_(list(kinds))
                )
            )
        return value
