"""Input at the edge: everything from outside passes here before anything else looks at it.

    read_body(request, limit, timeout)  the raw HTTP body, bounded in bytes (413) and in time (408)
    load_json(raw)                      JSON with a nesting limit (400), every string cleaned
    clean_text(text)                    the one text cleaner, used by every entry point: the web chat API,
                                        the three platforms' webhooks (through load_json), the console's
                                        login and text fields, and the terminal chat

clean_text drops what a database cannot store or a person cannot have meant: NUL (PostgreSQL text refuses
it) and the other C0 control characters except tab, newline and carriage return, and DEL; a lone
surrogate (it cannot be encoded as UTF-8, so no driver can send it) becomes U+FFFD. Everything else is
kept as it came, so the text the bot understands, stores and shows the mediator is one and the same.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

MAX_JSON_DEPTH = 32  # no platform body comes near this: Telegram's deepest is about 8
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ID = re.compile(r"^[A-Za-z0-9_=+/:.@-]{1,128}$")  # every platform id we keep (update ids, mids, tokens)


class InputError(ValueError):
    """Input refused at the edge: `status` is the HTTP answer (400, 408 or 413), the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _replace(m: re.Match[str]) -> str:
    return "\ufffd" if m.group() >= "\ud800" else ""


def clean_text(text: str) -> str:
    """`text` without the code points a database cannot store (see the module's docstring)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(_replace, text)


def valid_id(value: str) -> bool:
    """A platform id we are willing to keep: 1-128 of A-Z a-z 0-9 _ = + / : . @ -"""
    return _ID.match(value) is not None


def load_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON; InputError(400) when it is not JSON or nests deeper than `max_depth`. Every string in
    the result (keys too) has gone through clean_text."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise InputError(400, "the JSON nests too deeply") from None
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer over Python's digit limit
        raise InputError(400, "the body is not JSON") from None
    if isinstance(data, str):
        return clean_text(data)
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:  # no recursion: the depth is checked here, not by the interpreter's stack
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > max_depth:
                raise InputError(400, "the JSON nests too deeply")
            for key in [k for k in node if _UNSTORABLE.search(k)]:
                node[clean_text(key)] = node.pop(key)
            for key, value in node.items():
                if isinstance(value, str):
                    if _UNSTORABLE.search(value):
                        node[key] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
        elif isinstance(node, list):
            if depth > max_depth:
                raise InputError(400, "the JSON nests too deeply")
            for i, value in enumerate(node):
                if isinstance(value, str):
                    if _UNSTORABLE.search(value):
                        node[i] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
    return data


async def read_body(request: web.Request, limit: int, timeout: float) -> bytes:
    """The whole body, or InputError: 413 over `limit` bytes (declared or sent), 408 when it has not all
    arrived within `timeout` seconds (a client trickling bytes holds a connection, not the server)."""
    if request.content_length is not None and request.content_length > limit:
        raise InputError(413, "the request is too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    raise InputError(413, "the request is too large")
                chunks.append(chunk)
    except TimeoutError:
        raise InputError(408, "the request body came too slowly") from None
    return b"".join(chunks)


def refused(e: InputError) -> web.Response:
    """The JSON answer to refused input. A body left unread (413, 408) ends the connection."""
    resp = web.json_response({"error": str(e)}, status=e.status)
    if e.status in (408, 413):
        resp.force_close()
    return resp
