"""The audit log: who did what to which case, from where. Append-only; holds no message text or ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import insert, select

from bot.storage.console_models import AuditEntry
from bot.storage.database import Database
from bot.storage.errors import redact_errors

MAX_ACTOR = 64


@dataclass(frozen=True, slots=True)
class AuditRec:
    id: int
    created_at: datetime
    actor: str
    action: str
    case_id: int | None
    ip: str | None
    detail: dict[str, Any]


class AuditLog(Protocol):
    async def audit(
        self,
        actor: str,
        action: str,
        *,
        case_id: int | None = None,
        ip: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int: ...
    async def audit_log(self, *, case_id: int | None = None, limit: int = 500) -> list[AuditRec]: ...


@redact_errors
class AuditRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

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
        async with self._db.tx(write=True) as conn:
            audit_id = await conn.scalar(
                insert(AuditEntry)
                .values(
                    created_at=self._db.now(),
                    actor=actor[:MAX_ACTOR],
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
        async with self._db.tx() as conn:
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
