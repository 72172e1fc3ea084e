"""Accounts: `sigurno users`, argon2id hashes, sessions (hashed tokens, expiry), login limits, audit rows."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import extract_parameters, profiles
from sqlalchemy import select

from bot.accounts.auth import LoginRefused, token_hash
from bot.accounts.passwords import PasswordError, Passwords
from bot.accounts.roles import can_view_case
from bot.cli import main
from bot.settings import Settings
from bot.storage.console_models import ConsoleSession, User
from bot.storage.console_repo import DuplicateUser
from bot.storage.store import CaseRec
from tests.conftest import ROOT

from .conftest import PASSWORD, Rig

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def test_passwords_are_argon2id_with_rfc_9106_parameters_in_production() -> None:
    """The one test that pays production's hashing cost; the others use argon2-cffi's CHEAPEST profile."""
    assert Settings().console.argon2_profile == "RFC_9106_LOW_MEMORY"
    p = Passwords(profile=Settings().console.argon2_profile)
    stored = p.hash(PASSWORD)
    assert extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY  # argon2id, t=3, m=64 MiB, p=4
    assert not p.needs_rehash(stored)
    assert p.needs_rehash(Passwords(profile="CHEAPEST").hash(PASSWORD))  # upgraded at the next login
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    with pytest.raises(PasswordError, match="at least 12"):
        p.hash("short")


async def test_verify_is_constant_shape(rig: Rig) -> None:
    p = rig.handoff.auth.passwords
    stored = p.hash(PASSWORD)
    assert await p.verify(stored, PASSWORD)
    assert not await p.verify(stored, PASSWORD + "!")
    assert not await p.verify(None, PASSWORD)  # unknown user: same work, always False
    assert not await p.verify("not-a-hash", PASSWORD)


async def test_sessions_store_only_a_hash_and_expire(rig: Rig) -> None:
    rig.clock.now = T0
    auth = rig.handoff.auth
    mira, nobody = f"mira-{secrets.token_hex(4)}", f"nobody-{secrets.token_hex(4)}"  # Redis counters are shared
    user = await rig.repo.add_user(mira, "mediator", auth.passwords.hash(PASSWORD))
    with pytest.raises(DuplicateUser):
        await rig.repo.add_user(mira, "admin", auth.passwords.hash(PASSWORD))
    login = await auth.login(mira, PASSWORD, "10.0.0.7")
    assert login.user == user and len(login.token) >= 40 and len(login.csrf) >= 40
    async with rig.store.engine.connect() as conn:
        stored = (await conn.execute(select(ConsoleSession.token_hash, ConsoleSession.csrf))).all()
        hashes = (await conn.execute(select(User.password_hash))).scalars().all()
    assert [r.token_hash for r in stored] == [token_hash(login.token)]  # never the token itself
    assert login.token not in str(stored) and all(h.startswith("$argon2id$") for h in hashes)

    session = await auth.session(login.token)
    assert session is not None and session.user.name == mira and session.csrf == login.csrf
    rig.clock.now = T0 + timedelta(hours=rig.settings.console.session_hours, seconds=1)
    assert await auth.session(login.token) is None  # expired
    assert await rig.repo.purge_sessions() == 1

    with pytest.raises(LoginRefused) as bad:
        await auth.login(mira, "wrong password", "10.0.0.7")
    assert bad.value.status == 401
    with pytest.raises(LoginRefused):
        await auth.login(nobody, PASSWORD, "10.0.0.7")
    rows = [(a.actor, a.action, a.ip, a.detail) for a in await rig.repo.audit_log()]
    assert rows == [
        (mira, "login", "10.0.0.7", {}),
        (mira, "login_failed", "10.0.0.7", {"reason": "bad_password"}),
        (nobody, "login_failed", "10.0.0.7", {"reason": "unknown_user"}),
    ]


def _case(status: str, assignee: str | None) -> CaseRec:
    return CaseRec(1, "k" * 32, status, "urgent", (), "DE", "web", T0, T0, assignee, None, None)  # type: ignore[arg-type]


def test_who_sees_which_case() -> None:
    assert can_view_case("mira", "mediator", _case("queued", None))
    assert can_view_case("mira", "mediator", _case("assigned", "mira"))
    assert not can_view_case("mira", "mediator", _case("assigned", "zoya"))
    assert not can_view_case("mira", "mediator", _case("closed", "zoya"))
    assert can_view_case("mira", "mediator", _case("released", "mira"))
    assert can_view_case("root", "admin", _case("assigned", "zoya"))
    assert not can_view_case("ed", "editor", _case("queued", None))


def test_users_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        (ROOT / "config.yml")
        .read_text()
        .replace("sqlite+aiosqlite:///var/sigurno.db", f"sqlite+aiosqlite:///{tmp_path}/var/sigurno.db")
    )
    monkeypatch.delenv("SIGURNO_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIGURNO_REDIS_URL", raising=False)

    def run(*args: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(["--config", str(config), *args])

    assert run("users", "add", "mira", "--role", "mediator", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert run("users", "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n") == 0
    assert run("users", "add", "mira", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n") == 1
    assert run("users", "add", "bob", "--role", "mediator", "--password-stdin", stdin="short\n") == 1
    assert run("users", "add", "bad name", "--role", "mediator", "--password-stdin", stdin=PASSWORD) == 1
    assert run("users", "disable", "mira") == 0
    assert run("users", "disable", "nobody") == 1
    assert run("users", "list") == 0
    out, err = capsys.readouterr()
    assert "added mediator mira" in out and "added admin root" in out
    assert "mira\tmediator\tdisabled" in out and "root\tadmin\tactive" in out
    assert "exists already" in err and "at least 12" in err and "no user named 'nobody'" in err
    assert PASSWORD not in out + err
    with pytest.raises(SystemExit):
        run("users", "add", "x", "--role", "superuser", "--password-stdin")
