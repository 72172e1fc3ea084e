"""Passwords: argon2id hashes (argon2-cffi's PasswordHasher, RFC 9106 parameters), checked off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024


class PasswordError(ValueError):
    """A password that may not be set (too short, too long)."""


class Passwords:
    """Hash and check passwords; `hasher` is injectable (tests use cheaper parameters)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()  # argon2id by default
        # Checked when the user name is unknown, so a wrong name costs as much time as a wrong password.
        self._dummy = self.hasher.hash("sigurno-no-such-user")

    def hash(self, password: str) -> str:
        check_new_password(password)
        return self.hasher.hash(password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; None (unknown user) spends the same time and is False."""
        if len(password) > MAX_PASSWORD:
            return False
        return await asyncio.to_thread(self._verify, stored, password)

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordError(f"the password must be at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise PasswordError("the password must not be only spaces")
