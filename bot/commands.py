"""Commands beyond NLU: serve (web chat + API), chat (terminal), content check."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from datetime import date
from typing import Any

from bot.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.web.app import build_app

    server = dataclasses.replace(
        settings.server,
        host=args.host or settings.server.host,
        port=args.port if args.port is not None else settings.server.port,
    )
    settings = dataclasses.replace(settings, server=server)
    app = build_app(settings)
    print(f"Sigurno is listening on http://{server.host}:{server.port}/  (Ctrl+C stops it)", flush=True)
    web.run_app(app, host=server.host, port=server.port, print=None, access_log=None, handle_signals=True)
    return 0


def _render_reply(text: str, buttons: list[tuple[str, str]]) -> str:
    lines = [text]
    for i, (title, _) in enumerate(buttons, 1):
        shown = title if title[:2].rstrip(".").isdigit() else f"{i}. {title}"
        lines.append(f"   [{shown}]")
    return "\n".join(lines)


def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.wiring import open_services
    from dialogues.types import Event

    async def run() -> int:
        async with open_services(settings) as svc:
            last_buttons: list[tuple[str, str]] = []

            async def send(event: Event) -> None:
                nonlocal last_buttons
                out = await svc.dispatcher.handle("cli", args.session, event)
                for r in out.replies:
                    buttons = [(b.title, b.payload) for b in r.buttons]
                    if buttons:
                        last_buttons = buttons
                    print(_render_reply(r.text, buttons) + "\n", flush=True)

            print("Type a message; a number picks a button; Ctrl+D ends.\n", flush=True)
            await send(Event("payload", payload="/start"))
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return 0
                line = line.strip()
                if not line:
                    continue
                if line.isdigit() and 1 <= int(line) <= len(last_buttons):
                    await send(Event("payload", payload=last_buttons[int(line) - 1][1]))
                else:
                    await send(Event("text", text=line))

    return asyncio.run(run())


def cmd_content_check(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from content.check import check_content

    facts = Path(args.facts) if args.facts else None
    report = check_content(
        Path(args.dir) if args.dir else settings.content.dir,
        stale_after_days=args.max_age or settings.content.stale_after_days,
        today=date.today(),
        facts_md=facts if facts and facts.exists() else None,
    )
    for w in report.warnings:
        print(f"warning: {w}")
    for e in report.errors:
        print(f"error: {e}")
    print(f"content check: {len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 1 if report.errors else 0


def register(sub: Any) -> None:
    """Add this module's subcommands to the CLI's subparsers."""
    sv = sub.add_parser("serve", help="run the web chat, its API and the webhooks")
    sv.add_argument("--host", help="address to listen on (default: server.host, $SIGURNO_HOST)")
    sv.add_argument("--port", type=int, help="port (default: server.port, $SIGURNO_PORT)")
    sv.set_defaults(handler=cmd_serve)

    ch = sub.add_parser("chat", help="talk to Sigurno in this terminal")
    ch.add_argument("--session", default="terminal", help="conversation id (default: terminal)")
    ch.set_defaults(handler=cmd_chat)

    ct = sub.add_parser("content", help="check the content (answers, facts, phone numbers)")
    csub = ct.add_subparsers(dest="content_command", metavar="ACTION")
    ck = csub.add_parser("check", help="fail on missing languages/fields/answers, bad phones or links")
    ck.add_argument("--dir", help="content folder (default: content.dir)")
    ck.add_argument("--max-age", type=int, help="warn on facts checked more than this many days ago")
    ck.add_argument("--facts", default="../shared/facts/FACTS.md", help="fact sheet every phone must be in")
    ck.set_defaults(handler=cmd_content_check)
