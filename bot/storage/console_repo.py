"""The console's repository: accounts, sessions, audit log, notes, pushed messages and case transitions.

It works on the Store's engine (same transactions rules: one short transaction per method, frozen records
out), so the console adds tables without growing store.py. Case transitions here are conditional updates
(`WHERE status IN (...) AND assignee = ...`) written together with their case event: two processes racing
on the same case cannot both win, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.console_models import ROLES, AuditEntry, CaseNote, ConsoleSession, PushedMessage, User
from bot.storage.engine import WRITE
from bot.storage.models import Case, CaseEvent, Message
from bot.storage.store import Store, UnknownCase, redact_errors

MAX_NAME = 64
MAX_NOTE = 4000


class DuplicateUser(ValueError):
    """A user with that name exists already."""


@dataclass(frozen=True, slots=True)
class UserRec:
    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionRec:
    token_hash: str
    user: UserRec
    csrf: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRec:
    id: int
    created_at: datetime
    actor: str
    action: str
    case_id: int | None
    ip: str | None
    detail: dict[str, Any]


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


USER_COLUMNS = (User.id, User.name, User.role, User.disabled, User.created_at)
CASE_COLUMNS = tuple(Case.__table__.c)


def _user(row: Any) -> UserRec:
    m = row._mapping
    return UserRec(
        id=int(m["id"]), name=m["name"], role=m["role"], disabled=bool(m["disabled"]), created_at=m["created_at"]
    )


def _check_name(value: str, what: str) -> None:
    if not value or len(value) > MAX_NAME:
        raise ValueError(f"{what} must be 1 to {MAX_NAME} characters")


@redact_errors
class ConsoleRepo:
    """`ConsoleRepo(store)`: shares the store's engine, clock and transaction set-up."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._engine = store.engine
        self._writer = store.engine.execution_options(**WRITE)

    def now(self) -> datetime:
        return self._store._now()

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        async with (self._writer if write else self._engine).begin() as conn:
            yield conn

    # -- users ----------------------------------------------------------------------------------

    async def add_user(self, name: str, role: str, password_hash: str) -> UserRec:
        _check_name(name, "user name")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        now = self.now()
        try:
            async with self._tx(write=True) as conn:
                row = (
                    await conn.execute(
                        insert(User)
                        .values(
                            name=name,
                            role=role,
                            password_hash=password_hash,
                            disabled=False,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(*USER_COLUMNS)
                    )
                ).one()
        except IntegrityError as e:
            raise DuplicateUser(name) from e
        return _user(row)

    async def credentials(self, name: str) -> tuple[UserRec, str] | None:
        """The user and their password hash (to verify a login), or None."""
        async with self._tx() as conn:
            row = (await conn.execute(select(*USER_COLUMNS, User.password_hash).where(User.name == name))).first()
        return None if row is None else (_user(row), str(row.password_hash))

    async def get_user(self, name: str) -> UserRec | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(*USER_COLUMNS).where(User.name == name))).first()
        return None if row is None else _user(row)

    async def list_users(self) -> list[UserRec]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(*USER_COLUMNS).order_by(User.name))).all()
        return [_user(r) for r in rows]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=self.now())
            )

    async def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (or enable) an account; a disabled account's sessions end at once. False: no such user."""
        async with self._tx(write=True) as conn:
            user_id = await conn.scalar(
                update(User)
                .where(User.name == name)
                .values(disabled=disabled, updated_at=self.now())
                .returning(User.id)
            )
            if user_id is None:
                return False
            if disabled:
                await conn.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
        return True

    # -- sessions -------------------------------------------------------------------------------

    async def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: datetime) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                insert(ConsoleSession).values(
                    token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=self.now(), expires_at=expires_at
                )
            )

    async def get_session(self, token_hash: str) -> SessionRec | None:
        """A live session of an enabled user, or None (unknown, expired or disabled)."""
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(
                        *USER_COLUMNS,
                        ConsoleSession.token_hash,
                        ConsoleSession.csrf,
                        ConsoleSession.created_at.label("session_created_at"),
                        ConsoleSession.expires_at,
                    )
                    .join(User, User.id == ConsoleSession.user_id)
                    .where(
                        ConsoleSession.token_hash == token_hash,
                        ConsoleSession.expires_at > self.now(),
                        User.disabled.is_(False),
                    )
                )
            ).first()
        if row is None:
            return None
        return SessionRec(
            token_hash=row.token_hash,
            user=_user(row),
            csrf=row.csrf,
            created_at=row.session_created_at,
            expires_at=row.expires_at,
        )

    async def delete_session(self, token_hash: str) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))

    async def purge_sessions(self) -> int:
        async with self._tx(write=True) as conn:
            result = await conn.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= self.now()))
        return int(result.rowcount)

    # -- audit log ------------------------------------------------------------------------------

    async def audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: int | None = None,
        ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one audit row. `detail` must hold no message text and no platform id."""
        async with self._tx(write=True) as conn:
            audit_id = await conn.scalar(
                insert(AuditEntry)
                .values(
                    created_at=self.now(),
                    actor=actor[:MAX_NAME],
                    action=action[:32],
                    case_id=case_id,
                    ip=(ip or None) and ip[:64],
                    detail=detail or {},
                )
                .returning(AuditEntry.id)
            )
        return int(cast(int, audit_id))

    async def audit_log(self, *, case_id: int | None = None, limit: int = 500) -> list[AuditRec]:
        stmt = select(*AuditEntry.__table__.c)
        if case_id is not None:
            stmt = stmt.where(AuditEntry.case_id == case_id)
        async with self._tx() as conn:
            rows = (await conn.execute(stmt.order_by(AuditEntry.id.desc()).limit(limit))).all()
        return [
            AuditRec(
                id=r.id,
                created_at=r.created_at,
                actor=r.actor,
                action=r.action,
                case_id=r.case_id,
                ip=r.ip,
                detail=dict(r.detail or {}),
            )
            for r in reversed(rows)
        ]

    # -- notes ----------------------------------------------------------------------------------

    async def add_note(self, case_id: int, author: str, text: str) -> NoteRec:
        """A private note, with a 'note' case event (which does not repeat the text)."""
        _check_name(author, "author")
        if not text.strip() or len(text) > MAX_NOTE:
            raise ValueError(f"a note must be 1 to {MAX_NOTE} characters")
        now = self.now()
        try:
            async with self._tx(write=True) as conn:
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
        cutoff = (now or self.now()) - timedelta(days=retention_days)
        old_cases = select(Case.id).where(Case.closed_at.is_not(None), Case.closed_at < cutoff).scalar_subquery()
        async with self._tx(write=True) as conn:
            result = await conn.execute(delete(CaseNote).where(CaseNote.case_id.in_(old_cases)))
        return int(result.rowcount)

    async def notes(self, case_id: int) -> list[NoteRec]:
        async with self._tx() as conn:
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
        async with self._tx(write=True) as conn:
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
            async with self._tx(write=True) as conn:
                await conn.execute(insert(PushedMessage).values(message_id=message_id, person_key=person_key))
        return message_id

    async def pushed_after(self, person_key: str, after: int, limit: int = 100) -> list[PushedRec]:
        async with self._tx() as conn:
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
        async with self._tx() as conn:
            value = await conn.scalar(
                select(func.max(PushedMessage.message_id)).where(PushedMessage.person_key == person_key)
            )
        return int(value or 0)

    async def set_platform_message_id(self, message_id: int, platform_message_id: str) -> None:
        async with self._tx(write=True) as conn:
            await conn.execute(
                update(Message).where(Message.id == message_id).values(platform_message_id=platform_message_id[:128])
            )

    async def last_inbound(self, person_keys: Iterable[str]) -> dict[str, datetime]:
        """When each person last wrote (the reply window of Messenger counts from then)."""
        keys = list(set(person_keys))
        if not keys:
            return {}
        async with self._tx() as conn:
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
        async with self._tx() as conn:
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
        async with self._tx() as conn:
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
        async with self._tx() as conn:
            value = await conn.scalar(
                select(func.max(CaseEvent.created_at)).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind.in_(list(kinds))
                )
            )
        return value

    # -- case transitions -----------------------------------------------------------------------
