"""Channel-neutral values that flow in and out of the dialogue engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

EventKind = Literal["text", "payload", "nontext"]


@dataclass(frozen=True)
class Event:
    """One thing the person did: wrote text, tapped a button (payload) or sent media."""

    kind: EventKind
    text: str = ""
    payload: str = ""
    media: str = ""  # for nontext: image, audio, video, file, sticker, location, other
    # The platform's guess of the person's language (Telegram language_code, Viber language): not part of
    # what the person did, so two events compare equal without it.
    language_hint: str = field(default="", compare=False)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    sensitive: bool = False  # send without a notification sound where the platform allows


@dataclass(frozen=True)
class OpenCase:
    """Effect: open (or raise) the person's case for a mediator."""

    priority: Literal["urgent", "high", "normal"]
    signals: tuple[str, ...]
    country: str | None
    reason: str


@dataclass(frozen=True)
class EraseData:
    """Effect: erase everything stored about the person (after their confirmation)."""


Effect = OpenCase | EraseData


@dataclass(frozen=True)
class Context:
    """What the engine may know about the world besides the conversation: time, shifts, the case."""

    now: datetime
    mediators_on_shift: bool = True
    next_shift: datetime | None = None
    has_open_case: bool = False
    retention_days: int = 90


@dataclass(frozen=True)
class Noted:
    """What a step did that the reports count (issue 11), never any text."""

    fallback: bool = False  # the bot did not understand
    job_check: str | None = None  # the job-offer check finished: green / amber / red
    safety_asked: bool = False  # the safety question was asked


@dataclass(frozen=True)
class StepResult:
    state: dict[str, object]
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...] = field(default_factory=tuple)
    noted: Noted = field(default_factory=Noted)
