"""Logging without personal data: redacts tokens and ids, quiets library loggers that print URLs.

Our own code never logs message text or raw platform ids; this filter is the net under that rule
for library loggers (aiohttp access lines, httpx request lines with a bot token in the path ...).
"""

from __future__ import annotations

import logging
import re

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"bot\d{5,}:[A-Za-z0-9_-]{20,}"), "bot<redacted>"),  # Telegram token in a URL
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b"), "<redacted-token>"),
    (
        re.compile(r"(?i)(token|secret|password|signature|authorization|x-viber-auth-token)([\"'=:\s]+)[^\s\"'&,]+"),
        r"\1\2<redacted>",
    ),
    (re.compile(r"(?i)(access_token|hub\.verify_token|appsecret_proof)=[^&\s]+"), r"\1=<redacted>"),
    (re.compile(r"\b[A-Za-z0-9+/=_-]{40,}\b"), "<redacted-long>"),
)

# Library loggers that write request lines (paths may hold tokens, bodies may hold text).
_QUIET = (
    "aiohttp.access",
    "httpx",
    "httpcore",
    "telegram",
    "viberbot",
    "viber.bot.api",  # viberbot logs the whole send payload (token, text) at DEBUG and ERROR
    "viber",
    "urllib3",
    "asyncio",
    "aiosqlite",  # logs each operation with its SQL parameters (message text) at DEBUG
    "sqlalchemy.engine",  # echoes statements and parameters
    "asyncpg",
)


def redact(text: str) -> str:
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not take logging down
            message = str(record.msg)
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def install_log_filters() -> None:
    """Attach the redacting filter to every root handler and quiet the chatty libraries."""
    flt = RedactingFilter()
    root = logging.getLogger()
    for h in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in h.filters):
            h.addFilter(flt)
    for name in _QUIET:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))  # never louder than a module made it (viber: CRITICAL)
