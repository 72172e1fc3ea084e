"""Conversations: what a turn reads (open case, state) and writes (person, messages, state, inbox row,
report tally, review-queue item) in one transaction each; and what happened to the replies it sent.

Conversation state is saved optimistically (`stale` when another writer got there first). The
statements of this per-message path are built once: building a SQLAlchemy statement costs more than
running it. Their parameters are named b_* (names of columns are reserved in VALUES / SET).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import String, Text, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.storage.crypto import IdCipher, person_key
from bot.storage.database import Database
from bot.storage.errors import InboxMoved, redact_errors
from bot.storage.messages import DELIVERY_REPLACES
from bot.storage.models import (
    DELIVERY_STATUSES,
    INBOX_STATUSES,
    KINDS,
    OPEN_STATUSES,
    Case,
    Conversation,
    InboxItem,
    Message,
    Person,
)
from bot.storage.records import (
    Delivery,
    InboxStatus,
    TurnContext,
    TurnSaved,
    TurnWrite,
    case_record,
    check_name,
    one_of,
)
from bot.storage.report_tally import write_tally
from bot.storage.review_models import MAX_TEXT, ReviewItem

CASE_COLUMNS = tuple(Case.__table__.c)


class Conversations(Protocol):
    async def load_state(self, person_key: str) -> tuple[dict[str, Any], int]: ...
    async def turn_context(self, person_key: str) -> TurnContext: ...
    async def record_turn(self, turn: TurnWrite) -> TurnSaved: ...
    async def record_deliveries(
        self, deliveries: Sequence[Delivery], *, inbox_id: int | None = None, inbox_status: InboxStatus = "done"
    ) -> None: ...


class _Statements:
    def __init__(self, db: Database) -> None:
        ins = postgresql.insert if db.dialect == "postgresql" else sqlite.insert
        inbox_set = (
            update(InboxItem)
            .where(InboxItem.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), body_enc=bindparam("b_body"), updated_at=bindparam("b_now"))
        )
        self.inbox_set = db.statement(inbox_set)
        self.inbox_answer = db.statement(inbox_set.where(InboxItem.status == "received"))
        self.open_case = db.statement(
            select(*CASE_COLUMNS).where(
                Case.person_key == bindparam("b_pk"), or_(*(Case.status == s for s in OPEN_STATUSES))
            )
        )
        self.state = db.statement(
            select(Conversation.state, Conversation.version).where(Conversation.person_key == bindparam("b_pk"))
        )
        person = ins(Person).values(
            key=bindparam("b_pk"),
            channel=bindparam("b_channel"),
            platform_id_enc=bindparam("b_enc"),
            language=None,
            created_at=bindparam("b_now"),
            last_seen_at=bindparam("b_now"),
        )
        self.person_upsert = db.statement(
            person.on_conflict_do_update(
                index_elements=[Person.key],
                set_={"last_seen_at": person.excluded.last_seen_at},
            )
        )
        self.message_in = db.statement(
            insert(Message).values(
                person_key=bindparam("b_pk"),
                case_id=bindparam("b_case"),
                direction="in",
                kind=bindparam("b_kind"),
                text=bindparam("b_text"),
                platform_message_id=bindparam("b_pmid"),
                created_at=bindparam("b_now"),
            )
        )
        message_out = insert(Message).values(
            person_key=bindparam("b_pk"),
            case_id=bindparam("b_case"),
            direction="out",
            kind="text",
            text=bindparam("b_text"),
            created_at=bindparam("b_now"),
        )
        # Through SQLAlchemy: one multi-row INSERT for all the replies; prepared: one short INSERT each.
        self.message_out = message_out.returning(Message.id, sort_by_parameter_order=True)
        self.message_out_one = db.statement(message_out.returning(Message.id))
        self.state_insert = db.statement(
            ins(Conversation)
            .values(person_key=bindparam("b_pk"), state=bindparam("b_state"), version=1, updated_at=bindparam("b_now"))
            .on_conflict_do_nothing(index_elements=[Conversation.person_key])
            .returning(Conversation.version)
        )
        self.state_update = db.statement(
            update(Conversation)
            .where(Conversation.person_key == bindparam("b_pk"), Conversation.version == bindparam("b_old"))
            .values(state=bindparam("b_state"), version=bindparam("b_new"), updated_at=bindparam("b_now"))
            .returning(Conversation.version)
        )
        self.review_add = db.statement(
            insert(ReviewItem).values(
                created_at=bindparam("b_now"), text=bindparam("b_text"), nlu=bindparam("b_nlu"), status="open"
            )
        )
        self.delivery = {
            status: db.statement(
                update(Message)
                .where(
                    Message.id == bindparam("b_id"),
                    or_(Message.delivery_status.is_(None), *(Message.delivery_status == s for s in replaces)),
                )
                .values(
                    delivery_status=status,
                    delivery_error=bindparam("b_error", type_=Text()),
                    platform_message_id=func.coalesce(
                        bindparam("b_pmid", type_=String(128)), Message.platform_message_id
                    ),
                )
            )
            for status, replaces in ((s, DELIVERY_REPLACES[s]) for s in DELIVERY_STATUSES)
        }


@redact_errors
class ConversationRepo:
    def __init__(self, db: Database, user_key_secret: bytes, cipher: IdCipher) -> None:
        self._db, self._secret, self._cipher = db, user_key_secret, cipher
        self._q = _Statements(db)

    async def load_state(self, person_key: str) -> tuple[dict[str, Any], int]:
        """(state, version); ({}, 0) when nothing was saved yet."""
        context = await self.turn_context(person_key)
        return context.state, context.version

    async def turn_context(self, person_key: str) -> TurnContext:
        """The person's open case and conversation state, in one read."""
        return await self._db.run(lambda conn: self.read_context(conn, person_key), write=False)

    def read_context(self, conn: Connection, person_key: str) -> TurnContext:
        """turn_context inside a transaction of the caller's (the inbox reads it with the next event)."""
        cases = self._q.open_case.rows(conn, {"b_pk": person_key})
        rows = self._q.state.rows(conn, {"b_pk": person_key})
        state: dict[str, Any] = {}
        version = 0
        if rows:
            loaded = json.loads(rows[0]["state"])
            state, version = (loaded if isinstance(loaded, dict) else {}), int(rows[0]["version"])
        return TurnContext(case=case_record(cases[0]) if cases else None, state=state, version=version)

    async def record_turn(self, turn: TurnWrite) -> TurnSaved:
        """Write one turn in one transaction: the person (created or marked seen), the incoming message,
        the state (unless someone saved a newer one: then `stale`), the replies, and the inbox row."""
        check_name(turn.channel, "channel", 32)
        if turn.incoming is not None:
            one_of(turn.incoming[0], KINDS, "kind")
            if turn.incoming[2] is not None:
                check_name(turn.incoming[2], "platform_message_id", 128)
        key = person_key(self._secret, turn.channel, turn.platform_id)
        now = self._db.now()
        enc = self._cipher.encrypt(turn.platform_id) if turn.touch_person else b""
        payload = None if turn.state is None else json.dumps(turn.state, ensure_ascii=False, separators=(",", ":"))
        q = self._q

        def run(conn: Connection) -> TurnSaved:
            out_ids: list[int] = []
            if turn.touch_person:
                q.person_upsert.run(conn, {"b_pk": key, "b_channel": turn.channel, "b_enc": enc, "b_now": now})
            if turn.incoming is not None:
                kind, text, platform_message_id = turn.incoming
                q.message_in.run(
                    conn,
                    {
                        "b_pk": key,
                        "b_case": turn.in_case_id,
                        "b_kind": kind,
                        "b_text": text,
                        "b_pmid": platform_message_id,
                        "b_now": now,
                    },
                )
            stale = False
            if payload is not None:
                if turn.version == 0:
                    saved = q.state_insert.scalar(conn, {"b_pk": key, "b_state": payload, "b_now": now})
                else:
                    params = {"b_pk": key, "b_state": payload, "b_now": now, "b_old": turn.version}
                    saved = q.state_update.scalar(conn, {**params, "b_new": turn.version + 1})
                stale = saved is None
            if turn.outgoing:  # ids in the order of the replies
                rows = [{"b_pk": key, "b_case": turn.out_case_id, "b_text": t, "b_now": now} for t in turn.outgoing]
                if q.message_out_one.sql is not None:
                    out_ids.extend(int(q.message_out_one.scalar(conn, row)) for row in rows)
                else:
                    out_ids.extend(int(i) for i in conn.execute(q.message_out, rows).scalars())
            if turn.inbox is not None:
                answer = turn.inbox.answer
                body = None if answer is None else json.dumps({"answer": answer, "message_ids": out_ids})
                moved = q.inbox_answer.run(
                    conn,
                    {
                        "b_id": turn.inbox.id,
                        "b_status": turn.inbox.finished_as if body is None else "answered",
                        "b_body": None if body is None else self._cipher.encrypt(body),
                        "b_now": now,
                    },
                )
                if moved != 1:
                    raise InboxMoved(f"inbox {turn.inbox.id} is no longer waiting for its turn")
            if turn.tally is not None:
                write_tally(conn, self._secret, key, turn.tally, now)
            if turn.review is not None:  # no person key, no case: the item never leads back to the person
                q.review_add.run(conn, {"b_now": now, "b_text": turn.review.text[:MAX_TEXT], "b_nlu": turn.review.nlu})
            return TurnSaved(tuple(out_ids), stale)

        return await self._db.run(run, write=True)

    async def record_deliveries(
        self, deliveries: Sequence[Delivery], *, inbox_id: int | None = None, inbox_status: InboxStatus = "done"
    ) -> None:
        """Record what happened to sent messages (platform id, sent/failed + error), and finish an inbox row,
        in one transaction. A status never moves backwards (see DELIVERY_REPLACES)."""
        for d in deliveries:
            one_of(d.status, DELIVERY_STATUSES, "delivery status")
            if d.platform_message_id is not None:
                check_name(d.platform_message_id, "platform_message_id", 128)
        one_of(inbox_status, INBOX_STATUSES, "inbox status")
        now = self._db.now()
        q = self._q

        def run(conn: Connection) -> None:
            for d in deliveries:
                error = (d.error or "")[:500] or None if d.status == "failed" else None
                q.delivery[d.status].run(
                    conn, {"b_id": d.message_id, "b_error": error, "b_pmid": d.platform_message_id}
                )
            if inbox_id is not None:
                q.inbox_set.run(conn, {"b_id": inbox_id, "b_status": inbox_status, "b_body": None, "b_now": now})

        await self._db.run(run, write=True)
