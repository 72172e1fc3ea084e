"""Facebook Messenger: hub verification, X-Hub-Signature-256, every event of a batched body, Send API.

Plain HTTP on the shared aiohttp session (no SDK). Facts and sources: ../shared/spec/PLATFORMS.md §2.

What the Rasa connector got wrong and this module does not (ARCHITECTURE.md):
- every entry and every messaging item of a body is returned, not only the first;
- the signature is compared in constant time over the raw bytes, and a missing or malformed header is refused;
- sending uses the shared non-blocking session with a bounded timeout.

Secrets: the page token travels only as the ``access_token`` query parameter of the Send API (the form
PLATFORMS.md §2.5 documents), so the request URL is never put in a log line or an exception, and aiohttp
exceptions (whose text can hold the URL) are replaced by our own, without chaining. Raw PSIDs and message
text are never logged either.

The 24-hour window: Meta refuses a RESPONSE message more than 24 hours after the person's last message
(§2.6). The bot only ever answers a message that just arrived, so its replies are inside the window; the
mediator console and any queued/deferred send must check ``capabilities.reply_window`` against the
person's last inbound time first (``within_window`` below). If a send still lands outside the window,
Graph's error becomes ``SendError(permanent=True)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.base import Capabilities, Inbound, SendError
from bot.inputs import load_json
from dialogues.types import Button, Event, Reply

log = logging.getLogger(__name__)

NAME = "messenger"
REPLY_WINDOW = timedelta(hours=24)
TEXT_LIMIT = 2000  # message.text "has a 2000 character limit" (§2.5)
MAX_QUICK_REPLIES = 13
TITLE_LIMIT = 20
PAYLOAD_LIMIT_BYTES = 1000

CAPABILITIES = Capabilities(
    text_limit=TEXT_LIMIT,
    max_buttons=MAX_QUICK_REPLIES,
    button_title_limit=TITLE_LIMIT,
    payload_limit_bytes=PAYLOAD_LIMIT_BYTES,
    reply_window=REPLY_WINDOW,
    silent_send=True,
)

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_MAX_CHALLENGE = 256
MAX_KEY = 128  # the inbox's dedup key column; a longer platform id is replaced by its digest

# Graph errors after which retrying the same message cannot help (the person is out of reach).
_PERMANENT_CODES = frozenset({551})  # "This person isn't available right now"
_PERMANENT_SUBCODES = frozenset(
    {
        2018278,  # code 10: "This message is sent outside of allowed window"
        2018065,  # code 10: outside the allowed window (older wording)
        2018001,  # code 100: "No matching user found"
        2018108,  # "This person isn't receiving messages from you right now"
        1545041,  # code 551: the person is unavailable
    }
)

# Attachment types (messages webhook) -> Event.media.
_MEDIA = {
    "image": "image",
    "audio": "audio",
    "video": "video",
    "file": "file",
    "location": "location",
    "sticker": "sticker",
}


def within_window(last_inbound_at: datetime, now: datetime, window: timedelta = REPLY_WINDOW) -> bool:
    """True while a standard (RESPONSE) message may still be sent: less than 24 h since the person wrote."""
    return now - last_inbound_at < window


class PartialSendError(SendError):
    """A long reply went out in parts and a later part failed: ``sent`` holds the ids of the parts that went."""

    def __init__(self, message: str, *, permanent: bool = False, sent: Sequence[str] = ()) -> None:
        super().__init__(message, permanent=permanent)
        self.sent = tuple(sent)


class MessengerChannel:
    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        page_token: str,
        app_secret: str,
        verify_token: str,
        api_url: str,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._app_secret = app_secret.encode()
        self._verify_token = verify_token.encode()
        self._url = api_url.rstrip("/") + "/me/messages"
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_s = timeout
        # appsecret_proof ties each call to the app: a leaked page token alone is not enough when the app
        # has "Require App Secret" on (§4.6). Accepted by Graph whether or not that setting is on.
        params = {"access_token": page_token}
        if app_secret:
            params["appsecret_proof"] = hmac.new(self._app_secret, page_token.encode(), hashlib.sha256).hexdigest()
        self._params = params
        if not app_secret:
            log.warning("messenger: no app secret (SIGURNO_MESSENGER_APP_SECRET): every webhook will be refused")
        if not verify_token:
            log.warning("messenger: no verify token (SIGURNO_MESSENGER_VERIFY_TOKEN): hub verification will fail")

    def __repr__(self) -> str:  # never show the tokens
        return f"MessengerChannel(api_url={self._url.removesuffix('/me/messages')!r})"

    # ---- inbound ------------------------------------------------------------------------------

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """X-Hub-Signature-256 == "sha256=" + hex HMAC-SHA256(app secret, raw body), in constant time."""
        if not self._app_secret:
            return False
        match = _SIGNATURE.fullmatch(_header(headers, SIGNATURE_HEADER).strip())
        if match is None:
            return False
        expected = hmac.new(self._app_secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), match.group(1).lower().encode())

    async def verify_subscription(self, query: Mapping[str, str]) -> str | None:
        """Meta's GET check: hub.mode=subscribe and the verify token → hub.challenge; anything else → None (403)."""
        if not self._verify_token or query.get("hub.mode") != "subscribe":
            return None
        token = query.get("hub.verify_token", "")
        if not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), self._verify_token):
            return None
        challenge = query.get("hub.challenge", "")
        if not challenge or len(challenge) > _MAX_CHALLENGE or not challenge.isprintable():
            return None
        return challenge

    async def set_webhook(self, public_url: str) -> None:
        callback = public_url.rstrip("/") + "/webhooks/messenger"
        raise RuntimeError(
            "Messenger webhooks cannot be set through the API: subscribe the Page in the Meta app dashboard "
            f"(Messenger > Settings > Webhooks) with callback URL {callback} and the verify token from "
            "SIGURNO_MESSENGER_VERIFY_TOKEN, then subscribe the fields messages, messaging_postbacks, "
            "message_deliveries and message_reads."
        )

    def parse(self, body: bytes, headers: Mapping[str, str]) -> list[Inbound]:
        """Every event of every entry, in order. ValueError when the body is not a Messenger page webhook."""
        try:
            data = load_json(body)  # strings cleaned, nesting bounded
        except ValueError:
            raise ValueError("the body is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the body is not a JSON object")
        if data.get("object") != "page":
            raise ValueError("not a Messenger page webhook (object != 'page')")
        entries = data.get("entry")
        if not isinstance(entries, list):
            raise ValueError("'entry' is missing or not a list")
        out: list[Inbound] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise ValueError("an entry is not an object")
            for field in ("messaging", "standby"):
                items = entry.get(field, [])
                if not isinstance(items, list):
                    raise ValueError(f"'{field}' is not a list")
                for item in items:
                    if field == "standby":  # another app has the thread: not ours to answer
                        out.append(self._ignored())
                    else:
                        out.extend(self._item(item))
        return out

    def _item(self, item: object) -> list[Inbound]:
        if not isinstance(item, dict):
            log.warning("messenger: a messaging item is not an object; ignored")
            return [self._ignored()]
        sender = item.get("sender")
        user = sender.get("id") if isinstance(sender, dict) else None
        if isinstance(user, int) and not isinstance(user, bool):
            user = str(user)
        if not isinstance(user, str) or not user:
            log.warning("messenger: a messaging item has no sender id; ignored")
            return [self._ignored()]
        timestamp = item.get("timestamp", "")

        message = item.get("message")
        if isinstance(message, dict):
            if message.get("is_echo"):
                return [self._ignored(user)]
            event = _message_event(message)
            if event is None:
                return [self._ignored(user)]
            mid = message.get("mid")
            key = mid if isinstance(mid, str) and mid else self._derived_key("message", user, timestamp, message)
            return [Inbound(NAME, "message", user_id=user, event=event, dedup_key=_fit_key(key))]

        postback = item.get("postback")
        if isinstance(postback, dict):
            payload = postback.get("payload")
            if not isinstance(payload, str) or not payload:
                return [self._ignored(user)]
            mid = postback.get("mid")
            key = mid if isinstance(mid, str) and mid else self._derived_key("postback", user, timestamp, payload)
            event = Event("payload", payload=payload)
            return [Inbound(NAME, "message", user_id=user, event=event, dedup_key=_fit_key(key))]

        delivery = item.get("delivery")
        if isinstance(delivery, dict):
            mids = delivery.get("mids")
            if not isinstance(mids, list):
                return [self._ignored(user)]
            return [
                Inbound(
                    NAME,
                    "delivery",
                    user_id=user,
                    receipt_for=m,
                    receipt_status="delivered",
                    dedup_key=_fit_key(f"delivery:{m}"),
                )
                for m in mids
                if isinstance(m, str) and m
            ] or [self._ignored(user)]

        read = item.get("read")
        if isinstance(read, dict):
            # A read receipt names no message: everything sent before `watermark` (ms) has been seen.
            watermark = read.get("watermark", "")
            return [
                Inbound(
                    NAME,
                    "delivery",
                    user_id=user,
                    receipt_for="",
                    receipt_status="seen",
                    dedup_key=f"read:{watermark}:{self._digest('read', user, watermark)}",
                )
            ]

        return [self._ignored(user)]  # reactions, referrals, optins, policy notices ...

    def _derived_key(self, kind: str, user: str, timestamp: object, extra: object) -> str:
        """A stable dedup key for an event without a mid (no raw PSID in it)."""
        return f"{kind}:{self._digest(kind, user, timestamp, extra)}"

    def _digest(self, *parts: object) -> str:
        material = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()
        return hmac.new(self._app_secret or b"sigurno-messenger", material, hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _ignored(user: str = "") -> Inbound:
        return Inbound(NAME, "ignored", user_id=user)

    # ---- outbound -----------------------------------------------------------------------------

    def within_window(self, last_inbound_at: datetime, now: datetime) -> bool:
        """Whether a standard message may be sent now, given the person's last message time (24 h, §2.6)."""
        return within_window(last_inbound_at, now, REPLY_WINDOW)

    def build_messages(self, user_id: str, reply: Reply) -> list[dict[str, Any]]:
        """The Send API bodies for one reply: text split within 2000 characters, quick replies on the last part."""
        quick = _quick_replies(reply.buttons)
        parts = split_text(reply.text, TEXT_LIMIT)
        if not parts:
            if not quick:
                return []
            parts = ["…"]  # quick replies need a message to hang on
        notification = "SILENT_PUSH" if reply.sensitive else "REGULAR"
        bodies: list[dict[str, Any]] = []
        for i, part in enumerate(parts):
            message: dict[str, Any] = {"text": part}
            if quick and i == len(parts) - 1:
                message["quick_replies"] = quick
            bodies.append(
                {
                    "recipient": {"id": user_id},
                    "messaging_type": "RESPONSE",
                    "message": message,
                    "notification_type": notification,
                }
            )
        return bodies

    async def send(self, user_id: str, reply: Reply) -> list[str]:
        """Send one reply; returns the message_id of each part. SendError on failure (permanent when hopeless)."""
        ids: list[str] = []
        for body in self.build_messages(user_id, reply):
            try:
                mid = await self._post(body)
            except SendError as err:
                if not ids:
                    raise
                raise PartialSendError(
                    f"{err} (after {len(ids)} part(s) of the reply were sent)", permanent=err.permanent, sent=ids
                ) from None
            if mid:
                ids.append(mid)
        return ids

    async def _post(self, body: dict[str, Any]) -> str:
        # Never let an aiohttp exception (its text can hold the URL, and so the token) escape or be chained.
        failure = ""
        status, raw = 0, b""
        try:
            async with self._session.post(self._url, params=self._params, json=body, timeout=self._timeout) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            failure = f"Messenger Send API did not answer within {self._timeout_s:g} s"
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a malformed api_url
            failure = f"Messenger Send API request failed ({type(exc).__name__})"
        if failure:
            raise SendError(failure)

        data = _json_object(raw)
        if 200 <= status < 300:
            mid = data.get("message_id")
            if isinstance(mid, str) and mid:
                return mid
            log.warning("messenger: Send API answered %s without a message_id", status)
            return ""
        raise _graph_error(status, data)


# ---- helpers ------------------------------------------------------------------------------------


def _fit_key(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict (tests, other frameworks): look the name up case-insensitively
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), "")
    return value


def _message_event(message: Mapping[str, Any]) -> Event | None:
    quick = message.get("quick_reply")
    if isinstance(quick, dict):
        payload = quick.get("payload")
        if isinstance(payload, str) and payload:
            return Event("payload", payload=payload)
    if message.get("sticker_id"):
        return Event("nontext", media="sticker")
    text = message.get("text")
    if isinstance(text, str) and text.strip():
        return Event("text", text=text)
    attachments = message.get("attachments")
    if isinstance(attachments, list) and attachments:
        first = attachments[0] if isinstance(attachments[0], dict) else {}
        payload = first.get("payload")
        if isinstance(payload, dict) and payload.get("sticker_id"):
            return Event("nontext", media="sticker")
        return Event("nontext", media=_MEDIA.get(str(first.get("type", "")), "other"))
    return None


def _quick_replies(buttons: Sequence[Button]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for b in buttons:
        title = b.title.strip()
        if not title or not b.payload:
            continue
        if len(b.payload.encode()) > PAYLOAD_LIMIT_BYTES:  # a cut payload would mean something else: drop it
            log.warning("messenger: a button payload over %d bytes was dropped", PAYLOAD_LIMIT_BYTES)
            continue
        if len(title) > TITLE_LIMIT:
            title = title[: TITLE_LIMIT - 1].rstrip() + "…"
        out.append({"content_type": "text", "title": title, "payload": b.payload})
        if len(out) == MAX_QUICK_REPLIES:
            break
    return out


def split_text(text: str, limit: int) -> list[str]:
    """Cut text into parts of at most `limit` characters at paragraph, then line, then word boundaries."""
    text = text.strip()
    parts: list[str] = []
    while len(text) > limit:
        window = text[: limit + 1]  # a boundary right after the limit still lets the part be `limit` long
        cut = -1
        for sep, floor in (("\n\n", limit // 2), ("\n", limit // 2), (" ", 1)):
            at = window.rfind(sep, 0, limit + 1)
            if at >= floor:
                cut = at
                break
        if cut <= 0:
            cut = limit
        part = text[:cut].rstrip()
        if part:
            parts.append(part)
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _graph_error(status: int, data: Mapping[str, Any]) -> SendError:
    """A SendError from a Graph error answer: code/subcode only (Graph's message text is not repeated)."""
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    permanent = code in _PERMANENT_CODES or subcode in _PERMANENT_SUBCODES
    detail = f"HTTP {status}"
    if code is not None:
        detail += f", Graph error {code}" + (f"/{subcode}" if subcode is not None else "")
    if permanent:
        detail += ": the person cannot be messaged (outside the 24-hour window or unavailable)"
    return SendError(f"Messenger Send API refused the message ({detail})", permanent=permanent)
