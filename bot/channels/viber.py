"""Viber: signed webhooks parsed with `viberbot`, replies sent with the shared aiohttp session.

What comes from `viberbot` and what does not (../shared/spec/PLATFORMS.md §1.10):
- used: `create_request` (turns a callback body into a typed request) and the message models
  (`TextMessage`, `KeyboardMessage`) that give the send_message JSON;
- never used: `Api.send_messages` / `Api.post` / `Api.set_webhook` (synchronous `requests` without a timeout,
  the token put in the JSON body, payloads logged), `Api.verify_signature` (compares with `==`).

The token is a secret: it goes only into the `X-Viber-Auth-Token` header and the HMAC key, never into an
exception message or a log line. Raw user ids and message text are never logged either.

Keyboard taps come back as ordinary text messages whose text is the button's ActionBody; ours all start with
PAYLOAD_PREFIX, which is how a tap is told apart from typed text. The buttons are Silent, so the person's chat
does not fill up with those internal codes (nor show, to someone looking at the phone, which topics were opened).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import html
import json
import logging
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from viberbot.api.messages import MESSAGE_TYPE_TO_CLASS, KeyboardMessage, TextMessage
from viberbot.api.viber_requests import (
    EVENT_TYPE_TO_CLASS,
    ViberConversationStartedRequest,
    ViberDeliveredRequest,
    ViberFailedRequest,
    ViberMessageRequest,
    ViberSeenRequest,
    ViberSubscribedRequest,
    ViberUnsubscribedRequest,
    create_request,
)

from bot.channels import render
from bot.channels.base import Capabilities, Inbound, SendError
from bot.inputs import load_json
from dialogues.types import Button, Event, Reply

# viberbot's only logger. It logs the whole send payload (auth_token and text included) at DEBUG, and again at
# ERROR on any network failure; parsed requests (names, ids, text) at DEBUG. We never call the code that does,
# but nothing of it may ever reach a log: keep it above ERROR whoever configures logging.
VIBERBOT_LOGGERS: Final = ("viber.bot.api",)
for _name in VIBERBOT_LOGGERS:
    logging.getLogger(_name).setLevel(logging.CRITICAL)

SIGNATURE_HEADER: Final = "X-Viber-Content-Signature"
AUTH_HEADER: Final = "X-Viber-Auth-Token"
DEFAULT_API_URL: Final = "https://chatapi.viber.com"

PAYLOAD_PREFIX: Final = "sgn:"  # every ActionBody we send starts with this; typed text practically never does
TEXT_LIMIT: Final = 7000  # characters in one text message
MAX_JSON_BYTES: Final = 30_000  # Viber's cap on any API request body ("Maximum message size is 30KB")
_TEXT_BYTES: Final = 20_000  # UTF-8 bytes of text per message: leaves room for the keyboard within 30 KB
SENDER_NAME_LIMIT: Final = 28
MIN_API_VERSION: Final = 1  # only api-level-1 keyboard fields are relied on: every Viber client shows the message
SEND_TIMEOUT_S: Final = 10.0

# Viber send_message statuses after which retrying the same message cannot help.
_RECEIVER_NOT_REGISTERED: Final = 5
_RECEIVER_NOT_SUBSCRIBED: Final = 6
_PERMANENT: Final = frozenset({_RECEIVER_NOT_REGISTERED, _RECEIVER_NOT_SUBSCRIBED})
_STATUS_NAMES: Final = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
}

WEBHOOK_EVENTS: Final = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")

_MEDIA: Final = {
    "picture": "image",
    "video": "video",
    "file": "file",
    "sticker": "sticker",
    "location": "location",
    "contact": "other",
    "url": "other",
    "rich_media": "other",
    "keyboard": "other",
}

# Keyboard look: full-width buttons for long titles, two to a row for short ones (a phone in portrait).
_GRID_COLUMNS: Final = 6
_HALF_WIDTH_TITLE: Final = 16  # characters that fit on half a row
_KEYBOARD_BG: Final = "#FFFFFF"
_BUTTON_BG: Final = "#E8EEF7"


def signature(token: str, body: bytes) -> str:
    """The X-Viber-Content-Signature of a body: hex HMAC-SHA256 keyed with the auth token."""
    return hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, val in headers.items():  # a plain dict is not case-insensitive like aiohttp's headers
        if key.lower() == lower:
            return val
    return None


def _split(text: str, max_chars: int = TEXT_LIMIT, max_bytes: int = _TEXT_BYTES) -> list[str]:
    """Cut text into pieces within both limits, at a paragraph, then a line, then a word boundary."""

    def fits(s: str) -> bool:
        return len(s) <= max_chars and len(s.encode("utf-8")) <= max_bytes

    pieces: list[str] = []
    rest = text
    while not fits(rest):
        cut = max_chars
        while cut > 1 and len(rest[:cut].encode("utf-8")) > max_bytes:
            cut = cut * 3 // 4
        window = rest[:cut]
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at > cut // 3:
                head, rest = window[:at], rest[at + len(sep) :]
                break
        else:
            head, rest = window, rest[cut:]
        if head.strip():
            pieces.append(head.rstrip())
        rest = rest.lstrip("\n")
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def _layout(buttons: tuple[Button, ...]) -> list[int]:
    """Columns for each button: pairs of short titles share a row, everything else is full width."""
    cols: list[int] = []
    i = 0
    while i < len(buttons):
        short = len(buttons[i].title) <= _HALF_WIDTH_TITLE
        if short and i + 1 < len(buttons) and len(buttons[i + 1].title) <= _HALF_WIDTH_TITLE:
            cols += [_GRID_COLUMNS // 2, _GRID_COLUMNS // 2]
            i += 2
        else:
            cols.append(_GRID_COLUMNS)
            i += 1
    return cols


def _fit_bytes(s: str, limit: int) -> str:
    data = s.encode("utf-8")
    return s if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


class ViberChannel:
    name = "viber"
    capabilities = Capabilities(
        text_limit=TEXT_LIMIT,
        # Viber shows up to 12 keyboard rows in portrait; short titles go two to a row, so 12 buttons take
        # 6-12 rows. The country list (10 + "another country") still fits as buttons.
        max_buttons=12,
        # Viber allows 250 characters of button Text; 40 is what reads on a full-width phone button.
        button_title_limit=40,
        # ActionBody has no documented cap; it comes back as message text. Ours stay small (prefix + payload).
        payload_limit_bytes=250,
        # No time window, but Viber lets a bot write only to subscribed people (a person subscribes by writing
        # to the bot); before that, only the one welcome message in the conversation_started response.
        reply_window=None,
        silent_send=False,  # Viber has no notification-silent send
    )

    def __init__(
        self,
        token: str,
        api_url: str,
        session: aiohttp.ClientSession,
        bot_name: str = "Sigurno",
        *,
        timeout_seconds: float = SEND_TIMEOUT_S,
    ) -> None:
        if not token:
            raise ValueError("the Viber auth token is empty")
        self._token = token
        self._api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self._session = session
        self._sender = {"name": (bot_name or "Sigurno")[:SENDER_NAME_LIMIT]}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    def __repr__(self) -> str:  # never the token
        return f"ViberChannel(api_url={self._api_url!r})"

    # ---- inbound -------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        got = _header(headers, SIGNATURE_HEADER)
        if not got:
            return False
        try:
            got_bytes = got.strip().lower().encode("ascii")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(signature(self._token, body).encode("ascii"), got_bytes)

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[Inbound]:
        try:
            data = load_json(body)  # strings cleaned, nesting bounded
        except ValueError as e:
            raise ValueError("the Viber callback body is not JSON") from e
        if not isinstance(data, dict):
            raise ValueError("the Viber callback body is not a JSON object")
        event = data.get("event")
        if not isinstance(event, str):
            raise ValueError("the Viber callback has no 'event'")
        if event not in EVENT_TYPE_TO_CLASS:
            return [Inbound(self.name, "ignored")]  # a new event type: acknowledged, so Viber does not retry
        if event == "message":
            msg = data.get("message")
            if not isinstance(msg, dict):
                raise ValueError("the Viber 'message' callback has no message")
            if msg.get("type") not in MESSAGE_TYPE_TO_CLASS:  # a kind viberbot does not know yet: still answered
                return [self._message(data, Event("nontext", media="other"))]
        try:
            request = create_request(data)
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"the Viber '{event}' callback is missing a field") from e
        except Exception as e:  # viberbot raises bare Exception for what it cannot read
            raise ValueError(f"the Viber '{event}' callback could not be read") from e
        return [self._inbound(event, request, data)]

    def _inbound(self, event: str, request: object, data: dict[str, Any]) -> Inbound:
        if isinstance(request, ViberMessageRequest):
            return self._message(data, _event(request, str(data["message"]["type"])))
        if isinstance(request, ViberConversationStartedRequest):
            return Inbound(
                self.name,
                "conversation_started",
                user_id=_id(request.user.id),
                dedup_key=_key("conversation_started", data),
            )
        if isinstance(request, ViberSubscribedRequest):
            return Inbound(self.name, "subscribed", user_id=_id(request.user.id), dedup_key=_key("subscribed", data))
        if isinstance(request, ViberUnsubscribedRequest):
            return Inbound(
                self.name, "unsubscribed", user_id=_id(request.user_id), dedup_key=_key("unsubscribed", data)
            )
        if isinstance(request, ViberDeliveredRequest | ViberSeenRequest | ViberFailedRequest):
            error = str(request.desc or "failed")[:200] if isinstance(request, ViberFailedRequest) else ""
            return Inbound(
                self.name,
                "delivery",
                user_id=request.user_id if isinstance(request.user_id, str) else "",  # optional on delivered
                # delivered and seen carry the same message_token (that of our message): keep them apart
                dedup_key=f"{event}:{request.message_token}",
                receipt_for=str(request.message_token),
                receipt_status=event,
                receipt_error=error,
            )
        return Inbound(self.name, "ignored")  # "webhook": Viber checking the URL after set_webhook

    def _message(self, data: dict[str, Any], event: Event) -> Inbound:
        sender = data.get("sender")
        if not isinstance(sender, dict) or "message_token" not in data:
            raise ValueError("the Viber 'message' callback is missing a field")
        language = sender.get("language")  # the phone's language: the dialogue's first language, if it has none
        if isinstance(language, str) and language:
            event = dataclasses.replace(event, language_hint=language[:16])
        return Inbound(
            self.name, "message", user_id=_id(sender.get("id")), event=event, dedup_key=str(data["message_token"])
        )

    # ---- outbound ------------------------------------------------------------------------------

    def _keyboard(self, buttons: tuple[Button, ...]) -> dict[str, Any]:
        cap = self.capabilities
        shown = buttons[: cap.max_buttons]
        return {
            "Type": "keyboard",
            "DefaultHeight": False,
            "BgColor": _KEYBOARD_BG,
            "Buttons": [
                {
                    "Columns": cols,
                    "Rows": 1,
                    "ActionType": "reply",
                    "ActionBody": PAYLOAD_PREFIX + _fit_bytes(b.payload, cap.payload_limit_bytes),
                    # Text is rendered as HTML: a title never becomes markup
                    "Text": html.escape(b.title[: cap.button_title_limit], quote=False),
                    "TextSize": "regular",
                    "TextHAlign": "center",
                    "TextVAlign": "middle",
                    "BgColor": _BUTTON_BG,
                    "Silent": True,
                }
                for b, cols in zip(shown, _layout(shown), strict=True)
            ],
        }

    def messages(self, reply: Reply) -> list[dict[str, Any]]:
        """The send_message bodies for one reply (what `send` posts; the console's preview shows them)."""
        return self._messages(reply)

    def _messages(self, reply: Reply) -> list[dict[str, Any]]:
        """The send_message bodies (without receiver) for one reply: the keyboard rides on the last."""
        keyboard = self._keyboard(reply.buttons) if reply.buttons else None
        if not reply.text.strip():
            if keyboard is None:
                return []
            only = KeyboardMessage(keyboard=keyboard, min_api_version=MIN_API_VERSION).to_dict()
            return [{"sender": dict(self._sender), **only}]
        pieces = _split(reply.text)
        bodies = []
        for n, piece in enumerate(pieces, 1):
            message = TextMessage(
                text=piece, keyboard=keyboard if n == len(pieces) else None, min_api_version=MIN_API_VERSION
            )
            bodies.append({"sender": dict(self._sender), **message.to_dict()})
        return bodies

    def welcome_body(self, replies: tuple[Reply, ...]) -> dict[str, Any]:
        """The JSON for the HTTP response to conversation_started (send_message without receiver).

        Viber allows exactly one welcome message: the replies, fitted to this channel like any others (extra
        buttons become a numbered list), are joined into one text cut to one message, with the buttons of the
        last part that has any. No replies: {} (no welcome)."""
        parts = [part for reply in render.fit(replies, self.capabilities) for part in reply]
        text = "\n\n".join(p.text.strip() for p in parts if p.text.strip())
        buttons: tuple[Button, ...] = ()
        for p in parts:
            if p.buttons:
                buttons = p.buttons
        bodies = self._messages(Reply(text=_split(text)[0] if text else "", buttons=buttons))
        return bodies[0] if bodies else {}

    async def send(self, user_id: str, reply: Reply) -> list[str]:
        if not user_id:
            raise SendError("no Viber receiver", permanent=True)
        tokens: list[str] = []
        for body in self._messages(reply):
            result = await self._post("send_message", {"receiver": user_id, **body})
            token = result.get("message_token")
            if token is None:
                raise SendError("Viber send_message answered without a message_token")
            tokens.append(str(token))
        return tokens

    async def set_webhook(self, public_url: str) -> None:
        url = public_url.rstrip("/") + "/webhooks/viber"
        try:
            await self._post(
                "set_webhook",
                {"url": url, "event_types": list(WEBHOOK_EVENTS), "send_name": False, "send_photo": False},
            )
        except SendError as e:
            raise SendError(
                f"Viber did not accept the webhook {url}: {e}. The URL must be public HTTPS with a certificate "
                "from a trusted CA, and `sigurno serve` must already be answering there (Viber calls it at once)."
            ) from None

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_JSON_BYTES:
            raise SendError(f"Viber {method}: the request is {len(data)} bytes, over Viber's 30 KB", permanent=True)
        headers = {AUTH_HEADER: self._token, "Content-Type": "application/json; charset=utf-8"}
        try:
            async with self._session.post(
                f"{self._api_url}/pa/{method}", data=data, headers=headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise SendError(f"Viber {method}: no answer within {self._timeout.total:g} s") from None
        except aiohttp.ClientError as e:
            raise SendError(f"Viber {method}: {type(e).__name__}") from None
        if status != 200:
            raise SendError(f"Viber {method}: HTTP {status}")
        try:
            result = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SendError(f"Viber {method}: the answer is not JSON") from None
        if not isinstance(result, dict) or not isinstance(result.get("status"), int):
            raise SendError(f"Viber {method}: the answer has no status")
        code = result["status"]
        if code != 0:
            name = _STATUS_NAMES.get(code, "error")
            raise SendError(f"Viber {method}: status {code} ({name})", permanent=code in _PERMANENT)
        return result


def _id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("the Viber callback has no user id")
    return value


def _event(request: ViberMessageRequest, kind: str) -> Event:
    message = request.message
    if isinstance(message, TextMessage):
        text = message.text
        if not isinstance(text, str):
            return Event("nontext", media="other")
        if text.startswith(PAYLOAD_PREFIX) and len(text) > len(PAYLOAD_PREFIX):
            return Event("payload", payload=text[len(PAYLOAD_PREFIX) :])  # a tap on one of our buttons
        return Event("text", text=text)
    caption = getattr(message, "text", None)  # a picture, video or file may carry a caption: kept, not lost
    return Event("nontext", text=caption if isinstance(caption, str) else "", media=_MEDIA.get(kind, "other"))


def _key(event: str, data: Mapping[str, Any]) -> str:
    """Non-message callbacks are deduplicated per (event, message_token), as Viber reuses tokens across events
    (delivered and seen both carry the token of our message)."""
    token = data.get("message_token")
    return f"{event}:{token}" if token is not None else ""


__all__ = ["DEFAULT_API_URL", "PAYLOAD_PREFIX", "VIBERBOT_LOGGERS", "ViberChannel", "signature"]
