"""The relay: a mediator's words (and the bot's handoff notices) to the person, on the person's own channel.

- web chat: the message is stored and queued for the page, which fetches it with
  GET /api/chat/updates?session=S&after=N (it is marked delivered when fetched);
- Telegram, Viber, Messenger: the raw id is decrypted only here, for the send; the platform's message id
  and the outcome (sent / failed + why) are recorded on the message;
- Messenger's 24-hour window: past it the message is not sent, and the failure says why.

Nothing is ever dropped silently: every message is stored first, then its delivery outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.channels.base import Capabilities, SendError
from bot.live import Current, as_current
from bot.reports.ops import count_send_failure
from bot.storage.console_repo import ConsoleRepo
from bot.storage.store import Store
from content import Content
from dialogues.types import Reply

log = logging.getLogger(__name__)

PUSH_CHANNELS = ("web",)  # the person's page fetches pushed messages
# Reply windows of channels that are not configured in this process (for the queue's window flag).
DEFAULT_WINDOWS: dict[str, timedelta | None] = {"messenger": timedelta(hours=24)}
MAX_ERROR = 300


class Sender(Protocol):
    """What the relay reads of a channel (bot.channels.base.Channel has it)."""

    @property
    def capabilities(self) -> Capabilities: ...


class Registry(Protocol):
    """The channels that are on (bot.channels.Channels): look one up; fit a reply to it and send it."""

    def get(self, name: str) -> Sender | None: ...

    async def send(self, name: str, user_id: str, reply: Reply) -> list[str]: ...


class NoChannels:
    """No messaging channel is on (the embedded default: web chat only)."""

    def get(self, name: str) -> Sender | None:
        return None

    async def send(self, name: str, user_id: str, reply: Reply) -> list[str]:
        raise SendError(f"the {name} channel is not on", permanent=True)


@dataclass(frozen=True)
class Delivered:
    message_id: int
    status: str  # sent | failed
    error: str | None = None


class Relay:
    def __init__(
        self, store: Store, repo: ConsoleRepo, content: Content | Current[Content], channels: Registry | None = None
    ) -> None:
        self.store, self.repo, self._content = store, repo, as_current(content)
        self.channels: Registry = channels if channels is not None else NoChannels()

    @property
    def content(self) -> Content:
        """The content in use now (a publish swaps it)."""
        return self._content.get()

    def reply_window(self, channel: str) -> timedelta | None:
        sender = self.channels.get(channel)
        if sender is not None:
            return sender.capabilities.reply_window
        return DEFAULT_WINDOWS.get(channel)

    def window_open(self, channel: str, last_inbound: datetime | None, now: datetime) -> bool:
        """May we write to the person now? Messenger: within 24 h of their last message; others: always."""
        window = self.reply_window(channel)
        if window is None:
            return True
        return last_inbound is not None and now - last_inbound < window

    async def language(self, person_key: str) -> str:
        state, _ = await self.store.load_state(person_key)
        for key in ("lang", "seen_lang"):  # chosen, else the language the person last wrote in
            lang = state.get(key)
            if isinstance(lang, str) and lang:
                return lang
        person = await self.store.get_person(person_key)
        return (person.language if person else None) or "bg"

    async def notice(self, person_key: str, text_key: str, case_id: int | None) -> Delivered:
        """A bot notice from texts.yml (handoff_started, handoff_ended, realert_person) in the person's language."""
        text = self.content.text(text_key, await self.language(person_key))
        return await self.to_person(person_key, text, direction="out", case_id=case_id)

    async def to_person(
        self, person_key: str, text: str, *, direction: str = "mediator", case_id: int | None = None
    ) -> Delivered:
        person = await self.store.get_person(person_key)
        if person is None:
            raise LookupError("the person is gone (erased)")
        channel = person.channel
        message_id = await self.repo.add_pushed(person_key, direction, text, case_id, push=channel in PUSH_CHANNELS)
        if channel in PUSH_CHANNELS:
            await self.store.set_delivery(message_id, "sent")
            return Delivered(message_id, "sent")
        error = await self._send(person_key, channel, text, message_id)
        if error is not None:
            await self.store.set_delivery(message_id, "failed", error[:MAX_ERROR])
            log.warning("relay to %s failed for message %s", channel, message_id)
            await count_send_failure(self.store, channel, "mediator")
            return Delivered(message_id, "failed", error[:MAX_ERROR])
        await self.store.set_delivery(message_id, "sent")
        return Delivered(message_id, "sent")

    async def _send(self, person_key: str, channel: str, text: str, message_id: int) -> str | None:
        """Send on a platform channel; the error to record, or None when it went."""
        sender = self.channels.get(channel)
        if sender is None:
            return f"the {channel} channel cannot receive messages from the console (not configured here)"
        window = sender.capabilities.reply_window
        if window is not None:
            last = (await self.repo.last_inbound([person_key])).get(person_key)
            if not self.window_open(channel, last, self.repo.now()):
                hours = int(window.total_seconds() // 3600)
                return (
                    f"reply window closed: {channel} allows replies only within {hours} h of the person's "
                    "last message; wait until they write again"
                )
        user_id = await self.store.platform_id(person_key)
        if user_id is None:
            return "the person is gone (erased)"
        try:
            ids = await self.channels.send(channel, user_id, Reply(text))  # fitted to the channel's limits
        except SendError as e:
            return f"{channel} refused the message: {e}" + (" (permanent)" if e.permanent else "")
        except Exception as e:  # a bug or an unexpected library error: record it, never lose the message silently
            log.exception("relay send raised")
            return f"sending failed ({type(e).__name__})"
        if ids:
            await self.repo.set_platform_message_id(message_id, ids[0])
        return None
