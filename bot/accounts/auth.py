"""Logins and sessions: argon2id check, login rate limits, a random session token (only its hash stored),
a CSRF token per session, and an audit row for every login attempt."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.accounts.passwords import Passwords
from bot.coordination import Coordination
from bot.inputs import clean_text
from bot.settings import ConsoleSettings
from bot.storage.console_repo import ConsoleRepo, SessionRec, UserRec

MAX_USERNAME = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_ok(session: SessionRec, presented: str | None) -> bool:
    """Constant-time comparison of the X-CSRF-Token header with the session's token."""
    return bool(presented) and hmac.compare_digest(session.csrf.encode(), (presented or "").encode())


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=12).hexdigest()  # no raw names or addresses in keys


@dataclass(frozen=True)
class Login:
    token: str  # goes into the cookie, never stored
    csrf: str
    user: UserRec
    max_age_seconds: int


class LoginRefused(Exception):
    """401 (wrong name or password, disabled account) or 429 (too many attempts: `retry_after` seconds)."""

    def __init__(self, status: int, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


FAILURES_KEPT_SECONDS = 24 * 3600.0  # a (name, address)'s failures are forgotten a day after the last one


def login_delay(failures: int, settings: ConsoleSettings) -> float:
    """How long one (name, address) waits after its `failures`-th failure in a row."""
    over = failures - settings.login_free_failures
    if over <= 0:
        return 0.0
    return float(min(settings.login_delay_seconds * 2 ** min(over - 1, 40), settings.login_max_delay_seconds))


class Auth:
    """Logins. Failed attempts count per (name, address): after console.login_free_failures of them, each
    further failure makes that pair wait before its next attempt, console.login_delay_seconds doubling up
    to console.login_max_delay_seconds; a success clears the count. Someone failing on purpose from
    elsewhere slows only their own address, never locks the mediator out. An address is also limited in
    all its attempts (console.login_attempts_per_ip per login_window_minutes), for guessing across names."""

    def __init__(
        self, repo: ConsoleRepo, passwords: Passwords, coordination: Coordination, settings: ConsoleSettings
    ) -> None:
        self.repo, self.passwords, self.coordination, self.settings = repo, passwords, coordination, settings

    async def _refuse_early(self, name: str, ip: str, pair: str) -> None:
        window = self.settings.login_window_minutes * 60.0
        wait = await self.coordination.blocked_for(pair)
        if not wait and not await self.coordination.hit(
            f"login:ip:{_digest(ip)}", self.settings.login_attempts_per_ip, window
        ):
            wait = window
        if wait:
            await self.repo.audit(name or "?", "login_failed", ip=ip, detail={"reason": "rate_limited"})
            raise LoginRefused(429, "too many failed logins; wait a little and try again", math.ceil(wait))

    async def login(self, name: str, password: str, ip: str) -> Login:
        name = clean_text(name).strip()[:MAX_USERNAME]
        pair = f"login:{_digest(name.lower() + chr(10) + ip)}"
        await self._refuse_early(name, ip, pair)
        found = await self.repo.credentials(name) if name else None
        ok = await self.passwords.verify(found[1] if found else None, clean_text(password))
        if found is None or not ok or found[0].disabled:
            reason = "unknown_user" if found is None else "disabled" if ok else "bad_password"
            await self.repo.audit(name or "?", "login_failed", ip=ip, detail={"reason": reason})
            failures = await self.coordination.count(pair, FAILURES_KEPT_SECONDS)
            delay = login_delay(failures, self.settings)
            if delay:
                await self.coordination.block(pair, delay)
            raise LoginRefused(401, "wrong user name or password")
        await self.coordination.clear(pair)
        user, stored = found
        if self.passwords.needs_rehash(stored):
            await self.repo.set_password_hash(user.id, self.passwords.hasher.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        lifetime = timedelta(hours=self.settings.session_hours)
        await self.repo.create_session(token_hash(token), user.id, csrf, self.repo.now() + lifetime)
        await self.repo.audit(user.name, "login", ip=ip)
        return Login(token, csrf, user, int(lifetime.total_seconds()))

    async def session(self, token: str | None) -> SessionRec | None:
        if not token or len(token) > 128:
            return None
        return await self.repo.get_session(token_hash(token))

    async def logout(self, session: SessionRec, ip: str) -> None:
        await self.repo.delete_session(session.token_hash)
        await self.repo.audit(session.user.name, "logout", ip=ip)
