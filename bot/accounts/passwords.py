"""Passwords: argon2id hashes (argon2-cffi's PasswordHasher and parameter profiles), checked off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
MAX_PASSWORD = 1024


class PasswordError(ValueError):
    """A password that may not be set (too short, too long)."""


class Passwords:
    """Hash and check passwords with argon2-cffi's parameter `profile` (console.argon2_profile: RFC 9106's
    low-memory choice by default; CHEAPEST only for tests) or an injected `hasher`."""

    def __init__(self, hasher: PasswordHasher | None = None, profile: str = "RFC_9106_LOW_MEMORY") -> None:
        self.hasher = hasher or PasswordHasher.from_parameters(getattr(profiles, profile))
        self._dummy_hash: str | None = None

    @property
    def _dummy(self) -> str:
        # Checked when the user name is unknown, so a wrong name costs as much time as a wrong password.
        # Made at the first check, not at start-up (every app start would pay a hash otherwise).
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("sigurno-no-such-user")
        return self._dummy_hash

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
