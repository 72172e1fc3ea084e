"""The async repository: people, conversation state, messages, cases and case events.

Every method is one short transaction and returns frozen records, never ORM objects. The same code
runs on SQLite (embedded default) and PostgreSQL (production, several bot processes):

- a person is known only by a keyed hash of channel + platform id; the raw id is stored encrypted;
- conversation state is saved optimistically (`StaleState` when another writer got there first);
- at most one open case per person is guaranteed by a partial unique index, so concurrent
  `open_case` calls from several processes still end with one case;
- erasure removes every row of a person (and on SQLite scrubs the freed pages and the WAL).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, TypeVar, cast

from sqlalchemy import (
    Row,
    String,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from bot.storage.crypto import MIN_SECRET_BYTES, IdCipher, SecretsError, person_key
from bot.storage.engine import NO_TRANSACTION, WRITE, make_engine, make_sync_sqlite_engine, parse_url, sqlite_file
from bot.storage.migrations import current_revision, upgrade
from bot.storage.models import (
    CASE_STATUSES,
    DELIVERY_STATUSES,
    DIRECTIONS,
    INBOX_PENDING,
    INBOX_STATUSES,
    KINDS,
    OPEN_STATUSES,
    PRIORITIES,
    Base,
    Case,
    CaseEvent,
    Conversation,
    InboxItem,
    Message,
    Person,
)
from bot.storage.report_tally import Tally, case_moved, forget_person, write_tally

T = TypeVar("T")
C = TypeVar("C")
Direction = Literal["in", "out", "mediator"]
Kind = Literal["text", "payload", "image", "audio", "video", "file", "sticker", "location", "other"]
DeliveryStatus = Literal["sent", "delivered", "seen", "failed"]
CaseStatus = Literal["queued", "assigned", "closed", "released"]
Priority = Literal["urgent", "high", "normal"]
InboxStatus = Literal["received", "answered", "done", "limited", "failed"]

PRIORITY_RANK: dict[str, int] = {"normal": 0, "high": 1, "urgent": 2}
# A delivery status may replace only these (receipts arrive late and out of order: never downgrade).
DELIVERY_REPLACES: dict[str, tuple[str, ...]] = {
    "sent": ("sent", "failed"),
    "failed": ("sent", "failed"),
    "delivered": ("sent", "failed", "delivered"),
    "seen": ("sent", "failed", "delivered", "seen"),
}
# The case lifecycle, the one table every move of a case goes through (bot.handoff.cases explains it to
# people; the console, the timers and the tests move cases only through Store.move_case):
#   queued --claim--> assigned --close--> closed
#      |                  \--release--> released   (back to the bot)
#      \--close--> closed
CASE_TRANSITIONS: dict[tuple[str, str], str] = {
    ("queued", "claim"): "assigned",
    ("queued", "close"): "closed",
    ("assigned", "close"): "closed",
    ("assigned", "release"): "released",
}
CASE_ACTIONS = ("claim", "release", "close")
CASE_EVENT = {"claim": "assigned", "close": "closed", "release": "released"}  # the case event a move writes
ANY: Any = object()  # move_case(assignee=ANY): whoever the case is assigned to
OPEN_CASE_ATTEMPTS = 8
MAX_ACTOR = 64


class StoreError(Exception):
    """Base of the storage errors."""


class StorageFailure(StoreError):
    """A database or driver error, named by the operation and the error's type only (e.g.
    "Store.record_turn: DataError"). The driver's own message can quote a statement's parameters (a
    person's text: `invalid input for query argument $5: '...'`), so it is neither kept nor chained."""


def _is_driver_error(e: BaseException) -> bool:
    return isinstance(e, SQLAlchemyError | sqlite3.Error) or type(e).__module__.startswith("asyncpg")


def _driver_error_name(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    return type(orig if isinstance(orig, BaseException) else e).__name__


def redact_errors(cls: type[C]) -> type[C]:
    """Class decorator: every public coroutine method turns driver errors into StorageFailure."""
    for name, fn in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(fn):
            continue
        setattr(cls, name, _redacting(fn, f"{cls.__name__}.{name}"))
    return cls


def _redacting(fn: Callable[..., Awaitable[T]], what: str) -> Callable[..., Awaitable[T]]:
    @functools.wraps(fn)
    async def method(*args: Any, **kwargs: Any) -> T:
        try:
            return await fn(*args, **kwargs)
        except Exception as e:
            if not _is_driver_error(e):
                raise
            failure = StorageFailure(f"{what}: {_driver_error_name(e)}")
        raise failure  # outside the except block: no chained driver message in any traceback

    return method


def reason(e: BaseException) -> str:
    """How a caught error is named in a log line: a StorageFailure by its (safe) message, else its type."""
    return str(e) if isinstance(e, StorageFailure) else type(e).__name__


class StaleState(StoreError):
    """The stored conversation state is not the version the caller loaded (someone saved in between)."""


class UnknownPerson(StoreError, LookupError):
    """No person with that key (never created, or erased)."""


class UnknownCase(StoreError, LookupError):
    """No case with that id."""


@dataclass(frozen=True, slots=True)
class PersonRef:
    key: str
    channel: str
    language: str | None


@dataclass(frozen=True, slots=True)
class MessageRec:
    id: int
    person_key: str
    case_id: int | None
    direction: Direction
    kind: Kind
    text: str | None
    platform_message_id: str | None
    created_at: datetime
    delivery_status: DeliveryStatus | None
    delivery_error: str | None


@dataclass(frozen=True, slots=True)
class CaseRec:
    id: int
    person_key: str
    status: CaseStatus
    priority: Priority
    signals: tuple[str, ...]
    country: str | None
    channel: str
    created_at: datetime
    updated_at: datetime
    assignee: str | None
    outcome: str | None
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class CaseEventRec:
    id: int
    case_id: int
    kind: str
    actor: str
    data: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxRec:
    id: int
    channel: str
    key: str
    kind: str
    person_key: str | None
    status: InboxStatus
    attempts: int
    body: str | None  # decrypted; None once the event is finished
    received_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What one conversation turn reads before it runs (one read transaction)."""

    case: CaseRec | None  # the person's open case
    state: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class TurnWrite:
    """What one conversation turn writes (one write transaction); every part is optional."""

    channel: str
    platform_id: str  # the person is created (or marked seen) from channel + platform_id
    incoming: tuple[str, str | None, str | None] | None = None  # (kind, text, platform_message_id)
    in_case_id: int | None = None
    state: dict[str, Any] | None = None  # saved when not None, if the stored version is still `version`
    version: int = 0
    outgoing: tuple[str, ...] = ()  # texts of the bot's replies
    out_case_id: int | None = None
    touch_person: bool = True  # False after an erasure: the person must not be created again
    inbox: InboxMark | None = None  # move an inbox row on in the same transaction (see InboxMark)
    tally: Tally | None = None  # the turn's share of the reports (bot.storage.report_tally), same transaction


class InboxMoved(StoreError):
    """record_turn: the inbox row was no longer 'received' (handled elsewhere); the turn was not written."""


@dataclass(frozen=True, slots=True)
class InboxMark:
    """The inbox row a turn answers: 'received' -> 'answered' (with `answer`, kept encrypted together with
    the ids of the stored replies until it is sent) or -> 'done' (answer None: nothing to send)."""

    id: int
    answer: str | None
    finished_as: InboxStatus = "done"  # the status when there is nothing to send (done, or limited)


@dataclass(frozen=True, slots=True)
class TurnSaved:
    out_ids: tuple[int, ...]  # message ids of `outgoing`, in order
    stale: bool  # the state was not saved: someone saved a newer one in between


@dataclass(frozen=True, slots=True)
class Delivery:
    message_id: int
    status: DeliveryStatus
    platform_message_id: str | None = None
    error: str | None = None


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def _name(value: str, what: str, limit: int = MAX_ACTOR) -> None:
    if not value or len(value) > limit:
        raise ValueError(f"{what} must be 1 to {limit} characters")


def _message(row: Row[Any]) -> MessageRec:
    m = row._mapping
    return MessageRec(
        id=m["id"],
        person_key=m["person_key"],
        case_id=m["case_id"],
        direction=cast(Direction, m["direction"]),
        kind=cast(Kind, m["kind"]),
        text=m["text"],
        platform_message_id=m["platform_message_id"],
        created_at=m["created_at"],
        delivery_status=cast(DeliveryStatus | None, m["delivery_status"]),
        delivery_error=m["delivery_error"],
    )


def case_record(row: Row[Any]) -> CaseRec:
    m = row._mapping
    return CaseRec(
        id=m["id"],
        person_key=m["person_key"],
        status=cast(CaseStatus, m["status"]),
        priority=cast(Priority, m["priority"]),
        signals=tuple(m["signals"] or ()),
        country=m["country"],
        channel=m["channel"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        assignee=m["assignee"],
        outcome=m["outcome"],
        closed_at=m["closed_at"],
    )


def _event(row: Row[Any]) -> CaseEventRec:
    m = row._mapping
    return CaseEventRec(
        id=m["id"],
        case_id=m["case_id"],
        kind=m["kind"],
        actor=m["actor"],
        data=dict(m["data"] or {}),
        created_at=m["created_at"],
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


CASE_COLUMNS = tuple(Case.__table__.c)
MESSAGE_COLUMNS = tuple(Message.__table__.c)


class _SyncSqlite:
    """The SQLite file through plain sqlite3 in worker threads, for Store._run (see there).

    Writes are group-committed: the writes that queue up while a batch runs go together in the next
    one, in one transaction (see run_batch for what happens when one of them fails).
    Under load that is one thread hop and one commit for many messages instead of one each."""

    def __init__(self, url: URL) -> None:
        self.engine = make_sync_sqlite_engine(url)
        self.writer = self.engine.execution_options(**WRITE)
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sigurno-sqlite")
        self.pending: list[tuple[Callable[[Connection], Any], asyncio.Future[Any]]] = []
        self.flushing = False
        self.flusher: asyncio.Task[None] | None = None

    def run(self, fn: Callable[[Connection], T], write: bool) -> T:
        with (self.writer if write else self.engine).begin() as conn:
            return fn(conn)

    def run_batch(self, fns: list[Callable[[Connection], Any]]) -> list[tuple[bool, Any]]:
        """All in one transaction; if any write fails, the batch is rolled back and each write is run in a
        transaction of its own, so only the failing one fails (failures are rare: no savepoint per write)."""
        if len(fns) > 1:
            try:
                with self.writer.begin() as conn:
                    return [(True, fn(conn)) for fn in fns]
            except Exception:
                pass
        results: list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                results.append((True, self.run(fn, True)))
            except Exception as e:
                results.append((False, e))
        return results

    async def write(self, fn: Callable[[Connection], T], lock: asyncio.Lock) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self.pending.append((fn, done))
        if not self.flushing:
            self.flushing = True
            self.flusher = loop.create_task(self._flush(lock))
        return await done

    async def _flush(self, lock: asyncio.Lock) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    async with lock:
                        results = await loop.run_in_executor(self.executor, self.run_batch, [fn for fn, _ in batch])
                except BaseException as e:  # the commit failed (or we are cancelled): every write in it failed
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(e if isinstance(e, Exception) else RuntimeError("write cancelled"))
                    if not isinstance(e, Exception):
                        raise
                    continue
                for (_, fut), (ok, value) in zip(batch, results, strict=True):
                    if fut.done():
                        continue
                    if ok:
                        fut.set_result(value)
                    else:
                        fut.set_exception(value)
        finally:
            self.flushing = False

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()


class _Queries:
    """The statements of the per-message path, built once: building a SQLAlchemy statement costs more than
    running it. Parameters are named b_* (names of columns are reserved in VALUES / SET)."""

    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.inbox_add = (
            ins(InboxItem)
            .values(
                channel=bindparam("b_channel"),
                key=bindparam("b_key"),
                kind=bindparam("b_kind"),
                person_key=bindparam("b_pk"),
                status=bindparam("b_status"),
                attempts=0,
                body_enc=bindparam("b_body"),
                received_at=bindparam("b_now"),
                updated_at=bindparam("b_now"),
            )
            .on_conflict_do_nothing(index_elements=[InboxItem.channel, InboxItem.key])
            .returning(InboxItem.id)
        )
        self.inbox_set = (
            update(InboxItem)
            .where(InboxItem.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), body_enc=bindparam("b_body"), updated_at=bindparam("b_now"))
        )
        self.inbox_answer = self.inbox_set.where(InboxItem.status == "received")
        self.inbox_next = (
            select(*InboxItem.__table__.c)
            .where(InboxItem.person_key == bindparam("b_pk"), InboxItem.status.in_(INBOX_PENDING))
            .order_by(InboxItem.id)
            .limit(2)
        )
        self.open_case = select(*CASE_COLUMNS).where(
            Case.person_key == bindparam("b_pk"), Case.status.in_(OPEN_STATUSES)
        )
        self.state = select(Conversation.state, Conversation.version).where(
            Conversation.person_key == bindparam("b_pk")
        )
        person = ins(Person).values(
            key=bindparam("b_pk"),
            channel=bindparam("b_channel"),
            platform_id_enc=bindparam("b_enc"),
            language=None,
            created_at=bindparam("b_now"),
            last_seen_at=bindparam("b_now"),
        )
        self.person_upsert = person.on_conflict_do_update(
            index_elements=[Person.key],
            set_={"last_seen_at": person.excluded.last_seen_at},
        )
        self.message_in = insert(Message).values(
            person_key=bindparam("b_pk"),
            case_id=bindparam("b_case"),
            direction="in",
            kind=bindparam("b_kind"),
            text=bindparam("b_text"),
            platform_message_id=bindparam("b_pmid"),
            created_at=bindparam("b_now"),
        )
        self.message_out = (
            insert(Message)
            .values(
                person_key=bindparam("b_pk"),
                case_id=bindparam("b_case"),
                direction="out",
                kind="text",
                text=bindparam("b_text"),
                created_at=bindparam("b_now"),
            )
            .returning(Message.id, sort_by_parameter_order=True)
        )
        self.state_insert = (
            ins(Conversation)
            .values(person_key=bindparam("b_pk"), state=bindparam("b_state"), version=1, updated_at=bindparam("b_now"))
            .on_conflict_do_nothing(index_elements=[Conversation.person_key])
            .returning(Conversation.version)
        )
        self.state_update = (
            update(Conversation)
            .where(Conversation.person_key == bindparam("b_pk"), Conversation.version == bindparam("b_old"))
            .values(state=bindparam("b_state"), version=bindparam("b_new"), updated_at=bindparam("b_now"))
            .returning(Conversation.version)
        )
        self.delivery = {
            status: update(Message)
            .where(
                Message.id == bindparam("b_id"),
                or_(Message.delivery_status.is_(None), Message.delivery_status.in_(DELIVERY_REPLACES[status])),
            )
            .values(
                delivery_status=status,
                delivery_error=bindparam("b_error", type_=Text()),
                platform_message_id=func.coalesce(bindparam("b_pmid", type_=String(128)), Message.platform_message_id),
            )
            for status in DELIVERY_STATUSES
        }


@redact_errors
class Store:
    """Open with `await Store.open(url, user_key_secret, data_key)`; close with `await store.close()`."""

    def __init__(
        self, engine: AsyncEngine, user_key_secret: bytes, cipher: IdCipher, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**WRITE)  # BEGIN IMMEDIATE on SQLite; the same engine elsewhere
        self._secret = user_key_secret
        self._cipher = cipher
        self._clock = clock
        self._dialect = engine.dialect.name
        self._sqlite_wal = self._dialect == "sqlite" and sqlite_file(engine.url) is not None
        # SQLite has one writer at a time: queue this process's writers here (FIFO, no busy-wait sleeps)
        # rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms under contention.
        self._write_lock = asyncio.Lock() if self._dialect == "sqlite" else None
        self._sync = _SyncSqlite(engine.url) if self._sqlite_wal else None
        self._q = _Queries(self._dialect)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

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
        engine = make_engine(url, schema=schema)
        try:
            if migrate:
                await upgrade(engine, schema=schema)
            elif await current_revision(engine) is None:
                raise StoreError("the database has no Sigurno schema yet: open it once with migrate=True")
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, user_key_secret, cipher, clock or _utc_now)

    async def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # -- plumbing -------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    @asynccontextmanager
    async def _tx(self, *, write: bool = False) -> AsyncIterator[AsyncConnection]:
        if write and self._write_lock is not None:
            async with self._write_lock, self._writer.begin() as conn:
                yield conn
            return
        async with (self._writer if write else self._engine).begin() as conn:
            yield conn

    async def _run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        """Run `fn` as one transaction: on a SQLite file in a worker thread on a plain sqlite3 connection
        (one thread hop for the whole transaction, where aiosqlite makes one per statement), elsewhere
        on the async connection."""
        sync = self._sync
        if sync is None:
            if not write and self._dialect == "postgresql":
                # A read needs no transaction of its own: no BEGIN / COMMIT round trips.
                async with self._autocommit.connect() as conn:
                    return await conn.run_sync(fn)
            async with self._tx(write=write) as conn:
                return await conn.run_sync(fn)
        if write:
            assert self._write_lock is not None
            return await sync.write(fn, self._write_lock)
        return await asyncio.get_running_loop().run_in_executor(sync.executor, sync.run, fn, False)

    def _upsert(self, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
        return postgresql.insert(model) if self._dialect == "postgresql" else sqlite.insert(model)

    async def _scrub(self) -> None:
        """SQLite: move the WAL (which still holds old page images) into the file and truncate it."""
        if not self._sqlite_wal:
            return
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**NO_TRANSACTION)
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- people ---------------------------------------------------------------------------------

    def key_for(self, channel: str, platform_id: str) -> str:
        """The pseudonymous key of a platform user, without touching the database."""
        return person_key(self._secret, channel, platform_id)

    async def person(self, channel: str, platform_id: str, language: str | None = None) -> PersonRef:
        """Get or create the person behind a platform id; records that they were seen now.

        `language` is stored for a new person (or one without a language).
        """
        _name(channel, "channel", 32)
        if language is not None:
            _name(language, "language", 16)
        key = person_key(self._secret, channel, platform_id)
        stmt = self._person_upsert(key, channel, platform_id, language, self._now())
        async with self._tx(write=True) as conn:
            row = (await conn.execute(stmt.returning(Person.channel, Person.language))).one()
        return PersonRef(key=key, channel=row.channel, language=row.language)

    def _person_upsert(
        self, key: str, channel: str, platform_id: str, language: str | None, now: datetime
    ) -> postgresql.Insert | sqlite.Insert:
        ins = self._upsert(Person).values(
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
        async with self._tx() as conn:
            token = await conn.scalar(select(Person.platform_id_enc).where(Person.key == person_key))
        return None if token is None else self._cipher.decrypt(bytes(token))

    async def get_person(self, person_key: str) -> PersonRef | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(Person.channel, Person.language).where(Person.key == person_key))).first()
        return None if row is None else PersonRef(key=person_key, channel=row.channel, language=row.language)

    # -- conversation state ---------------------------------------------------------------------

    async def load_state(self, person_key: str) -> tuple[dict[str, Any], int]:
        """(state, version); ({}, 0) when nothing was saved yet."""
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(Conversation.state, Conversation.version).where(Conversation.person_key == person_key)
                )
            ).first()
        if row is None:
            return {}, 0
        state = json.loads(row.state)
        return (state if isinstance(state, dict) else {}), int(row.version)

    # -- messages -------------------------------------------------------------------------------

    async def add_message(
        self,
        person_key: str,
        direction: str,
        kind: str,
        text: str | None = None,
        *,
        case_id: int | None = None,
        platform_message_id: str | None = None,
    ) -> int:
        """Store one message; returns its id. `case_id` must be a case of the same person.

        direction: in | out | mediator; kind: text | payload | image | audio | video | file | sticker |
        location | other (anything else raises ValueError).
        """
        _one_of(direction, DIRECTIONS, "direction")
        _one_of(kind, KINDS, "kind")
        if platform_message_id is not None:
            _name(platform_message_id, "platform_message_id", 128)
        now = self._now()
        try:
            async with self._tx(write=True) as conn:
                if case_id is not None:
                    owner = await conn.scalar(select(Case.person_key).where(Case.id == case_id))
                    if owner is None:
                        raise UnknownCase(case_id)
                    if owner != person_key:
                        raise ValueError("case_id belongs to another person")
                message_id = await conn.scalar(
                    insert(Message)
                    .values(
                        person_key=person_key,
                        case_id=case_id,
                        direction=direction,
                        kind=kind,
                        text=text,
                        platform_message_id=platform_message_id,
                        created_at=now,
                    )
                    .returning(Message.id)
                )
        except IntegrityError as e:
            raise UnknownPerson(person_key) from e
        return int(cast(int, message_id))

    async def set_delivery(self, message_id: int, status: str, error: str | None = None) -> bool:
        """Record a delivery outcome; returns False when the message is gone or already further along
        (a late 'delivered' never replaces 'seen'). `error` is kept only with 'failed'."""
        _one_of(status, DELIVERY_STATUSES, "delivery status")
        async with self._tx(write=True) as conn:
            row = (
                await conn.execute(
                    update(Message)
                    .where(
                        Message.id == message_id,
                        or_(Message.delivery_status.is_(None), Message.delivery_status.in_(DELIVERY_REPLACES[status])),
                    )
                    .values(delivery_status=status, delivery_error=error if status == "failed" else None)
                    .returning(Message.id)
                )
            ).first()
        return row is not None

    async def transcript(self, person_key: str, limit: int = 200) -> list[MessageRec]:
        """The person's last `limit` messages, oldest first."""
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(*MESSAGE_COLUMNS)
                    .where(Message.person_key == person_key)
                    .order_by(Message.created_at.desc(), Message.id.desc())
                    .limit(limit)
                )
            ).all()
        return [_message(r) for r in reversed(rows)]

    async def messages_for_case(self, case_id: int) -> list[MessageRec]:
        """The messages of the case's person from the case's opening (to its closing), and any message
        filed under the case; oldest first. [] for an unknown case."""
        async with self._tx() as conn:
            c = (await conn.execute(select(*CASE_COLUMNS).where(Case.id == case_id))).first()
            if c is None:
                return []
            window = and_(Message.person_key == c.person_key, Message.created_at >= c.created_at)
            if c.closed_at is not None:
                window = and_(window, Message.created_at <= c.closed_at)
            rows = (
                await conn.execute(
                    select(*MESSAGE_COLUMNS)
                    .where(or_(window, Message.case_id == case_id))
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
        return [_message(r) for r in rows]

    # -- cases ----------------------------------------------------------------------------------

    async def _add_event(
        self, conn: AsyncConnection, case_id: int, kind: str, actor: str, data: dict[str, Any] | None, now: datetime
    ) -> int:
        event_id = await conn.scalar(
            insert(CaseEvent)
            .values(case_id=case_id, kind=kind, actor=actor, data=data or {}, created_at=now)
            .returning(CaseEvent.id)
        )
        return int(cast(int, event_id))

    async def open_case(
        self,
        person_key: str,
        *,
        priority: str,
        signals: Iterable[str],
        country: str | None,
        channel: str,
        actor: str = "bot",
    ) -> tuple[CaseRec, bool]:
        """Open a queued case, or return the person's open one: (case, created).

        An open case gets the higher priority (event 'priority_raised') and the new signals
        (event 'signals_added' when the priority stays). Safe under concurrency: the database allows
        one open case per person, and a loser of the race re-reads and merges into the winner's case.
        """
        _one_of(priority, PRIORITIES, "priority")
        _name(channel, "channel", 32)
        _name(actor, "actor")
        if country is not None:
            _name(country, "country", 8)
        wanted = list(dict.fromkeys(signals))
        for attempt in range(OPEN_CASE_ATTEMPTS):
            now = self._now()
            try:
                async with self._tx(write=True) as conn:
                    if attempt and await conn.scalar(select(Person.key).where(Person.key == person_key)) is None:
                        raise UnknownPerson(person_key)
                    row = (
                        await conn.execute(
                            select(*CASE_COLUMNS)
                            .where(Case.person_key == person_key, Case.status.in_(OPEN_STATUSES))
                            .with_for_update()
                        )
                    ).first()
                    if row is None:
                        created = (
                            await conn.execute(
                                insert(Case)
                                .values(
                                    person_key=person_key,
                                    status="queued",
                                    priority=priority,
                                    signals=wanted,
                                    country=country,
                                    channel=channel,
                                    created_at=now,
                                    updated_at=now,
                                )
                                .returning(*CASE_COLUMNS)
                            )
                        ).one()
                        data = {"priority": priority, "signals": wanted, "country": country, "channel": channel}
                        await self._add_event(conn, created.id, "opened", actor, data, now)
                        return case_record(created), True
                    return await self._merge(conn, case_record(row), priority, wanted, country, actor, now), False
            except IntegrityError:
                continue  # another transaction opened the case first (or the person is unknown): re-read
        raise StoreError(f"open_case did not settle after {OPEN_CASE_ATTEMPTS} attempts")

    async def _merge(
        self,
        conn: AsyncConnection,
        current: CaseRec,
        priority: str,
        wanted: list[str],
        country: str | None,
        actor: str,
        now: datetime,
    ) -> CaseRec:
        added = [s for s in wanted if s not in current.signals]
        raised = PRIORITY_RANK[priority] > PRIORITY_RANK[current.priority]
        fill_country = current.country is None and country is not None
        if not (added or raised or fill_country):
            return current
        values: dict[str, Any] = {"updated_at": now, "signals": [*current.signals, *added]}
        if raised:
            values["priority"] = priority
        if fill_country:
            values["country"] = country
        row = (
            await conn.execute(update(Case).where(Case.id == current.id).values(**values).returning(*CASE_COLUMNS))
        ).one()
        if raised:
            data: dict[str, Any] = {"from": current.priority, "to": priority, "signals": added}
            await self._add_event(conn, current.id, "priority_raised", actor, data, now)
        elif added:
            await self._add_event(conn, current.id, "signals_added", actor, {"signals": added}, now)
        return case_record(row)

    async def open_case_for(self, person_key: str) -> CaseRec | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    select(*CASE_COLUMNS).where(Case.person_key == person_key, Case.status.in_(OPEN_STATUSES))
                )
            ).first()
        return None if row is None else case_record(row)

    async def get_case(self, case_id: int) -> CaseRec | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(*CASE_COLUMNS).where(Case.id == case_id))).first()
        return None if row is None else case_record(row)

    async def list_cases(self, status: str | None = None) -> list[CaseRec]:
        """Cases (all, or those with `status`): urgent first, then high, then normal; oldest first within."""
        stmt = select(*CASE_COLUMNS)
        if status is not None:
            _one_of(status, CASE_STATUSES, "status")
            stmt = stmt.where(Case.status == status)
        rank = case((Case.priority == "urgent", 0), (Case.priority == "high", 1), else_=2)
        async with self._tx() as conn:
            rows = (await conn.execute(stmt.order_by(rank, Case.created_at, Case.id))).all()
        return [case_record(r) for r in rows]

    async def add_case_event(self, case_id: int, kind: str, actor: str, data: dict[str, Any] | None = None) -> int:
        """Append to the case's history; returns the event id."""
        _name(kind, "kind")
        _name(actor, "actor")
        try:
            async with self._tx(write=True) as conn:
                return await self._add_event(conn, case_id, kind, actor, data, self._now())
        except IntegrityError as e:
            raise UnknownCase(case_id) from e

    async def case_events(self, case_id: int) -> list[CaseEventRec]:
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(*CaseEvent.__table__.c)
                    .where(CaseEvent.case_id == case_id)
                    .order_by(CaseEvent.created_at, CaseEvent.id)
                )
            ).all()
        return [_event(r) for r in rows]

    async def move_case(
        self,
        case_id: int,
        action: str,
        actor: str,
        *,
        from_status: str | None = None,
        assignee: object = ANY,
        outcome: str | None = None,
        reason: str | None = None,
    ) -> CaseRec | None:
        """Move a case by CASE_TRANSITIONS, with its case event, in one conditional update: claim (the actor
        becomes the assignee), close (with `outcome`) or release (with an optional `reason`).

        Only from `from_status` when given (the status as the caller saw it), else from any status the
        action leaves; only while the assignee is `assignee` unless ANY. None when the case was not in
        such a state (someone else moved it first): two processes racing cannot both win."""
        if action not in CASE_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(CASE_ACTIONS)}")
        _name(actor, "actor")
        sources = tuple(s for (s, a) in CASE_TRANSITIONS if a == action and from_status in (None, s))
        if not sources:
            return None
        (target,) = {CASE_TRANSITIONS[(s, action)] for s in sources}
        now = self._now()
        values: dict[str, Any] = {"status": target, "updated_at": now}
        data: dict[str, Any] = {}
        if action == "claim":
            values["assignee"] = actor
        elif action == "close":
            if not outcome:
                raise ValueError("closing a case needs an outcome")
            _name(outcome, "outcome")
            values |= {"outcome": outcome, "closed_at": now}
            data = {"outcome": outcome} | ({"from": from_status} if from_status else {})
        else:
            values["closed_at"] = now
            data = {"reason": reason}
        conditions: list[Any] = [Case.id == case_id, Case.status.in_(sources)]
        if assignee is not ANY:
            conditions.append(Case.assignee.is_(None) if assignee is None else Case.assignee == assignee)
        async with self._tx(write=True) as conn:
            row = (
                await conn.execute(update(Case).where(*conditions).values(**values).returning(*CASE_COLUMNS))
            ).first()
            if row is None:
                return None
            await self._add_event(conn, case_id, CASE_EVENT[action], actor, data, now)
            moved = case_record(row)
            await conn.run_sync(lambda c: case_moved(c, moved.channel, action, moved.created_at, outcome, now))
        return moved

    # -- privacy --------------------------------------------------------------------------------

    async def erase_person(self, person_key: str) -> None:
        """Remove the person and everything of theirs: messages, state, cases and case events."""
        async with self._tx(write=True) as conn:
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
        await self._scrub()

    async def prune_messages(self, retention_days: int, now: datetime | None = None) -> int:
        """Blank the text of messages past retention; returns how many were blanked.

        Blanked: messages of a case closed (or released) more than `retention_days` ago, and messages
        older than that of a person who has no open case and no case closed within that time.
        """
        if retention_days < 0:
            raise ValueError("retention_days must not be negative")
        cutoff = (now or self._now()) - timedelta(days=retention_days)
        old = aliased(Case)
        belongs_to_old = exists().where(
            old.closed_at.is_not(None),
            old.closed_at < cutoff,
            or_(
                old.id == Message.case_id,
                and_(
                    old.person_key == Message.person_key,
                    old.created_at <= Message.created_at,
                    Message.created_at <= old.closed_at,
                ),
            ),
        )
        live = aliased(Case)
        has_live_case = exists().where(
            live.person_key == Message.person_key, or_(live.status.in_(OPEN_STATUSES), live.closed_at >= cutoff)
        )
        stmt = (
            update(Message)
            .where(
                Message.text.is_not(None),
                or_(belongs_to_old, and_(Message.created_at < cutoff, ~has_live_case)),
            )
            .values(text=None)
        )
        async with self._tx(write=True) as conn:
            count = (await conn.execute(stmt)).rowcount
        if count:
            await self._scrub()
        return int(count)

    # -- webhooks: the inbox, one-transaction turns, deliveries ---------------------------------------

    def _inbox(self, row: Row[Any]) -> InboxRec:
        m = row._mapping
        body = m["body_enc"]
        return InboxRec(
            id=m["id"],
            channel=m["channel"],
            key=m["key"],
            kind=m["kind"],
            person_key=m["person_key"],
            status=cast(InboxStatus, m["status"]),
            attempts=m["attempts"],
            body=None if body is None else self._cipher.decrypt(bytes(body)),
            received_at=m["received_at"],
            updated_at=m["updated_at"],
        )

    async def inbox_add(
        self, channel: str, items: Sequence[tuple[str, str, str | None, str, str | None]]
    ) -> list[int | None]:
        """Take in webhook events: items are (platform key, kind, body, status, person key); the body is
        stored encrypted. Returns each new row's id, or None where (channel, key) was taken in before: the
        unique key decides what is a redelivery, in one transaction for the whole body (taken in whole
        or not at all)."""
        _name(channel, "channel", 32)
        now = self._now()
        rows = []
        for key, kind, body, status, whose in items:
            _name(key, "inbox key", 128)
            _one_of(status, INBOX_STATUSES, "inbox status")
            rows.append(
                {
                    "b_channel": channel,
                    "b_key": key,
                    "b_kind": kind[:32],
                    "b_pk": whose,
                    "b_status": status,
                    "b_body": None if body is None else self._cipher.encrypt(body),
                    "b_now": now,
                }
            )

        def run(conn: Connection) -> list[int | None]:
            ids = (conn.execute(self._q.inbox_add, row).scalar() for row in rows)
            return [None if i is None else int(i) for i in ids]

        return await self._run(run, write=True)

    async def inbox_get(self, inbox_id: int) -> InboxRec | None:
        async with self._tx() as conn:
            row = (await conn.execute(select(*InboxItem.__table__.c).where(InboxItem.id == inbox_id))).first()
        return None if row is None else self._inbox(row)

    async def inbox_pending(self, updated_before: datetime, limit: int = 500) -> list[InboxRec]:
        """Unfinished events (received or answered) not touched since `updated_before`, oldest first."""
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(*InboxItem.__table__.c)
                    .where(InboxItem.status.in_(INBOX_PENDING), InboxItem.updated_at < updated_before)
                    .order_by(InboxItem.id)
                    .limit(limit)
                )
            ).all()
        return [self._inbox(r) for r in rows]

    async def inbox_next(self, person_key: str) -> tuple[InboxRec | None, bool, TurnContext]:
        """The person's oldest unfinished event (received, or answered and not fully sent) if any, whether
        more are waiting after it, and what a turn reads (open case, conversation state): one read."""
        q = self._q

        def run(conn: Connection) -> tuple[InboxRec | None, bool, TurnContext]:
            rows = conn.execute(q.inbox_next, {"b_pk": person_key}).all()
            rec = self._inbox(rows[0]) if rows else None
            return rec, len(rows) > 1, self._turn_context(conn, person_key)

        return await self._run(run, write=False)

    async def inbox_people(self, updated_before: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(channel, person key) of the people with unfinished events not touched since `updated_before`."""
        async with self._tx() as conn:
            rows = (
                await conn.execute(
                    select(InboxItem.channel, InboxItem.person_key)
                    .where(
                        InboxItem.status.in_(INBOX_PENDING),
                        InboxItem.updated_at < updated_before,
                        InboxItem.person_key.is_not(None),
                    )
                    .group_by(InboxItem.channel, InboxItem.person_key)
                    .order_by(func.min(InboxItem.id))
                    .limit(limit)
                )
            ).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    async def inbox_set_aside(self, limit: int = 100) -> tuple[int, list[InboxRec]]:
        """Events set aside after failing again and again ('failed'): how many, and the newest `limit` of
        them without their bodies (for admins: what and when, never whose or what it said)."""
        async with self._tx() as conn:
            count = await conn.scalar(select(func.count()).where(InboxItem.status == "failed"))
            rows = (
                await conn.execute(
                    select(*InboxItem.__table__.c)
                    .where(InboxItem.status == "failed")
                    .order_by(InboxItem.id.desc())
                    .limit(limit)
                )
            ).all()
        return int(count or 0), [dataclasses.replace(self._inbox(r), body=None) for r in rows]

    async def inbox_retry(self, inbox_id: int) -> int | None:
        """Count one more attempt at an unfinished event; its attempts so far, or None when it is finished."""
        async with self._tx(write=True) as conn:
            return cast(
                int | None,
                await conn.scalar(
                    update(InboxItem)
                    .where(InboxItem.id == inbox_id, InboxItem.status.in_(INBOX_PENDING))
                    .values(attempts=InboxItem.attempts + 1, updated_at=self._now())
                    .returning(InboxItem.attempts)
                ),
            )

    async def inbox_finish(self, inbox_id: int, status: InboxStatus) -> None:
        """done / limited: the stored event is dropped (only the dedup key stays). failed: set aside; the
        event stays (encrypted) until the dedup record is pruned, and the person's next event goes on."""
        _one_of(status, INBOX_STATUSES, "inbox status")
        values: dict[str, Any] = {"status": status, "updated_at": self._now()}
        if status != "failed":
            values["body_enc"] = None
        async with self._tx(write=True) as conn:
            await conn.execute(update(InboxItem).where(InboxItem.id == inbox_id).values(**values))

    async def prune_inbox(self, received_before: datetime) -> int:
        """Forget finished events taken in before `received_before` (their dedup keys go too)."""
        async with self._tx(write=True) as conn:
            result = await conn.execute(
                delete(InboxItem).where(InboxItem.received_at < received_before, InboxItem.status.not_in(INBOX_PENDING))
            )
        return int(result.rowcount)

    async def turn_context(self, person_key: str) -> TurnContext:
        """The person's open case and conversation state, in one read."""
        return await self._run(lambda conn: self._turn_context(conn, person_key), write=False)

    def _turn_context(self, conn: Connection, person_key: str) -> TurnContext:
        case_row = conn.execute(self._q.open_case, {"b_pk": person_key}).first()
        row = conn.execute(self._q.state, {"b_pk": person_key}).first()
        state: dict[str, Any] = {}
        version = 0
        if row is not None:
            loaded = json.loads(row.state)
            state, version = (loaded if isinstance(loaded, dict) else {}), int(row.version)
        return TurnContext(case=None if case_row is None else case_record(case_row), state=state, version=version)

    async def record_turn(self, turn: TurnWrite) -> TurnSaved:
        """Write one turn in one transaction: the person (created or marked seen), the incoming message,
        the state (unless someone saved a newer one: then `stale`), the replies, and the inbox row."""
        _name(turn.channel, "channel", 32)
        if turn.incoming is not None:
            _one_of(turn.incoming[0], KINDS, "kind")
            if turn.incoming[2] is not None:
                _name(turn.incoming[2], "platform_message_id", 128)
        key = person_key(self._secret, turn.channel, turn.platform_id)
        now = self._now()
        enc = self._cipher.encrypt(turn.platform_id) if turn.touch_person else b""
        payload = None if turn.state is None else json.dumps(turn.state, ensure_ascii=False, separators=(",", ":"))
        q = self._q

        def run(conn: Connection) -> TurnSaved:
            stale = False
            out_ids: list[int] = []
            if turn.touch_person:
                conn.execute(q.person_upsert, {"b_pk": key, "b_channel": turn.channel, "b_enc": enc, "b_now": now})
            if turn.incoming is not None:
                kind, text, platform_message_id = turn.incoming
                conn.execute(
                    q.message_in,
                    {
                        "b_pk": key,
                        "b_case": turn.in_case_id,
                        "b_kind": kind,
                        "b_text": text,
                        "b_pmid": platform_message_id,
                        "b_now": now,
                    },
                )
            if payload is not None:
                if turn.version == 0:
                    row = conn.execute(q.state_insert, {"b_pk": key, "b_state": payload, "b_now": now}).first()
                else:
                    params = {"b_pk": key, "b_state": payload, "b_now": now, "b_old": turn.version}
                    row = conn.execute(q.state_update, {**params, "b_new": turn.version + 1}).first()
                stale = row is None
            if turn.outgoing:  # one multi-row INSERT ... RETURNING, ids in the order of the replies
                rows = [{"b_pk": key, "b_case": turn.out_case_id, "b_text": t, "b_now": now} for t in turn.outgoing]
                out_ids.extend(int(i) for i in conn.execute(q.message_out, rows).scalars())
            if turn.inbox is not None:
                answer = turn.inbox.answer
                body = None if answer is None else json.dumps({"answer": answer, "message_ids": out_ids})
                moved = conn.execute(
                    q.inbox_answer,
                    {
                        "b_id": turn.inbox.id,
                        "b_status": turn.inbox.finished_as if body is None else "answered",
                        "b_body": None if body is None else self._cipher.encrypt(body),
                        "b_now": now,
                    },
                )
                if moved.rowcount != 1:
                    raise InboxMoved(f"inbox {turn.inbox.id} is no longer waiting for its turn")
            if turn.tally is not None:
                write_tally(conn, self._secret, key, turn.tally, now)
            return TurnSaved(tuple(out_ids), stale)

        return await self._run(run, write=True)

    async def record_deliveries(
        self, deliveries: Sequence[Delivery], *, inbox_id: int | None = None, inbox_status: InboxStatus = "done"
    ) -> None:
        """Record what happened to sent messages (platform id, sent/failed + error), and finish an inbox row,
        in one transaction. A status never moves backwards (see DELIVERY_REPLACES)."""
        for d in deliveries:
            _one_of(d.status, DELIVERY_STATUSES, "delivery status")
            if d.platform_message_id is not None:
                _name(d.platform_message_id, "platform_message_id", 128)
        _one_of(inbox_status, INBOX_STATUSES, "inbox status")
        now = self._now()
        q = self._q

        def run(conn: Connection) -> None:
            for d in deliveries:
                error = (d.error or "")[:500] or None if d.status == "failed" else None
                conn.execute(
                    q.delivery[d.status], {"b_id": d.message_id, "b_error": error, "b_pmid": d.platform_message_id}
                )
            if inbox_id is not None:
                conn.execute(q.inbox_set, {"b_id": inbox_id, "b_status": inbox_status, "b_body": None, "b_now": now})

        await self._run(run, write=True)

    async def undelivered(self, message_ids: Iterable[int]) -> set[int]:
        """Which of these messages have no delivery outcome yet (to resume sending after a restart)."""
        ids = list(message_ids)
        if not ids:
            return set()
        async with self._tx() as conn:
            rows = await conn.execute(select(Message.id).where(Message.id.in_(ids), Message.delivery_status.is_(None)))
            return {int(r[0]) for r in rows}

    async def set_delivery_by_platform_id(
        self, channel: str, platform_message_id: str, status: str, error: str | None = None, *, platform_id: str = ""
    ) -> bool:
        """A platform's receipt (delivered / seen / failed) for a message we sent, found by its platform id
        (within the person's messages when the receipt names them). False when no such message is waiting
        for it (unknown id, or already further along)."""
        _one_of(status, DELIVERY_STATUSES, "delivery status")
        _name(platform_message_id, "platform_message_id", 128)
        if platform_id:
            whose: Any = Message.person_key == person_key(self._secret, channel, platform_id)
        else:
            whose = Message.person_key.in_(select(Person.key).where(Person.channel == channel).scalar_subquery())
        async with self._tx(write=True) as conn:
            row = (
                await conn.execute(
                    update(Message)
                    .where(
                        Message.platform_message_id == platform_message_id,
                        Message.direction.in_(("out", "mediator")),
                        whose,
                        or_(Message.delivery_status.is_(None), Message.delivery_status.in_(DELIVERY_REPLACES[status])),
                    )
                    .values(
                        delivery_status=status,
                        delivery_error=(error or "")[:500] or None if status == "failed" else None,
                    )
                    .returning(Message.id)
                )
            ).first()
        return row is not None
