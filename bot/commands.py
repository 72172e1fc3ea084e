"""Commands beyond NLU: serve (web chat + API), chat (terminal), content check."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import sys
from datetime import date
from typing import Any

from bot.inputs import clean_text
from bot.settings import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    server = dataclasses.replace(
        settings.server,
        host=args.host or settings.server.host,
        port=args.port if args.port is not None else settings.server.port,
    )
    settings = dataclasses.replace(settings, server=server)
    workers = args.workers
    if workers < 1:
        print("sigurno: --workers must be at least 1", file=sys.stderr)
        return 2
    if workers > 1 and not settings.storage.redis_url:
        print(
            "sigurno: --workers above 1 needs SIGURNO_REDIS_URL: the processes share dedup, locks and limits there",
            file=sys.stderr,
        )
        return 2
    if workers > 1 and not server.port:
        print("sigurno: --workers above 1 needs a fixed --port (the processes share it)", file=sys.stderr)
        return 2
    print(f"Sigurno is listening on http://{server.host}:{server.port}/  (Ctrl+C stops it)", flush=True)
    if workers == 1:
        return _serve(settings, reuse_port=False)
    return _serve_workers(settings, workers)


def _serve(settings: Settings, *, reuse_port: bool) -> int:
    from bot.web.app import build_app
    from bot.web.serving import serve

    serve(build_app(settings), settings.server, reuse_port=reuse_port)
    return 0


def _serve_workers(settings: Settings, workers: int) -> int:
    """Fork `workers` processes that all listen on the port (SO_REUSEPORT: the kernel spreads connections);
    SIGTERM is passed on to them; when one fails, the others are stopped and its exit code is returned."""
    import contextlib
    import os
    import signal
    import traceback

    from bot.settings import SettingsError

    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve, then leave without returning into the parent's code
            code = 1
            try:
                code = _serve(settings, reuse_port=True)
            except SettingsError as e:
                print(f"sigurno: {e}", file=sys.stderr)
                code = 2
            except KeyboardInterrupt:
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)

    def stop_all(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the workers directly (same process group)
    running, result = set(children), 0
    while running:
        pid, status = os.wait()
        running.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and result == 0:
            result = code if code > 0 else 1
            stop_all(signal.SIGTERM, None)
    return result


def _render_reply(text: str, buttons: list[tuple[str, str]], *, numbered: bool) -> str:
    """A reply for the terminal; only the turn's last button group is numbered (a typed number picks from it)."""
    lines = [text]
    for i, (title, _) in enumerate(buttons, 1):
        already = title.split(".", 1)[0].isdigit()
        shown = title if already or not numbered else f"{i}. {title}"
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
                last = max((i for i, r in enumerate(out.replies) if r.buttons), default=-1)
                if last >= 0:
                    last_buttons = [(b.title, b.payload) for b in out.replies[last].buttons]
                for i, r in enumerate(out.replies):
                    buttons = [(b.title, b.payload) for b in r.buttons]
                    print(_render_reply(r.text, buttons, numbered=i == last) + "\n", flush=True)

            if isinstance(sys.stdin, io.TextIOWrapper):
                sys.stdin.reconfigure(errors="replace")  # bytes that are not UTF-8 become U+FFFD, not a crash
            print("Type a message; a number picks a button; Ctrl+D ends.\n", flush=True)
            await send(Event("payload", payload="/start"))
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return 0
                line = clean_text(line).strip()  # the same cleaning as every other entry point
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


def cmd_channels_set_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels import open_channels

    public_url = str(args.public_url).rstrip("/")
    if not public_url.startswith("https://"):
        print(
            "sigurno: --public-url must start with https:// (the platforms accept only TLS webhooks)", file=sys.stderr
        )
        return 2
    if not settings.channels.enabled:
        print(
            "sigurno: no channel is on: set SIGURNO_TELEGRAM_TOKEN, SIGURNO_VIBER_TOKEN or "
            "SIGURNO_MESSENGER_PAGE_TOKEN (with their secrets)",
            file=sys.stderr,
        )
        return 2

    async def run() -> int:
        failed = 0
        async with open_channels(settings.channels) as channels:
            for channel in channels:
                register_webhook = getattr(channel, "set_webhook", None)
                if register_webhook is None:
                    print(f"{channel.name}: this channel cannot register its webhook from here", file=sys.stderr)
                    failed += 1
                    continue
                try:
                    await register_webhook(public_url)
                except Exception as e:  # channel errors never carry tokens (bot/channels/base.py)
                    print(f"{channel.name}: {e}", file=sys.stderr)
                    failed += 1
                else:
                    print(f"{channel.name}: webhook set to {public_url}/webhooks/{channel.name}")
        return 1 if failed else 0

    return asyncio.run(run())


def register(sub: Any) -> None:
    """Add this module's subcommands to the CLI's subparsers."""
    sv = sub.add_parser("serve", help="run the web chat, its API and the webhooks")
    sv.add_argument("--host", help="address to listen on (default: server.host, $SIGURNO_HOST)")
    sv.add_argument("--port", type=int, help="port (default: server.port, $SIGURNO_PORT)")
    sv.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (SO_REUSEPORT); above 1 needs SIGURNO_REDIS_URL (default 1)",
    )
    sv.set_defaults(handler=cmd_serve)

    ch = sub.add_parser("chat", help="talk to Sigurno in this terminal")
    ch.add_argument("--session", default="terminal", help="conversation id (default: terminal)")
    ch.set_defaults(handler=cmd_chat)

    ct = sub.add_parser("content", help="check, import, export the content; list stale facts")
    csub = ct.add_subparsers(dest="content_command", metavar="ACTION")
    ck = csub.add_parser("check", help="fail on missing languages/fields/answers, bad phones or links")
    ck.add_argument("--dir", help="content folder (default: content.dir)")
    ck.add_argument("--max-age", type=int, help="warn on facts checked more than this many days ago")
    ck.add_argument("--facts", default="../shared/facts/FACTS.md", help="fact sheet every phone must be in")
    ck.set_defaults(handler=cmd_content_check)
    from bot.studio_cli import register as register_studio

    register_studio(csub)  # import, export, stale (bot/studio_cli.py)

    chn = sub.add_parser("channels", help="the messaging platforms (Telegram, Viber, Messenger)")
    chsub = chn.add_subparsers(dest="channels_command", metavar="ACTION")
    sw = chsub.add_parser("set-webhook", help="register PUBLIC_URL/webhooks/<channel> with every channel that is on")
    sw.add_argument("--public-url", required=True, help="https:// address where this server is reachable")
    sw.set_defaults(handler=cmd_channels_set_webhook)
