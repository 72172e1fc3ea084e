"""The Channel seam: pure verify/parse of a platform's webhook, async send, and its capabilities.

Platform JSON stays inside each channel module; the rest of the bot sees only these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol

from dialogues.types import Event, Reply

InboundKind = Literal[
    "message",  # the person wrote, tapped a button, or sent media: goes to the dispatcher
    "subscribed",  # Viber: the person subscribed (may now be messaged)
    "unsubscribed",  # Viber: stop messaging this person
    "conversation_started",  # Viber: opened the chat; the welcome goes in the HTTP response
    "delivery",  # a receipt for something we sent: delivered / seen / failed
    "ignored",  # echoes, our own messages, unknown events: acknowledged and dropped
]


@dataclass(frozen=True)
class Capabilities:
    text_limit: int  # characters in one message
    max_buttons: int  # buttons under one message; more degrade to a numbered list
    button_title_limit: int  # characters in one button title
    payload_limit_bytes: int  # bytes in a button payload
    reply_window: timedelta | None  # how long after the person's last message we may write; None = no limit
    silent_send: bool  # can send without a notification sound


@dataclass(frozen=True)
class Inbound:
    """One normalized event from a webhook body (a body may hold several)."""

    channel: str
    kind: InboundKind
    user_id: str = ""  # the platform's id of the person (raw: never logged, stored only encrypted)
    event: Event | None = None  # for kind == "message"
    dedup_key: str = ""  # platform message id: message_token / mid / update_id
    receipt_for: str = ""  # for kind == "delivery": the platform id of our message
    receipt_status: str = ""  # delivered | seen | failed
    receipt_error: str = ""
    callback_id: str = ""  # Telegram: the callback query to answer


class SendError(RuntimeError):
    """The platform did not take the message (HTTP error, timeout, refused): recorded, never silent."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent  # e.g. the person blocked the bot: retrying will not help


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Constant-time check of the platform's signature/secret over the raw body."""
        ...

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[Inbound]:
        """Every event in the body, in order; raises ValueError on a body that is not the platform's."""
        ...

    async def send(self, user_id: str, reply: Reply) -> list[str]:
        """Send one reply (already within limits); returns the platform ids of what was sent."""
        ...
