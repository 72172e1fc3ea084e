"""Telegram: the secret-token header, Update parsing with python-telegram-bot types, and sending over aiohttp.

Updates are parsed with PTB's own types (`telegram.Update.de_json`) and keyboards are built with
`InlineKeyboardMarkup`; the requests themselves go out on the bot's shared aiohttp session as JSON
(`POST {api_url}/bot<token>/<method>`), so sending never blocks the event loop, every call has a bounded
timeout, and there is no second HTTP client that logs request lines.

The bot token is part of every request URL. It must never reach a log line or an exception message:
transport errors are re-raised as `SendError`s that name only the method and the error type, with the
original exception (whose text may hold the URL) dropped from the chain.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, InlineKeyboardButtonLimit, MessageLimit

from bot.channels.base import Capabilities, Inbound, SendError
from bot.inputs import load_json
from bot.logsafe import redact
from dialogues.types import Button, Event, Reply

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
WEBHOOK_PATH = "/webhooks/telegram"
BUTTONS_ONLY_TEXT = "👇"  # the text of a message that has only buttons

MAX_BUTTONS = 8
BUTTON_TITLE_LIMIT = 40
PAIR_TITLE_LIMIT = 18  # buttons whose titles are all this short go two to a row
CALLBACK_DATA_LIMIT = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # 64 bytes
TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096

_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")
_START = re.compile(r"^/start(@[A-Za-z0-9_]+)?(\s|$)")

# Message fields that carry something other than text, in the order they are checked (a venue also has
# a location, an animation also has a document), and the channel-neutral media kind each one becomes.
_MEDIA: tuple[tuple[str, str], ...] = (
    ("photo", "image"),
    ("live_photo", "image"),
    ("sticker", "sticker"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("video_note", "video"),
    ("animation", "video"),
    ("video", "video"),
    ("document", "file"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "other"),
    ("poll", "other"),
    ("dice", "other"),
    ("game", "other"),
    ("story", "other"),
    ("paid_media", "other"),
    ("invoice", "other"),
    ("passport_data", "other"),
    ("checklist", "other"),
)

# Bot API answers for which sending again cannot help: bad request (chat not found, text too long ...)
# and forbidden (the person blocked the bot, deleted their account, never wrote to it).
_PERMANENT_STATUS = frozenset({400, 403})
_MAX_RETRY_AFTER = 5.0  # seconds: a 429 asking for a longer pause is reported, not waited out
_MAX_429_RETRIES = 1  # the pipeline allows a send about three timeouts in all


class TelegramSendError(SendError):
    """A Bot API call that failed; `status` is the HTTP/Bot API error code (0: no answer at all)."""

    def __init__(
        self, message: str, *, status: int = 0, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message, permanent=permanent)
        self.status = status
        self.retry_after = retry_after
        self.sent: tuple[str, ...] = ()  # ids of the parts of a split message that were sent before the failure


class TelegramChannel:
    name = "telegram"
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT,
        max_buttons=MAX_BUTTONS,
        button_title_limit=BUTTON_TITLE_LIMIT,
        payload_limit_bytes=CALLBACK_DATA_LIMIT,
        reply_window=None,
        silent_send=True,
    )

    def __init__(
        self,
        token: str,
        secret: str,
        api_url: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        ack_timeout: float = 5.0,
    ) -> None:
        if not token or any(c in token for c in "/?#%@ \t\r\n"):
            raise ValueError("the Telegram bot token is empty or not shaped like a token (value not shown)")
        if not api_url.startswith(("http://", "https://")):
            raise ValueError("the Telegram API URL must start with http:// or https://")
        self._token = token
        self._secret = secret
        self._api_url = api_url.rstrip("/")
        self._session = session
        self._timeout = timeout
        self._ack_timeout = ack_timeout

    def __repr__(self) -> str:  # never the token or the secret
        return f"TelegramChannel(api_url={self._api_url!r})"

    # ---- inbound -------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """The secret-token header equals the configured secret (constant time); no secret set → refuse all."""
        got = _header(headers, SECRET_HEADER)
        if got is None or not self._secret:
            return False
        return hmac.compare_digest(got.encode("utf-8", "surrogateescape"), self._secret.encode("utf-8"))

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[Inbound]:
        """One update → one Inbound (a webhook body holds exactly one update)."""
        try:
            data = load_json(body)  # strings cleaned, nesting bounded
        except ValueError:  # not JSON, or nested too deeply
            raise ValueError("not a Telegram update: the body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("not a Telegram update: the body is not a JSON object")
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            raise ValueError("not a Telegram update: no integer update_id")
        try:
            update = Update.de_json(data)
            inbound = self._inbound(update)
        except Exception as exc:  # PTB raises KeyError/TypeError/AttributeError on malformed parts
            if all(isinstance(v, dict) for k, v in data.items() if k != "update_id"):
                # A genuine update (its secret checked) that PTB's strict constructors refuse somewhere inside,
                # e.g. a field a newer Bot API added or left out: a 400 would only make Telegram send it again
                # and again. Acknowledged and ignored; the log says why, never what it held.
                log.warning("telegram: an update python-telegram-bot cannot read was ignored (%s)", type(exc).__name__)
                return [Inbound(self.name, "ignored", dedup_key=str(update_id))]
            raise ValueError(f"not a Telegram update: malformed ({type(exc).__name__})") from None
        return [inbound]

    def _inbound(self, update: Update) -> Inbound:
        key = str(update.update_id)
        if update.message is not None:
            return self._from_message(key, update.message)
        if update.callback_query is not None:
            return self._from_callback(key, update.callback_query)
        # edited messages, channel posts, inline queries, chat member changes ...
        return Inbound(self.name, "ignored", dedup_key=key)

    def _from_message(self, key: str, msg: Message) -> Inbound:
        ignored = Inbound(self.name, "ignored", dedup_key=key)
        if msg.chat.type != ChatType.PRIVATE or msg.from_user is None or msg.from_user.is_bot:
            return ignored
        user_id = str(msg.chat.id)
        hint = (msg.from_user.language_code or "")[:16]  # the app's language: the dialogue's first language
        if msg.text is not None:
            if _START.match(msg.text) and not _is_forwarded(msg):
                # /start (also from a deep link: its parameter is dropped) is the dialogue's first contact
                event = Event("payload", payload="/start")
            else:
                event = Event("text", text=msg.text)
            event = dataclasses.replace(event, language_hint=hint)
            return Inbound(self.name, "message", user_id=user_id, event=event, dedup_key=key)
        for attr, media in _MEDIA:
            if getattr(msg, attr, None):
                if msg.caption and msg.caption.strip():
                    # A photo, video or file with words under it: the words are what the bot can answer.
                    event = Event("text", text=msg.caption, language_hint=hint)
                    return Inbound(self.name, "message", user_id=user_id, event=event, dedup_key=key)
                event = Event("nontext", media=media, language_hint=hint)
                return Inbound(self.name, "message", user_id=user_id, event=event, dedup_key=key)
        return ignored  # service messages (pinned, auto-delete timer, write access ...)

    def _from_callback(self, key: str, query: CallbackQuery) -> Inbound:
        # callback_id is set even when the press is ignored, so the spinner can still be stopped
        ignored = Inbound(self.name, "ignored", dedup_key=key, callback_id=query.id)
        message = query.message  # None for buttons under inline-mode messages (not ours)
        if message is None or message.chat.type != ChatType.PRIVATE or query.from_user.is_bot:
            return ignored
        if not query.data:  # game buttons carry game_short_name instead
            return ignored
        return Inbound(
            self.name,
            "message",
            user_id=str(message.chat.id),
            event=Event("payload", payload=query.data),
            dedup_key=key,
            callback_id=query.id,
        )

    # ---- outbound ------------------------------------------------------------------------------

    async def send(self, user_id: str, reply: Reply) -> list[str]:
        """sendMessage (split at the text limit if it must be; buttons under the last part).

        On failure the TelegramSendError's `sent` holds the ids of the parts that did go out.
        """
        if not _CHAT_ID.match(user_id):
            raise TelegramSendError("telegram: not a Telegram chat id (value not shown)", permanent=True)
        ids: list[str] = []
        for body in message_bodies(int(user_id), reply):  # nothing to show: no body, not an error
            try:
                result = await self._call_with_retry("sendMessage", body, self._timeout)
            except TelegramSendError as exc:
                exc.sent = tuple(ids)
                raise
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if not isinstance(message_id, int) or isinstance(message_id, bool):
                missing = TelegramSendError("telegram: sendMessage answered without a message_id")
                missing.sent = tuple(ids)
                raise missing
            ids.append(str(message_id))
        return ids

    async def acknowledge(self, inbound: Inbound) -> None:
        """answerCallbackQuery for a button press (stops the client's spinner). Best effort: never raises."""
        if not inbound.callback_id:
            return
        try:
            await self._call("answerCallbackQuery", {"callback_query_id": inbound.callback_id}, self._ack_timeout)
        except SendError as exc:
            log.warning("telegram: could not answer a callback query: %s", exc)

    async def set_webhook(self, public_url: str) -> None:
        """Register public_url + /webhooks/telegram with the secret token, for messages and button presses."""
        if not _SECRET_SHAPE.match(self._secret):
            raise ValueError(
                "SIGURNO_TELEGRAM_SECRET must be 1-256 characters from A-Z, a-z, 0-9, _ and - (Telegram's rule)"
            )
        body = {
            "url": public_url.rstrip("/") + WEBHOOK_PATH,
            "secret_token": self._secret,
            "allowed_updates": list(ALLOWED_UPDATES),
            "drop_pending_updates": False,
        }
        await self._call("setWebhook", body, self._timeout)

    # ---- the Bot API ---------------------------------------------------------------------------

    async def _call_with_retry(self, method: str, body: dict[str, Any], timeout: float) -> Any:
        """_call, waiting out one short flood-control pause (429 with retry_after ≤ 5 s)."""
        for attempt in range(_MAX_429_RETRIES + 1):
            try:
                return await self._call(method, body, timeout)
            except TelegramSendError as exc:
                wait = exc.retry_after
                if exc.status != 429 or wait is None or wait > _MAX_RETRY_AFTER or attempt == _MAX_429_RETRIES:
                    raise
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call(self, method: str, body: dict[str, Any], timeout: float) -> Any:
        """POST one Bot API method as JSON; the `result` on success, TelegramSendError otherwise.

        Exception messages name the method, the status and Telegram's description: never the URL.
        """
        url = f"{self._api_url}/bot{self._token}/{method}"
        try:
            async with self._session.post(
                url, json=body, timeout=aiohttp.ClientTimeout(total=timeout), raise_for_status=False
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise TelegramSendError(f"telegram: {method} timed out after {timeout:g}s") from None
        except Exception as exc:  # aiohttp's own messages may quote the URL, and so the token
            raise TelegramSendError(f"telegram: {method} failed: {type(exc).__name__}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TelegramSendError(f"telegram: {method} answered HTTP {status} without a Bot API body", status=status)
        if data.get("ok") is True and 200 <= status < 300:
            return data.get("result")
        code = data.get("error_code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else status
        description = data.get("description")
        description = redact(description)[:200] if isinstance(description, str) else "no description"
        params = data.get("parameters")
        retry_after = params.get("retry_after") if isinstance(params, dict) else None
        retry = (
            float(retry_after) if isinstance(retry_after, int | float) and not isinstance(retry_after, bool) else None
        )
        text = f"telegram: {method} refused ({code}): {description}"
        if retry is not None:
            text += f" (retry after {retry:g}s)"
        raise TelegramSendError(text, status=code, retry_after=retry, permanent=code in _PERMANENT_STATUS)


# ---- helpers (pure) --------------------------------------------------------------------------------


def message_bodies(chat_id: int, reply: Reply) -> list[dict[str, Any]]:
    """The sendMessage bodies for one reply: split at the text limit, the buttons under the last part."""
    markup = _markup_json(tuple(reply.buttons))
    parts = split_text(reply.text, TEXT_LIMIT)
    if not parts:
        if markup is None:
            return []
        parts = [BUTTONS_ONLY_TEXT]  # Telegram cannot show buttons without text
    bodies: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        body: dict[str, Any] = {"chat_id": chat_id, "text": part}
        if reply.sensitive:
            body["disable_notification"] = True
        if markup is not None and i == len(parts) - 1:
            body["reply_markup"] = markup
        bodies.append(body)
    return bodies


@functools.lru_cache(maxsize=512)
def _markup_json(buttons: tuple[Button, ...]) -> dict[str, Any] | None:
    """keyboard(buttons) as the Bot API's JSON. The same menus go out again and again and building them
    through python-telegram-bot's objects was a tenth of the server's time per message: built once per
    set of buttons. Shared between bodies: never changed after it is built."""
    markup = keyboard(buttons)
    return None if markup is None else markup.to_dict()


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """An inline keyboard: two buttons a row when every title is short, else one a row.

    Defends against what the renderer should already have fixed: long titles are shortened, and buttons
    whose payload Telegram would refuse (empty, or over 64 bytes) are left out rather than failing the send.
    """
    kept: list[InlineKeyboardButton] = []
    for b in buttons:
        data_bytes = len(b.payload.encode("utf-8"))
        title = b.title.strip()
        if not title or data_bytes == 0 or data_bytes > CALLBACK_DATA_LIMIT:
            log.warning("telegram: a button was left out (empty title or payload of %d bytes)", data_bytes)
            continue
        if len(title) > BUTTON_TITLE_LIMIT:
            title = title[: BUTTON_TITLE_LIMIT - 1].rstrip() + "…"
        kept.append(InlineKeyboardButton(title, callback_data=b.payload))
    if not kept:
        return None
    per_row = 2 if len(kept) > 1 and all(len(k.text) <= PAIR_TITLE_LIMIT for k in kept) else 1
    return InlineKeyboardMarkup([kept[i : i + per_row] for i in range(0, len(kept), per_row)])


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, then a line, then a space if possible."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            parts.append(rest)
            break
        fit = _fitting_prefix(rest, limit)
        window = rest[:fit]
        cut = 0
        for sep in ("\n\n", "\n", " "):
            pos = window.rfind(sep)
            if pos > fit // 3:
                cut = pos
                break
        if cut == 0:
            cut = fit
        head = rest[:cut].rstrip()
        if head:
            parts.append(head)
        rest = rest[cut:].lstrip()
    return parts


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest n such that text[:n] is within `limit` UTF-16 units (at least 1)."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return max(i, 1)
    return len(text)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():  # a plain dict (tests, other servers) is not case-insensitive
        if key.lower() == lowered:
            return val
    return None


def _is_forwarded(msg: Message) -> bool:
    return msg.forward_origin is not None
