"""What the repositories return and take: frozen records (never ORM objects), and the checks on names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Row

from bot.storage.models import OPEN_STATUSES
from bot.storage.report_tally import Tally

Direction = Literal["in", "out", "mediator"]
Kind = Literal["text", "payload", "image", "audio", "video", "file", "sticker", "location", "other"]
DeliveryStatus = Literal["sent", "delivered", "seen", "failed"]
CaseStatus = Literal["queued", "assigned", "closed", "released"]
Priority = Literal["urgent", "high", "normal"]
InboxStatus = Literal["received", "answered", "done", "limited", "failed"]

MAX_ACTOR = 64


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
class InboxMark:
    """The inbox row a turn answers: 'received' -> 'answered' (with `answer`, kept encrypted together with
    the ids of the stored replies until it is sent) or -> 'done' (answer None: nothing to send)."""

    id: int
    answer: str | None
    finished_as: InboxStatus = "done"  # the status when there is nothing to send (done, or limited)


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
    review: ReviewNote | None = None  # a not-understood message for the review queue, same transaction


@dataclass(frozen=True, slots=True)
class ReviewNote:
    """A message for the review queue (bot/review/capture.py): text already masked, never linked to a person."""

    text: str
    nlu: dict[str, Any]


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


def one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def check_name(value: str, what: str, limit: int = MAX_ACTOR) -> None:
    if not value or len(value) > limit:
        raise ValueError(f"{what} must be 1 to {limit} characters")


def message_record(row: Row[Any]) -> MessageRec:
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


def case_record(row: Row[Any] | Mapping[str, Any]) -> CaseRec:
    m = row._mapping if isinstance(row, Row) else row
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


def event_record(row: Row[Any]) -> CaseEventRec:
    m = row._mapping
    return CaseEventRec(
        id=m["id"],
        case_id=m["case_id"],
        kind=m["kind"],
        actor=m["actor"],
        data=dict(m["data"] or {}),
        created_at=m["created_at"],
    )
