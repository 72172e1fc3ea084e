"""`sigurno users add NAME --role mediator|editor|admin --password-stdin`, `users list`, `users disable NAME`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot.accounts.passwords import PasswordError, Passwords, check_new_password
from bot.inputs import clean_text
from bot.settings import Settings
from bot.storage.console_models import ROLES
from bot.storage.console_repo import ConsoleRepo, DuplicateUser

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class UsersError(Exception):
    """Shown on one line; exit code 1."""


def _read_password(from_stdin: bool) -> str:
    """The password as the console's login will see it (cleaned the same way: bot/inputs.py)."""
    if from_stdin:
        line = sys.stdin.readline()
        return clean_text(line[:-1] if line.endswith("\n") else line)
    if not sys.stdin.isatty():
        raise UsersError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise UsersError("the two passwords differ")
    return clean_text(first)


async def _with_repo(settings: Settings, fn: Callable[[ConsoleRepo], Awaitable[int]]) -> int:
    from bot.storage.store import Store
    from bot.wiring import secrets_for

    user_secret, data_key = secrets_for(settings)
    store = await Store.open(settings.storage.database_url, user_secret, data_key, schema=settings.storage.schema)
    try:
        return await fn(ConsoleRepo(store))
    finally:
        await store.close()


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    if not USERNAME.match(args.name):
        raise UsersError("NAME must be 1-64 of A-Z a-z 0-9 . _ - (starting with a letter or digit)")
    password = _read_password(args.password_stdin)
    try:
        check_new_password(password)
    except PasswordError as e:
        raise UsersError(str(e)) from e
    hashed = Passwords(profile=settings.console.argon2_profile).hash(password)

    async def run(repo: ConsoleRepo) -> int:
        try:
            user = await repo.add_user(args.name, args.role, hashed)
        except DuplicateUser as e:
            raise UsersError(f"a user named {args.name!r} exists already") from e
        await repo.audit("cli", "user_added", detail={"user": user.name, "role": user.role})
        print(f"added {user.role} {user.name}")
        return 0

    return asyncio.run(_with_repo(settings, run))


def cmd_users_list(args: argparse.Namespace, settings: Settings) -> int:
    async def run(repo: ConsoleRepo) -> int:
        for u in await repo.list_users():
            state = "disabled" if u.disabled else "active"
            print(f"{u.name}\t{u.role}\t{state}\tsince {u.created_at:%Y-%m-%d}")
        return 0

    return asyncio.run(_with_repo(settings, run))


def _set_disabled(disabled: bool) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        async def run(repo: ConsoleRepo) -> int:
            if not await repo.set_disabled(args.name, disabled):
                raise UsersError(f"no user named {args.name!r}")
            await repo.audit("cli", "user_disabled" if disabled else "user_enabled", detail={"user": args.name})
            print(f"{'disabled' if disabled else 'enabled'} {args.name}")
            return 0

        return asyncio.run(_with_repo(settings, run))

    return handler


def _guarded(fn: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace, Settings], int]:
    def handler(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return fn(args, settings)
        except UsersError as e:
            print(f"sigurno users: {e}", file=sys.stderr)
            return 1

    return handler


def register(sub: Any) -> None:
    """Add `users` to the CLI's subparsers."""
    us = sub.add_parser("users", help="console accounts: add, list, disable")
    usub = us.add_subparsers(dest="users_command", metavar="ACTION")
    add = usub.add_parser("add", help="add a console user (argon2id password hash)")
    add.add_argument("name", help="user name (1-64 of A-Z a-z 0-9 . _ -)")
    add.add_argument("--role", required=True, choices=ROLES, help="mediator, editor or admin")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(handler=_guarded(cmd_users_add))
    ls = usub.add_parser("list", help="list console users")
    ls.set_defaults(handler=_guarded(cmd_users_list))
    dis = usub.add_parser("disable", help="disable a user (their sessions end at once)")
    dis.add_argument("name")
    dis.set_defaults(handler=_guarded(_set_disabled(True)))
    en = usub.add_parser("enable", help="enable a disabled user again")
    en.add_argument("name")
    en.set_defaults(handler=_guarded(_set_disabled(False)))
