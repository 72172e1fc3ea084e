"""People: a person is known only by a keyed hash of channel + platform id; the raw id is stored encrypted.
Erasure removes every row of a person (and on SQLite scrubs the freed pages and the WAL)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.crypto import IdCipher, person_key
from bot.storage.database import Database
from bot.storage.errors import redact_errors
from bot.storage.models import INBOX_PENDING, Case, CaseEvent, Conversation, InboxItem, Message, Person
from bot.storage.records import PersonRef, check_name
from bot.storage.report_tally import forget_person


class People(Protocol):
    def key_for(self, channel: str, platform_id: str) -> str: ...
    async def person(self, channel: str, platform_id: str, language: str | None = None) -> PersonRef: ...
    async def platform_id(self, person_key: str) -> str | None: ...
    async def get_person(self, person_key: str) -> PersonRef | None: ...
    async def erase_person(self, person_key: str) -> None: ...


@redact_errors
class PeopleRepo:
    def __init__(self, db: Database, user_key_secret: bytes, cipher: IdCipher) -> None:
        self._db, self._secret, self._cipher = db, user_key_secret, cipher

    def key_for(self, channel: str, platform_id: str) -> str:
        """The pseudonymous key of a platform user, without touching the database."""
        return person_key(self._secret, channel, platform_id)

    async def person(self, channel: str, platform_id: str, language: str | None = None) -> PersonRef:
        """Get or create the person behind a platform id; records that they were seen now.

        `language` is stored for a new person (or one without a language).
        """
        check_name(channel, "channel", 32)
        if language is not None:
            check_name(language, "language", 16)
        key = person_key(self._secret, channel, platform_id)
        stmt = self._person_upsert(key, channel, platform_id, language, self._db.now())
        async with self._db.tx(write=True) as conn:
            row = (await conn.execute(stmt.returning(Person.channel, Person.language))).one()
        return PersonRef(key=key, channel=row.channel, language=row.language)

    def _person_upsert(
        self, key: str, channel: str, platform_id: str, language: str | None, now: datetime
    ) -> postgresql.Insert | sqlite.Insert:
        ins = self._db.upsert(Person).values(
            key=key,
            channel=channel,
            platform_id_enc=self._cipher.encrypt(platform_id),
            language=language,
            created_at=now,
            last_seen_at=now,
        )
        return ins.on_conflict_do_update(
            index_elements=[Person.key],
            set_={
                "last_seen_at": ins.excluded.last_seen_at,
                "language": func.coalesce(Person.language, ins.excluded.language),
            },
        )

    async def platform_id(self, person_key: str) -> str | None:
        """The raw platform id (decrypted) to reply to, or None for an unknown person."""
        async with self._db.tx() as conn:
            token = await conn.scalar(select(Person.platform_id_enc).where(Person.key == person_key))
        return None if token is None else self._cipher.decrypt(bytes(token))

    async def get_person(self, person_key: str) -> PersonRef | None:
        async with self._db.tx() as conn:
            row = (await conn.execute(select(Person.channel, Person.language).where(Person.key == person_key))).first()
        return None if row is None else PersonRef(key=person_key, channel=row.channel, language=row.language)

    async def erase_person(self, person_key: str) -> None:
        """Remove the person and everything of theirs: messages, state, cases and case events."""
        async with self._db.tx(write=True) as conn:
            their_cases = select(Case.id).where(Case.person_key == person_key).scalar_subquery()
            await conn.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(their_cases)))
            await conn.execute(delete(Message).where(Message.person_key == person_key))
            await conn.execute(delete(Conversation).where(Conversation.person_key == person_key))
            await conn.execute(delete(Case).where(Case.person_key == person_key))
            await conn.execute(delete(Person).where(Person.key == person_key))
            # Events already handled keep only their dedup key; unfinished ones (this very request, and any
            # sent after it) keep the body and the pseudonymous key they need to be answered in order, and
            # lose the body when done (the key goes with the dedup record, after channels.dedup_hours).
            await conn.execute(
                update(InboxItem)
                .where(InboxItem.person_key == person_key, InboxItem.status.not_in(INBOX_PENDING))
                .values(person_key=None, body_enc=None)
            )
            await conn.run_sync(lambda c: forget_person(c, self._secret, person_key))  # the reports keep counts only
        await self._db.scrub()
