"""The messaging channels that are on, built from settings around ONE shared aiohttp.ClientSession.

A channel is on when its token is set (bot.settings.ChannelSettings). Its module is imported only
then, so a platform module that is missing or broken is an error at start-up when (and only when)
that channel is on. `open_channels(settings)` is used from the app's cleanup_ctx: the session is
created on start-up and closed on shutdown. `Channels.send()` renders one reply for the channel
(bot.channels.render) and sends every part: the handoff relay uses it for mediator messages.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from bot.channels import render
from bot.channels.base import Channel, SendError
from bot.settings import ChannelSettings, SettingsError
from dialogues.types import Reply

# name -> (module, class, environment variable that turns it on)
MODULES: dict[str, tuple[str, str, str]] = {
    "telegram": ("bot.channels.telegram", "TelegramChannel", "SIGURNO_TELEGRAM_TOKEN"),
    "viber": ("bot.channels.viber", "ViberChannel", "SIGURNO_VIBER_TOKEN"),
    "messenger": ("bot.channels.messenger", "MessengerChannel", "SIGURNO_MESSENGER_PAGE_TOKEN"),
}
CONNECTIONS_PER_HOST = 64  # a hung platform can hold at most this many connections; the others keep theirs


class ChannelError(SettingsError):
    """A channel that is on cannot be built (its module is missing or refuses the settings)."""


def _class(name: str) -> Any:
    module_name, class_name, var = MODULES[name]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)
    except (ImportError, AttributeError) as e:
        raise ChannelError(
            f"the {name} channel is on ({var} is set) but {module_name}.{class_name} cannot be loaded: "
            f"{type(e).__name__}: {e}"
        ) from e


def build_channel(name: str, s: ChannelSettings, session: aiohttp.ClientSession) -> Channel:
    """One channel from its settings (the constructors are the seams in notes/channels_plan.md)."""
    cls = _class(name)
    timeout = s.send_timeout_seconds
    try:
        if name == "telegram":
            channel = cls(
                s.telegram_token.get_secret_value(),
                s.telegram_secret.get_secret_value(),
                s.telegram_api_url,
                session,
                timeout=timeout,
            )
        elif name == "viber":
            channel = cls(
                s.viber_token.get_secret_value(), s.viber_api_url, session, s.viber_bot_name, timeout_seconds=timeout
            )
        elif name == "messenger":
            channel = cls(
                s.messenger_page_token.get_secret_value(),
                s.messenger_app_secret.get_secret_value(),
                s.messenger_verify_token.get_secret_value(),
                s.messenger_api_url,
                session,
                timeout=timeout,
            )
        else:
            raise ChannelError(f"unknown channel {name!r}")
    except (TypeError, ValueError) as e:  # messages of the channel constructors never hold the secrets
        raise ChannelError(f"the {name} channel cannot start: {e}") from e
    return channel  # type: ignore[no-any-return]


class Channels:
    """The registry of channels that are on, by name."""

    def __init__(self, channels: Mapping[str, Channel], session: aiohttp.ClientSession | None = None) -> None:
        self._channels = dict(channels)
        self.session = session

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._channels)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def __len__(self) -> int:
        return len(self._channels)

    async def send(self, name: str, user_id: str, reply: Reply) -> list[str]:
        """Fit one reply to the channel and send all of its parts; the platform ids of what was sent.

        Raises SendError (also for an unknown or switched-off channel)."""
        channel = self._channels.get(name)
        if channel is None:
            raise SendError(f"the {name} channel is not on", permanent=True)
        (parts,) = render.fit((reply,), channel.capabilities)
        ids: list[str] = []
        for part in parts:
            ids.extend(await channel.send(user_id, part))
        return ids


def new_session(s: ChannelSettings) -> aiohttp.ClientSession:
    """The one HTTP client session every channel sends through."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=s.send_timeout_seconds + 1, connect=min(5.0, s.send_timeout_seconds)),
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=CONNECTIONS_PER_HOST, ttl_dns_cache=300),
        raise_for_status=False,
    )


@asynccontextmanager
async def open_channels(s: ChannelSettings) -> AsyncIterator[Channels]:
    """The channels that are on, with their shared session (closed on exit). No session when none is on."""
    if not s.enabled:
        yield Channels({})
        return
    for name in s.enabled:
        _class(name)  # fail before opening anything
    session = new_session(s)
    try:
        yield Channels({name: build_channel(name, s, session) for name in s.enabled}, session)
    finally:
        await session.close()
