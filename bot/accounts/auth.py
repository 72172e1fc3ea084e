"""Logins and sessions: argon2id check, login rate limits, a random session token (only its hash stored),
a CSRF token per session, and an audit row for every login attempt."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.accounts.passwords import Passwords
from bot.coordination import Coordination
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
    """401 (wrong name or password, disabled account) or 429 (too many attempts)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Auth:
    def __init__(
        self, repo: ConsoleRepo, passwords: Passwords, coordination: Coordination, settings: ConsoleSettings
    ) -> None:
        self.repo, self.passwords, self.coordination, self.settings = repo, passwords, coordination, settings

    async def _allowed(self, name: str, ip: str) -> bool:
        """Count this attempt against the name and the address (fixed windows; Redis when configured)."""
        window = self.settings.login_window_minutes * 60.0
        by_name = await self.coordination.hit(
            f"login:u:{_digest(name.lower())}", self.settings.login_attempts_per_user, window
        )
        by_ip = await self.coordination.hit(f"login:ip:{_digest(ip)}", self.settings.login_attempts_per_ip, window)
        return by_name and by_ip

    async def login(self, name: str, password: str, ip: str) -> Login:
        name = name.strip()[:MAX_USERNAME]
        if not await self._allowed(name, ip):
            await self.repo.audit(name or "?", "login_failed", ip=ip, detail={"reason": "rate_limited"})
            raise LoginRefused(429, "too many login attempts; wait a few minutes and try again")
        found = await self.repo.credentials(name) if name else None
        ok = await self.passwords.verify(found[1] if found else None, password)
        if found is None or not ok or found[0].disabled:
            reason = "unknown_user" if found is None else "disabled" if ok else "bad_password"
            await self.repo.audit(name or "?", "login_failed", ip=ip, detail={"reason": reason})
            raise LoginRefused(401, "wrong user name or password")
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
