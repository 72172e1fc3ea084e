"""`Store`: the database and the repositories on it, composed in one object.

    store = await Store.open(url, user_key_secret, data_key)
    await store.record_turn(...)          # or store.conversations.record_turn(...)
    await store.close()

One `Database` (engine, transactions, clock: bot.storage.database) and a repository per aggregate,
each behind a small Protocol its callers can type against:

    people         bot.storage.people         People          who a platform id is; erasure
    conversations  bot.storage.conversations  Conversations   a turn's read and write; deliveries
    inbox          bot.storage.inbox_repo     Inbox           webhook events, once and in order
    messages       bot.storage.messages       Messages        messages, receipts, retention
    cases          bot.storage.cases          Cases           cases, their history, CASE_TRANSITIONS
    accounts       bot.storage.accounts       Accounts        console users and sessions
    audits         bot.storage.audit          AuditLog        the audit log

The repositories' methods are also the Store's own (`store.open_case` is `store.cases.open_case`), so a
caller can hold one object. Every method is one short transaction and returns frozen records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.accounts import AccountRepo, Accounts
from bot.storage.audit import AuditLog, AuditRepo
from bot.storage.cases import ANY, CASE_ACTIONS, CASE_EVENT, CASE_TRANSITIONS, PRIORITY_RANK, CaseRepo, Cases
from bot.storage.conversations import ConversationRepo, Conversations
from bot.storage.crypto import MIN_SECRET_BYTES, IdCipher, SecretsError
from bot.storage.database import Database
from bot.storage.engine import parse_url
from bot.storage.errors import (
    InboxMoved,
    StaleState,
    StorageFailure,
    StoreError,
    UnknownCase,
    UnknownPerson,
    reason,
    redact_errors,
)
from bot.storage.inbox_repo import Inbox, InboxRepo
from bot.storage.messages import DELIVERY_REPLACES, MessageRepo, Messages
from bot.storage.people import People, PeopleRepo
from bot.storage.records import (
    CaseEventRec,
    CaseRec,
    CaseStatus,
    Delivery,
    DeliveryStatus,
    Direction,
    InboxMark,
    InboxRec,
    InboxStatus,
    Kind,
    MessageRec,
    PersonRef,
    Priority,
    TurnContext,
    TurnSaved,
    TurnWrite,
    case_record,
)

__all__ = [
    "ANY",
    "CASE_ACTIONS",
    "CASE_EVENT",
    "CASE_TRANSITIONS",
    "DELIVERY_REPLACES",
    "PRIORITY_RANK",
    "CaseEventRec",
    "CaseRec",
    "CaseStatus",
    "Delivery",
    "DeliveryStatus",
    "Direction",
    "InboxMark",
    "InboxMoved",
    "InboxRec",
    "InboxStatus",
    "Kind",
    "MessageRec",
    "PersonRef",
    "Priority",
    "StaleState",
    "StorageFailure",
    "Store",
    "StoreError",
    "TurnContext",
    "TurnSaved",
    "TurnWrite",
    "UnknownCase",
    "UnknownPerson",
    "case_record",
    "reason",
    "redact_errors",
]

T = TypeVar("T")


class Store:
    """Open with `await Store.open(url, user_key_secret, data_key)`; close with `await store.close()`."""

    def __init__(self, db: Database, user_key_secret: bytes, cipher: IdCipher) -> None:
        self.db = db
        self._secret = user_key_secret
        conversations = ConversationRepo(db, user_key_secret, cipher)
        self.people: People = PeopleRepo(db, user_key_secret, cipher)
        self.conversations: Conversations = conversations
        self.inbox: Inbox = InboxRepo(db, cipher, conversations)
        self.messages: Messages = MessageRepo(db, user_key_secret)
        self.cases: Cases = CaseRepo(db)
        self.accounts: Accounts = AccountRepo(db)
        self.audits: AuditLog = AuditRepo(db)

        people, messages, cases, inbox = self.people, self.messages, self.cases, self.inbox
        self.key_for = people.key_for
        self.person = people.person
        self.platform_id = people.platform_id
        self.get_person = people.get_person
        self.erase_person = people.erase_person

        self.load_state = conversations.load_state
        self.turn_context = conversations.turn_context
        self.record_turn = conversations.record_turn
        self.record_deliveries = conversations.record_deliveries

        self.inbox_add = inbox.inbox_add
        self.inbox_next = inbox.inbox_next
        self.inbox_pending = inbox.inbox_pending
        self.inbox_people = inbox.inbox_people
        self.inbox_set_aside = inbox.inbox_set_aside
        self.inbox_retry = inbox.inbox_retry
        self.inbox_finish = inbox.inbox_finish
        self.prune_inbox = inbox.prune_inbox

        self.add_message = messages.add_message
        self.set_delivery = messages.set_delivery
        self.set_delivery_by_platform_id = messages.set_delivery_by_platform_id
        self.undelivered = messages.undelivered
        self.transcript = messages.transcript
        self.messages_for_case = messages.messages_for_case
        self.prune_messages = messages.prune_messages

        self.open_case = cases.open_case
        self.get_case = cases.get_case
        self.list_cases = cases.list_cases
        self.add_case_event = cases.add_case_event
        self.case_events = cases.case_events
        self.move_case = cases.move_case

    @classmethod
    async def open(
        cls,
        url: str,
        user_key_secret: bytes,
        data_key: bytes,
        *,
        migrate: bool = True,
        schema: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Store:
        """Connect (sqlite+aiosqlite or postgresql+asyncpg) and, unless migrate=False, upgrade the schema.

        `schema` (PostgreSQL only) keeps every table in that schema; `clock` replaces the UTC clock (tests).
        """
        parse_url(url)
        if len(user_key_secret) < MIN_SECRET_BYTES:
            raise SecretsError(f"the user-key secret must be at least {MIN_SECRET_BYTES} bytes")
        cipher = IdCipher(data_key)
        db = await Database.open(url, migrate=migrate, schema=schema, clock=clock)
        return cls(db, user_key_secret, cipher)

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        return self.db.engine

    # The other repositories (content, review, reports, published) reach the database through these.
    def _now(self) -> datetime:
        return self.db.now()

    async def _run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        return await self.db.run(fn, write=write)
