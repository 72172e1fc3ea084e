"""Operations figures for Prometheus (GET /metrics, text format), through prometheus-client.

One registry per process: with `sigurno serve --workers N` each process answers /metrics with its own
counters (the port is shared, so a scrape reaches one of them); the gauges read from the database
(queue, oldest unclaimed case, inbox backlog) are the same whichever answers. Labels are only channel,
status and priority: never a person, a text or an id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.storage.models import PRIORITIES

REGISTRY = CollectorRegistry()
WEBHOOKS = Counter(
    "sigurno_webhooks",
    "Webhook requests answered, by channel and HTTP status",
    ["channel", "status"],
    registry=REGISTRY,
)
TURNS = Counter(
    "sigurno_turns", "Conversation turns decided (one per event of a person)", ["channel"], registry=REGISTRY
)
TURN_SECONDS = Histogram(
    "sigurno_turn_seconds",
    "Time to decide one turn (read, understand, step; not the write or the send)",
    ["channel"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0),
    registry=REGISTRY,
)
NLU_SECONDS = Histogram(
    "sigurno_nlu_seconds",
    "Time to understand one message",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5),
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    "sigurno_send_failures",
    "Replies (bot or mediator) that failed to deliver, by channel",
    ["channel"],
    registry=REGISTRY,
)
QUEUE = Gauge("sigurno_cases_queued", "Cases waiting for a mediator, by priority", ["priority"], registry=REGISTRY)
OLDEST_UNCLAIMED = Gauge(
    "sigurno_oldest_unclaimed_case_seconds",
    "Age of the oldest case waiting for a mediator (0: none)",
    registry=REGISTRY,
)
INBOX_BACKLOG = Gauge(
    "sigurno_inbox_backlog", "Webhook events taken in and not yet finished (received or answered)", registry=REGISTRY
)
INBOX_SET_ASIDE = Gauge(
    "sigurno_inbox_set_aside", "Webhook events set aside after failing again and again", registry=REGISTRY
)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: the counters of this process, and the queue and inbox as the database has them now."""
    from bot.storage.reports_repo import ReportsRepo
    from bot.web.app import SERVICES

    figures = await ReportsRepo(request.app[SERVICES].store).ops_figures()
    for priority in PRIORITIES:
        QUEUE.labels(priority).set(figures.queued.get(priority, 0))
    oldest = figures.oldest_queued_at
    OLDEST_UNCLAIMED.set(0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds()))
    INBOX_BACKLOG.set(figures.inbox_pending)
    INBOX_SET_ASIDE.set(figures.inbox_failed)
    return web.Response(
        body=generate_latest(REGISTRY),
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )
