"""Counting a reply that failed to deliver: in /metrics (this process) and in the reports (the database)."""

from __future__ import annotations

import logging

from bot import metrics
from bot.storage.reports_repo import ReportsRepo
from bot.storage.store import Store, reason

log = logging.getLogger(__name__)


async def count_send_failure(store: Store, channel: str, sender: str) -> None:
    """`sender`: bot or mediator. Never fails the caller: a count that cannot be written is logged."""
    metrics.SEND_FAILURES.labels(channel).inc()
    try:
        await ReportsRepo(store).count(channel, "send_failed", sender)
    except Exception as e:
        log.warning("a send failure could not be counted in the reports (%s)", reason(e))
