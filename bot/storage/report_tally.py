"""Writing the report tables inside the transactions of bot.storage.store (a turn, a case move, an erasure).

Only this module writes report_counts and report_people; bot.storage.reports_repo reads them. Each
function takes the open (sync) connection of the caller's transaction, so a count is written exactly
when the thing it counts is, and never without it. Per turn that is one INSERT of the day's marker
(nothing when the person was already seen today) and one multi-row upsert of the counts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.storage.report_models import MAX_DIMENSION, ReportCount, ReportPerson

MARKER_CONTEXT = b"sigurno-report-marker-v1"
# Minutes to claim / to close a case are counted in these buckets (upper bounds, inclusive); "more" beyond.
MINUTE_BUCKETS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080)


@dataclass(frozen=True, slots=True)
class Tally:
    """What one turn adds to the reports: +1 for each (metric, dimension), and whether the person counts as
    reached today on `channel` (False once they are erased: nothing of theirs is written again)."""

    channel: str
    counts: tuple[tuple[str, str], ...]
    reached: bool = True


def report_day(t: datetime) -> str:
    return t.date().isoformat()


def periods(day: str) -> tuple[str, str]:
    """(week, month) of a YYYY-MM-DD day: the Monday and the first day of the month, as YYYY-MM-DD."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat(), d.replace(day=1).isoformat()


@functools.lru_cache(maxsize=4)
def _marker_key(secret: bytes) -> bytes:
    return hmac.new(secret, MARKER_CONTEXT, hashlib.sha256).digest()


def report_marker(secret: bytes, person_key: str) -> str:
    """The person's marker in report_people: keyed with a report-only key derived from the user-key secret."""
    return hmac.new(_marker_key(secret), person_key.encode(), hashlib.sha256).hexdigest()[:32]


def minute_bucket(minutes: float) -> str:
    for bound in MINUTE_BUCKETS:
        if minutes <= bound:
            return str(bound)
    return "more"


_STATEMENTS: dict[str, tuple[Any, Any]] = {}


def _statements(dialect: str) -> tuple[Any, Any]:
    """(count upsert, marker insert) for the dialect, built once."""
    built = _STATEMENTS.get(dialect)
    if built is None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        count = ins(ReportCount).values(
            day=bindparam("b_day"),
            channel=bindparam("b_channel"),
            metric=bindparam("b_metric"),
            dimension=bindparam("b_dim"),
            value=bindparam("b_n"),
        )
        count = count.on_conflict_do_update(
            index_elements=[ReportCount.day, ReportCount.channel, ReportCount.metric, ReportCount.dimension],
            set_={"value": ReportCount.value + count.excluded.value},
        )
        marker = (
            ins(ReportPerson)
            .values(
                day=bindparam("b_day"),
                channel=bindparam("b_channel"),
                marker=bindparam("b_marker"),
                week=bindparam("b_week"),
                month=bindparam("b_month"),
            )
            .on_conflict_do_nothing(index_elements=[ReportPerson.day, ReportPerson.channel, ReportPerson.marker])
        )
        built = _STATEMENTS[dialect] = (count, marker)
    return built


def add_counts(conn: Connection, day: str, channel: str, counts: Iterable[tuple[str, str]]) -> None:
    """+1 for each (metric, dimension) on (day, channel): one multi-row upsert."""
    summed = Counter((metric[:32], dim[:MAX_DIMENSION]) for metric, dim in counts)
    if not summed:
        return
    count, _ = _statements(conn.dialect.name)
    conn.execute(
        count,
        [
            {"b_day": day, "b_channel": channel[:32], "b_metric": m, "b_dim": d, "b_n": n}
            for (m, d), n in sorted(summed.items())
        ],
    )


def write_tally(conn: Connection, secret: bytes, person_key: str, tally: Tally, now: datetime) -> None:
    """A turn's share of the reports, inside the turn's transaction."""
    day = report_day(now)
    if tally.reached:
        week, month = periods(day)
        _, marker = _statements(conn.dialect.name)
        conn.execute(
            marker,
            {
                "b_day": day,
                "b_channel": tally.channel[:32],
                "b_marker": report_marker(secret, person_key),
                "b_week": week,
                "b_month": month,
            },
        )
    add_counts(conn, day, tally.channel, tally.counts)


def case_moved(
    conn: Connection, channel: str, action: str, created_at: datetime, outcome: str | None, now: datetime
) -> None:
    """A case claimed, released or closed: its count, the outcome, and the minutes since it opened."""
    minutes = max(0.0, (now - created_at).total_seconds() / 60)
    counts: list[tuple[str, str]] = []
    if action == "claim":
        counts += [("case_claimed", ""), ("claim_minutes", minute_bucket(minutes))]
    elif action == "release":
        counts.append(("case_released", ""))
    elif action == "close":
        counts += [("case_closed", outcome or "other"), ("close_minutes", minute_bucket(minutes))]
    add_counts(conn, report_day(now), channel, counts)


def forget_person(conn: Connection, secret: bytes, person_key: str) -> None:
    """Erasure: the person's markers get a random marker of their own (the same for all their rows, so every
    distinct count stays the same), which no key can lead back to."""
    conn.execute(
        update(ReportPerson)
        .where(ReportPerson.marker == report_marker(secret, person_key))
        .values(marker=secrets.token_hex(16))
    )
