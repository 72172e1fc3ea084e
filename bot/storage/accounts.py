"""Console accounts and their sessions (a session is stored by the hash of its token)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.storage.console_models import ROLES, ConsoleSession, User
from bot.storage.database import Database
from bot.storage.errors import redact_errors
from bot.storage.records import check_name

MAX_NAME = 64


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


USER_COLUMNS = (User.id, User.name, User.role, User.disabled, User.created_at)


def _user(row: Any) -> UserRec:
    m = row._mapping
    return UserRec(
        id=int(m["id"]), name=m["name"], role=m["role"], disabled=bool(m["disabled"]), created_at=m["created_at"]
    )


class Accounts(Protocol):
    async def add_user(self, name: str, role: str, password_hash: str) -> UserRec: ...
    async def credentials(self, name: str) -> tuple[UserRec, str] | None: ...
    async def get_user(self, name: str) -> UserRec | None: ...
    async def list_users(self) -> list[UserRec]: ...
    async def set_password_hash(self, user_id: int, password_hash: str) -> None: ...
    async def set_disabled(self, name: str, disabled: bool) -> bool: ...
    async def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: datetime) -> None: ...
    async def get_session(self, token_hash: str) -> SessionRec | None: ...
    async def delete_session(self, token_hash: str) -> None: ...
    async def purge_sessions(self) -> int: ...


@redact_errors
class AccountRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_user(self, name: str, role: str, password_hash: str) -> UserRec:
        check_name(name, "user name", MAX_NAME)
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        now = self._db.now()
        try:
            async with self._db.tx(write=True) as conn:
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
        async with self._db.tx() as conn:
            row = (await conn.execute(select(*USER_COLUMNS, User.password_hash).where(User.name == name))).first()
        return None if row is None else (_user(row), str(row.password_hash))

    async def get_user(self, name: str) -> UserRec | None:
        async with self._db.tx() as conn:
            row = (await conn.execute(select(*USER_COLUMNS).where(User.name == name))).first()
        return None if row is None else _user(row)

    async def list_users(self) -> list[UserRec]:
        async with self._db.tx() as conn:
            rows = (await conn.execute(select(*USER_COLUMNS).order_by(User.name))).all()
        return [_user(r) for r in rows]

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self._db.tx(write=True) as conn:
            await conn.execute(
                update(User).where(User.id == user_id).values(password_hash=password_hash, updated_at=self._db.now())
            )

    async def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (or enable) an account; a disabled account's sessions end at once. False: no such user."""
        async with self._db.tx(write=True) as conn:
            user_id = await conn.scalar(
                update(User)
                .where(User.name == name)
                .values(disabled=disabled, updated_at=self._db.now())
                .returning(User.id)
            )
            if user_id is None:
                return False
            if disabled:
                await conn.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
        return True

    async def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: datetime) -> None:
        async with self._db.tx(write=True) as conn:
            await conn.execute(
                insert(ConsoleSession).values(
                    token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=self._db.now(), expires_at=expires_at
                )
            )

    async def get_session(self, token_hash: str) -> SessionRec | None:
        """A live session of an enabled user, or None (unknown, expired or disabled)."""
        async with self._db.tx() as conn:
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
                        ConsoleSession.expires_at > self._db.now(),
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
        async with self._db.tx(write=True) as conn:
            await conn.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash))

    async def purge_sessions(self) -> int:
        async with self._db.tx(write=True) as conn:
            result = await conn.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= self._db.now()))
        return int(result.rowcount)
