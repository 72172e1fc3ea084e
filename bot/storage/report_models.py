"""Tables of the reports (issue 11): counts recorded as things happen, and who was reached on which day.

- `report_counts`: one tidy row per (day, channel, metric, dimension) with a running count, e.g.
  (2026-11-03, viber, intent, work_legally, 41). No person, no text, no id: it survives message
  pruning and erasure unchanged.
- `report_people`: one row per person per channel per day they wrote, holding only a marker (a keyed
  hash of the pseudonymous person key under a report-only key), so distinct people can be counted over
  any day, week, month or range. Erasing a person replaces their marker with a random one: the counts
  stay exactly as they were and nothing links the rows to the person any more.

Days are UTC dates written YYYY-MM-DD (they sort and compare as text on SQLite and PostgreSQL alike);
`week` is the Monday and `month` the first day of the day's week and month. Created by migration 0005.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base

MAX_DIMENSION = 64


class ReportCount(Base):
    __tablename__ = "report_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(MAX_DIMENSION), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ReportPerson(Base):
    __tablename__ = "report_people"
    __table_args__ = (Index("ix_report_people_marker", "marker"),)

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    marker: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[str] = mapped_column(String(10))
    month: Mapped[str] = mapped_column(String(10))
