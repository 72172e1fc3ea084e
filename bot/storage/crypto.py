"""Pseudonymous person keys (keyed hash) and encryption of the raw platform id needed to reply.

A platform user id (Telegram chat id, Viber user id, Messenger PSID ...) is never stored in plain
text: rows are keyed by `person_key()`, an HMAC that cannot be reversed without the secret, and the
raw id is kept only as a Fernet token that `IdCipher` decrypts when the bot has to write back.

Losing either secret is losing data (keys no longer match, ids can no longer be decrypted), so
`load_or_create_local_secrets()` creates the embedded default's secrets once and never overwrites
a file it cannot read: it fails loudly instead.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_HEX_CHARS = 32  # 128 bits of the HMAC-SHA256: plenty against collisions, short in indexes
MIN_SECRET_BYTES = 16


class SecretsError(ValueError):
    """A missing, malformed or unreadable secret: the message says which and what to do."""


def person_key(secret: bytes, channel: str, platform_id: str) -> str:
    """The pseudonymous key of one person on one channel: HMAC-SHA256 of "channel:platform_id", 32 hex chars."""
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretsError(f"the user-key secret must be at least {MIN_SECRET_BYTES} bytes")
    if not channel or not platform_id:
        raise ValueError("person_key needs a channel and a platform id")
    digest = hmac.new(secret, f"{channel}:{platform_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:KEY_HEX_CHARS]


class IdCipher:
    """Encrypts and decrypts raw platform ids with Fernet (AES-128-CBC + HMAC-SHA256, random IV).

    `old_keys` still decrypt (key rotation: put the new key first, the old ones after it).
    """

    def __init__(self, key: bytes | str, old_keys: Sequence[bytes | str] = ()) -> None:
        try:
            fernets = [Fernet(k) for k in (key, *old_keys)]
        except (ValueError, binascii.Error) as e:
            raise SecretsError(
                "the data key must be a Fernet key (32 url-safe base64-encoded bytes), "
                "e.g. from: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from e
        self._fernet = MultiFernet(fernets)

    def encrypt(self, platform_id: str) -> bytes:
        return self._fernet.encrypt(platform_id.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as e:
            raise SecretsError("a stored platform id does not decrypt with the configured data key") from e

    def __repr__(self) -> str:
        return "IdCipher(<redacted>)"


def _decode(data: object, path: Path) -> tuple[bytes, bytes]:
    if not isinstance(data, dict):
        raise SecretsError(f"{path} is not a Sigurno secrets file (expected a JSON object)")
    try:
        user_key_secret = base64.urlsafe_b64decode(str(data["user_key_secret"]).encode())
        data_key = str(data["data_key"]).encode()
    except (KeyError, binascii.Error, ValueError) as e:
        raise SecretsError(f"{path} is damaged: it must hold user_key_secret and data_key") from e
    if len(user_key_secret) < MIN_SECRET_BYTES:
        raise SecretsError(f"{path} is damaged: user_key_secret is too short")
    IdCipher(data_key)  # validates the key
    return user_key_secret, data_key


def load_or_create_local_secrets(path: Path) -> tuple[bytes, bytes]:
    """(user_key_secret, data_key) for the embedded default, from a 0600 JSON file created on first use.

    Never regenerates an existing file: a damaged one raises SecretsError, because new secrets would
    orphan every stored person (their keys and encrypted ids come from the old ones).
    """
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(0o600)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SecretsError(f"{path} cannot be read as a Sigurno secrets file: {type(e).__name__}") from e
        return _decode(data, path)

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    payload = {
        "comment": "Sigurno local secrets (embedded default). Losing this file makes stored people unreachable.",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user_key_secret": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "data_key": Fernet.generate_key().decode(),
    }
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # atomic, never overwrites: a concurrent creator wins
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):  # make the new directory entry durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return _decode(json.loads(path.read_text(encoding="utf-8")), path)
