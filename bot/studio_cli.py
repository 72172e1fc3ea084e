"""`sigurno content import|export|stale`: the content in the database, with the YAML folder as seed and backup.

sigurno content import [--dir DIR]       # content/data -> database (a new published version if it differs)
sigurno content export DIR               # database -> YAML files under DIR (unchanged files byte for byte)
sigurno content stale [--days N] [--json]  # facts by age and by the date they change
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from bot import studio
from bot.settings import Settings
from bot.storage.console_repo import ConsoleRepo
from bot.storage.content_repo import ContentRepo
from content import ContentError
from content.check import check_content
from content.items import flatten
from content.loader import read_tree

FACTS = "../shared/facts/FACTS.md"
CHECK_PHONES = "../shared/tools/check_phones.py"


class StudioCliError(Exception):
    """Shown on one line; exit code 1."""


async def _with_repo(settings: Settings, fn: Callable[[ContentRepo, ConsoleRepo], Awaitable[int]]) -> int:
    from bot.storage.store import Store
    from bot.wiring import secrets_for

    user_secret, data_key = secrets_for(settings)
    store = await Store.open(settings.storage.database_url, user_secret, data_key, schema=settings.storage.schema)
    try:
        return await fn(ContentRepo(store), ConsoleRepo(store))
    finally:
        await store.close()


def _run(settings: Settings, fn: Callable[[ContentRepo, ConsoleRepo], Awaitable[int]]) -> int:
    try:
        return asyncio.run(_with_repo(settings, fn))
    except (StudioCliError, ContentError) as e:
        print(f"sigurno: {e}", file=sys.stderr)
        return 1


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    directory = Path(args.dir) if args.dir else settings.content.dir

    async def run(repo: ContentRepo, audit: ConsoleRepo) -> int:
        first = await repo.is_empty()
        before = await repo.version()
        version = await studio.import_folder(repo, directory, "import", first=first)
        if first:
            print(f"imported {directory} into an empty database (version 0)")
        elif version == before:
            print(f"{directory} holds what is published (version {version}): nothing to import")
            return 0
        else:
            print(f"imported {directory}: published as version {version}")
        await audit.audit("cli", "content_import", detail={"version": version, "dir": directory.name})
        return 0

    return _run(settings, run)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    directory = Path(args.dir)

    async def run(repo: ContentRepo, audit: ConsoleRepo) -> int:
        if await repo.is_empty():
            raise StudioCliError("the database holds no content yet: run `sigurno content import` first")
        written = await studio.export_folder(repo, directory)
        print(f"exported version {await repo.version()}: {len(written)} files under {directory}")
        return 0

    code = _run(settings, run)
    if code:
        return code
    facts = Path(args.facts)
    report = check_content(directory, today=date.today(), facts_md=facts if facts.is_file() else None)
    for e in report.errors:
        print(f"error: {e}")
    checker = Path(args.check_phones)
    if checker.is_file() and facts.is_file():
        done = subprocess.run([sys.executable, str(checker), str(directory), str(facts)], check=False)
        if done.returncode:
            return 1
    elif not facts.is_file():
        print(f"note: {facts} not found: phone numbers not checked against the fact sheet")
    return 1 if report.errors else 0


def cmd_stale(args: argparse.Namespace, settings: Settings) -> int:
    days = args.days if args.days is not None else settings.content.stale_after_days

    async def run(repo: ContentRepo, audit: ConsoleRepo) -> int:
        if await repo.is_empty():
            raw, problems = read_tree(settings.content.dir)
            if problems:
                raise StudioCliError(problems[0])
            items = flatten(raw)
        else:
            items = [p.item for p in await repo.items()]
        facts = studio.stale_facts(items, date.today(), days)
        if args.json:
            print(json.dumps({"days": days, "facts": [f.to_json() for f in facts]}, ensure_ascii=False, indent=1))
            return 0
        for f in facts:
            checked = f.checked.isoformat() if f.checked else "never"
            print(f"{f.id:48} checked {checked:10}  {f.reason}")
        print(f"{len(facts)} fact(s) to check (older than {days} days, or changing within {studio.DUE_SOON_DAYS} days)")
        return 0

    return _run(settings, run)


def register(csub: Any) -> None:
    """Add import, export and stale to `sigurno content`."""
    im = csub.add_parser("import", help="import the YAML folder into the database (publishes what differs)")
    im.add_argument("--dir", help="content folder (default: content.dir)")
    im.set_defaults(handler=cmd_import)
    ex = csub.add_parser("export", help="write the published content as YAML files under DIR (byte-stable)")
    ex.add_argument("dir", metavar="DIR")
    ex.add_argument("--facts", default=FACTS, help="fact sheet every phone number must be in (when present)")
    ex.add_argument("--check-phones", default=CHECK_PHONES, help="the shared phone checker to run (when present)")
    ex.set_defaults(handler=cmd_export)
    st = csub.add_parser("stale", help="facts by age, and those that change soon (a wage on 1 January)")
    st.add_argument("--days", type=int, help="older than this many days (default: content.stale_after_days)")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(handler=cmd_stale)
