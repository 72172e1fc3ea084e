"""The app on a socket, bounded: connection caps and timeouts that keep slow or greedy clients from
starving everyone else.

- `ConnectionGate`: at most `server.max_connections` open connections in all (below the usual limit of
  1024 open files, so accepting never fails) and `server.max_connections_per_address` from one address; a
  connection over either cap is closed as soon as it is accepted, before a byte of it is read.
- `server.idle_timeout_seconds`: a connection that has not sent a complete request head within this long
  after it opened (or after its last answer) is closed (aiohttp's keep-alive timer, which also runs
  before the first request).
- `server.body_timeout_seconds`: every handler reads its body with bot.inputs.read_body (408 when late);
  what is left of a body after such an answer is discarded for at most LINGER_SECONDS, then the
  connection is closed.

`sigurno serve` calls `serve`; tests call `start` and get the runner to clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.settings import ServerSettings

log = logging.getLogger(__name__)

LINGER_SECONDS = 2.0  # after an answer to a body not read to its end (408, 413): discard its rest this long, then close
WARN_EVERY = 60.0  # seconds between log lines about refused connections (never a line per connection)


class ConnectionGate:
    """Counts open connections per peer address and refuses those over the caps (0 = no per-address cap)."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total, self.per_address = total, per_address
        self.open: dict[RequestHandler, str] = {}
        self.by_address: Counter[str] = Counter()
        self.refused = 0
        self._warned_at = -WARN_EVERY

    def admit(self, handler: RequestHandler, address: str) -> bool:
        if len(self.open) >= self.total or (self.per_address and self.by_address[address] >= self.per_address):
            self.refused += 1
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning(
                    "connections refused: %d so far (%d open; caps %d in all, %d per address)",
                    self.refused,
                    len(self.open),
                    self.total,
                    self.per_address,
                )
            return False
        self.open[handler] = address
        self.by_address[address] += 1
        return True

    def release(self, handler: RequestHandler) -> None:
        address = self.open.pop(handler, None)
        if address is not None:
            self.by_address[address] -= 1
            if not self.by_address[address]:
                del self.by_address[address]

    def install(self, server: web.Server) -> None:
        """Wrap the server's connection bookkeeping (called by every RequestHandler as it starts and ends)."""
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer: Any = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            if not self.admit(handler, address):
                # After the handler has finished starting up (its task must see the connection open).
                asyncio.get_running_loop().call_soon(transport.abort)

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            self.release(handler)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]


async def start(
    app: web.Application,
    server: ServerSettings,
    *,
    host: str | None = None,
    port: int | None = None,
    reuse_port: bool = False,
    handle_signals: bool = False,
) -> tuple[web.AppRunner, ConnectionGate]:
    """Set the app up and listen (`host`/`port` default to the settings'; port 0 picks a free one)."""
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=handle_signals,
        keepalive_timeout=server.idle_timeout_seconds,
        lingering_time=LINGER_SECONDS,
    )
    await runner.setup()
    assert runner.server is not None
    gate = ConnectionGate(server.max_connections, server.max_connections_per_address)
    gate.install(runner.server)
    site = web.TCPSite(
        runner,
        server.host if host is None else host,
        server.port if port is None else port,
        reuse_port=reuse_port or None,
    )
    await site.start()
    return runner, gate


def serve(app: web.Application, server: ServerSettings, *, reuse_port: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then shut down in order (the app's cleanup drains its work)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def run() -> None:
        runner, _ = await start(app, server, reuse_port=reuse_port, handle_signals=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    main = loop.create_task(run())
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError, web.GracefulExit):
            loop.run_until_complete(main)
        rest = asyncio.all_tasks(loop)
        for task in rest:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
